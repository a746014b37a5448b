import AetherCore

extension AppProtocol {
    /// DNS: port 53 over UDP and TCP, and its format on mDNS and LLMNR.
    public static let dns = AppProtocol("dns", .dns, ports: [53], udp: [53, 5353, 5355])
}

/// One resource record of an answer section, summarised.
public struct DNSAnswer: Sendable, Equatable {
    public var type: UInt16
    public var ttl: UInt32
    /// A/AAAA address, CNAME/NS/PTR name, or "TXT <n bytes>".
    public var data: String
    /// RDATA length in bytes: what the record carries, whatever its type.
    public var length = 0
    /// FNV-1a of the RDATA: tells new data from the same answer given again.
    public var digest: UInt64 = 0

    public init(type: UInt16, ttl: UInt32, data: String) { self.type = type; self.ttl = ttl; self.data = data }
}

/// A DNS message's header, first question and answers.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var rcode: UInt8 = 0
    public var truncatedFlag = false
    public var questionCount: UInt16 = 0
    public var answerCount: UInt16 = 0
    /// Lower-cased, dotted; bytes outside printable ASCII appear as \\xNN.
    public var name = ""
    public var qtype: UInt16 = 0
    public var answers: [DNSAnswer] = []

    public init() {}

    public static let rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
}

/// DNS over UDP (one message) and TCP (length-prefixed, several per segment). Bounded: names
/// at most 255 bytes, at most 32 compression jumps and each one strictly backwards, at most
/// 64 answers read. Anything malformed yields nil, never a trap.
public enum DNSParser {
    public static let maxAnswers = 64

    public static func parse(_ b: UnsafeRawBufferPointer) -> DNSMessage? {
        guard let base = b.baseAddress, b.count >= 12 else { return nil }
        let f = Frame(base: base, count: b.count)
        var m = DNSMessage()
        m.id = f.u16(0)
        let flags = f.u16(2)
        m.isResponse = flags & 0x8000 != 0
        m.opcode = UInt8((flags >> 11) & 0xF)
        m.truncatedFlag = flags & 0x0200 != 0
        m.rcode = UInt8(flags & 0xF)
        m.questionCount = f.u16(4)
        m.answerCount = f.u16(6)
        guard m.questionCount >= 1, m.questionCount <= 16 else { return nil }
        var o = 12
        guard let (name, next) = readName(f, o) else { return nil }
        o = next
        guard f.has(o, 4) else { return nil }
        m.name = name
        m.qtype = f.u16(o)
        o += 4
        // Skip any further questions.
        for _ in 1..<Int(m.questionCount) {
            guard let (_, n) = readName(f, o), f.has(n, 4) else { return m }
            o = n + 4
        }
        var read = 0
        while read < Int(m.answerCount) && read < maxAnswers {
            guard let (_, n) = readName(f, o), f.has(n, 10) else { break }
            let type = f.u16(n), ttl = f.u32(n + 4), len = Int(f.u16(n + 8))
            let rd = n + 10
            guard f.has(rd, len) else { break }
            var data = ""
            switch type {
            case 1 where len == 4: data = f.v4(rd).description
            case 28 where len == 16: data = f.v6(rd).description
            case 5, 2, 12: data = readName(f, rd)?.0 ?? ""
            case 16: data = "TXT \(len) bytes"
            default: data = "\(len) bytes"
            }
            var answer = DNSAnswer(type: type, ttl: ttl, data: data)
            answer.length = len
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for i in 0..<len { h = (h ^ UInt64(f.u8(rd + i))) &* 0x100_0000_01B3 }
            answer.digest = h
            m.answers.append(answer)
            o = rd + len
            read += 1
        }
        return m
    }

    /// Every complete message of a TCP segment's payload (each prefixed by its length).
    public static func parseTCP(_ b: UnsafeRawBufferPointer) -> [DNSMessage] {
        guard let base = b.baseAddress else { return [] }
        var out: [DNSMessage] = []
        var o = 0
        while o + 2 <= b.count && out.count < 16 {
            let len = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            guard len >= 12, o + 2 + len <= b.count else { break }
            if let m = parse(UnsafeRawBufferPointer(start: base + o + 2, count: len)) { out.append(m) }
            o += 2 + len
        }
        return out
    }

    /// Reads a possibly compressed name at `start`; returns it and the offset after it in place.
    static func readName(_ f: Frame, _ start: Int) -> (String, Int)? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        var o = start
        var end = -1
        var jumps = 0
        var total = 0
        while true {
            guard f.has(o, 1) else { return nil }
            let len = Int(f.u8(o))
            if len == 0 {
                if end < 0 { end = o + 1 }
                break
            }
            if len & 0xC0 == 0xC0 {
                guard f.has(o, 2) else { return nil }
                let target = Int(f.u16(o) & 0x3FFF)
                // Only backwards jumps, and few of them: no loops.
                guard target < o, jumps < 32 else { return nil }
                if end < 0 { end = o + 2 }
                o = target
                jumps += 1
                continue
            }
            guard len & 0xC0 == 0, f.has(o + 1, len) else { return nil }
            total += len + 1
            guard total <= 255 else { return nil }
            if !bytes.isEmpty { bytes.append(UInt8(ascii: ".")) }
            for i in 0..<len {
                var c = f.u8(o + 1 + i)
                if c >= 65 && c <= 90 { c += 32 }
                if c > 32 && c < 127 && c != UInt8(ascii: "\\") {
                    bytes.append(c)
                } else {
                    let hex = Array("0123456789abcdef".utf8)
                    bytes += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 0xF)]]
                }
            }
            o += 1 + len
        }
        return (String(decoding: bytes, as: UTF8.self), end)
    }
}
