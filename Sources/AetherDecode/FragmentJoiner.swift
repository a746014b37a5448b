import AetherCore

/// Gives later IP fragments the ports of their first fragment so they join its flow.
/// A fixed direct-mapped table: bounded memory, no allocation after init; a collision
/// only forgets an older datagram.
public struct FragmentJoiner {
    struct Entry {
        var src = IPAddress.zero, dst = IPAddress.zero
        var id: UInt32 = 0
        var proto: UInt8 = 0
        var used = false
        var srcPort: UInt16 = 0, dstPort: UInt16 = 0
        var icmpType: UInt8 = 0, icmpCode: UInt8 = 0, icmpID: UInt16 = 0
    }
    private var table: [Entry]
    private let mask: Int

    public init(capacity: Int = 4096) {
        var c = 1
        while c < capacity { c <<= 1 }
        table = [Entry](repeating: Entry(), count: c)
        mask = c - 1
    }

    @inline(__always) private func slot(_ l: IPLayer) -> Int {
        var h = l.src.lo &* 0x9E37_79B9_7F4A_7C15 ^ l.dst.lo &* 0xC2B2_AE3D_27D4_EB4F
        h ^= (l.src.hi ^ l.dst.hi.rotated(17)) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(l.ipID) << 8 | UInt64(l.proto)
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    public mutating func join(_ l: inout IPLayer) {
        guard l.isFragment else { return }
        let i = slot(l)
        if l.fragmentOffset == 0 {
            guard l.hasTransport else { return }
            table[i] = Entry(
                src: l.src, dst: l.dst, id: l.ipID, proto: l.proto, used: true,
                srcPort: l.srcPort, dstPort: l.dstPort, icmpType: l.icmpType,
                icmpCode: l.icmpCode, icmpID: l.icmpID)
        } else {
            let e = table[i]
            guard e.used, e.id == l.ipID, e.proto == l.proto, e.src == l.src, e.dst == l.dst else { return }
            l.srcPort = e.srcPort; l.dstPort = e.dstPort
            l.icmpType = e.icmpType; l.icmpCode = e.icmpCode; l.icmpID = e.icmpID
            l.hasTransport = true
        }
    }
}

extension UInt64 {
    @inline(__always) func rotated(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
