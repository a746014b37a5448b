import AetherCore
import AetherDecode
import AetherFlows

/// Detector events as records ("records in"): a shard writes every event its
/// engine sends, one JSON object per line, and `aether detect` feeds such records, time-ordered
/// and in any mix of hosts, to the same detectors. Every record names the host whose detector
/// state it touches (`h`), so records partitioned by that host give the same alerts as one
/// engine over everything:
///
///     {"h":host,"t":engine time ns,"q":sequence,"f":file,"e":kind, …the event's fields}
///
/// A connection travels whole (`c`); `finished` records written by the end-of-input flush
/// carry `"cut":true` and the idle timeout (`to`) that decides whether the next file's
/// fragment of the same 5-tuple continues it (`FragmentJoin`).
public final class EventRecorder {
    public let file: Int
    private var sequence: Int64 = 0
    /// How many records were written (the heads' copies not counted).
    public var records: Int64 { sequence }
    /// The time of the first record.
    private var firstTime: Int64?
    /// One buffer per partition of hosts, then (with partitions) the main stream's.
    private var buffers: [[UInt8]]
    /// With partitions, each record goes to its host's partition (`partition(of:_:)`) and the
    /// main stream gets `head` lines (finished records) only.
    private let partitions: Int
    private var cutTimeouts: ConnectionTable.Timeouts?
    /// The records of the connections cut by the end of the input (`cut.jsonl`).
    public private(set) var cuts: [String] = []

    /// Where full buffers go (partition, or `partitions` for the main stream); false from it (a
    /// failed write) is kept in `failed`.
    private let sink: (Int, UnsafeRawBufferPointer) -> Bool
    public private(set) var failed = false

    /// Lines for a stream of several tables (`aether shard --stream`): `events`, then the
    /// partition host, time, sequence, file, connection id and `k` (finished records only),
    /// tab-separated, before the record, so that a Spark job routes and pairs records without
    /// parsing them.
    private let streamColumns: Bool

    public init(file: Int, streamColumns: Bool = false, sink: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.file = file
        self.streamColumns = streamColumns
        self.partitions = 0
        self.buffers = [[]]
        self.sink = { sink($1) }
    }

    /// Records in `partitions` streams by host, each with the stream columns before the record
    /// (no table name) and in time order: a Spark task hands each stream to its partition whole.
    /// The columns and record of each finished connection that could continue one cut at the
    /// previous file's end go to the heads stream (`sink` with index `partitions`).
    public init(file: Int, partitions: Int, sink: @escaping (Int, UnsafeRawBufferPointer) -> Bool) {
        self.file = file
        self.streamColumns = true
        self.partitions = partitions
        self.buffers = Array(repeating: [], count: partitions + 1)
        self.sink = sink
    }

    /// The partition of a host among `n`: FNV-1a of its text, which the Spark job computes too
    /// for a fragment that follows its root connection's host.
    public static func partition(of host: String, _ n: Int) -> Int {
        var h: UInt32 = 2_166_136_261
        for b in host.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int(h % UInt32(n))
    }

    /// Hands what is buffered to the sink.
    public func flush() {
        for i in buffers.indices { flush(i) }
    }

    private func flush(_ i: Int) {
        if !buffers[i].isEmpty && !buffers[i].withUnsafeBytes({ sink(i, $0) }) { failed = true }
        buffers[i].removeAll(keepingCapacity: true)
    }

    /// From now on, finished connections were cut by the end of the input, not closed.
    public func beginFinalFlush(_ timeouts: ConnectionTable.Timeouts) { cutTimeouts = timeouts }

    func record(_ e: DetectorEvent, now: Int64) {
        if firstTime == nil { firstTime = now }
        let kind = Self.name(e.kind)
        switch e {
        case .opened(let c, let op, let t):
            write(host: c.origAddress, now: now, kind: kind, whole: c) { f in
                f.int("at", t)
                f.int("fl", Int64(op.tcpFlags))
                f.int("it", Int64(op.icmpType))
            }
        case .answered(let c, let t), .refused(let c, let t), .burst(let c, let t):
            write(host: c.origAddress, now: now, kind: kind, whole: c) { $0.int("at", t) }
        case .refusedByICMP(let c):
            write(host: c.origAddress, now: now, kind: kind, whole: c) { _ in }
        case .finished(let c):
            // `k`: where the Spark job pairs a cut connection with the next file's fragments.
            let key = CutContinuation.key(c)
            let (p, line, start) = write(host: c.origAddress, now: now, kind: kind, key: key, whole: c) { f in
                f.string("k", key)
                guard let to = cutTimeouts else { return }
                f.bool("cut", true)
                switch c.idleClass {
                case 0: f.int("to", to.tcp)
                case 1: f.int("to", to.udp)
                case 2: f.int("to", to.other)
                default: f.int("to", to.closed)
                }
            }
            // The cut connections also go to a table of their own, which every partition reads.
            if cutTimeouts != nil { cuts.append(String(decoding: buffers[p][start..<buffers[p].count - 1], as: UTF8.self)) }
            // A fragment that began later than the longest idle timeout into its file continues
            // nothing (`CutContinuation`): only the others are candidates. The first record's
            // time is at or after the file's first packet, so none is left out.
            if partitions > 0, c.firstTime - (firstTime ?? now) <= CutContinuation.longestTimeout {
                let main = partitions
                if buffers[main].count >= 1 << 20 { flush(main) }
                buffers[main].append(contentsOf: buffers[p][line...])
            }
        case .ipPacket(let l, let t, let flow):
            write(host: l.src, now: now, kind: kind) { f in
                f.flow(at: t, flow, l.src, l.dst)
                f.int("p", Int64(l.proto))
                f.int("it", Int64(l.icmpType))
                f.int("ic", Int64(l.icmpCode))
                f.int("pl", Int64(l.payloadLength))
                f.int("il", Int64(l.ipLength))
            }
        case .arp(let op, let sender, let target, let t):
            write(host: op == 2 ? target : sender, now: now, kind: kind) { f in
                f.int("at", t)
                f.int("op", Int64(op))
                f.address("s", sender)
                f.address("d", target)
            }
        case .tlsHello(let flow, let client, let name, let ja4, let ja3):
            write(host: client, now: now, kind: kind, connection: flow) { f in
                f.int("fid", flow)
                f.address("s", client)
                if let name { f.string("sn", name) }
                if !ja4.isEmpty { f.string("j4", ja4) }
                if !ja3.isEmpty { f.string("j3", ja3) }
            }
        case .dns(let m, let src, let dst, let flow, let t):
            // The server's own partition must learn that it is asked (a resolver forwarding its
            // clients' questions is not the one asking).
            // Once per server and file: the detector keeps a set of servers that never forgets,
            // so the first record (the earliest, after the merge by time) is the one that counts.
            if !m.isResponse && !announced.contains(dst) {
                if announced.count >= 1 << 16 { announced.removeAll(keepingCapacity: true) }
                announced.insert(dst)
                write(host: dst, now: now, kind: "dnsserver") { $0.address("s", dst) }
            }
            write(host: m.isResponse ? dst : src, now: now, kind: kind) { f in
                f.flow(at: t, flow, src, dst)
                f.open("m", "{")
                f.int("id", Int64(m.id))
                f.bool("qr", m.isResponse)
                f.int("oc", Int64(m.opcode))
                f.int("rc", Int64(m.rcode))
                f.bool("tc", m.truncatedFlag)
                f.int("qd", Int64(m.questionCount))
                f.int("an", Int64(m.answerCount))
                f.string("n", m.name)
                f.int("qt", Int64(m.qtype))
                f.open("ans", "[")
                for a in m.answers {
                    f.openElement("[")
                    f.element(Int64(a.type))
                    f.element(Int64(a.ttl))
                    f.element(Int64(a.length))
                    f.element(Int64(bitPattern: a.digest))
                    f.element(a.data)
                    f.close("]")
                }
                f.close("]")
                f.close("}")
            }
        case .http(let name, let uri, let client, let server, let flow, let t):
            write(host: client, now: now, kind: kind, connection: flow) { f in
                f.flow(at: t, flow, client, server)
                f.string("ho", name)
                f.string("u", uri)
            }
        case .certificate(let sha1, let subject, let client, let server, let flow, let t):
            write(host: client, now: now, kind: kind, connection: flow) { f in
                f.flow(at: t, flow, client, server)
                f.string("h1", sha1)
                f.string("sj", subject)
            }
        case .file(let md5, let sha1, let sha256, let name, let client, let server, let flow, let t):
            write(host: client, now: now, kind: kind, connection: flow) { f in
                f.flow(at: t, flow, client, server)
                f.string("m5", md5)
                f.string("h1", sha1)
                f.string("h2", sha256)
                f.string("nm", name)
            }
        case .dnsServer:
            return
        }
    }

    /// Appends one record line to its host's partition's buffer: the head (host, time,
    /// sequence, file, kind and the connection whole), then what `fields` writes. Returns the
    /// partition, where the line starts and where its record starts.
    @discardableResult
    private func write(
        host: IPAddress, now: Int64, kind: String, connection: Int64? = nil, key: String? = nil, whole: Connection? = nil,
        _ fields: (inout RecordFields) -> Void
    ) -> (Int, Int, Int) {
        let (hostText, p) = hostEntry(host)
        if buffers[p].count >= 1 << 20 { flush(p) }
        let line = buffers[p].count
        // The buffer is taken out while it is written, so that appends do not copy it.
        var f = RecordFields(out: buffers[p])
        buffers[p] = []
        defer { buffers[p] = f.out }
        if streamColumns {
            if partitions == 0 { f.out.append(contentsOf: "events\t".utf8) }
            f.out.append(contentsOf: hostText)
            f.out.append(0x09)
            JSON.writeInt(now, into: &f.out)
            f.out.append(0x09)
            JSON.writeInt(sequence, into: &f.out)
            f.out.append(0x09)
            JSON.writeInt(Int64(file), into: &f.out)
            f.out.append(0x09)
            if let id = connection ?? whole?.id { JSON.writeInt(id, into: &f.out) }
            f.out.append(0x09)
            if let key { f.out.append(contentsOf: key.utf8) }
            f.out.append(0x09)
        }
        let start = f.out.count
        f.out.append(contentsOf: #"{"h":""#.utf8)
        f.out.append(contentsOf: hostText)
        f.out.append(UInt8(ascii: "\""))
        f.int("t", now)
        f.int("q", sequence)
        f.int("f", Int64(file))
        f.string("e", kind)
        if let whole {
            // A connection's events carry it whole (`c`, first after the kind).
            f.key("c")
            Self.writeSnapshot(whole, into: &f.out)
        }
        fields(&f)
        f.out.append(UInt8(ascii: "}"))
        f.out.append(0x0A)
        sequence += 1
        return (p, line, start)
    }

    /// Each host's text (an address: nothing in it is escaped in JSON) and partition, worked out
    /// once: a shard's records name a few thousand hosts, each many times.
    private var hosts: [IPAddress: ([UInt8], Int)] = [:]
    /// DNS servers whose partition has been told that they are asked (`dnsserver`).
    private var announced = Set<IPAddress>()

    private func hostEntry(_ host: IPAddress) -> ([UInt8], Int) {
        if let e = hosts[host] { return e }
        let text = host.description
        let e = (Array(text.utf8), partitions > 0 ? Self.partition(of: text, partitions) : 0)
        // Bounded: a capture of millions of spoofed sources keeps no more than this.
        if hosts.count >= 1 << 16 { hosts.removeAll(keepingCapacity: true) }
        hosts[host] = e
        return e
    }

    static func name(_ k: DetectorEvent.Kind) -> String { names[k.rawValue] }

    /// Each kind's record name, looked up once: describing an enum case reflects at run time.
    private static let names = DetectorEvent.Kind.allCases.map { String(describing: $0) }

    /// A connection whole, as records carry it (`RecordReader.connection` reads it back): the
    /// values of `ConnectionSnapshot.fields`, in its order, as an array. Three of every
    /// connection's records carry one, so keys would be a third of the bytes exchanged.
    public static func snapshot(_ c: Connection) -> JSON { .array(ConnectionSnapshot.fields.map { $0.get(c) }) }

    /// The short key of each value of a snapshot, in order.
    public static var snapshotKeys: [String] { ConnectionSnapshot.fields.map(\.key) }

    /// The same, appended to a line as its text.
    public static func writeSnapshot(_ c: Connection, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, f) in ConnectionSnapshot.fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            f.get(c).write(into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// The members of a record after its head, appended straight into its line: no value is built
/// to be rendered afterwards. Keys are the records' own short ASCII names, written as they are.
struct RecordFields {
    var out: [UInt8]
    /// Whether the next member or element follows another (a comma first).
    private var follows = true

    init(out: [UInt8]) { self.out = out }

    mutating func key(_ k: String) {
        if follows { out.append(UInt8(ascii: ",")) }
        follows = true
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: k.utf8)
        out.append(contentsOf: "\":".utf8)
    }

    mutating func int(_ k: String, _ v: Int64) {
        key(k)
        JSON.writeInt(v, into: &out)
    }

    mutating func string(_ k: String, _ v: String) {
        key(k)
        JSON.writeQuoted(v, into: &out)
    }

    mutating func address(_ k: String, _ a: IPAddress) { string(k, a.description) }

    /// What every event of a flow begins with: when, which flow, and its source and destination.
    mutating func flow(at t: Int64, _ flow: Int64, _ src: IPAddress, _ dst: IPAddress) {
        int("at", t)
        int("fid", flow)
        address("s", src)
        address("d", dst)
    }

    mutating func bool(_ k: String, _ v: Bool) {
        key(k)
        out.append(contentsOf: (v ? "true" : "false").utf8)
    }

    /// Member `k`, an object or array (`bracket`) whose members or elements follow.
    mutating func open(_ k: String, _ bracket: Unicode.Scalar) {
        key(k)
        out.append(UInt8(ascii: bracket))
        follows = false
    }

    /// An array element that is itself an array or object.
    mutating func openElement(_ bracket: Unicode.Scalar) {
        if follows { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: bracket))
        follows = false
    }

    mutating func element(_ v: Int64) {
        if follows { out.append(UInt8(ascii: ",")) }
        follows = true
        JSON.writeInt(v, into: &out)
    }

    mutating func element(_ v: String) {
        if follows { out.append(UInt8(ascii: ",")) }
        follows = true
        JSON.writeQuoted(v, into: &out)
    }

    mutating func close(_ bracket: Unicode.Scalar) {
        out.append(UInt8(ascii: bracket))
        follows = true
    }
}
