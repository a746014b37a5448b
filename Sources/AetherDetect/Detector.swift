import AetherCore
import AetherDecode
import AetherFlows

/// What the packet that opened a connection was: the scan detectors judge probes by it.
struct Opening {
    var tcpFlags: UInt8
    var icmpType: UInt8
}

/// What detectors are fed: typed events the engine derives once from each packet, each finished
/// connection and each DNS message. A detector never reads the connection table's state.
enum DetectorEvent {
    /// The event kinds, for dispatching each event only to the detectors that take it.
    enum Kind: Int, CaseIterable {
        case opened, answered, refused, refusedByICMP, burst, finished, ipPacket, arp, tlsHello, dns, dnsServer, http, certificate, file
    }

    var kind: Kind {
        switch self {
        case .opened: return .opened
        case .answered: return .answered
        case .refused: return .refused
        case .refusedByICMP: return .refusedByICMP
        case .burst: return .burst
        case .finished: return .finished
        case .ipPacket: return .ipPacket
        case .arp: return .arp
        case .tlsHello: return .tlsHello
        case .dns: return .dns
        case .dnsServer: return .dnsServer
        case .http: return .http
        case .certificate: return .certificate
        case .file: return .file
        }
    }

    /// The originator's first packet opened a connection.
    case opened(Connection, Opening, time: Int64)
    /// The responder's first packet: an answer (SYN-ACK, UDP reply, echo reply, data).
    case answered(Connection, time: Int64)
    /// The responder's first packet refused (RST before any answer).
    case refused(Connection, time: Int64)
    /// An ICMP error quoted a packet of this connection.
    case refusedByICMP(Connection)
    /// The originator sent payload again after a pause of a second or more.
    case burst(Connection, time: Int64)
    /// The connection table finished this connection (closed, reset or idle).
    case finished(Connection)
    /// A packet of an IP protocol other than TCP and UDP (ICMP included), outermost header.
    case ipPacket(IPLayer, time: Int64, flow: Int64)
    /// ARP over Ethernet: opcode, sender and target protocol addresses.
    case arp(op: UInt16, sender: IPAddress, target: IPAddress, time: Int64)
    /// A TLS ClientHello on the connection `flow`, sent by `client`.
    case tlsHello(flow: Int64, client: IPAddress, serverName: String?, ja4: String, ja3: String)
    /// A DNS message from src to dst.
    case dns(DNSMessage, src: IPAddress, dst: IPAddress, flow: Int64, time: Int64)
    /// Records only: this host was asked a DNS question (in another host's partition).
    case dnsServer(IPAddress)
    /// An HTTP request head on the connection `flow` (sent only while a detector takes it).
    case http(host: String, uri: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64)
    /// A server presented a certificate (in clear: TLS 1.2 and earlier); `sha1` of its DER, as
    /// Zeek's `Intel::CERT_HASH` names certificates.
    case certificate(sha1: String, subject: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64)
    /// A whole file crossed the connection `flow` (either way), with its hashes (Zeek's
    /// `Intel::FILE_HASH` matches any of the three) and the name the protocol gave.
    case file(md5: String, sha1: String, sha256: String, name: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64)
}

/// One detector family. Adding a detector is a type that implements this, its settings in
/// DetectorConfig, its tests, and one line in `DetectionEngine.detectors`.
protocol Detector: AnyObject {
    /// The event kinds this detector takes; it is handed no others.
    var events: Set<DetectorEvent.Kind> { get }
    func handle(_ event: DetectorEvent, _ ctx: DetectionContext)
    /// Its settings in a rules file, declared beside its logic (key, default, meaning, check).
    static var settings: [Setting] { get }
    /// The alert kinds it reports, declared beside its logic (`extension AlertKind`).
    static var kinds: [AlertKind] { get }
    /// The detector for the settings in force; nil when they leave it nothing to do.
    static func make(_ config: DetectorConfig) -> Detector?
}

extension Detector {
    static var settings: [Setting] { [] }
}

/// What every detector shares: the settings, the episode book, the monitored side, event time.
final class DetectionContext {
    let config: DetectorConfig
    let book: EpisodeBook
    var scope: Scope
    /// The latest event time, and the first, across all input.
    var now = Int64.min
    var firstTime = Int64.max

    init(config: DetectorConfig, book: EpisodeBook) {
        self.config = config
        self.book = book
        self.scope = Scope(config: config)
    }

    func allowed(src: IPAddress, dst: IPAddress?) -> Bool { config.allowed(src: src, dst: dst) }
}

/// Which side of the capture is the monitored (internal) one. The configured networks decide
/// when any host of the capture is in them; when none is (a capture between public addresses,
/// as many shared captures are), the originator of each connection is taken as the monitored
/// side, and the assumption is stated in `stats --json`, the report and `aether rules`.
/// `--internal` fixes the networks and turns inference off.
struct Scope {
    let networks: [IPNetwork]
    let explicit: Bool
    private(set) var sawInternal = false

    init(config: DetectorConfig) {
        networks = config.internalNetworks
        explicit = config.internalExplicit
    }

    /// A partition of the hosts cannot see every host: the whole input's answer is given.
    mutating func assumeInternalSeen() { sawInternal = true }

    /// No host seen so far is in the configured networks, and they were not given explicitly.
    var inferred: Bool { !explicit && !sawInternal }

    @inline(__always) mutating func note(_ a: IPAddress) {
        if sawInternal || a.isLinkScopedOrGroup { return }
        if isConfiguredInternal(a) { sawInternal = true }
    }

    @inline(__always) func isConfiguredInternal(_ a: IPAddress) -> Bool {
        for n in networks where n.contains(a) { return true }
        return false
    }

    /// Traffic from src to dst leaves the monitored side. Group, broadcast and link-scoped
    /// destinations never do.
    func isOutbound(src: IPAddress, dst: IPAddress) -> Bool {
        if dst.isLinkScopedOrGroup || src.isLinkScopedOrGroup { return false }
        let si = isConfiguredInternal(src), di = isConfiguredInternal(dst)
        if si && !di { return true }
        return inferred && !si && !di
    }

    /// Both ends are in the internal networks (configured and seen, not inferred).
    func isInside(src: IPAddress, dst: IPAddress) -> Bool {
        if inferred || dst.isLinkScopedOrGroup || src.isLinkScopedOrGroup || src == dst { return false }
        return isConfiguredInternal(src) && isConfiguredInternal(dst)
    }

    /// One line for reports and `aether rules`.
    var statement: String {
        if explicit { return "internal networks as given: " + networks.map(\.description).joined(separator: ", ") }
        if sawInternal { return "internal networks as configured: " + networks.map(\.description).joined(separator: ", ") }
        return
            "inferred: no host of the capture is in the configured internal networks, so the originator of each connection is taken as the monitored (internal) side; --internal NETS overrides"
    }
}
