/// Reads one JSON text into `JSON` (records that `aether detect` and `aether import` take in).
/// Bounded: nesting deeper than 64 and anything malformed is an error with its byte offset,
/// never a trap. Numbers without a fraction or exponent that fit in 64 bits stay integers.
public struct JSONParser {
    public struct Failure: Error, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "malformed JSON at byte \(offset): \(reason)" }
    }

    private let b: [UInt8]
    private var i = 0
    /// Where the text starts in `b`: error offsets count from there.
    private var origin = 0
    static let maxDepth = 64

    public static func parse(_ text: String) throws -> JSON { try parse(bytes: Array(text.utf8)) }

    /// The same from the text's bytes (a records line as read) from offset `start`: no copy
    /// into a `String` first.
    public static func parse(bytes: [UInt8], from start: Int = 0) throws -> JSON {
        var p = JSONParser(bytes)
        p.i = min(max(start, 0), bytes.count)
        p.origin = p.i
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.b.count else { throw p.fail("text after the value") }
        return v
    }

    private init(_ bytes: [UInt8]) { b = bytes }

    private func fail(_ why: String) -> Failure { Failure(offset: i - origin, reason: why) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws -> JSON {
        guard depth < Self.maxDepth else { throw fail("nested too deep") }
        skipSpace()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var o: [(String, JSON)] = []
            // A record's objects have a few dozen members: one allocation rather than several.
            o.reserveCapacity(16)
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                o.append((k, try value(depth: depth + 1)))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                i += 1
                return .object(o)
            }
        case UInt8(ascii: "["):
            i += 1
            var a: [JSON] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                a.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                i += 1
                return .array(a)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try literal(0x74_72_75_65, 4, .bool(true))  // true
        case UInt8(ascii: "f"): return try literal(0x66_61_6C_73_65, 5, .bool(false))  // false
        case UInt8(ascii: "n"): return try literal(0x6E_75_6C_6C, 4, .null)  // null
        default:
            return try number()
        }
    }

    /// A word of `n` letters, given as their bytes big-endian in `word`.
    private mutating func literal(_ word: UInt64, _ n: Int, _ v: JSON) throws -> JSON {
        guard i + n <= b.count else { throw fail("unknown word") }
        var got: UInt64 = 0
        for k in 0..<n { got = got << 8 | UInt64(b[i + k]) }
        guard got == word else { throw fail("unknown word") }
        i += n
        return v
    }

    private mutating func number() throws -> JSON {
        let start = i
        var integral = true
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        while i < b.count {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                i += 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: "-")
            {
                integral = false
                i += 1
            } else {
                break
            }
        }
        if integral, let v = integer(start..<i) { return .int(v) }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard !text.isEmpty, let d = Double(text) else { throw fail("not a number") }
        return .double(d)
    }

    /// An optional minus and 1 to 19 digits as an integer without a `String` (records are mostly
    /// integers); nil when it is not one or does not fit in 64 bits.
    private func integer(_ r: Range<Int>) -> Int64? {
        var k = r.lowerBound
        let negative = k < r.upperBound && b[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        let digits = r.upperBound - k
        guard digits > 0 && digits <= 19 else { return nil }
        var v: UInt64 = 0  // 19 digits never overflow 64 unsigned bits
        while k < r.upperBound {
            let d = b[k] &- 0x30
            guard d < 10 else { return nil }
            v = v &* 10 &+ UInt64(d)
            k += 1
        }
        if negative { return v <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- v) : nil }
        return v <= UInt64(Int64.max) ? Int64(v) : nil
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // the opening quote
        // Most strings have no escape: they are taken from the input as they are.
        var j = i
        while j < b.count, b[j] != UInt8(ascii: "\""), b[j] != UInt8(ascii: "\\"), b[j] >= 0x20 { j += 1 }
        if j < b.count && b[j] == UInt8(ascii: "\"") {
            defer { i = j + 1 }
            return String(decoding: b[i..<j], as: UTF8.self)
        }
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { throw fail("control character in a string") }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard i < b.count else { break }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                out.append(contentsOf: String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
            default: throw fail("bad escape")
            }
        }
        throw fail("unterminated string")
    }
}

extension JSON {
    /// The member `key` of an object (nil for anything else).
    public subscript(key: String) -> JSON? {
        guard case .object(let o) = self else { return nil }
        for (k, v) in o where k == key { return v }
        return nil
    }

    public var int: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d): return d.isFinite && abs(d) < 9e18 ? Int64(d) : nil
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
}
