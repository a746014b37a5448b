import AetherCore

// Records are the Spark path's untrusted input: every value is read through `RecordReader`,
// which checks it and names the record's line in its error. It lives beside `Connection`
// because a connection whole (a snapshot) is the one record type whose fields are its fields.

/// A connection whole as records carry it (`c`): one table of fields, in the order their values
/// are written, each with its short key (an object written by hand may use them), how it is
/// read from a `Connection` and how it is checked and set back. The encoder (`EventRecorder`)
/// and `RecordReader.connection` both derive from `ConnectionSnapshot.fields`, which
/// `Connection.swift` declares beside the fields themselves.
public struct ConnectionSnapshot {
    public let key: String
    public let get: (Connection) -> JSON
    /// Sets the field from its value in the record (nil when the record lacks it).
    public let set: (inout Connection, RecordReader, JSON?) throws -> Void

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
}

/// A record that could not be read: its line and why.
public struct RecordError: Error, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "record \(line): \(reason)" }

    @inlinable public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }
}

/// A connection snapshot (`c` of a record) read back.
public func connection(fromRecord o: JSON) throws -> Connection { try RecordReader(r: o, line: 0).connection(o) }

/// The ranges every number read from records must fall in, checked where it is decoded: a
/// record is untrusted input, and arithmetic on an out-of-range time or count would trap.
public enum RecordRange {
    /// Packet times (`Timestamp.earliest...latest`, about 146 years either side of 1970):
    /// differences of two never overflow, and every time a capture reader gives is inside.
    public static let time: ClosedRange<Int64> = Timestamp.earliest...Timestamp.latest
    /// Packets and bytes of one connection or capture (256 TB): sums of a few never overflow.
    public static let count: ClosedRange<Int64> = 0...(1 << 48)

    /// Seconds (a Zeek-style `ts`) as nanoseconds, nil when not finite or out of `time`.
    public static func nanoseconds(fromSeconds s: Double) -> Int64? {
        guard s.isFinite, abs(s) <= 4_611_686_018 else { return nil }
        return Int64((s * 1e6).rounded()) * 1000
    }
}

/// The fields of a record, read with a line number for errors.
public struct RecordReader {
    public let r: JSON
    public let line: Int

    @inlinable public init(r: JSON, line: Int) {
        self.r = r
        self.line = line
    }

    @inlinable public func fail(_ why: String) -> RecordError { RecordError(line: line, reason: why) }

    @inlinable public func int(_ k: String, in o: JSON? = nil) throws -> Int64 { try int(k, value: (o ?? r)[k]) }
    @inlinable public func time(_ k: String, in o: JSON? = nil) throws -> Int64 { try time(k, value: (o ?? r)[k]) }
    @inlinable public func count(_ k: String, in o: JSON? = nil) throws -> UInt64 { try count(k, value: (o ?? r)[k]) }
    @inlinable public func uint<T: FixedWidthInteger>(_ k: String, in o: JSON? = nil, as: T.Type = T.self) throws -> T { try uint(k, value: (o ?? r)[k]) }
    @inlinable public func address(_ k: String, in o: JSON? = nil) throws -> IPAddress { try address(k, value: (o ?? r)[k]) }

    /// Field `k`'s value `v`, an integer.
    @inlinable public func int(_ k: String, value v: JSON?) throws -> Int64 {
        guard let v = v?.int else { throw fail("missing integer '\(k)'") }
        return v
    }

    /// A time in nanoseconds, within `RecordRange.time`.
    @inlinable public func time(_ k: String, value: JSON?) throws -> Int64 {
        let v = try int(k, value: value)
        guard RecordRange.time.contains(v) else { throw fail("'\(k)' out of range: not a time") }
        return v
    }

    /// A packet or byte count, within `RecordRange.count`.
    @inlinable public func count(_ k: String, value: JSON?) throws -> UInt64 {
        let v = try int(k, value: value)
        guard RecordRange.count.contains(v) else { throw fail("'\(k)' out of range: not a count") }
        return UInt64(v)
    }

    @inlinable public func uint<T: FixedWidthInteger>(_ k: String, value: JSON?, as: T.Type = T.self) throws -> T {
        let v = try int(k, value: value)
        guard let t = T(exactly: v) else { throw fail("'\(k)' out of range") }
        return t
    }

    @inlinable public func address(_ k: String, value: JSON?) throws -> IPAddress {
        guard let s = value?.string, let a = IPAddress(s) else { throw fail("missing address '\(k)'") }
        return a
    }

    /// A snapshot: the fields' values in the table's order (as written), or an object of them
    /// by key (written by hand).
    public func connection(_ o: JSON) throws -> Connection {
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
}
