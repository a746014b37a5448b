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
        var o: [(String, JSON)] = []
        let host: IPAddress
        var key: String?
        switch e {
        case .opened(let c, let op, let t):
            host = c.origAddress
            o = [("at", .int(t)), ("fl", .int(Int64(op.tcpFlags))), ("it", .int(Int64(op.icmpType)))]
        case .answered(let c, let t), .refused(let c, let t), .burst(let c, let t):
            host = c.origAddress
            o = [("at", .int(t))]
        case .refusedByICMP(let c):
            host = c.origAddress
            o = []
        case .finished(let c):
            host = c.origAddress
            // `k`: where the Spark job pairs a cut connection with the next file's fragments.
            key = CutContinuation.key(c)
            o = [("k", .string(key!))]
            if let to = cutTimeouts {
                let timeout: Int64
                switch c.idleClass {
                case 0: timeout = to.tcp
                case 1: timeout = to.udp
                case 2: timeout = to.other
                default: timeout = to.closed
                }
                o += [("cut", .bool(true)), ("to", .int(timeout))]
            }
        case .ipPacket(let l, let t, let flow):
            host = l.src
            o = [
                ("at", .int(t)), ("fid", .int(flow)), ("s", .string(l.src.description)), ("d", .string(l.dst.description)),
                ("p", .int(Int64(l.proto))), ("it", .int(Int64(l.icmpType))), ("ic", .int(Int64(l.icmpCode))),
                ("pl", .int(Int64(l.payloadLength))), ("il", .int(Int64(l.ipLength))),
            ]
        case .arp(let op, let sender, let target, let t):
            host = op == 2 ? target : sender
            o = [("at", .int(t)), ("op", .int(Int64(op))), ("s", .string(sender.description)), ("d", .string(target.description))]
        case .tlsHello(let flow, let client, let name, let ja4):
            host = client
            o = [("fid", .int(flow)), ("s", .string(client.description))]
            if let name { o.append(("sn", .string(name))) }
            if !ja4.isEmpty { o.append(("j4", .string(ja4))) }
        case .dns(let m, let src, let dst, let flow, let t):
            host = m.isResponse ? dst : src
            let answers: [JSON] = m.answers.map {
                .array([.int(Int64($0.type)), .int(Int64($0.ttl)), .int(Int64($0.length)), .int(Int64(bitPattern: $0.digest)), .string($0.data)])
            }
            o = [
                ("at", .int(t)), ("fid", .int(flow)), ("s", .string(src.description)), ("d", .string(dst.description)),
                (
                    "m",
                    .object([
                        ("id", .int(Int64(m.id))), ("qr", .bool(m.isResponse)), ("oc", .int(Int64(m.opcode))), ("rc", .int(Int64(m.rcode))),
                        ("tc", .bool(m.truncatedFlag)), ("qd", .int(Int64(m.questionCount))), ("an", .int(Int64(m.answerCount))),
                        ("n", .string(m.name)), ("qt", .int(Int64(m.qtype))), ("ans", .array(answers)),
                    ])
                ),
            ]
            // The server's own partition must learn that it is asked (a resolver forwarding its
            // clients' questions is not the one asking).
            if !m.isResponse { write(host: dst, now: now, kind: "dnsserver", [("s", .string(dst.description))]) }
        case .http(let name, let uri, let client, let server, let flow, let t):
            host = client
            o = [
                ("at", .int(t)), ("fid", .int(flow)), ("s", .string(client.description)), ("d", .string(server.description)), ("ho", .string(name)),
                ("u", .string(uri)),
            ]
        case .certificate(let sha1, let subject, let client, let server, let flow, let t):
            host = client
            o = [
                ("at", .int(t)), ("fid", .int(flow)), ("s", .string(client.description)), ("d", .string(server.description)), ("h1", .string(sha1)),
                ("sj", .string(subject)),
            ]
        case .dnsServer:
            return
        }
        var connection: Int64?
        // A connection's events carry it whole (`c`, first after the kind), written straight
        // into the line.
        var whole: Connection?
        switch e {
        case .opened(let c, _, _), .answered(let c, _), .refused(let c, _), .burst(let c, _), .refusedByICMP(let c), .finished(let c):
            connection = c.id
            whole = c
        case .tlsHello(let flow, _, _, _), .http(_, _, _, _, let flow, _), .certificate(_, _, _, _, let flow, _): connection = flow
        default: break
        }
        let (p, line, start) = write(host: host, now: now, kind: Self.name(e.kind), o, connection: connection, key: key, whole: whole)
        guard case .finished = e else { return }
        // The cut connections also go to a table of their own, which every partition reads.
        if cutTimeouts != nil { cuts.append(String(decoding: buffers[p][start..<buffers[p].count - 1], as: UTF8.self)) }
        // A fragment that began later than the longest idle timeout into its file continues
        // nothing (`CutContinuation`): only the others are candidates. The first record's time
        // is at or after the file's first packet, so none is left out.
        if partitions > 0, case .finished(let c) = e, c.firstTime - (firstTime ?? now) <= CutContinuation.longestTimeout {
            let main = partitions
            if buffers[main].count >= 1 << 20 { flush(main) }
            buffers[main].append(contentsOf: buffers[p][line...])
        }
    }

    /// Appends one record line to its partition's buffer: the partition, where the line starts
    /// and where its record starts.
    @discardableResult
    private func write(
        host: IPAddress, now: Int64, kind: String, _ fields: [(String, JSON)], connection: Int64? = nil, key: String? = nil,
        whole: Connection? = nil
    ) -> (Int, Int, Int) {
        let hostText = host.description
        let p = partitions > 0 ? Self.partition(of: hostText, partitions) : 0
        if buffers[p].count >= 1 << 20 { flush(p) }
        let line = buffers[p].count
        // The buffer is taken out while it is written, so that appends do not copy it.
        var buffer = buffers[p]
        buffers[p] = []
        defer { buffers[p] = buffer }
        if streamColumns {
            if partitions == 0 { buffer.append(contentsOf: "events\t".utf8) }
            buffer.append(contentsOf: hostText.utf8)
            for v in [now, sequence, Int64(file)] {
                buffer.append(0x09)
                JSON.writeInt(v, into: &buffer)
            }
            buffer.append(0x09)
            if let connection { JSON.writeInt(connection, into: &buffer) }
            buffer.append(0x09)
            if let key { buffer.append(contentsOf: key.utf8) }
            buffer.append(0x09)
        }
        let start = buffer.count
        buffer.append(contentsOf: #"{"h":"#.utf8)
        JSON.writeQuoted(hostText, into: &buffer)
        buffer.append(contentsOf: #","t":"#.utf8)
        JSON.writeInt(now, into: &buffer)
        buffer.append(contentsOf: #","q":"#.utf8)
        JSON.writeInt(sequence, into: &buffer)
        buffer.append(contentsOf: #","f":"#.utf8)
        JSON.writeInt(Int64(file), into: &buffer)
        buffer.append(contentsOf: #","e":"#.utf8)
        JSON.writeQuoted(kind, into: &buffer)
        if let whole {
            buffer.append(contentsOf: #","c":{"#.utf8)
            for (i, f) in ConnectionSnapshot.fields.enumerated() {
                if i > 0 { buffer.append(UInt8(ascii: ",")) }
                JSON.writeQuoted(f.key, into: &buffer)
                buffer.append(UInt8(ascii: ":"))
                f.get(whole).write(into: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
        for (k, v) in fields {
            buffer.append(UInt8(ascii: ","))
            JSON.writeQuoted(k, into: &buffer)
            buffer.append(UInt8(ascii: ":"))
            v.write(into: &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
        sequence += 1
        buffer.append(0x0A)
        return (p, line, start)
    }

    static func name(_ k: DetectorEvent.Kind) -> String { names[k.rawValue] }

    /// Each kind's record name, looked up once: describing an enum case reflects at run time.
    private static let names = DetectorEvent.Kind.allCases.map { String(describing: $0) }

    /// A connection whole, as records carry it (`RecordReader.connection` reads it back).
    public static func snapshot(_ c: Connection) -> JSON { encode(c) }

    static func encode(_ c: Connection) -> JSON { .object(ConnectionSnapshot.fields.map { ($0.key, $0.get(c)) }) }
}

/// A connection whole as records carry it (`c`): one table of short keys, each with how it is
/// read from a `Connection` and how it is checked and set back. The encoder and
/// `RecordReader.connection` both derive from it, so a field added to `Connection` that must
/// cross a shard boundary is one entry here.
struct ConnectionSnapshot {
    let key: String
    let get: (Connection) -> JSON
    /// Sets the field from its value in the record (nil when the record lacks it).
    let set: (inout Connection, RecordReader, JSON?) throws -> Void

    /// A signed integer, taken as it is.
    static func int(_ key: String, _ p: WritableKeyPath<Connection, Int64>) -> Self {
        Self(key: key, get: { .int($0[keyPath: p]) }, set: { c, r, v in c[keyPath: p] = try r.int(key, value: v) })
    }

    /// A time in nanoseconds (`RecordRange.time`).
    static func time(_ key: String, _ p: WritableKeyPath<Connection, Int64>) -> Self {
        Self(key: key, get: { .int($0[keyPath: p]) }, set: { c, r, v in c[keyPath: p] = try r.time(key, value: v) })
    }

    /// A packet or byte count (`RecordRange.count`).
    static func count(_ key: String, _ p: WritableKeyPath<Connection, UInt64>) -> Self {
        Self(key: key, get: { .int(Int64($0[keyPath: p])) }, set: { c, r, v in c[keyPath: p] = try r.count(key, value: v) })
    }

    /// A narrower unsigned integer, refused when out of its range. One per width, not generic:
    /// a generic accessor looked its type up at run time on every record.
    static func uint(_ key: String, _ p: WritableKeyPath<Connection, UInt8>) -> Self {
        Self(key: key, get: { .int(Int64($0[keyPath: p])) }, set: { c, r, v in c[keyPath: p] = try r.uint(key, value: v) })
    }

    static func uint(_ key: String, _ p: WritableKeyPath<Connection, UInt16>) -> Self {
        Self(key: key, get: { .int(Int64($0[keyPath: p])) }, set: { c, r, v in c[keyPath: p] = try r.uint(key, value: v) })
    }

    static func uint(_ key: String, _ p: WritableKeyPath<Connection, UInt32>) -> Self {
        Self(key: key, get: { .int(Int64($0[keyPath: p])) }, set: { c, r, v in c[keyPath: p] = try r.uint(key, value: v) })
    }

    /// 64 bits carried as a signed integer (packet sequences and frame numbers).
    static func bits(_ key: String, _ p: WritableKeyPath<Connection, UInt64>) -> Self {
        Self(key: key, get: { .int(Int64(bitPattern: $0[keyPath: p])) }, set: { c, r, v in c[keyPath: p] = UInt64(bitPattern: try r.int(key, value: v)) })
    }

    static func address(_ key: String, _ p: WritableKeyPath<Connection, IPAddress>) -> Self {
        Self(key: key, get: { .string($0[keyPath: p].description) }, set: { c, r, v in c[keyPath: p] = try r.address(key, value: v) })
    }

    static let fields: [ConnectionSnapshot] = [
        .int("id", \.id), .time("ts", \.firstTime), .time("lt", \.lastTime), .address("oh", \.origAddress), .uint("op", \.origPort),
        .address("rh", \.respAddress), .uint("rp", \.respPort), .uint("pr", \.proto), .uint("vl", \.vlan),
        Self(
            key: "sv", get: { .int(Int64($0.service.rawValue)) },
            set: { c, r, v in c.service = Service(rawValue: try r.uint("sv", value: v)) ?? .unknown }),
        .count("opk", \.origPackets), .count("rpk", \.respPackets), .count("ob", \.origBytes), .count("rb", \.respBytes),
        .count("oib", \.origIPBytes), .count("rib", \.respIPBytes),
        Self(
            key: "hi", get: { .string($0.history.description) },
            set: { c, r, v in
                guard let h = v?.string else { throw r.fail("missing 'hi'") }
                c.history = History(h)
            }),
        Self(
            key: "os", get: { .int(Int64($0.origState.rawValue)) },
            set: { c, r, v in c.origState = EndpointState(rawValue: try r.uint("os", value: v)) ?? .inactive }),
        Self(
            key: "rs", get: { .int(Int64($0.respState.rawValue)) },
            set: { c, r, v in c.respState = EndpointState(rawValue: try r.uint("rs", value: v)) ?? .inactive }),
        .uint("lf", \.loginFailures), .uint("ls", \.loginSuccesses), .uint("in", \.inspected), .uint("as", \.appState),
        .uint("tk", \.tunnelKind), .int("tp", \.tunnelParent),
        Self(
            key: "ic", get: { .int(Int64($0.idleClass)) },
            set: { c, r, v in c.restore(idleClass: try r.uint("ic", value: v), lastOriginatorPayload: c.lastOriginatorPayload) }),
        Self(
            key: "lop", get: { .int($0.lastOriginatorPayload) },
            set: { c, r, v in c.restore(idleClass: c.idleClass, lastOriginatorPayload: try r.time("lop", value: v)) }),
        .bits("fp", \.firstPacket), .bits("lp", \.lastPacket), .bits("fr", \.firstFrame), .int("cap", \.captureID),
    ]
}

/// A record that could not be read: its line and why.
public struct RecordError: Error, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "record \(line): \(reason)" }
}

/// A connection snapshot (`c` of a record) read back.
public func connection(fromRecord o: JSON) throws -> Connection { try RecordReader(r: o, line: 0).connection(o) }

/// The ranges every number read from records must fall in, checked where it is decoded: a
/// record is untrusted input, and arithmetic on an out-of-range time or count would trap.
public enum RecordRange {
    /// Nanoseconds since 1970 within about 130 years either way: differences of two never overflow.
    public static let time: ClosedRange<Int64> = -4_102_444_800_000_000_000...4_102_444_800_000_000_000
    /// Packets and bytes of one connection or capture (256 TB): sums of a few never overflow.
    public static let count: ClosedRange<Int64> = 0...(1 << 48)

    /// Seconds (a Zeek-style `ts`) as nanoseconds, nil when not finite or out of `time`.
    public static func nanoseconds(fromSeconds s: Double) -> Int64? {
        guard s.isFinite, abs(s) <= 4_102_444_800 else { return nil }
        return Int64((s * 1e6).rounded()) * 1000
    }
}

/// The fields of a record, read with a line number for errors.
struct RecordReader {
    let r: JSON
    let line: Int

    func fail(_ why: String) -> RecordError { RecordError(line: line, reason: why) }

    func int(_ k: String, in o: JSON? = nil) throws -> Int64 { try int(k, value: (o ?? r)[k]) }
    func time(_ k: String, in o: JSON? = nil) throws -> Int64 { try time(k, value: (o ?? r)[k]) }
    func count(_ k: String, in o: JSON? = nil) throws -> UInt64 { try count(k, value: (o ?? r)[k]) }
    func uint<T: FixedWidthInteger>(_ k: String, in o: JSON? = nil, as: T.Type = T.self) throws -> T { try uint(k, value: (o ?? r)[k]) }
    func address(_ k: String, in o: JSON? = nil) throws -> IPAddress { try address(k, value: (o ?? r)[k]) }

    /// Field `k`'s value `v`, an integer.
    func int(_ k: String, value v: JSON?) throws -> Int64 {
        guard let v = v?.int else { throw fail("missing integer '\(k)'") }
        return v
    }

    /// A time in nanoseconds, within `RecordRange.time`.
    func time(_ k: String, value: JSON?) throws -> Int64 {
        let v = try int(k, value: value)
        guard RecordRange.time.contains(v) else { throw fail("'\(k)' out of range: not a time") }
        return v
    }

    /// A packet or byte count, within `RecordRange.count`.
    func count(_ k: String, value: JSON?) throws -> UInt64 {
        let v = try int(k, value: value)
        guard RecordRange.count.contains(v) else { throw fail("'\(k)' out of range: not a count") }
        return UInt64(v)
    }

    func uint<T: FixedWidthInteger>(_ k: String, value: JSON?, as: T.Type = T.self) throws -> T {
        let v = try int(k, value: value)
        guard let t = T(exactly: v) else { throw fail("'\(k)' out of range") }
        return t
    }

    func address(_ k: String, value: JSON?) throws -> IPAddress {
        guard let s = value?.string, let a = IPAddress(s) else { throw fail("missing address '\(k)'") }
        return a
    }

    func connection(_ o: JSON) throws -> Connection {
        var c = Connection()
        let fields = ConnectionSnapshot.fields
        // The encoder writes the fields in the table's order: then each is where it is expected,
        // and no key is searched for. (Keys are unique, so this is the first of each.)
        var pairs: [(String, JSON)] = []
        if case .object(let p) = o { pairs = p }
        var inOrder = pairs.count >= fields.count
        var i = 0
        while inOrder && i < fields.count {
            inOrder = pairs[i].0 == fields[i].key
            i += 1
        }
        for (i, f) in fields.enumerated() { try f.set(&c, self, inOrder ? pairs[i].1 : o[f.key]) }
        guard c.lastTime >= c.firstTime else { throw fail("'lt' before 'ts'") }
        return c
    }

    func dns(_ o: JSON) throws -> DNSMessage {
        var m = DNSMessage()
        m.id = try uint("id", in: o)
        m.isResponse = o["qr"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false
        m.opcode = try uint("oc", in: o)
        m.rcode = try uint("rc", in: o)
        m.truncatedFlag = o["tc"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false
        m.questionCount = try uint("qd", in: o)
        m.answerCount = try uint("an", in: o)
        m.name = o["n"]?.string ?? ""
        m.qtype = try uint("qt", in: o)
        for a in o["ans"]?.array ?? [] {
            guard let f = a.array, f.count == 5, let type = f[0].int, let ttl = f[1].int, let length = f[2].int, let digest = f[3].int,
                let data = f[4].string, let t16 = UInt16(exactly: type), let ttl32 = UInt32(exactly: ttl), (0...65_535).contains(length)
            else { throw fail("malformed DNS answer") }
            var ans = DNSAnswer(type: t16, ttl: ttl32, data: data)
            ans.length = Int(length)
            ans.digest = UInt64(bitPattern: digest)
            m.answers.append(ans)
        }
        return m
    }
}
