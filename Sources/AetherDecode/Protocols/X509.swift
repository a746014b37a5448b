import AetherCore

/// What an X.509 certificate says that a responder reads (Zeek's x509.log): who it names, who
/// signed it, when it is valid, its key, and the names it covers. Parsed from DER with every
/// length checked before a read; anything malformed gives nil, never a partial certificate.
public struct Certificate: Sendable, Equatable {
    /// RFC 4514 form, most specific first: `CN=host,O=Org,C=US`.
    public var subject = ""
    public var issuer = ""
    /// Hex, as `openssl x509 -serial` prints it.
    public var serial = ""
    /// Seconds since 1970 (UTC).
    public var notBefore: Int64 = 0
    public var notAfter: Int64 = 0
    /// `rsa`, `ec`, `ed25519`, `ed448`, `dsa`, or the algorithm's OID.
    public var keyType = ""
    public var keyBits = 0
    /// DNS names and addresses of the subjectAltName extension (at most 100).
    public var san: [String] = []
    /// Issuer and subject are the same name: nobody vouches for it but itself.
    public var selfSigned = false

    public init() {}
}

public enum X509Parser {
    static let maxSAN = 100
    static let maxText = 256

    /// One DER-encoded certificate.
    public static func parse(_ der: [UInt8]) -> Certificate? {
        var top = DERReader(der[...])
        guard let cert = top.read(tag: 0x30), top.atEnd else { return nil }
        var c = DERReader(cert)
        guard let tbs = c.read(tag: 0x30) else { return nil }
        var t = DERReader(tbs)
        var out = Certificate()
        if t.peek == 0xA0 { guard t.read(tag: 0xA0) != nil else { return nil } }
        guard let serial = t.read(tag: 0x02), t.read(tag: 0x30) != nil,
            let issuer = t.read(tag: 0x30), let validity = t.read(tag: 0x30), let subject = t.read(tag: 0x30),
            let spki = t.read(tag: 0x30)
        else { return nil }
        out.serial = hex(serial.drop { $0 == 0 }.isEmpty ? serial : serial.drop { $0 == 0 })
        guard let iss = name(issuer), let sub = name(subject) else { return nil }
        out.issuer = iss
        out.subject = sub
        out.selfSigned = Array(issuer) == Array(subject)
        var v = DERReader(validity)
        guard let nb = v.readTime(), let na = v.readTime() else { return nil }
        out.notBefore = nb
        out.notAfter = na
        guard key(spki, into: &out) else { return nil }
        // Optional unique ids, then the extensions.
        while !t.atEnd {
            guard let tag = t.peek, let body = t.read(tag: tag) else { return nil }
            if tag == 0xA3 {
                var e = DERReader(body)
                guard let list = e.read(tag: 0x30) else { return nil }
                guard extensions(list, into: &out) else { return nil }
            }
        }
        return out
    }

    /// The certificates of a TLS Certificate handshake message's body (TLS 1.2 and earlier: a
    /// 3-byte list length, then each certificate with a 3-byte length). At most 10.
    public static func chain(_ body: ArraySlice<UInt8>) -> [[UInt8]]? {
        guard body.count >= 3 else { return nil }
        let b = body.startIndex
        let total = Int(body[b]) << 16 | Int(body[b + 1]) << 8 | Int(body[b + 2])
        guard total + 3 <= body.count else { return nil }
        var i = b + 3
        let end = i + total
        var out: [[UInt8]] = []
        while i + 3 <= end && out.count < 10 {
            let n = Int(body[i]) << 16 | Int(body[i + 1]) << 8 | Int(body[i + 2])
            i += 3
            guard n > 0, i + n <= end else { return nil }
            out.append(Array(body[i..<i + n]))
            i += n
        }
        return out
    }

    // MARK: parts

    private static let shortNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
        "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
    ]

    /// A Name (SEQUENCE OF SET OF AttributeTypeAndValue) in RFC 4514 order.
    static func name(_ der: ArraySlice<UInt8>) -> String? {
        var r = DERReader(der)
        var parts: [String] = []
        while !r.atEnd {
            guard let set = r.read(tag: 0x31) else { return nil }
            var s = DERReader(set)
            while !s.atEnd {
                guard let atv = s.read(tag: 0x30) else { return nil }
                var a = DERReader(atv)
                guard let oid = a.read(tag: 0x06), let tag = a.peek, let value = a.read(tag: tag) else { return nil }
                let key = oidString(oid).map { shortNames[$0] ?? $0 } ?? "?"
                parts.append(key + "=" + text(value, tag: tag).replacingEscapes)
            }
            if parts.count > 32 { break }
        }
        return parts.reversed().joined(separator: ",")
    }

    private static func key(_ spki: ArraySlice<UInt8>, into c: inout Certificate) -> Bool {
        var s = DERReader(spki)
        guard let alg = s.read(tag: 0x30), let bits = s.read(tag: 0x03), !bits.isEmpty else { return false }
        var a = DERReader(alg)
        guard let oid = a.read(tag: 0x06), let id = oidString(oid) else { return false }
        let key = bits.dropFirst()  // the unused-bits count
        switch id {
        case "1.2.840.113549.1.1.1":
            c.keyType = "rsa"
            var k = DERReader(key)
            if let seq = k.read(tag: 0x30) {
                var m = DERReader(seq)
                if let modulus = m.read(tag: 0x02) { c.keyBits = bitLength(modulus) }
            }
        case "1.2.840.10045.2.1":
            c.keyType = "ec"
            if let curve = a.read(tag: 0x06), let cid = oidString(curve) {
                c.keyBits = ["1.2.840.10045.3.1.7": 256, "1.3.132.0.34": 384, "1.3.132.0.35": 521, "1.3.132.0.10": 256][cid] ?? 0
            }
        case "1.3.101.112": c.keyType = "ed25519"; c.keyBits = 256
        case "1.3.101.113": c.keyType = "ed448"; c.keyBits = 456
        case "1.2.840.10040.4.1": c.keyType = "dsa"
        default: c.keyType = id
        }
        return true
    }

    private static func extensions(_ list: ArraySlice<UInt8>, into c: inout Certificate) -> Bool {
        var r = DERReader(list)
        while !r.atEnd {
            guard let ext = r.read(tag: 0x30) else { return false }
            var e = DERReader(ext)
            guard let oid = e.read(tag: 0x06) else { return false }
            if e.peek == 0x01 { guard e.read(tag: 0x01) != nil else { return false } }
            guard let value = e.read(tag: 0x04) else { return false }
            guard oidString(oid) == "2.5.29.17" else { continue }
            var v = DERReader(value)
            guard let names = v.read(tag: 0x30) else { return false }
            var n = DERReader(names)
            while !n.atEnd && c.san.count < maxSAN {
                guard let tag = n.peek, let body = n.read(tag: tag) else { return false }
                switch tag {
                case 0x82: c.san.append(text(body, tag: 0x16))
                case 0x87:
                    let b = Array(body)
                    if b.count == 4 {
                        c.san.append(IPAddress(v4: UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])).description)
                    } else if let a = IPAddress(bytes: b) {
                        c.san.append(a.description)
                    }
                default: break
                }
            }
        }
        return true
    }

    static func oidString(_ b: ArraySlice<UInt8>) -> String? {
        guard let first = b.first, b.count <= 64 else { return nil }
        var parts = [String(first / 40 > 2 ? 2 : first / 40), String(first / 40 > 2 ? first - 80 : first % 40)]
        var v: UInt64 = 0
        for byte in b.dropFirst() {
            guard v < 1 << 56 else { return nil }
            v = v << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                parts.append(String(v))
                v = 0
            }
        }
        return parts.joined(separator: ".")
    }

    private static func bitLength(_ integer: ArraySlice<UInt8>) -> Int {
        let digits = integer.drop { $0 == 0 }
        guard let top = digits.first else { return 0 }
        return (digits.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    private static func text(_ b: ArraySlice<UInt8>, tag: UInt8) -> String {
        let bytes = b.prefix(maxText)
        if tag == 0x1E {  // BMPString: UTF-16BE
            var units: [UInt16] = []
            var i = bytes.startIndex
            while i + 1 < bytes.endIndex {
                units.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]))
                i += 2
            }
            return String(decoding: units, as: UTF16.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ b: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for x in b.prefix(64) { out += [digits[Int(x >> 4)], digits[Int(x & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// RFC 4514's escapes for the characters that would split a name.
    fileprivate var replacingEscapes: String {
        var out = ""
        for ch in self {
            if ch == "," || ch == "+" || ch == "\\" || ch == "=" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}

/// DER's tag-length-value elements, read in order; nil on any length that runs past the end.
struct DERReader {
    private var b: ArraySlice<UInt8>

    init(_ b: ArraySlice<UInt8>) { self.b = b }

    var atEnd: Bool { b.isEmpty }
    var peek: UInt8? { b.first }

    /// The value of the next element if it has this tag.
    mutating func read(tag: UInt8) -> ArraySlice<UInt8>? {
        guard b.count >= 2, b[b.startIndex] == tag else { return nil }
        var i = b.startIndex + 1
        var n = Int(b[i])
        i += 1
        if n & 0x80 != 0 {
            let k = n & 0x7F
            guard k >= 1, k <= 3, b.endIndex - i >= k else { return nil }
            n = 0
            for _ in 0..<k {
                n = n << 8 | Int(b[i])
                i += 1
            }
        }
        guard b.endIndex - i >= n else { return nil }
        let value = b[i..<i + n]
        b = b[(i + n)...]
        return value
    }

    /// UTCTime or GeneralizedTime (`…Z`), as seconds since 1970.
    mutating func readTime() -> Int64? {
        guard let tag = peek, tag == 0x17 || tag == 0x18, let v = read(tag: tag) else { return nil }
        let s = Array(v)
        guard s.last == UInt8(ascii: "Z"), s.dropLast().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func num(_ a: Int, _ n: Int) -> Int { s[a..<a + n].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        var year: Int, i: Int
        if tag == 0x17 {
            guard s.count == 13 else { return nil }
            year = num(0, 2)
            year += year >= 50 ? 1900 : 2000
            i = 2
        } else {
            guard s.count == 15 else { return nil }
            year = num(0, 4)
            i = 4
        }
        let month = num(i, 2), day = num(i + 2, 2), hour = num(i + 4, 2), minute = num(i + 6, 2), second = num(i + 8, 2)
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
