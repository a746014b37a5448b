import AetherCore

/// A bounds-checked view over one frame's bytes. Each header check reads `need` once,
/// then the field reads below it are plain loads.
@usableFromInline struct Frame {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let count: Int

    @inline(__always) func has(_ offset: Int, _ need: Int) -> Bool { offset >= 0 && need >= 0 && offset + need <= count }
    @inline(__always) func u8(_ o: Int) -> UInt8 { base.load(fromByteOffset: o, as: UInt8.self) }
    @inline(__always) func u16(_ o: Int) -> UInt16 { UInt16(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    @inline(__always) func u32(_ o: Int) -> UInt32 { UInt32(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    @inline(__always) func v4(_ o: Int) -> IPAddress { IPAddress(v4: u32(o)) }
    @inline(__always) func v6(_ o: Int) -> IPAddress {
        IPAddress(hi: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)),
                  lo: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)))
    }
}

public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86DD
    public static let vlan: UInt16 = 0x8100
    public static let qinq: UInt16 = 0x88A8
    public static let qinqOld: UInt16 = 0x9100
    public static let pppoeSession: UInt16 = 0x8864
    public static let transparentEthernet: UInt16 = 0x6558
    public static let ppp: UInt16 = 0x880B
}

/// Turns one frame into a `PacketMeta`: link layer, outer IP, transport, the packet an ICMP
/// error quotes, and one level of tunnel. Stateless; no allocation.
public struct Decoder: Sendable {
    public static let maxExtensionHeaders = 8
    public static let vxlanPort: UInt16 = 4789

    public init() {}

    public func decode(_ packet: RawPacket, into m: inout PacketMeta) {
        m.reset()
        m.timestamp = packet.timestamp
        m.capturedLength = packet.capturedLength
        m.wireLength = packet.wireLength
        m.linkType = packet.linkType
        m.interface = packet.interface
        m.fileOffset = packet.offset
        if packet.capturedLength < packet.wireLength { m.truncated = true }
        guard let base = packet.bytes.baseAddress else { return }
        let f = Frame(base: base, count: packet.bytes.count)

        var etherType: UInt16 = 0
        var l3 = 0
        switch packet.linkType {
        case LinkType.ethernet:
            guard ethernet(f, 0, &etherType, &l3, &m) else { m.truncated = true; return }
        case LinkType.linuxSLL:
            guard f.has(0, 16) else { m.truncated = true; return }
            etherType = f.u16(14); l3 = 16
            if etherType == EtherType.vlan || etherType == EtherType.qinq {
                guard vlanTags(f, &etherType, &l3, &m) else { m.truncated = true; return }
            }
        case LinkType.linuxSLL2:
            guard f.has(0, 20) else { m.truncated = true; return }
            etherType = f.u16(0); l3 = 20
            if etherType == EtherType.vlan || etherType == EtherType.qinq {
                guard vlanTags(f, &etherType, &l3, &m) else { m.truncated = true; return }
            }
        case LinkType.null, LinkType.loop:
            guard f.has(0, 4) else { m.truncated = true; return }
            // The family is in the capturing host's byte order for NULL; accept either.
            let raw = f.base.loadUnaligned(as: UInt32.self)
            let family = raw > 0xFFFF ? raw.byteSwapped : raw
            switch family {
            case 2: etherType = EtherType.ipv4
            case 10, 24, 28, 30: etherType = EtherType.ipv6
            default:
                // Some "NULL" captures carry a Cisco HDLC header (address 0x0F/0x8F, control 0,
                // then an ethertype), as Wireshark's heuristics also accept.
                etherType = (f.u8(0) == 0x0F || f.u8(0) == 0x8F) && f.u8(1) == 0 ? f.u16(2) : 0
            }
            l3 = 4
        case LinkType.raw, LinkType.rawAlt1, LinkType.rawAlt2, LinkType.ipv4, LinkType.ipv6:
            guard f.has(0, 1) else { m.truncated = true; return }
            etherType = f.u8(0) >> 4 == 6 ? EtherType.ipv6 : (f.u8(0) >> 4 == 4 ? EtherType.ipv4 : 0)
            l3 = 0
        default:
            return
        }
        m.etherType = etherType
        switch etherType {
        case EtherType.ipv4, EtherType.ipv6:
            m.network = etherType == EtherType.ipv4 ? .ipv4 : .ipv6
            var truncated = false
            if ip(f, l3, isV6: etherType == EtherType.ipv6, &m.outer, &truncated) {
                transport(f, &m.outer, &truncated)
                if m.outer.hasTransport { nested(f, &m, &truncated) }
            }
            if truncated { m.truncated = true }
        case EtherType.arp:
            m.network = .arp
            if f.has(l3, 28) && f.u16(l3) == 1 && f.u16(l3 + 2) == EtherType.ipv4 && f.u8(l3 + 4) == 6 && f.u8(l3 + 5) == 4 {
                m.arpOp = f.u16(l3 + 6)
                m.arpSender = f.v4(l3 + 14)
                m.arpTarget = f.v4(l3 + 24)
            }
        default:
            m.network = etherType == 0 ? .none : .other
        }
    }

    @inline(__always) func vlanTags(_ f: Frame, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        while type == EtherType.vlan || type == EtherType.qinq || type == EtherType.qinqOld {
            guard f.has(o, 4) else { return false }
            if m.vlanTags == 0 { m.vlanID = f.u16(o) & 0x0FFF }
            m.vlanTags &+= 1
            type = f.u16(o + 2)
            o += 4
            if m.vlanTags > 8 { return false }
        }
        return true
    }

    func ethernet(_ f: Frame, _ start: Int, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        guard f.has(start, 14) else { return false }
        type = f.u16(start + 12)
        o = start + 14
        guard vlanTags(f, &type, &o, &m) else { return false }
        if type == EtherType.pppoeSession {
            guard f.has(o, 8) else { return false }
            let pppProto = f.u16(o + 6)
            type = pppProto == 0x0021 ? EtherType.ipv4 : (pppProto == 0x0057 ? EtherType.ipv6 : 0)
            o += 8
        }
        return true
    }

    /// The IPv4 header checksum is set and wrong. Zero means the sender's NIC was to fill it in
    /// (checksum offload, as Windows captures show), not a corrupt header.
    @inline(__always) static func headerChecksumFails(_ f: Frame, _ o: Int, _ ihl: Int) -> Bool {
        if f.u16(o + 10) == 0 { return false }
        var sum: UInt32 = 0
        var i = 0
        while i < ihl { sum &+= UInt32(f.u16(o + i)); i += 2 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        return sum != 0xFFFF
    }

    /// Reads an IP header at `o`. False when not even the addresses could be read.
    func ip(_ f: Frame, _ o: Int, isV6: Bool, _ l: inout IPLayer, _ truncated: inout Bool) -> Bool {
        if !isV6 {
            guard f.has(o, 20), f.u8(o) >> 4 == 4 else { truncated = true; return false }
            let ihl = Int(f.u8(o) & 0x0F) * 4
            l.isV6 = false
            l.src = f.v4(o + 12)
            l.dst = f.v4(o + 16)
            l.proto = f.u8(o + 9)
            l.ipID = UInt32(f.u16(o + 4))
            let total = Int(f.u16(o + 2))
            let frag = f.u16(o + 6)
            l.fragmentOffset = UInt32(frag & 0x1FFF) * 8
            l.moreFragments = frag & 0x2000 != 0
            // A zero total length is what TSO offload captures show; trust the capture then.
            let length = total >= ihl && total > 0 ? total : f.count - o
            l.ipLength = UInt32(length)
            guard ihl >= 20, f.has(o, ihl) else { truncated = true; return true }
            l.badChecksum = Self.headerChecksumFails(f, o, ihl)
            l.payloadOffset = o + ihl
            l.payloadLength = UInt32(length - ihl)
            return true
        }
        guard f.has(o, 40), f.u8(o) >> 4 == 6 else { truncated = true; return false }
        l.isV6 = true
        l.src = f.v6(o + 8)
        l.dst = f.v6(o + 24)
        let payload = Int(f.u16(o + 4))
        l.ipLength = UInt32(40 + payload)
        var next = f.u8(o + 6)
        var p = o + 40
        var consumed = 0
        var steps = 0
        loop: while steps < Decoder.maxExtensionHeaders {
            switch next {
            case 0, 43, 60, 135, 139, 140:
                guard f.has(p, 8) else { truncated = true; break loop }
                let len = (Int(f.u8(p + 1)) + 1) * 8
                next = f.u8(p)
                p += len; consumed += len
            case 44:
                guard f.has(p, 8) else { truncated = true; break loop }
                let fo = f.u16(p + 2)
                l.fragmentOffset = UInt32(fo & 0xFFF8)
                l.moreFragments = fo & 1 != 0
                l.ipID = f.u32(p + 4)
                next = f.u8(p)
                p += 8; consumed += 8
            case 51:
                guard f.has(p, 8) else { truncated = true; break loop }
                let len = (Int(f.u8(p + 1)) + 2) * 4
                next = f.u8(p)
                p += len; consumed += len
            default:
                break loop
            }
            steps += 1
        }
        l.proto = next
        l.payloadOffset = p
        l.payloadLength = UInt32(max(0, payload - consumed))
        return true
    }

    /// Reads the transport header of `l` if this is not a later fragment.
    func transport(_ f: Frame, _ l: inout IPLayer, _ truncated: inout Bool) {
        if l.fragmentOffset != 0 || l.payloadOffset == 0 { return }
        let o = l.payloadOffset
        let end = min(f.count, o + Int(l.payloadLength))
        switch l.proto {
        case IPProto.tcp:
            guard f.has(o, 20) else { truncated = true; return }
            l.srcPort = f.u16(o); l.dstPort = f.u16(o + 2)
            l.tcpSeq = f.u32(o + 4)
            l.tcpFlags = f.u8(o + 13)
            let doff = Int(f.u8(o + 12) >> 4) * 4
            l.hasTransport = true
            let hdr = max(20, doff)
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - hdr))
            l.payloadOffset = o + hdr
        case IPProto.udp:
            guard f.has(o, 8) else { truncated = true; return }
            l.srcPort = f.u16(o); l.dstPort = f.u16(o + 2)
            l.hasTransport = true
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - 8))
            l.payloadOffset = o + 8
        case IPProto.icmp, IPProto.icmpv6:
            guard f.has(o, 4) else { truncated = true; return }
            l.icmpType = f.u8(o); l.icmpCode = f.u8(o + 1)
            l.srcPort = UInt16(l.icmpType); l.dstPort = UInt16(l.icmpCode)
            if f.has(o, 8) { l.icmpID = f.u16(o + 4) }
            l.hasTransport = true
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - 8))
            l.payloadOffset = o + 8
        default:
            l.hasTransport = true
        }
        l.payloadCaptured = max(0, min(end, f.count) - l.payloadOffset)
    }

    @inline(__always) static func isICMPError(_ l: IPLayer) -> Bool {
        if l.proto == IPProto.icmp { return l.icmpType == 3 || l.icmpType == 4 || l.icmpType == 5 || l.icmpType == 11 || l.icmpType == 12 }
        if l.proto == IPProto.icmpv6 { return l.icmpType >= 1 && l.icmpType <= 4 }
        return false
    }

    /// The quoted packet of an ICMP error, or the inner packet of a tunnel.
    func nested(_ f: Frame, _ m: inout PacketMeta, _ truncated: inout Bool) {
        let o = m.outer
        if Decoder.isICMPError(o) {
            var q = IPLayer()
            var t = false
            let v6 = o.proto == IPProto.icmpv6
            if ip(f, o.payloadOffset, isV6: v6, &q, &t) {
                // The quoted datagram is usually cut after 8 transport bytes: take ports if there.
                quotedTransport(f, &q)
                m.quoted = q
                m.hasQuoted = true
            }
            return
        }
        var innerOffset = -1
        var innerV6 = false
        switch o.proto {
        case IPProto.ipip: innerOffset = o.payloadOffset
        case IPProto.ipv6: innerOffset = o.payloadOffset; innerV6 = true
        case IPProto.gre:
            let g = o.payloadOffset
            guard f.has(g, 4) else { return }
            let flags = f.u16(g), proto = f.u16(g + 2)
            let version = flags & 0x7
            var p = g + 4
            if version == 0 {
                if flags & 0x8000 != 0 || flags & 0x4000 != 0 { p += 4 }
                if flags & 0x2000 != 0 { p += 4 }
                if flags & 0x1000 != 0 { p += 4 }
            } else if version == 1 {
                p += 4 // key: payload length and call id
                if flags & 0x1000 != 0 { p += 4 }
                if flags & 0x0080 != 0 { p += 4 }
            } else { return }
            switch proto {
            case EtherType.ipv4: innerOffset = p
            case EtherType.ipv6: innerOffset = p; innerV6 = true
            case EtherType.transparentEthernet:
                var t: UInt16 = 0, l3 = 0
                var scratch = PacketMeta()
                guard ethernet(f, p, &t, &l3, &scratch) else { return }
                if t == EtherType.ipv4 { innerOffset = l3 } else if t == EtherType.ipv6 { innerOffset = l3; innerV6 = true }
            case EtherType.ppp:
                guard f.has(p, 4) else { return }
                var q = p
                if f.u8(q) == 0xFF && f.u8(q + 1) == 0x03 { q += 2 }
                let pp = f.u8(q) & 1 == 1 ? UInt16(f.u8(q)) : f.u16(q)
                q += pp < 0x100 && f.u8(q) & 1 == 1 ? 1 : 2
                if pp == 0x21 { innerOffset = q } else if pp == 0x57 { innerOffset = q; innerV6 = true }
            default: return
            }
        case IPProto.udp where o.dstPort == Decoder.vxlanPort:
            let v = o.payloadOffset
            guard f.has(v, 8), f.u8(v) & 0x08 != 0 else { return }
            var t: UInt16 = 0, l3 = 0
            var scratch = PacketMeta()
            guard ethernet(f, v + 8, &t, &l3, &scratch) else { return }
            if t == EtherType.ipv4 { innerOffset = l3 } else if t == EtherType.ipv6 { innerOffset = l3; innerV6 = true } else {
                m.hasInner = false
            }
        default: return
        }
        guard innerOffset > 0, f.has(innerOffset, 1) else { return }
        var inner = IPLayer()
        var t = false
        if ip(f, innerOffset, isV6: innerV6, &inner, &t) {
            transport(f, &inner, &t)
            m.inner = inner
            m.hasInner = true
        }
    }

    func quotedTransport(_ f: Frame, _ q: inout IPLayer) {
        let o = q.payloadOffset
        guard q.fragmentOffset == 0, o > 0 else { return }
        switch q.proto {
        case IPProto.tcp, IPProto.udp:
            guard f.has(o, 4) else { return }
            q.srcPort = f.u16(o); q.dstPort = f.u16(o + 2)
            q.hasTransport = true
            if q.proto == IPProto.tcp && f.has(o, 14) { q.tcpFlags = f.u8(o + 13) }
        case IPProto.icmp, IPProto.icmpv6:
            guard f.has(o, 2) else { return }
            q.icmpType = f.u8(o); q.icmpCode = f.u8(o + 1)
            q.srcPort = UInt16(q.icmpType); q.dstPort = UInt16(q.icmpCode)
            if f.has(o, 6) { q.icmpID = f.u16(o + 4) }
            q.hasTransport = true
        default:
            q.hasTransport = true
        }
    }
}
