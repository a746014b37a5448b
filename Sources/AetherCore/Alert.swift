/// One detection episode: grows while the behaviour goes on (one alert per kind, source and target).
public struct Alert: Sendable {
    public var id: Int64 = 0
    public var kind: String
    public var severity: String
    public var src: IPAddress
    /// The single target, when there is one.
    public var dst: IPAddress?
    /// Several targets (sweeps), at most `Alert.listLimit` of them; `dstCount` is the total.
    public var dsts: [IPAddress] = []
    public var dstCount = 0
    public var ports: [UInt16] = []
    public var portCount = 0
    public var proto: String
    public var start: Int64
    public var end: Int64
    /// Evidence as ordered key/value pairs (counts, lists, scores).
    public var evidence: [(String, JSON)] = []
    /// Connections (flow ids) involved, at most `Alert.flowLimit`.
    public var flows: [Int64] = []
    /// Bumped on every change; live mode sends an update when it moves.
    public var version = 0
    /// Why it fired: each counter with the threshold it reached, as it stood when the episode opened.
    public var why: [(String, JSON)] = []
    /// The MITRE ATT&CK technique id.
    public var technique = ""

    public static let listLimit = 4096
    public static let flowLimit = 1_000_000

    public init(kind: String, severity: String, src: IPAddress, dst: IPAddress?, proto: String, start: Int64) {
        self.kind = kind; self.severity = severity; self.src = src; self.dst = dst; self.proto = proto
        self.start = start; self.end = start
    }

    /// The keys of `aether alerts --json`.
    public func json(includeEvidence: Bool = true) -> JSON {
        var o: [(String, JSON)] = [
            ("id", .int(id)), ("kind", .string(kind)), ("severity", .string(severity)), ("src", .string(src.description)),
        ]
        if let dst {
            o.append(("dst", .string(dst.description)))
        } else {
            o.append(("dsts", .array(dsts.map { .string($0.description) })))
            o.append(("dst_count", .int(Int64(dstCount))))
        }
        o.append(("ports", .array(ports.map { .int(Int64($0)) })))
        o.append(("proto", .string(proto)))
        o.append(("start", .double(Double(start) / 1e9)))
        o.append(("end", .double(Double(end) / 1e9)))
        o.append(("flows", .int(Int64(flows.count))))
        if !technique.isEmpty { o.append(("technique", .string(technique))) }
        if !why.isEmpty { o.append(("why", .object(why))) }
        if includeEvidence { o.append(("evidence", .object(evidence))) }
        return .object(o)
    }
}

/// How urgent an alert is, most urgent first (`allCases` order is the report's order).
public enum AlertSeverity: String, CaseIterable, Sendable, Comparable {
    case critical, high, medium, low

    /// 0 for the most urgent.
    public var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

extension Alert {
    /// The severity as its type (nil for a name no detector gives, from a foreign records file).
    public var alertSeverity: AlertSeverity? { AlertSeverity(rawValue: severity) }
}
