import AetherCore

/// How serious an alert is (`AlertSeverity`, in AetherCore beside `Alert`).
public typealias Severity = AlertSeverity

/// What a detector reports: a kind's name (stored and shown as it is) and its MITRE ATT&CK
/// technique. Each detector declares its kinds in its own file (`extension AlertKind`) and lists
/// them in its `kinds`; `known` derives from the registered families.
public struct AlertKind: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public let technique: String
    /// A hash of the name, computed once: episode keys are hashed per probe.
    let hash64: UInt64

    init(_ name: String, technique: String) {
        rawValue = name
        self.technique = technique
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        hash64 = h
    }

    public var description: String { rawValue }
    public static func == (a: Self, b: Self) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(hash64) }

    /// Every kind a registered detector reports, by name.
    public static let known: [String: AlertKind] = Dictionary(
        DetectionEngine.families.flatMap { $0.kinds }.map { ($0.rawValue, $0) }, uniquingKeysWith: { a, _ in a })

    /// The kind of this name (nil for one no detector of this build reports, from a newer store).
    public init?(rawValue: String) {
        guard let k = Self.known[rawValue] else { return nil }
        self = k
    }
}

extension Alert {
    /// The kind, typed (nil for a kind this build does not know, from a newer store).
    public var alertKind: AlertKind? { AlertKind(rawValue: kind) }
}

/// What identifies an episode: one alert per (kind, source, target) for the whole run.
struct EpisodeKey: Hashable {
    var kind: AlertKind
    var src: IPAddress
    var target: IPAddress
    var port: UInt16
    var name: String

    init(_ kind: AlertKind, _ src: IPAddress, target: IPAddress = .zero, port: UInt16 = 0, name: String = "") {
        self.kind = kind
        self.src = src; self.target = target; self.port = port; self.name = name
    }

    // Hashing three words, not strings: these keys are looked up per probe.
    func hash(into h: inout Hasher) {
        h.combine(mix64(src.hash64 ^ target.hash64 &* 31 ^ UInt64(port) << 8 ^ kind.hash64))
    }
}

/// Every episode of every detector: one book, so a detector can ask whether another already
/// covers a behaviour (a scan's probes to a listed port are not also suspicious outbound).
final class EpisodeBook {
    private(set) var alerts: [Alert] = []
    private var episodes: [EpisodeKey: Int] = [:]
    /// Membership of each episode's targets and ports, so growing an episode is O(1).
    private var dstSets: [Int: Set<IPAddress>] = [:]
    private var portSets: [Int: Set<UInt16>] = [:]
    private var changed = Set<Int>()
    private var announced = Set<Int>()
    private var nextID: Int64

    init(firstID: Int64) { nextID = firstID }

    subscript(key: EpisodeKey) -> Int? { episodes[key] }

    func contains(_ key: EpisodeKey) -> Bool { episodes[key] != nil }

    /// Opens an episode: the alert with its kind's technique and the reason it fired.
    @discardableResult
    func open(_ key: EpisodeKey, _ alert: Alert, why: [(String, JSON)]) -> Int {
        var a = alert
        a.id = nextID
        nextID += 1
        a.why = why
        a.technique = key.kind.technique
        alerts.append(a)
        let i = alerts.count - 1
        episodes[key] = i
        dstSets[i] = Set(a.dsts)
        portSets[i] = Set(a.ports)
        changed.insert(i)
        return i
    }

    /// Changes an alert in place and marks it changed (its version moves, so the store and the
    /// live view pick it up).
    func update(_ i: Int, _ body: (inout Alert) -> Void) {
        body(&alerts[i])
        alerts[i].version += 1
        changed.insert(i)
    }

    func hasPort(_ i: Int, _ p: UInt16) -> Bool { portSets[i]?.contains(p) ?? false }

    /// Adds a port; true when it was new.
    func addPort(_ i: Int, _ p: UInt16) -> Bool {
        guard portSets[i, default: []].insert(p).inserted else { return false }
        alerts[i].ports.append(p)
        alerts[i].portCount += 1
        return true
    }

    /// Adds a target; true when it was new.
    func addTarget(_ i: Int, _ d: IPAddress) -> Bool {
        guard dstSets[i, default: []].insert(d).inserted else { return false }
        alerts[i].dstCount += 1
        if alerts[i].dsts.count < Alert.listLimit { alerts[i].dsts.append(d) }
        return true
    }

    func addFlow(_ i: Int, _ flow: Int64) {
        guard flow != 0, alerts[i].flows.count < Alert.flowLimit, alerts[i].flows.last != flow else { return }
        alerts[i].flows.append(flow)
    }

    /// Alerts opened or grown since the last call, with whether each is new to the caller.
    func drainChanges() -> [(alert: Alert, isNew: Bool)] {
        let out = changed.sorted().map { i -> (alert: Alert, isNew: Bool) in
            let isNew = !announced.contains(i)
            announced.insert(i)
            return (Self.finalized(alerts[i]), isNew)
        }
        changed.removeAll(keepingCapacity: true)
        return out
    }

    /// The alert with its derived counts filled in, so the stored evidence always agrees with
    /// the lists it summarises.
    static func finalized(_ alert: Alert) -> Alert {
        var a = alert
        a.ports.sort()
        let kind = AlertKind(rawValue: a.kind)
        if kind == .port_scan || kind == .udp_scan || (kind == .slow_scan && a.dst != nil) {
            let open = Evidence.count(a, "open_ports")
            Evidence.set(&a, "distinct_ports", .int(Int64(a.portCount)))
            Evidence.set(&a, "answered_ports", .int(Int64(open)))
            Evidence.set(&a, "unanswered_or_refused_ports", .int(Int64(max(0, a.portCount - open))))
        } else if a.dst == nil && (kind == .host_sweep || kind == .ping_sweep || kind == .slow_scan) {
            let answered = Evidence.count(a, "responding_hosts")
            Evidence.set(&a, "distinct_hosts", .int(Int64(a.dstCount)))
            Evidence.set(&a, "answered_hosts", .int(Int64(answered)))
            Evidence.set(&a, "unanswered_or_refused_hosts", .int(Int64(max(0, a.dstCount - answered))))
        }
        a.evidence.append(("first", .string(Timestamp(nanoseconds: a.start).iso8601)))
        a.evidence.append(("last", .string(Timestamp(nanoseconds: a.end).iso8601)))
        return a
    }
}

/// Ordered key/value evidence helpers.
enum Evidence {
    static func add(_ a: inout Alert, _ key: String, _ delta: Int64) {
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .int(let v) = a.evidence[j].1 {
            a.evidence[j].1 = .int(v + delta)
        } else {
            a.evidence.append((key, .int(delta)))
        }
    }

    static func max(_ a: inout Alert, _ key: String, _ v: Int64) {
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .int(let old) = a.evidence[j].1 {
            if v > old { a.evidence[j].1 = .int(v) }
        } else {
            a.evidence.append((key, .int(v)))
        }
    }

    static func set(_ a: inout Alert, _ key: String, _ v: JSON) {
        if let j = a.evidence.firstIndex(where: { $0.0 == key }) { a.evidence[j].1 = v } else { a.evidence.append((key, v)) }
    }

    static func append(_ a: inout Alert, _ key: String, _ v: JSON, limit: Int = Alert.listLimit) {
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .array(var list) = a.evidence[j].1 {
            if list.count < limit && !list.contains(where: { $0.render() == v.render() }) { list.append(v) }
            a.evidence[j].1 = .array(list)
        } else {
            a.evidence.append((key, .array([v])))
        }
    }

    static func count(_ a: Alert, _ key: String) -> Int {
        guard let e = a.evidence.first(where: { $0.0 == key }), case .array(let l) = e.1 else { return 0 }
        return l.count
    }

    /// One reason: the counter, its value and the threshold it reached.
    static func crossed(_ counter: String, _ value: Int, _ threshold: Int) -> (String, JSON) {
        (counter, .object([("value", .int(Int64(value))), ("threshold", .int(Int64(threshold)))]))
    }

    static func crossed(_ counter: String, _ value: Double, _ threshold: Double) -> (String, JSON) {
        (counter, .object([("value", .double((value * 1000).rounded() / 1000)), ("threshold", .double(threshold))]))
    }
}

extension Alert {
    /// A detector's alert: its kind and severity as their types, so a misspelt one does not build.
    init(kind: AlertKind, severity: AlertSeverity, src: IPAddress, dst: IPAddress?, proto: String, start: Int64) {
        self.init(kind: kind.rawValue, severity: severity.rawValue, src: src, dst: dst, proto: proto, start: start)
    }
}
