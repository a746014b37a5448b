import Foundation

/// Hand-made Ethernet/IPv4 frames in a pcap file, for tests that need exactly N of a behaviour.
/// Checksums are computed as a sender would (the decoder verifies the IPv4 header's).
struct PacketBuilder {
    private(set) var frames: [(time: Double, bytes: [UInt8])] = []

    static func v4(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }

    static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < b.count { sum += UInt32(b[i]) << 8 | UInt32(b[i + 1]); i += 2 }
        if i < b.count { sum += UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    mutating func ip(_ t: Double, src: String, dst: String, proto: UInt8, _ l4: [UInt8], badChecksum: Bool = false) {
        var h: [UInt8] = [0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0] + Self.v4(src) + Self.v4(dst)
        let total = UInt16(20 + l4.count)
        h[2] = UInt8(total >> 8); h[3] = UInt8(total & 0xFF)
        var c = Self.checksum(h)
        if badChecksum { c ^= 0x5A5A }
        h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xFF)
        let eth: [UInt8] = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00]
        frames.append((t, eth + h + l4))
    }

    mutating func tcp(
        _ t: Double, _ src: String, _ sp: UInt16, _ dst: String, _ dp: UInt16, flags: UInt8, seq: UInt32 = 1000,
        ack: UInt32 = 0, payload: [UInt8] = [], badChecksum: Bool = false
    ) {
        var h: [UInt8] = [UInt8(sp >> 8), UInt8(sp & 0xFF), UInt8(dp >> 8), UInt8(dp & 0xFF)]
        h += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xFF), UInt8(seq >> 8 & 0xFF), UInt8(seq & 0xFF)]
        h += [UInt8(ack >> 24), UInt8(ack >> 16 & 0xFF), UInt8(ack >> 8 & 0xFF), UInt8(ack & 0xFF)]
        h += [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
        ip(t, src: src, dst: dst, proto: 6, h + payload, badChecksum: badChecksum)
    }

    mutating func udp(_ t: Double, _ src: String, _ sp: UInt16, _ dst: String, _ dp: UInt16, payload: [UInt8]) {
        let len = UInt16(8 + payload.count)
        ip(
            t, src: src, dst: dst, proto: 17,
            [
                UInt8(sp >> 8), UInt8(sp & 0xFF), UInt8(dp >> 8), UInt8(dp & 0xFF),
                UInt8(len >> 8), UInt8(len & 0xFF), 0, 0,
            ] + payload)
    }

    mutating func icmp(_ t: Double, _ src: String, _ dst: String, type: UInt8, id: UInt16, seq: UInt16) {
        var m: [UInt8] = [type, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(seq >> 8), UInt8(seq & 0xFF)] + Array(repeating: 0x61, count: 32)
        let c = Self.checksum(m)
        m[2] = UInt8(c >> 8); m[3] = UInt8(c & 0xFF)
        ip(t, src: src, dst: dst, proto: 1, m)
    }

    /// A whole TCP session: handshake, the client's and server's payloads, FIN both ways.
    mutating func session(_ t: Double, _ c: String, _ cp: UInt16, _ s: String, _ sp: UInt16, exchange: [(fromClient: Bool, bytes: [UInt8])]) {
        let syn: UInt8 = 0x02, ack: UInt8 = 0x10, fin: UInt8 = 0x01, psh: UInt8 = 0x08
        var cs: UInt32 = 100, ss: UInt32 = 5000
        tcp(t, c, cp, s, sp, flags: syn, seq: cs)
        tcp(t + 0.001, s, sp, c, cp, flags: syn | ack, seq: ss, ack: cs + 1)
        cs += 1; ss += 1
        tcp(t + 0.002, c, cp, s, sp, flags: ack, seq: cs, ack: ss)
        var now = t + 0.003
        for e in exchange {
            if e.fromClient {
                tcp(now, c, cp, s, sp, flags: psh | ack, seq: cs, ack: ss, payload: e.bytes); cs += UInt32(e.bytes.count)
            } else {
                tcp(now, s, sp, c, cp, flags: psh | ack, seq: ss, ack: cs, payload: e.bytes); ss += UInt32(e.bytes.count)
            }
            now += 0.001
        }
        tcp(now, c, cp, s, sp, flags: fin | ack, seq: cs, ack: ss)
        tcp(now + 0.001, s, sp, c, cp, flags: fin | ack, seq: ss, ack: cs + 1)
        tcp(now + 0.002, c, cp, s, sp, flags: ack, seq: cs + 1, ack: ss + 1)
    }

    static func dnsQuery(_ name: String, id: UInt16, qtype: UInt16 = 1) -> [UInt8] {
        var b: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for l in name.split(separator: ".") { b.append(UInt8(l.utf8.count)); b += Array(l.utf8) }
        return b + [0, UInt8(qtype >> 8), UInt8(qtype & 0xFF), 0, 1]
    }

    static func dnsAnswer(_ name: String, id: UInt16, rcode: UInt8 = 0, qtype: UInt16 = 1, txt: [UInt8]? = nil) -> [UInt8] {
        var q = dnsQuery(name, id: id, qtype: qtype)
        q[2] = 0x81; q[3] = 0x80 | rcode
        guard let txt else { return q }
        q[7] = 1
        let rd = [UInt8(txt.count)] + txt
        return q + [0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 0, UInt8(rd.count >> 8), UInt8(rd.count & 0xFF)] + rd
    }

    func write(_ path: String) throws {
        var out: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0]
        func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        for f in frames.sorted(by: { $0.time < $1.time }) {
            let sec = UInt32(f.time), usec = UInt32(((f.time - Double(sec)) * 1e6).rounded())
            out += le32(sec) + le32(min(usec, 999_999)) + le32(UInt32(f.bytes.count)) + le32(UInt32(f.bytes.count)) + f.bytes
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}
