import AetherCore
import AetherDecode
import AetherFlows

/// Connections cut at file boundaries, joined again. Each shard's end-of-input flush wrote its
/// open connections as cut records; a fragment of the next file that continues one (found by
/// the Spark job: same 5-tuple, first packet within the idle timeout, a TCP fragment without
/// its own SYN) is a match `b → a`. A chain (a long connection over several files) folds in
/// order: the prior of `b` is the root's cut record with every later cut fragment absorbed.
public final class FragmentJoin {
    private var cuts: [Int64: Connection] = [:]
    private var matches: [Int64: Int64] = [:]
    /// Cut fragments that a later fragment continues: their own `finished` is not the end.
    private var continued: Set<Int64> = []
    private var priors: [Int64: Connection] = [:]

    public init() {}

    /// A cut record, as the shard wrote it.
    public func addCut(_ record: JSON, line: Int) throws {
        let r = RecordReader(r: record, line: line)
        guard let c = record["c"] else { throw r.fail("cut record without a connection") }
        let conn = try r.connection(c)
        cuts[conn.id] = conn
    }

    /// `later` (a fragment of the next file) continues the cut connection `earlier`.
    public func addMatch(later: Int64, earlier: Int64) {
        matches[later] = earlier
        continued.insert(earlier)
    }

    public var isEmpty: Bool { matches.isEmpty }

    /// The connection as one table would have it just before fragment `id` began.
    func prior(of id: Int64) -> Connection? {
        guard let a = matches[id] else { return nil }
        if let p = priors[id] { return p }
        guard var merged = cuts[a] else { return nil }
        if let before = prior(of: a) {
            var p = before
            p.absorb(merged)
            merged = p
        }
        priors[id] = merged
        return merged
    }

    /// The id one table would have given the connection fragment `id` belongs to.
    func root(of id: Int64) -> Int64 {
        var x = id
        var steps = 0
        while let a = matches[x], steps < 1 << 20 { x = a; steps += 1 }
        return x
    }

    func isContinued(_ id: Int64) -> Bool { continued.contains(id) }
}

/// Feeds event records to a `DetectionEngine`, joining fragments on the way. It hands back
/// each connection that finished (for conn records) and keeps the stream's time.
public final class EventReplay {
    public let engine: DetectionEngine
    public let join: FragmentJoin
    private var line = 0
    public private(set) var lastTime = Int64.min

    public init(engine: DetectionEngine, join: FragmentJoin) {
        self.engine = engine
        self.join = join
    }

    /// The whole input's first packet time and whether any host of it is in the internal
    /// networks: both are global facts a partition of hosts cannot see for itself.
    public func assume(firstTime: Int64, internalSeen: Bool) {
        engine.context.firstTime = firstTime
        if internalSeen { engine.context.scope.assumeInternalSeen() }
    }

    /// One record. Returns the connection it finished, if it is a `finished` record that ends
    /// a connection (not a fragment another continues).
    @discardableResult
    public func take(_ record: JSON) throws -> Connection? {
        line += 1
        let r = RecordReader(r: record, line: line)
        guard let kind = record["e"]?.string else { throw r.fail("no event kind 'e'") }
        let t = try r.time("t")
        if t < lastTime { throw r.fail("records out of time order (\(t) after \(lastTime))") }
        lastTime = t
        let ctx = engine.context
        if t > ctx.now { ctx.now = t }
        /// The record's connection joined to what came before it in earlier files, the prior
        /// part (if any), and the record's own fragment id.
        func conn() throws -> (Connection, Connection?, Int64) {
            guard let o = record["c"] else { throw r.fail("'\(kind)' without a connection") }
            let c = try r.connection(o)
            guard let p = join.prior(of: c.id) else { return (c, nil, c.id) }
            var m = p
            m.absorb(c)
            return (m, p, c.id)
        }
        func flow(_ k: String) throws -> Int64 { join.root(of: try r.int(k)) }
        switch kind {
        case "opened":
            let (c, prior, _) = try conn()
            if prior != nil { return nil }  // one table saw it open in the earlier file
            if !ctx.scope.sawInternal { ctx.scope.note(c.origAddress); ctx.scope.note(c.respAddress) }
            let o = Opening(tcpFlags: try r.uint("fl"), icmpType: try r.uint("it"))
            engine.send(.opened(c, o, time: try r.time("at")))
        case "answered", "refused":
            let (c, prior, _) = try conn()
            if let prior, prior.respPackets > 0 { return nil }  // answered in the earlier file
            let at = try r.time("at")
            engine.send(kind == "answered" ? .answered(c, time: at) : .refused(c, time: at))
        case "burst":
            engine.send(.burst(try conn().0, time: try r.time("at")))
        case "refusedByICMP":
            engine.send(.refusedByICMP(try conn().0))
        case "finished":
            let (c, _, fragment) = try conn()
            if join.isContinued(fragment) { return nil }
            engine.send(.finished(c))
            return c
        case "ipPacket":
            var l = IPLayer()
            l.src = try r.address("s")
            l.dst = try r.address("d")
            l.proto = try r.uint("p")
            l.isV6 = !l.src.isV4
            l.icmpType = try r.uint("it")
            l.icmpCode = try r.uint("ic")
            l.payloadLength = try r.uint("pl")
            l.ipLength = try r.uint("il")
            engine.send(.ipPacket(l, time: try r.time("at"), flow: try flow("fid")))
        case "arp":
            engine.send(.arp(op: try r.uint("op"), sender: try r.address("s"), target: try r.address("d"), time: try r.time("at")))
        case "tlsHello":
            engine.send(
                .tlsHello(
                    flow: try flow("fid"), client: try r.address("s"), serverName: record["sn"]?.string, ja4: record["j4"]?.string ?? "",
                    ja3: record["j3"]?.string ?? ""))
        case "dns":
            guard let m = record["m"] else { throw r.fail("'dns' without a message") }
            engine.send(.dns(try r.dns(m), src: try r.address("s"), dst: try r.address("d"), flow: try flow("fid"), time: try r.time("at")))
        case "http":
            engine.send(
                .http(
                    host: record["ho"]?.string ?? "", uri: record["u"]?.string ?? "", client: try r.address("s"), server: try r.address("d"),
                    flow: try flow("fid"), time: try r.time("at")))
        case "certificate":
            engine.send(
                .certificate(
                    sha1: record["h1"]?.string ?? "", subject: record["sj"]?.string ?? "", client: try r.address("s"), server: try r.address("d"),
                    flow: try flow("fid"), time: try r.time("at")))
        case "file":
            engine.send(
                .file(
                    md5: record["m5"]?.string ?? "", sha1: record["h1"]?.string ?? "", sha256: record["h2"]?.string ?? "",
                    name: record["nm"]?.string ?? "", client: try r.address("s"), server: try r.address("d"), flow: try flow("fid"),
                    time: try r.time("at")))
        case "dnsserver":
            engine.send(.dnsServer(try r.address("s")))
        default:
            throw r.fail("unknown event kind '\(kind)'")
        }
        return nil
    }
}
