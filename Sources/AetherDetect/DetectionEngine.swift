import AetherCore
import AetherDecode
import AetherFlows

/// Runs every detector over event time. It turns each packet (with what the connection table
/// made of it), each finished connection and each DNS message into typed events and hands them
/// to the detector families; it never reads the wall clock, so the same packets in the same
/// order give the same alerts whether they came from a file, a folder, a replay or a live
/// interface.
public final class DetectionEngine {
    public let config: DetectorConfig
    private let book: EpisodeBook
    let context: DetectionContext
    /// Writes every event as a record (a Spark shard); nil otherwise.
    public var recorder: EventRecorder?
    /// For each event kind, the detectors that take it.
    private let routes: [[Detector]]

    public var alerts: [Alert] { book.alerts }

    /// Every detector family, registered once, in the order they see each event: scans first,
    /// so that the outbound detector can tell a scan's probes from sessions of their own; brute
    /// force before beacon, whose episodes it explains. Their settings are listed in this order
    /// too (`DetectorConfig.registry`).
    static let families: [Detector.Type] = [
        ScanDetector.self, OutboundDetector.self, BruteForceDetector.self, BeaconDetector.self, DNSDetector.self,
        LongConnectionDetector.self, IntelDetector.self,
    ]

    public init(config: DetectorConfig = DetectorConfig(), firstAlertID: Int64 = 1) {
        self.config = config
        book = EpisodeBook(firstID: firstAlertID)
        context = DetectionContext(config: config, book: book)
        let all = Self.families.compactMap { $0.make(config) }
        routes = DetectorEvent.Kind.allCases.map { k in all.filter { $0.events.contains(k) } }
    }

    /// Whether the monitored side was inferred (no host in the configured internal networks).
    public var internalInferred: Bool { context.scope.inferred }
    /// One line saying which side was taken as internal, and why.
    public var scopeStatement: String { context.scope.statement }

    @inline(__always) func send(_ e: DetectorEvent) {
        if let r = recorder { r.record(e, now: context.now) }
        for d in routes[e.kind.rawValue] { d.handle(e, context) }
    }

    // MARK: input

    /// Called for every packet after the connection table has seen it.
    @inline(__always) public func observe(_ m: PacketMeta, _ table: ConnectionTable) {
        if m.timestamp > context.now { context.now = m.timestamp }
        if m.timestamp < context.firstTime { context.firstTime = m.timestamp }
        if m.network == .arp {
            if m.arpOp != 0 { send(.arp(op: m.arpOp, sender: m.arpSender, target: m.arpTarget, time: m.timestamp)) }
            return
        }
        guard m.network == .ipv4 || m.network == .ipv6 else { return }
        let u = table.update
        // A switch's mirror session (ERSPAN over GRE) carries other hosts' frames: not a
        // protocol the sender chose to speak.
        if m.outer.proto != IPProto.tcp && m.outer.proto != IPProto.udp && !(m.hasInner && m.tunnel == Tunnel.erspan) {
            send(.ipPacket(m.outer, time: m.timestamp, flow: u.id))
        }
        if u.id != 0 && (u.isNew || u.answered || u.refused || u.burst), let c = table.current {
            if u.isNew && u.fromOriginator {
                if !context.scope.sawInternal { context.scope.note(c.origAddress); context.scope.note(c.respAddress) }
                let l = m.hasInner ? m.inner : m.outer
                send(.opened(c, Opening(tcpFlags: l.tcpFlags, icmpType: l.icmpType), time: m.timestamp))
            }
            if u.answered { send(.answered(c, time: u.timestamp)) }
            if u.refused { send(.refused(c, time: u.timestamp)) }
            if u.burst { send(.burst(c, time: u.timestamp)) }
        }
        if table.hasRefusedByICMP, let quoted = table.refusedByICMP { send(.refusedByICMP(quoted)) }
    }

    /// A connection the table finished.
    public func finished(_ c: Connection) { send(.finished(c)) }

    /// A DNS message seen from `src` to `dst` (query) or back (response).
    public func dns(_ msg: DNSMessage, src: IPAddress, dst: IPAddress, flow: Int64, time: Int64) {
        if time > context.now { context.now = time }
        send(.dns(msg, src: src, dst: dst, flow: flow, time: time))
    }

    /// A TLS ClientHello on a connection, with its server name.
    public func certificate(sha1: String, subject: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64) {
        send(.certificate(sha1: sha1, subject: subject, client: client, server: server, flow: flow, time: time))
    }

    /// A whole file seen on a connection (sent only while a detector takes files).
    public func file(md5: String, sha1: String, sha256: String, name: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64) {
        send(.file(md5: md5, sha1: sha1, sha256: sha256, name: name, client: client, server: server, flow: flow, time: time))
    }

    /// Whether any detector takes files.
    public var wantsFiles: Bool { !routes[DetectorEvent.Kind.file.rawValue].isEmpty }

    public func tlsHello(flow: Int64, client: IPAddress, serverName: String?, ja4: String = "", ja3: String = "") {
        send(.tlsHello(flow: flow, client: client, serverName: serverName, ja4: ja4, ja3: ja3))
    }

    /// Whether any detector takes HTTP requests (the application layer sends none otherwise).
    public var wantsHTTP: Bool { !routes[DetectorEvent.Kind.http.rawValue].isEmpty }

    public func http(host: String, uri: String, client: IPAddress, server: IPAddress, flow: Int64, time: Int64) {
        if time > context.now { context.now = time }
        send(.http(host: host, uri: uri, client: client, server: server, flow: flow, time: time))
    }

    // MARK: output

    /// Alerts opened or grown since the last call, with whether each is new to the caller.
    public func drainChanges() -> [(alert: Alert, isNew: Bool)] { book.drainChanges() }

    /// The alerts with counts filled in for output.
    public var finalAlerts: [Alert] { book.alerts.map(EpisodeBook.finalized) }

    /// Only the alerts with these ids, with counts filled in.
    public func finalAlerts(ids: Set<Int64>) -> [Alert] { book.alerts.filter { ids.contains($0.id) }.map(EpisodeBook.finalized) }

    /// ARP counts as a protocol of its own for the scan detectors (a sweep by ARP requests).
    static func protoName(_ p: UInt8) -> String { p == ScanDetector.arpProto ? "arp" : IPProto.name(p) }
}

extension WindowedDistinct {
    /// The time of the oldest entry still counted.
    var earliest: Int64? { last.values.min() }
}
