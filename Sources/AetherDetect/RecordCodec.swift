import AetherCore
import AetherDecode
import AetherFlows

/// A connection whole as records carry it (`c`): one table of fields, in the order their values
/// are written, each with its short key (an object written by hand may use them), how it is
/// read from a `Connection` and how it is checked and set back. The encoder and
/// `RecordReader.connection` both derive from it, so a field added to `Connection` that must
/// cross a shard boundary is one entry here.
struct ConnectionSnapshot {
    let key: String
    let get: (Connection) -> JSON
    /// Sets the field from its value in the record (nil when the record lacks it).
    let set: (inout Connection, RecordReader, JSON?) throws -> Void

    // Accessors are plain closures, not key paths: applying a key path looks its types up at
    // run time, and this table runs for every record written and read.

    /// A signed integer, taken as it is.
    static func int(_ key: String, _ get: @escaping (Connection) -> Int64, _ put: @escaping (inout Connection, Int64) -> Void) -> Self {
        Self(key: key, get: { .int(get($0)) }, set: { c, r, v in put(&c, try r.int(key, value: v)) })
    }

    /// A time in nanoseconds (`RecordRange.time`).
    static func time(_ key: String, _ get: @escaping (Connection) -> Int64, _ put: @escaping (inout Connection, Int64) -> Void) -> Self {
        Self(key: key, get: { .int(get($0)) }, set: { c, r, v in put(&c, try r.time(key, value: v)) })
    }

    /// A packet or byte count (`RecordRange.count`).
    static func count(_ key: String, _ get: @escaping (Connection) -> UInt64, _ put: @escaping (inout Connection, UInt64) -> Void) -> Self {
        Self(key: key, get: { .int(Int64(get($0))) }, set: { c, r, v in put(&c, try r.count(key, value: v)) })
    }

    /// A narrower unsigned integer, refused when out of its range. One per width, not generic:
    /// a generic accessor looked its type up at run time on every record.
    static func uint(_ key: String, _ get: @escaping (Connection) -> UInt8, _ put: @escaping (inout Connection, UInt8) -> Void) -> Self {
        Self(key: key, get: { .int(Int64(get($0))) }, set: { c, r, v in put(&c, try r.uint(key, value: v)) })
    }

    static func uint(_ key: String, _ get: @escaping (Connection) -> UInt16, _ put: @escaping (inout Connection, UInt16) -> Void) -> Self {
        Self(key: key, get: { .int(Int64(get($0))) }, set: { c, r, v in put(&c, try r.uint(key, value: v)) })
    }

    static func uint(_ key: String, _ get: @escaping (Connection) -> UInt32, _ put: @escaping (inout Connection, UInt32) -> Void) -> Self {
        Self(key: key, get: { .int(Int64(get($0))) }, set: { c, r, v in put(&c, try r.uint(key, value: v)) })
    }

    /// 64 bits carried as a signed integer (packet sequences and frame numbers).
    static func bits(_ key: String, _ get: @escaping (Connection) -> UInt64, _ put: @escaping (inout Connection, UInt64) -> Void) -> Self {
        Self(key: key, get: { .int(Int64(bitPattern: get($0))) }, set: { c, r, v in put(&c, UInt64(bitPattern: try r.int(key, value: v))) })
    }

    static func address(_ key: String, _ get: @escaping (Connection) -> IPAddress, _ put: @escaping (inout Connection, IPAddress) -> Void) -> Self {
        Self(key: key, get: { .string(get($0).description) }, set: { c, r, v in put(&c, try r.address(key, value: v)) })
    }

    static let fields: [ConnectionSnapshot] = [
        .int("id", { $0.id }, { $0.id = $1 }), .time("ts", { $0.firstTime }, { $0.firstTime = $1 }), .time("lt", { $0.lastTime }, { $0.lastTime = $1 }),
        .address("oh", { $0.origAddress }, { $0.origAddress = $1 }), .uint("op", { $0.origPort }, { $0.origPort = $1 }),
        .address("rh", { $0.respAddress }, { $0.respAddress = $1 }), .uint("rp", { $0.respPort }, { $0.respPort = $1 }),
        .uint("pr", { $0.proto }, { $0.proto = $1 }), .uint("vl", { $0.vlan }, { $0.vlan = $1 }),
        Self(
            key: "sv", get: { .int(Int64($0.service.rawValue)) },
            set: { c, r, v in c.service = Service(rawValue: try r.uint("sv", value: v)) ?? .unknown }),
        .count("opk", { $0.origPackets }, { $0.origPackets = $1 }), .count("rpk", { $0.respPackets }, { $0.respPackets = $1 }),
        .count("ob", { $0.origBytes }, { $0.origBytes = $1 }), .count("rb", { $0.respBytes }, { $0.respBytes = $1 }),
        .count("oib", { $0.origIPBytes }, { $0.origIPBytes = $1 }), .count("rib", { $0.respIPBytes }, { $0.respIPBytes = $1 }),
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
        .uint("lf", { $0.loginFailures }, { $0.loginFailures = $1 }), .uint("ls", { $0.loginSuccesses }, { $0.loginSuccesses = $1 }),
        .uint("in", { $0.inspected }, { $0.inspected = $1 }), .uint("as", { $0.appState }, { $0.appState = $1 }),
        .uint("tk", { $0.tunnelKind }, { $0.tunnelKind = $1 }), .int("tp", { $0.tunnelParent }, { $0.tunnelParent = $1 }),
        Self(
            key: "ic", get: { .int(Int64($0.idleClass)) },
            set: { c, r, v in c.restore(idleClass: try r.uint("ic", value: v), lastOriginatorPayload: c.lastOriginatorPayload) }),
        Self(
            key: "lop", get: { .int($0.lastOriginatorPayload) },
            set: { c, r, v in c.restore(idleClass: c.idleClass, lastOriginatorPayload: try r.time("lop", value: v)) }),
        .bits("fp", { $0.firstPacket }, { $0.firstPacket = $1 }), .bits("lp", { $0.lastPacket }, { $0.lastPacket = $1 }),
        .bits("fr", { $0.firstFrame }, { $0.firstFrame = $1 }), .int("cap", { $0.captureID }, { $0.captureID = $1 }),
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

    /// A snapshot: the fields' values in the table's order (as written), or an object of them
    /// by key (written by hand).
    func connection(_ o: JSON) throws -> Connection {
        var c = Connection()
        let fields = ConnectionSnapshot.fields
        switch o {
        case .array(let values):
            guard values.count == fields.count else { throw fail("a connection has \(fields.count) values, not \(values.count)") }
            for (f, v) in zip(fields, values) { try f.set(&c, self, v) }
        case .object:
            for f in fields { try f.set(&c, self, o[f.key]) }
        default:
            throw fail("a connection is an array or an object")
        }
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
