/// The protocol-buffers wire format for the few messages of `proto/aether.proto`: the stream's
/// events are encoded here, and the subscription request decoded, without a code generator or
/// a runtime library (the messages are small and fixed; the Python client generated from the
/// .proto file is what checks this against the real thing).
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// Unsigned and int64 fields; proto3 leaves zero out.
    mutating func uint(_ field: Int, _ v: UInt64) {
        guard v != 0 else { return }
        tag(field, 0)
        varint(v)
    }

    mutating func int(_ field: Int, _ v: Int64) { uint(field, UInt64(bitPattern: v)) }

    mutating func string(_ field: Int, _ s: String) {
        guard !s.isEmpty else { return }
        var s = s
        s.withUTF8 { raw(field, $0) }
    }

    mutating func raw(_ field: Int, _ b: UnsafeBufferPointer<UInt8>) {
        tag(field, 2)
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    /// A nested message (always written, even when empty: a oneof case is present when set).
    mutating func message(_ field: Int, _ m: ProtoWriter) {
        tag(field, 2)
        varint(UInt64(m.bytes.count))
        bytes.append(contentsOf: m.bytes)
    }

    /// A packed repeated uint32.
    mutating func packed(_ field: Int, _ values: [UInt32]) {
        guard !values.isEmpty else { return }
        var inner = ProtoWriter()
        for v in values { inner.varint(UInt64(v)) }
        tag(field, 2)
        varint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}

/// Reads fields off a message; nil for anything malformed (a varint past 10 bytes, a length past
/// the end, a wire type we do not know).
struct ProtoReader {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8]) { self.bytes = bytes; offset = 0 }

    var atEnd: Bool { offset >= bytes.count }

    mutating func varint() -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let b = bytes[offset]
            offset += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }

    enum Value {
        case number(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    /// The next field number and its value; fixed-width fields are skipped over as numbers.
    mutating func field() -> (Int, Value)? {
        guard let key = varint(), key >> 3 > 0 else { return nil }
        switch key & 7 {
        case 0:
            return varint().map { (Int(key >> 3), .number($0)) }
        case 1, 5:
            let n = key & 7 == 1 ? 8 : 4
            guard offset + n <= bytes.count else { return nil }
            offset += n
            return (Int(key >> 3), .number(0))
        case 2:
            guard let n = varint(), n <= UInt64(bytes.count - offset) else { return nil }
            let slice = bytes[offset..<offset + Int(n)]
            offset += Int(n)
            return (Int(key >> 3), .bytes(slice))
        default:
            return nil
        }
    }
}

/// `SubscribeRequest`: kinds wanted (empty: all), the packet filter and the sampling rate.
package struct SubscribeRequest: Sendable, Equatable {
    package enum Kind: UInt64, Sendable { case packet = 1, alert = 2, summary = 3 }
    package var kinds: Set<UInt64> = []
    package var filter = ""
    package var sample: UInt32 = 0

    package init(kinds: Set<UInt64> = [], filter: String = "", sample: UInt32 = 0) {
        self.kinds = kinds; self.filter = filter; self.sample = sample
    }

    package func wants(_ k: Kind) -> Bool { kinds.isEmpty || kinds.contains(k.rawValue) }

    package static func decode(_ bytes: [UInt8]) -> SubscribeRequest? {
        var r = ProtoReader(bytes)
        var out = SubscribeRequest()
        while !r.atEnd {
            guard let (field, value) = r.field() else { return nil }
            switch (field, value) {
            case (1, .number(let k)): out.kinds.insert(k)
            case (1, .bytes(let packed)):
                var inner = ProtoReader(Array(packed))
                while !inner.atEnd {
                    guard let k = inner.varint() else { return nil }
                    out.kinds.insert(k)
                }
            case (2, .bytes(let s)): out.filter = String(decoding: s, as: UTF8.self)
            case (3, .number(let n)): out.sample = UInt32(truncatingIfNeeded: n)
            default: break  // unknown fields are skipped, as protobuf requires
            }
        }
        out.kinds.remove(0)
        // Only the kinds there are: anything else is a malformed request, not a set to keep.
        guard out.kinds.allSatisfy({ Kind(rawValue: $0) != nil }) else { return nil }
        return out
    }
}
