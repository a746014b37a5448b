import AetherCore

/// One application protocol, declared in its own file beside its parser, as Zeek's analyzers
/// register their ports (`Analyzer::register_for_ports`) and Suricata's `rust/src/<proto>/`
/// its probe: the ports that suggest it, the content that names it, and the login outcome its
/// server states in clear. `AppProtocols.all` lists them once; the service a port suggests,
/// which end of a connection is the server, which UDP payloads are read in a format, what names
/// a connection's service and how a login ended all derive from that list.
public struct AppProtocol: Sendable {
    /// Zeek's analyzer name.
    public let name: String
    /// The conn.log service it names; nil for a format read without naming a service (SSDP).
    public let service: Service?
    /// Server ports that suggest the protocol when no payload says otherwise.
    public let ports: [UInt16]
    /// Ports whose UDP payload is read in this protocol's format (DNS also on mDNS and LLMNR).
    public let udpFormatPorts: [UInt16]
    /// Whether a TCP payload announces the protocol (`fromResponder`: the server's side). Called
    /// only with at least `probeBytes` bytes; reads no further than it is given, never allocates.
    let probe: (@Sendable (UnsafeRawBufferPointer, _ fromResponder: Bool) -> Bool)?
    let probeBytes: Int
    /// Content can name it (it has a probe).
    public var hasProbe: Bool { probe != nil }
    /// The login outcome in a server's payload. `length` is the segment's length on the wire,
    /// `state` the connection's 32 bits for a protocol that needs memory (SSH).
    let login: (@Sendable (UnsafeRawBufferPointer, _ length: Int, _ state: inout UInt32) -> LoginOutcome)?

    init(
        _ name: String, _ service: Service?, ports: [UInt16], udp: [UInt16] = [], probeBytes: Int = 4,
        probe: (@Sendable (UnsafeRawBufferPointer, Bool) -> Bool)? = nil,
        login: (@Sendable (UnsafeRawBufferPointer, Int, inout UInt32) -> LoginOutcome)? = nil
    ) {
        self.name = name
        self.service = service
        self.ports = ports
        self.udpFormatPorts = udp
        self.probeBytes = probeBytes
        self.probe = probe
        self.login = login
    }

    /// A login outcome read from the payload alone.
    init(
        _ name: String, _ service: Service, ports: [UInt16], probeBytes: Int = 4, probe: @escaping @Sendable (UnsafeRawBufferPointer, Bool) -> Bool,
        outcome: @escaping @Sendable (UnsafeRawBufferPointer) -> LoginOutcome
    ) {
        self.init(name, service, ports: ports, probeBytes: probeBytes, probe: probe, login: { p, _, _ in p.count >= 3 ? outcome(p) : .none })
    }
}

/// How a login ended, as the server said.
public enum LoginOutcome: UInt8, Sendable { case none = 0, failed, succeeded }

public enum AppProtocols {
    /// The registry: one line per protocol. Content names a service first, these probes in this
    /// order (the first that matches); the ports only when no payload was seen.
    public static let all: [AppProtocol] = [
        .ssh, .tls, .telnet, .ftp, .smtp, .pop3, .imap, .http, .vnc, .mysql, .irc, .postgresql, .ldap, .rdp, .smb, .dns, .ssdp,
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
    private static let dnsBits: [UInt64] = bits(AppProtocol.dns.udpFormatPorts)
    private static let ssdpBits: [UInt64] = bits(AppProtocol.ssdp.udpFormatPorts)
    /// The protocols with a content probe, in the registry's order.
    private static let probing: [AppProtocol] = all.filter { $0.probe != nil && $0.service != nil }
    /// Login readers by `Service.rawValue`.
    private static let logins: [(@Sendable (UnsafeRawBufferPointer, Int, inout UInt32) -> LoginOutcome)?] = {
        var t = [(@Sendable (UnsafeRawBufferPointer, Int, inout UInt32) -> LoginOutcome)?](repeating: nil, count: Service.allCases.count)
        for p in all { if let s = p.service, let l = p.login { t[Int(s.rawValue)] = l } }
        return t
    }()

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

    /// The service a payload announces, from either side; `.unknown` when it says nothing.
    public static func identify(_ p: UnsafeRawBufferPointer, fromResponder: Bool) -> Service {
        for proto in probing where p.count >= proto.probeBytes && proto.probe!(p, fromResponder) { return proto.service! }
        return .unknown
    }

    /// A login outcome in a server's payload for `service`; `length` is the segment's length on
    /// the wire and `state` the connection's memory for it (`Connection.appState`).
    public static func loginOutcome(_ p: UnsafeRawBufferPointer, length: Int, service: Service, state: inout UInt32) -> LoginOutcome {
        guard let read = logins[Int(service.rawValue)] else { return .none }
        return read(p, length, &state)
    }

    /// The same, for a protocol that keeps no state.
    public static func loginOutcome(_ p: UnsafeRawBufferPointer, service: Service) -> LoginOutcome {
        var state: UInt32 = 0
        return loginOutcome(p, length: p.count, service: service, state: &state)
    }
}

extension Service {
    /// What a server port suggests when no payload says otherwise (the ports each protocol
    /// registers in `AppProtocols`).
    public static func byPort(_ port: UInt16) -> Service { AppProtocols.service(forPort: port) }
}

// What the probes and login readers read payloads with: bounded, no allocation.
extension UnsafeRawBufferPointer {
    /// The payload starts with `s`.
    @inline(__always) func begins(with s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard count >= n else { return false }
        let u = s.utf8Start
        for i in 0..<n where self[i] != u[i] { return false }
        return true
    }

    /// `s` occurs within the payload's first 512 bytes.
    func mentions(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard count >= n, n > 0 else { return false }
        let u = s.utf8Start
        var i = 0
        let limit = Swift.min(count, 512) - n
        while i <= limit {
            if self[i] == u[0] {
                var j = 1
                while j < n && self[i + j] == u[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }

    /// FTP/SMTP style: the first line that starts with either code decides.
    func replyLines(failed: StaticString, succeeded: StaticString) -> LoginOutcome {
        var lineStart = 0
        for i in 0...count where i == count || self[i] == 10 {
            let line = UnsafeRawBufferPointer(rebasing: self[lineStart..<i])
            if line.begins(with: failed) { return .failed }
            if line.begins(with: succeeded) { return .succeeded }
            lineStart = i + 1
        }
        return .none
    }

    /// The first of the leading 16 bytes equal to `b`.
    func firstIndex16(of b: UInt8) -> Int? {
        for i in 0..<Swift.min(count, 16) where self[i] == b { return i }
        return nil
    }
}
