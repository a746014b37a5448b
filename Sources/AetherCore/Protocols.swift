/// What AetherLens knows about ports, in one place. Each application protocol registers its
/// own server ports here, as Zeek's analyzers do (`Analyzer::register_for_ports`): the service a
/// connection is given when no payload names it, which end of a connection is the server, and
/// which UDP payloads are read in the protocol's format all come from this table. The ports the
/// detectors watch by default (login services, port reputation) are listed here too; the
/// detectors' settings start from them.
public struct AppProtocol: Sendable {
    /// Zeek's analyzer name.
    public let name: String
    /// The conn.log service it names; nil for a format read without naming a service (SSDP).
    public let service: Service?
    /// Server ports that suggest the protocol when no payload says otherwise.
    public let ports: [UInt16]
    /// Ports whose UDP payload is read in this protocol's format (DNS also on mDNS and LLMNR).
    public let udpFormatPorts: [UInt16]

    init(_ name: String, _ service: Service?, ports: [UInt16], udp: [UInt16] = []) {
        self.name = name
        self.service = service
        self.ports = ports
        self.udpFormatPorts = udp
    }
}

public enum AppProtocols {
    /// The registry. Content (banners, handshakes: `ServiceIdentifier`) names a service first;
    /// these ports only when no payload was seen.
    public static let all: [AppProtocol] = [
        AppProtocol("ssh", .ssh, ports: [22]),
        AppProtocol("ftp", .ftp, ports: [21]),
        AppProtocol("telnet", .telnet, ports: [23]),
        AppProtocol("smtp", .smtp, ports: [25, 587]),
        AppProtocol("pop3", .pop3, ports: [110]),
        AppProtocol("imap", .imap, ports: [143]),
        AppProtocol("http", .http, ports: [80]),
        AppProtocol("ssl", .tls, ports: [443, 993, 995, 465]),
        AppProtocol("dns", .dns, ports: [53], udp: [53, 5353, 5355]),
        AppProtocol("ldap", .ldap, ports: [389]),
        AppProtocol("mysql", .mysql, ports: [3306]),
        AppProtocol("postgresql", .postgresql, ports: [5432]),
        AppProtocol("smb", .smb, ports: [139, 445]),
        AppProtocol("rdp", .rdp, ports: [3389]),
        AppProtocol("vnc", .vnc, ports: [5900]),
        AppProtocol("ssdp", nil, ports: [], udp: [1900]),
    ]

    /// Server ports of protocols Zeek's analyzers register that AetherLens does not parse: they
    /// still tell which end of a connection is the server (Zeek's role heuristics).
    static let otherServerPorts: [UInt16] = [
        7, 13, 37, 67, 69, 81, 88, 111, 113, 119, 123, 135, 137, 161, 179, 502, 512, 513, 514, 515, 563, 631, 636,
        873, 990, 992, 1080, 1194, 1433, 1521, 1723, 1812, 1813, 2049, 2123, 2152, 2181, 3128, 3478, 4789, 5060,
        5061, 5222, 5223, 5353, 5355, 6379, 6443, 6660, 6661, 6662, 6663, 6664, 6665, 6666, 6667, 6668, 6669, 8000,
        8080, 8443, 8888, 9200, 11211, 27017,
    ]

    // Lookups by port as tables of 65,536 entries: one load per packet, no hashing.
    private static let serviceTable: [Service] = {
        var t = [Service](repeating: .unknown, count: 1 << 16)
        for p in all { if let s = p.service { for port in p.ports { t[Int(port)] = s } } }
        return t
    }()
    private static let serverBits: [UInt64] = bits(all.flatMap(\.ports) + otherServerPorts)
    private static let dnsBits: [UInt64] = bits(all.first { $0.service == .dns }!.udpFormatPorts)
    private static let ssdpBits: [UInt64] = bits(all.first { $0.name == "ssdp" }!.udpFormatPorts)

    private static func bits(_ ports: [UInt16]) -> [UInt64] {
        var b = [UInt64](repeating: 0, count: 1 << 10)
        for port in ports { b[Int(port >> 6)] |= 1 << UInt64(port & 63) }
        return b
    }

    @inline(__always) private static func test(_ b: [UInt64], _ port: UInt16) -> Bool {
        b[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0
    }

    /// The service a server port suggests when no payload says otherwise.
    @inline(__always) public static func service(forPort port: UInt16) -> Service { serviceTable[Int(port)] }

    /// Whether a port is one a server listens on (the role heuristics of the connection table).
    @inline(__always) public static func isServerPort(_ port: UInt16) -> Bool { test(serverBits, port) }

    /// Whether a UDP port carries DNS's format (DNS, mDNS, LLMNR).
    @inline(__always) public static func isDNSPort(_ port: UInt16) -> Bool { test(dnsBits, port) }

    /// Whether a UDP port carries SSDP (its requests go to it).
    @inline(__always) public static func isSSDPPort(_ port: UInt16) -> Bool { test(ssdpBits, port) }

    /// Every port that marks a server, in order (for tests and `aether rules`).
    public static var serverPorts: [UInt16] { Array(Set(all.flatMap(\.ports) + otherServerPorts)).sorted() }
}

/// Ports known by reputation rather than by protocol: what a session to one tells an analyst,
/// and the detectors' default lists (`outbound.bad_ports`, `outbound.lateral_ports`,
/// `brute.login_ports`), which a rules file may change.
public enum PortLists {
    /// Ports of login services when no payload names the service (brute force).
    public static let login: [UInt16] = [21, 22, 23, 25, 110, 143, 389, 445, 465, 587, 993, 995, 1433, 3306, 3389, 5432, 5900]
    /// Internal to external on these is suspicious: C2 handlers, IRC, telnet, SMB, RDP. Tor's
    /// 9001/9030 are not listed: by port alone they name ordinary TLS services too.
    public static let outbound: [UInt16] = [23, 445, 139, 3389, 4444, 5554, 6666, 6667, 6668, 6669, 7080, 1337, 31337, 12345, 2323, 447, 449]
    /// C2 handler ports that no internal service uses: a session to one between two internal
    /// hosts is lateral movement.
    public static let lateral: [UInt16] = [4444, 5554, 1337, 31337, 12345, 7080, 447, 449]

    /// Ports whose periodic traffic is the protocol's own (DNS, NTP, name services, SNMP polls,
    /// syslog): not beacons.
    public static let periodicByNature: Set<UInt16> = [53, 123, 5353, 137, 138, 5355, 67, 68, 1900, 546, 547, 161, 162, 514]

    /// What a listed port is known for (a reputation, not a service: content names that).
    public static func reputation(_ port: UInt16) -> String {
        switch port {
        case 23, 2323: return "telnet port"
        case 139, 445: return "SMB port"
        case 3389: return "RDP port"
        case 4444: return "Metasploit default handler port"
        case 6666, 6667, 6668, 6669: return "IRC port"
        case 1337, 31337, 12345, 5554: return "backdoor port"
        case 7080, 447, 449: return "known C2 port (Emotet/TrickBot)"
        default: return "listed port \(port)"
        }
    }
}
