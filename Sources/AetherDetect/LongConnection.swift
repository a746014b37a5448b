import AetherCore
import AetherFlows

extension AlertKind {
    /// Application Layer Protocol: C2 and exfiltration channels kept open.
    public static let long_connection = AlertKind("long_connection", technique: "T1071")
}

/// long_connection: a connection that lasted for hours, where C2 and exfiltration tunnels hide
/// (RITA's long connections). Reported once per pair (originator, responder, port, protocol)
/// with its total duration, raised as it passes each tier (`long.tiers`: 1, 4, 8 and 12 hours;
/// the first is low, the middle ones medium, the last high). A TCP connection that the idle
/// timeout cut into pieces counts whole: a piece that opens without a SYN, on the same
/// 5-tuple as a piece that had not closed, continues it, however long the silence between them.
/// Group, broadcast and link-scoped destinations and loopback are not connections of this kind.
final class LongConnectionDetector: Detector {
    static let kinds: [AlertKind] = [.long_connection]
    static func make(_ config: DetectorConfig) -> Detector? { LongConnectionDetector(tiers: config[setting: .longTiers]) }

    private let tiers: [Int64]
    init(tiers: [Int64]) { self.tiers = tiers }

    /// A TCP connection's pieces so far: when it began, the last piece's end, whether that
    /// piece closed, and its pieces' ids (bounded).
    struct Chain {
        var start: Int64; var end: Int64; var closed: Bool; var src: IPAddress; var dst: IPAddress; var port: UInt16; var flows: [Int64]; var bytes: UInt64
    }
    /// By the connection's direction-free 5-tuple (`ConnectionKey`, the table's own).
    private var chains: [ConnectionKey: Chain] = [:]
    static let maxChains = 100_000

    let events: Set<DetectorEvent.Kind> = [.finished]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        guard case .finished(let c) = event, !c.respAddress.isLinkScopedOrGroup, !c.origAddress.isLoopback, !c.respAddress.isLoopback else { return }
        guard let firstTier = tiers.first else { return }
        let ended = c.origState == .closed || c.origState == .reset || c.respState == .closed || c.respState == .reset
        var chain = Chain(
            start: c.firstTime, end: c.lastTime, closed: ended, src: c.origAddress, dst: c.respAddress, port: c.respPort, flows: [c.id],
            bytes: c.origBytes + c.respBytes)
        if c.proto == IPProto.tcp {
            let key = ConnectionKey(c.origAddress, c.origPort, c.respAddress, c.respPort, c.proto)
            if let prior = chains.removeValue(forKey: key), !prior.closed, c.joinedMidStream {
                chain.start = prior.start
                chain.src = prior.src; chain.dst = prior.dst; chain.port = prior.port
                chain.flows = prior.flows.count < 1000 ? prior.flows + [c.id] : prior.flows
                chain.bytes += prior.bytes
            }
            // An unanswered attempt (a flood's SYNs) continues nothing worth keeping.
            if !ended && c.respPackets > 0 {
                if chains.count >= Self.maxChains { chains = chains.filter { $0.value.end - $0.value.start >= firstTier * 1_000_000_000 / 2 } }
                chains[key] = chain
            }
        }
        let duration = chain.end - chain.start
        guard duration >= firstTier * 1_000_000_000, !ctx.allowed(src: chain.src, dst: chain.dst) else { return }
        let tier = tiers.lastIndex { duration >= $0 * 1_000_000_000 }!
        let severity: AlertSeverity = tier == 0 ? .low : (tier == tiers.count - 1 ? .high : .medium)
        let book = ctx.book
        let ek = EpisodeKey(.long_connection, chain.src, target: chain.dst, port: chain.port)
        let evidence: [(String, JSON)] = [
            ("duration_s", .int(duration / 1_000_000_000)), ("tier_hours", .int(tiers[tier] / 3600)), ("pieces", .int(Int64(chain.flows.count))),
            ("bytes", .int(Int64(chain.bytes))),
        ]
        if let i = book[ek] {
            book.update(i) { a in
                guard duration / 1_000_000_000 >= (a.evidence.first { $0.0 == "duration_s" }?.1.int ?? 0) else { return }
                a.start = min(a.start, chain.start)
                a.end = max(a.end, chain.end)
                a.severity = severity.rawValue
                a.evidence = evidence
            }
            for f in chain.flows { book.addFlow(i, f) }
            return
        }
        var a = Alert(
            kind: .long_connection, severity: severity, src: chain.src, dst: chain.dst, proto: IPProto.name(c.proto), start: chain.start)
        if chain.port != 0 { a.ports = [chain.port]; a.portCount = 1 }
        a.end = chain.end
        a.evidence = evidence
        a.flows = chain.flows
        book.open(ek, a, why: [Evidence.crossed("duration_s", Int(duration / 1_000_000_000), Int(firstTier))])
    }

    /// Its settings in a rules file (`DetectorConfig.registry`).
    static let settings: [Setting] = [
        Setting(
            DetectorSetting.longTiers.key,
            "long_connection: durations in seconds that raise a connection (RITA's 1, 4, 8 and 12 hours); the first is low severity, the last high",
            show: { $0[setting: .longTiers].map(String.init).joined(separator: ",") },
            assign: { c, v, line in
                let parts = v.split(separator: ",").map { String($0).trimmingSpaces }
                let tiers = parts.compactMap { Int64($0) }
                guard !tiers.isEmpty, tiers.count == parts.count, tiers.allSatisfy({ $0 > 0 && $0 < 1 << 32 }), tiers == tiers.sorted(),
                    Set(tiers).count == tiers.count
                else { throw ConfigError("line \(line): long.tiers needs increasing whole seconds, comma-separated") }
                c[setting: .longTiers] = tiers
            })
    ]
}

extension DetectorSetting where Value == [Int64] {
    /// RITA's tiers, in seconds.
    public static var longTiers: Self { .init("long.tiers", default: [3600, 14400, 28800, 43200]) }
}
