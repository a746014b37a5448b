import AetherCore
import AetherFlows

extension AlertKind {
    public static let beacon = AlertKind("beacon", technique: "T1071")  // Application Layer Protocol (C2)
}

/// beacon: regular contact from one host to one service, either as new connections (their start
/// times) or as bursts of payload inside one long-lived connection. Any unicast pair counts,
/// internal or not: a beacon between two public hosts, or two private ones, is the same behaviour.
/// A TCP connection that the capture joined mid-stream (an idle timeout cut a long-lived
/// connection; no SYN opened it) is not a new contact. A beacon needs time as well as contacts:
/// they must span `beacon.min_span` (a protocol test looping requests, a game's keep-alives
/// over a few seconds do not). A host talking to itself over loopback never beacons, and a
/// series already explained as password guessing or a scan of the same target is not also one.
final class BeaconDetector: Detector {
    static let kinds: [AlertKind] = [.beacon]
    static func make(_ config: DetectorConfig) -> Detector? { BeaconDetector() }

    struct ServiceKey: Hashable { var src: IPAddress; var dst: IPAddress; var port: UInt16; var proto: UInt8 }

    private var series: [ServiceKey: BeaconSeries] = [:]
    /// A pair's first contact, kept compactly until a second one makes it a series.
    private var firstContacts: [ServiceKey: (start: Int64, bytes: Int64, flow: Int64)] = [:]
    static let maxPairs = 500_000
    /// Burst start times inside each live connection, by connection id (bounded).
    private var bursts: [Int64: BeaconSeries] = [:]
    static let maxTrackedConnections = 50_000

    let events: Set<DetectorEvent.Kind> = [.finished, .burst]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        switch event {
        case .finished(let c):
            bursts[c.id] = nil
            // Contact is a connection the other side answered (a flood of unanswered SYNs is not).
            guard eligible(c), !c.joinedMidStream, c.respPackets > 0 else { return }
            let key = ServiceKey(src: c.origAddress, dst: c.respAddress, port: c.respPort, proto: c.proto)
            let bytes = Int64(c.origBytes + c.respBytes)
            var s: BeaconSeries
            if let existing = series.removeValue(forKey: key) {
                s = existing
            } else {
                guard let first = firstContacts.removeValue(forKey: key) else {
                    if firstContacts.count >= Self.maxPairs { firstContacts.removeAll(keepingCapacity: true) }
                    firstContacts[key] = (c.firstTime, bytes, c.id)
                    return
                }
                s = BeaconSeries()
                s.add(start: first.start, bytes: first.bytes, flow: first.flow)
            }
            s.add(start: c.firstTime, bytes: bytes, flow: c.id)
            series[key] = s
            consider(s, c, end: c.lastTime, form: "connections", ctx)
        case .burst(let c, let t):
            // Inside one UDP flow, repeated datagrams are the protocol's rhythm (RTP, games, NTP).
            guard c.proto == IPProto.tcp, eligible(c) else { return }
            var s: BeaconSeries
            if let b = bursts.removeValue(forKey: c.id) {
                s = b
            } else {
                if bursts.count >= Self.maxTrackedConnections { return }
                s = BeaconSeries()
                if !c.joinedMidStream { s.add(start: c.firstTime, bytes: 0, flow: c.id) }
            }
            s.add(start: t, bytes: 0, flow: c.id)
            bursts[c.id] = s
            consider(s, c, end: t, form: "bursts in one connection", ctx)
        default:
            break
        }
    }

    private func eligible(_ c: Connection) -> Bool {
        (c.proto == IPProto.tcp || c.proto == IPProto.udp) && !PortLists.periodicByNature.contains(c.respPort)
            && !c.respAddress.isLinkScopedOrGroup && !c.origAddress.isLinkScopedOrGroup && !c.respAddress.isLoopback
            && !c.origAddress.isLoopback
    }

    private func consider(_ s: BeaconSeries, _ c: Connection, end: Int64, form: String, _ ctx: DetectionContext) {
        let config = ctx.config
        let n = s.starts.count
        let book = ctx.book
        let ek = EpisodeKey(.beacon, c.origAddress, target: c.respAddress, port: c.respPort)
        let open = book[ek]
        guard n >= config[setting: .beaconMinConnections] else { return }
        // Scoring sorts the series: past 64 contacts every 16th is enough to follow it, and a
        // series not yet reported is scored only when its latest gaps look regular.
        if n >= 64 && n % 16 != 0 { return }
        if open == nil && !s.recentGapsRegular(jitter: config[setting: .beaconMaxJitter]) { return }
        guard let score = s.score(spanStart: ctx.firstTime, now: ctx.now, minInterval: config[setting: .beaconMinInterval]) else { return }
        // Few gaps can look regular by chance: the full jitter allowance needs twice the contacts.
        let jitterBound = n >= 2 * config[setting: .beaconMinConnections] ? config[setting: .beaconMaxJitter] : config[setting: .beaconMaxJitter] / 2
        let regular = score.total >= config[setting: .beaconScore] && 1 - score.tsMAD <= jitterBound && score.tsSkew >= 0.7
        if let i = open {
            book.update(i) { a in
                a.end = max(a.end, end)
                // The stored score is the latest one that still justifies the alert.
                if regular {
                    a.evidence = score.evidence(connections: n) + [("form", .string(form))]
                } else {
                    Evidence.set(&a, "contacts_seen", .int(Int64(n)))
                }
            }
            book.addFlow(i, c.id)
            return
        }
        // Regular timing is what makes a beacon: a high average alone can come from a short run
        // of lucky gaps early in a busy pair's history.
        guard regular, !ctx.allowed(src: c.origAddress, dst: c.respAddress) else { return }
        let first = s.starts.min() ?? c.firstTime
        let span = Double(max(end, s.starts.max() ?? end) - first) / 1e9
        guard span >= config[setting: .beaconMinSpan], !explained(c, ctx) else { return }
        var a = Alert(
            kind: .beacon, severity: ctx.scope.isOutbound(src: c.origAddress, dst: c.respAddress) ? .high : .medium,
            src: c.origAddress, dst: c.respAddress, proto: DetectionEngine.protoName(c.proto), start: first)
        a.end = end
        a.ports = [c.respPort]; a.portCount = 1
        var flows: [Int64] = []
        for f in s.flows where flows.last != f { flows.append(f) }
        a.flows = flows
        a.evidence = score.evidence(connections: n) + [("form", .string(form))]
        book.open(
            ek, a,
            why: [
                Evidence.crossed("score", score.total, config[setting: .beaconScore]),
                Evidence.crossed("interval_deviation", 1 - score.tsMAD, jitterBound),
                Evidence.crossed("contacts", n, config[setting: .beaconMinConnections]),
                Evidence.crossed("span_s", Int(span), Int(config[setting: .beaconMinSpan])),
            ])
    }

    /// The pair's contacts are already another alert's: password guessing at this service, or a
    /// scan or sweep from this source touching this target.
    private func explained(_ c: Connection, _ ctx: DetectionContext) -> Bool {
        let book = ctx.book
        return book.contains(EpisodeKey(.brute_force, c.origAddress, target: c.respAddress, port: c.respPort))
            || book.contains(EpisodeKey(c.proto == IPProto.udp ? .udp_scan : .port_scan, c.origAddress, target: c.respAddress))
            || book.contains(EpisodeKey(.slow_scan, c.origAddress, target: c.respAddress))
    }
}

extension BeaconDetector {
    /// Its settings in a rules file (`DetectorConfig.registry`): key, field, meaning.
    static let settings: [Setting] = [
        .count(.beaconMinConnections, atLeast: 4, "beacon: connections between one pair before scoring"),
        .number(.beaconScore, "beacon: RITA-style score (0-1) at which to alert"),
        .number(.beaconMinInterval, "beacon: median seconds between connections below which it is a burst, not a beacon"),
        .number(.beaconMaxJitter, "beacon: median absolute deviation of the gaps over their median, at most"),
        .number(
            .beaconMinSpan,
            "beacon: seconds the contacts must span at least (a protocol test or a retry loop repeats for seconds, a beacon for minutes)"),
    ]
}

/// This detector's settings: rules-file key and default, read as `config[setting: .name]`.
extension DetectorSetting where Value == Int {
    public static var beaconMinConnections: Self { .init("beacon.min_connections", default: 10) }
}

extension DetectorSetting where Value == Double {
    public static var beaconScore: Self { .init("beacon.score", default: 0.8) }
    public static var beaconMinInterval: Self { .init("beacon.min_interval", default: 1) }
    public static var beaconMaxJitter: Self { .init("beacon.max_jitter", default: 0.2) }
    public static var beaconMinSpan: Self { .init("beacon.min_span", default: 60) }
}
