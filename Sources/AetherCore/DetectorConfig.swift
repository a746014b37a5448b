/// Every threshold the detectors use, with documented defaults. An analyst overrides any of
/// them from a rules file of `key = value` lines (`aether rules` prints this list).
public struct DetectorConfig: Sendable {
    public var internalNetworks: [IPNetwork] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
        "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128",
    ].compactMap(IPNetwork.init)
    /// The networks were given (`--internal`, or a rules file that changes them): no inference.
    public var internalExplicit = false
    // Scans (defaults: Zeek's scan.zeek)
    public var scanPreset = "zeek"
    public var scanWindow: Int64 = 300
    public var scanPorts = 15
    public var scanHosts = 25
    public var pingHosts = 25
    public var pingAnyHosts = 64
    /// A small fast sweep: this many unanswered, near-consecutive echo targets within a few seconds.
    public var pingSmallHosts = 8
    public var pingSmallWindow: Int64 = 10
    public var slowWindow: Int64 = 3600
    public var slowPorts = 20
    public var slowHosts = 50
    // Outbound
    // Tor's 9001/9030 are not listed: by port alone they name ordinary TLS services too.
    public var badPorts: [UInt16] = [23, 445, 139, 3389, 4444, 5554, 6666, 6667, 6668, 6669, 7080, 1337, 31337, 12345, 2323, 447, 449]
    /// C2 handler ports that no internal service uses: a session to one between two internal hosts is lateral movement.
    public var lateralPorts: [UInt16] = [4444, 5554, 1337, 31337, 12345, 7080, 447, 449]
    public var unusualICMPPayload = 512
    public var unusualICMPPackets = 5
    // Beacon (RITA-style)
    public var beaconMinConnections = 10
    public var beaconScore = 0.8
    public var beaconMinInterval: Double = 1
    public var beaconMaxJitter: Double = 0.2
    public var beaconMinSpan: Double = 60
    // DNS
    public var tunnelUniqueNames = 100
    public var tunnelMinLabel = 24
    public var tunnelEntropy = 3.5
    /// Data a client moves through one domain: encoded query label bytes plus TXT/NULL/CNAME/MX answer bytes.
    public var tunnelBytes = 4096
    public var tunnelMinQueries = 20
    public var tunnelNearMaxBytes = 180
    public var tunnelNearMaxNames = 5
    public var dgaNames = 25
    public var dgaWindow: Int64 = 600
    // Brute force
    public var loginPorts: [UInt16] = [21, 22, 23, 25, 110, 143, 389, 445, 465, 587, 993, 995, 1433, 3306, 3389, 5432, 5900]
    public var bruteAttempts = 10
    public var bruteWindow: Int64 = 600
    public var bruteMaxDuration: Double = 30
    public var bruteMaxBytes = 4096
    /// Per-detector allow-lists: sources (or destinations) never reported.
    public var allowSources: [IPNetwork] = []
    public var allowDestinations: [IPNetwork] = []

    public init() {}

    @inline(__always) public func isInternal(_ a: IPAddress) -> Bool {
        for n in internalNetworks where n.contains(a) { return true }
        return false
    }

    public func allowed(src: IPAddress, dst: IPAddress?) -> Bool {
        if allowSources.contains(where: { $0.contains(src) }) { return true }
        if let dst, allowDestinations.contains(where: { $0.contains(dst) }) { return true }
        return false
    }

    /// Snort sfPortscan-like sensitivities beside Zeek's defaults.
    public mutating func apply(preset: String) throws {
        switch preset {
        case "zeek": scanWindow = 300; scanPorts = 15; scanHosts = 25
        case "snort-low": scanWindow = 60; scanPorts = 25; scanHosts = 25
        case "snort-medium": scanWindow = 90; scanPorts = 15; scanHosts = 15
        case "snort-high": scanWindow = 600; scanPorts = 10; scanHosts = 10
        default: throw ConfigError("unknown scan.preset '\(preset)' (zeek, snort-low, snort-medium, snort-high)")
        }
        scanPreset = preset
    }

    /// Each setting: key, current value, one line of meaning.
    public var settings: [(String, String, String)] {
        func list<T>(_ v: [T]) -> String { v.map { "\($0)" }.joined(separator: ", ") }
        return [
            ("internal_networks", list(internalNetworks), "networks counted as internal (RFC 1918, CGNAT, link-local, loopback, ULA)"),
            ("scan.preset", scanPreset, "zeek (5 min, 15 ports / 25 hosts) or snort-low|snort-medium|snort-high (60/90/600 s)"),
            ("scan.window", "\(scanWindow)", "seconds of event time over which failed probes are counted"),
            ("scan.ports", "\(scanPorts)", "port_scan / udp_scan: distinct failed ports on one host within the window"),
            ("scan.hosts", "\(scanHosts)", "host_sweep: distinct hosts failing on one port (or ARP) within the window"),
            ("ping.hosts", "\(pingHosts)", "ping_sweep: distinct hosts not answering echo within the window"),
            ("ping.any_hosts", "\(pingAnyHosts)", "ping_sweep: distinct hosts echoed within the window, answered or not"),
            ("ping.small_hosts", "\(pingSmallHosts)", "ping_sweep: unanswered near-consecutive hosts within ping.small_window"),
            ("ping.small_window", "\(pingSmallWindow)", "ping_sweep: seconds for the small fast sweep"),
            ("slow.window", "\(slowWindow)", "slow_scan: long window in seconds"),
            ("slow.ports", "\(slowPorts)", "slow_scan: distinct failed ports on one host within the long window"),
            ("slow.hosts", "\(slowHosts)", "slow_scan: distinct failed hosts on one port within the long window"),
            ("outbound.bad_ports", list(badPorts), "suspicious_outbound: internal to external on these ports (C2, IRC, Tor, telnet, SMB, RDP)"),
            (
                "outbound.lateral_ports", list(lateralPorts),
                "suspicious_outbound (direction internal, medium): a session between two internal hosts on these C2 handler ports (not SMB, RDP or telnet, which internal hosts use)"
            ),
            ("unusual.icmp_payload", "\(unusualICMPPayload)", "unusual_protocol: echo payload bytes above which ICMP is oversized"),
            ("unusual.icmp_packets", "\(unusualICMPPackets)", "unusual_protocol: oversized echoes from one host to one destination before alerting"),
            ("beacon.min_connections", "\(beaconMinConnections)", "beacon: connections between one pair before scoring"),
            ("beacon.score", "\(beaconScore)", "beacon: RITA-style score (0-1) at which to alert"),
            ("beacon.min_interval", "\(beaconMinInterval)", "beacon: median seconds between connections below which it is a burst, not a beacon"),
            ("beacon.max_jitter", "\(beaconMaxJitter)", "beacon: median absolute deviation of the gaps over their median, at most"),
            (
                "beacon.min_span", "\(beaconMinSpan)",
                "beacon: seconds the contacts must span at least (a protocol test or a retry loop repeats for seconds, a beacon for minutes)"
            ),
            ("dns_tunnel.unique_names", "\(tunnelUniqueNames)", "dns_tunnel: unique long or high-entropy subdomains under one domain (RITA: 100)"),
            ("dns_tunnel.min_label", "\(tunnelMinLabel)", "dns_tunnel: subdomain length counted as long"),
            ("dns_tunnel.entropy", "\(tunnelEntropy)", "dns_tunnel: bits per character counted as high entropy"),
            ("dns_tunnel.bytes", "\(tunnelBytes)", "dns_tunnel: encoded query bytes plus TXT/NULL/CNAME/MX answer bytes for one client and domain"),
            ("dns_tunnel.min_queries", "\(tunnelMinQueries)", "dns_tunnel: distinct names needed beside dns_tunnel.bytes"),
            (
                "dns_tunnel.near_max_bytes", "\(tunnelNearMaxBytes)",
                "dns_tunnel: encoded bytes below the domain that make a name near the 253-byte limit (several full 63-byte labels)"
            ),
            ("dns_tunnel.near_max_names", "\(tunnelNearMaxNames)", "dns_tunnel: distinct near-limit, high-entropy names from one client under one domain"),
            ("dga.names", "\(dgaNames)", "dga: random-looking names answered NXDOMAIN within the window"),
            ("dga.window", "\(dgaWindow)", "dga: window in seconds"),
            ("brute.login_ports", list(loginPorts), "brute_force: ports of login services when no payload names the service (content decides otherwise)"),
            (
                "brute.attempts", "\(bruteAttempts)",
                "brute_force: failed logins from one source to one service within the window, however many share a connection (an encrypted login's failed session counts one)"
            ),
            ("brute.window", "\(bruteWindow)", "brute_force: window in seconds"),
            ("brute.max_duration", "\(bruteMaxDuration)", "brute_force: seconds under which a session is short"),
            ("brute.max_bytes", "\(bruteMaxBytes)", "brute_force: payload bytes per direction under which a session failed"),
            ("allow.sources", list(allowSources), "never alert on these sources (comma-separated networks)"),
            ("allow.destinations", list(allowDestinations), "never alert on these destinations"),
        ]
    }

    /// Reads `key = value` lines; `#` starts a comment. Unknown keys are an error.
    public static func parse(_ text: String) throws -> DetectorConfig {
        var c = DetectorConfig()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let t = line.trimmingSpaces
            if t.isEmpty { continue }
            let kv = t.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard kv.count == 2 else { throw ConfigError("line \(n + 1): expected key = value") }
            try c.set(kv[0], kv[1], line: n + 1)
        }
        return c
    }

    public mutating func set(_ key: String, _ value: String, line: Int) throws {
        func int() throws -> Int { guard let v = Int(value), v >= 0 else { throw ConfigError("line \(line): \(key) needs a whole number") }; return v }
        func dbl() throws -> Double { guard let v = Double(value), v >= 0 else { throw ConfigError("line \(line): \(key) needs a number") }; return v }
        func ports() throws -> [UInt16] {
            try value.split(separator: ",").filter { !String($0).trimmingSpaces.isEmpty }.map {
                guard let p = UInt16(String($0).trimmingSpaces) else { throw ConfigError("line \(line): bad port '\($0)'") }; return p
            }
        }
        func nets() throws -> [IPNetwork] {
            try value.split(separator: ",").filter { !String($0).trimmingSpaces.isEmpty }.map {
                let s = String($0).trimmingSpaces
                if let n = IPNetwork(s) { return n }
                if let a = IPAddress(s) { return IPNetwork(a.isV4 ? "\(a)/32" : "\(a)/128")! }
                throw ConfigError("line \(line): bad network '\(s)'")
            }
        }
        switch key {
        case "internal_networks":
            let given = try nets()
            if given != DetectorConfig().internalNetworks { internalExplicit = true }
            internalNetworks = given
        case "scan.preset": try apply(preset: value)
        case "scan.window": scanWindow = Int64(try int())
        case "scan.ports": scanPorts = try int()
        case "scan.hosts": scanHosts = try int()
        case "ping.hosts": pingHosts = try int()
        case "ping.any_hosts": pingAnyHosts = try int()
        case "ping.small_hosts": pingSmallHosts = max(2, try int())
        case "ping.small_window": pingSmallWindow = Int64(try int())
        case "slow.window": slowWindow = Int64(try int())
        case "slow.ports": slowPorts = try int()
        case "slow.hosts": slowHosts = try int()
        case "outbound.bad_ports": badPorts = try ports()
        case "outbound.lateral_ports": lateralPorts = try ports()
        case "unusual.icmp_payload": unusualICMPPayload = try int()
        case "unusual.icmp_packets": unusualICMPPackets = try int()
        case "beacon.min_connections": beaconMinConnections = max(4, try int())
        case "beacon.score": beaconScore = try dbl()
        case "beacon.min_interval": beaconMinInterval = try dbl()
        case "beacon.max_jitter": beaconMaxJitter = try dbl()
        case "beacon.min_span": beaconMinSpan = try dbl()
        case "dns_tunnel.unique_names": tunnelUniqueNames = try int()
        case "dns_tunnel.min_label": tunnelMinLabel = try int()
        case "dns_tunnel.entropy": tunnelEntropy = try dbl()
        case "dns_tunnel.bytes": tunnelBytes = try int()
        case "dns_tunnel.min_queries": tunnelMinQueries = try int()
        case "dns_tunnel.near_max_bytes": tunnelNearMaxBytes = try int()
        case "dns_tunnel.near_max_names": tunnelNearMaxNames = try int()
        case "dga.names": dgaNames = try int()
        case "dga.window": dgaWindow = Int64(try int())
        case "brute.login_ports": loginPorts = try ports()
        case "brute.attempts", "brute.sessions": bruteAttempts = try int()
        case "brute.window": bruteWindow = Int64(try int())
        case "brute.max_duration": bruteMaxDuration = try dbl()
        case "brute.max_bytes": bruteMaxBytes = try int()
        case "allow.sources": allowSources = try nets()
        case "allow.destinations": allowDestinations = try nets()
        default: throw ConfigError("line \(line): unknown setting '\(key)' (aether rules lists them)")
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
