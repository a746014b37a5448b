import AetherCore

extension AppProtocol {
    /// TLS (Zeek's "ssl"): a handshake record from either side. Its logins are encrypted.
    public static let tls = AppProtocol(
        "ssl", .tls, ports: [443, 993, 995, 465], probe: { p, _ in p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 })
}

/// What a TLS ClientHello says about the client.
public struct ClientHello: Sendable, Equatable {
    public var serverName: String?
    /// The highest version offered ("1.3" from supported_versions, else the hello's own).
    public var version: String
    public var alpn: [String] = []
    public var ciphers: [UInt16] = []
    public var extensions: [UInt16] = []
    public var signatureAlgorithms: [UInt16] = []
    /// What JA3 reads besides: the hello's own version field, the supported groups (GREASE
    /// left out, as for the ciphers and extensions) and the EC point formats, in their order.
    public var legacyVersion: UInt16 = 0
    public var groups: [UInt16] = []
    public var pointFormats: [UInt8] = []

    /// JA4's readable prefix, e.g. t13d1516h2; the hashed parts are made by the caller (sha256).
    public var ja4Prefix: String {
        let v: String
        switch version {
        case "1.3": v = "13"
        case "1.2": v = "12"
        case "1.1": v = "11"
        case "1.0": v = "10"
        default: v = "00"
        }
        let sni = serverName == nil ? "i" : "d"
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(min(n, 99)) }
        var a = "00"
        if let first = alpn.first, let f = first.first, let l = first.last, f.isASCII, l.isASCII { a = "\(f)\(l)" }
        return "t\(v)\(sni)\(two(ciphers.count))\(two(extensions.count))\(a)"
    }

    /// The strings JA4 hashes: sorted ciphers; sorted extensions without SNI and ALPN, then signature algorithms.
    public var ja4CipherString: String { ciphers.sorted().map(Self.hex4).joined(separator: ",") }
    public var ja4ExtensionString: String {
        let ext = extensions.filter { $0 != 0 && $0 != 16 }.sorted().map(Self.hex4).joined(separator: ",")
        let sig = signatureAlgorithms.map(Self.hex4).joined(separator: ",")
        return sig.isEmpty ? ext : ext + "_" + sig
    }

    /// The string JA3 hashes (MD5, by the caller): version, ciphers, extensions, groups and
    /// point formats in the order sent, in decimal, each list joined by "-".
    public var ja3String: String {
        func list<T: BinaryInteger>(_ v: [T]) -> String { v.map { String($0) }.joined(separator: "-") }
        return "\(legacyVersion),\(list(ciphers)),\(list(extensions)),\(list(groups)),\(list(pointFormats))"
    }

    static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    static func isGREASE(_ v: UInt16) -> Bool { v & 0x0F0F == 0x0A0A && v >> 8 == v & 0xFF }
}

public enum TLSParser {
    /// Bytes a ClientHello record needs, if `b` starts one (0 if it does not).
    public static func recordLength(_ b: UnsafeRawBufferPointer) -> Int {
        guard b.count >= 6, b[0] == 0x16, b[1] == 0x03, b[5] == 0x01 else { return 0 }
        return 5 + Int(b[3]) << 8 + Int(b[4])
    }

    /// The ServerHello's selected version (from supported_versions when present).
    public static func serverHelloVersion(_ b: UnsafeRawBufferPointer) -> String? {
        guard let base = b.baseAddress, b.count >= 11, b[0] == 0x16, b[1] == 0x03, b[5] == 0x02 else { return nil }
        let f = Frame(base: base, count: b.count)
        var version = f.u16(9)
        var o = 11 + 32
        guard f.has(o, 1) else { return name(version) }
        o += 1 + Int(f.u8(o))
        o += 3  // cipher suite, compression
        guard f.has(o, 2) else { return name(version) }
        let end = min(b.count, o + 2 + Int(f.u16(o)))
        o += 2
        while o + 4 <= end {
            let t = f.u16(o), l = Int(f.u16(o + 2))
            if t == 43 && l == 2 && f.has(o + 4, 2) { version = f.u16(o + 4) }
            o += 4 + l
        }
        return name(version)
    }

    static func name(_ v: UInt16) -> String {
        switch v {
        case 0x0304: return "1.3"
        case 0x0303: return "1.2"
        case 0x0302: return "1.1"
        case 0x0301: return "1.0"
        case 0x0300: return "ssl3"
        default: return String(v, radix: 16)
        }
    }

    /// Parses a complete ClientHello record (possibly several TLS records' worth of bytes).
    public static func parseClientHello(_ b: UnsafeRawBufferPointer) -> ClientHello? {
        guard let base = b.baseAddress, recordLength(b) > 0, b.count >= 9 else { return nil }
        let f = Frame(base: base, count: b.count)
        let hsLen = Int(f.u8(6)) << 16 | Int(f.u16(7))
        let end = min(b.count, 9 + hsLen)
        var o = 9
        guard f.has(o, 34), o + 34 <= end else { return nil }
        var hello = ClientHello(version: name(f.u16(o)))
        hello.legacyVersion = f.u16(o)
        o += 34
        guard f.has(o, 1) else { return nil }
        o += 1 + Int(f.u8(o))
        guard f.has(o, 2) else { return nil }
        let cl = Int(f.u16(o))
        o += 2
        guard f.has(o, cl), cl % 2 == 0 else { return nil }
        for i in stride(from: 0, to: cl, by: 2) {
            let c = f.u16(o + i)
            if !ClientHello.isGREASE(c) { hello.ciphers.append(c) }
        }
        o += cl
        guard f.has(o, 1) else { return nil }
        o += 1 + Int(f.u8(o))
        guard f.has(o, 2) else { return hello }
        let extEnd = min(end, o + 2 + Int(f.u16(o)))
        o += 2
        var best: UInt16 = 0
        while o + 4 <= extEnd {
            let t = f.u16(o), l = Int(f.u16(o + 2))
            let d = o + 4
            guard d + l <= extEnd else { break }
            if !ClientHello.isGREASE(t) { hello.extensions.append(t) }
            switch t {
            case 0 where l >= 5:
                let nameLen = Int(f.u16(d + 3))
                if f.u8(d + 2) == 0 && d + 5 + nameLen <= d + l {
                    hello.serverName = text(f, d + 5, nameLen)
                }
            case 16 where l >= 2:
                var p = d + 2
                while p < d + l {
                    let n = Int(f.u8(p))
                    guard p + 1 + n <= d + l else { break }
                    hello.alpn.append(text(f, p + 1, n))
                    p += 1 + n
                }
            case 43 where l >= 1:
                var p = d + 1
                while p + 2 <= d + l && p + 2 <= d + 1 + Int(f.u8(d)) {
                    let v = f.u16(p)
                    if !ClientHello.isGREASE(v) && v > best && v <= 0x0304 { best = v }
                    p += 2
                }
            case 13 where l >= 2:
                var p = d + 2
                while p + 2 <= d + l { hello.signatureAlgorithms.append(f.u16(p)); p += 2 }
            case 10 where l >= 2:
                var p = d + 2
                while p + 2 <= d + l && p + 2 <= d + 2 + Int(f.u16(d)) {
                    if !ClientHello.isGREASE(f.u16(p)) { hello.groups.append(f.u16(p)) }
                    p += 2
                }
            case 11 where l >= 1:
                var p = d + 1
                while p < d + l && p < d + 1 + Int(f.u8(d)) {
                    hello.pointFormats.append(f.u8(p))
                    p += 1
                }
            default:
                break
            }
            o = d + l
        }
        if best != 0 { hello.version = name(best) }
        return hello
    }

    /// Bytes as text; anything outside printable ASCII becomes \xNN so it cannot smuggle markup
    /// or control characters into a log (HTML escaping is still the report's job).
    static func text(_ f: Frame, _ o: Int, _ n: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(n)
        let hex = Array("0123456789abcdef".utf8)
        for i in 0..<n {
            let c = f.u8(o + i)
            if c >= 32 && c < 127 && c != UInt8(ascii: "\\") {
                out.append(c)
            } else {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// How far a server's first flight (TLS 1.2 and earlier: ServerHello, Certificate, …) has come.
public enum ServerFlight: Equatable {
    /// More bytes may complete the Certificate message.
    case more
    /// No certificate will come in clear (TLS 1.3's encrypted flight, a record that is not a
    /// handshake, or the flight's end without one).
    case none
    /// The Certificate message's body, whole.
    case certificates(ArraySlice<UInt8>)
}

extension TLSParser {
    /// The server's records from its first byte on: their handshake messages joined across
    /// records, up to the Certificate message.
    public static func serverFlight(_ b: [UInt8]) -> ServerFlight {
        var handshake: [UInt8] = []
        var i = 0
        while i + 5 <= b.count {
            guard b[i] == 0x16, b[i + 1] == 0x03 else { return .none }
            let n = Int(b[i + 3]) << 8 | Int(b[i + 4])
            guard i + 5 + n <= b.count else { break }
            handshake += b[(i + 5)..<(i + 5 + n)]
            i += 5 + n
        }
        var o = 0
        while o + 4 <= handshake.count {
            let type = handshake[o]
            let n = Int(handshake[o + 1]) << 16 | Int(handshake[o + 2]) << 8 | Int(handshake[o + 3])
            guard o + 4 + n <= handshake.count else { return type == 11 || type == 2 ? .more : .none }
            if type == 11 { return .certificates(handshake[(o + 4)..<(o + 4 + n)]) }
            if type == 14 { return .none }  // ServerHelloDone: the flight ended without one
            o += 4 + n
        }
        return .more
    }
}
