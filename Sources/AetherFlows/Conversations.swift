import AetherCore

/// Counts distinct conversations by the ground truth's rule (../shared/bench/README.md):
/// outermost header; TCP/UDP 5-tuple; ICMP echo by id; ICMP errors join what they quote and
/// add nothing; other IP protocols by address pair; a key seen again counts once.
/// Keys are 64-bit digests; at a million conversations a collision has odds near 3e-8.
public struct ConversationCounter {
    private let keys = FlatMap<UInt64>(capacity: 1 << 14)
    /// Digests added since the last `drainNew`, so a store can persist them incrementally.
    public private(set) var fresh: [UInt64] = []

    public init() {}

    public var count: Int { keys.count }

    public mutating func preload<S: Sequence>(_ existing: S) where S.Element == UInt64 {
        for k in existing { _ = keys.insert(k) }
    }

    public mutating func drainNew() -> [UInt64] {
        defer { fresh.removeAll(keepingCapacity: true) }
        return fresh
    }

    @inline(__always) public mutating func observe(_ m: PacketMeta) {
        guard m.network == .ipv4 || m.network == .ipv6 else { return }
        let l = m.outer
        if l.src == .zero && l.dst == .zero && l.proto == 0 { return }
        var p1: UInt16 = 0, p2: UInt16 = 0, extra: UInt64 = 0
        switch l.proto {
        case IPProto.tcp, IPProto.udp:
            p1 = l.srcPort; p2 = l.dstPort
        case IPProto.icmp, IPProto.icmpv6:
            if l.isICMPError { return }
            if Self.isEcho(l) { extra = UInt64(l.icmpID) | 1 << 32 } else { extra = UInt64(l.icmpType) | 2 << 32 }
        default:
            break
        }
        let d = Self.digest(l.src, p1, l.dst, p2, l.proto, extra)
        if keys.insert(d) { fresh.append(d) }
    }

    @inline(__always) static func isEcho(_ l: IPLayer) -> Bool {
        l.proto == IPProto.icmp ? (l.icmpType == 8 || l.icmpType == 0) : (l.icmpType == 128 || l.icmpType == 129)
    }

    /// Order-independent in the two endpoints.
    @inline(__always) static func digest(_ a: IPAddress, _ ap: UInt16, _ b: IPAddress, _ bp: UInt16, _ proto: UInt8, _ extra: UInt64) -> UInt64 {
        let ea = endpointHash(a, ap), eb = endpointHash(b, bp)
        let lo = min(ea, eb), hi = max(ea, eb)
        var h = mix(lo ^ 0x243F_6A88_85A3_08D3)
        h = mix(h ^ hi)
        h = mix(h ^ (UInt64(proto) << 40 | extra))
        return h
    }

    @inline(__always) static func endpointHash(_ a: IPAddress, _ p: UInt16) -> UInt64 {
        mix(mix(a.hi ^ 0x1337) ^ a.lo) ^ mix(UInt64(p) &+ 0x9E37_79B9)
    }

    @inline(__always) static func mix(_ x: UInt64) -> UInt64 { mix64(x) }
}
