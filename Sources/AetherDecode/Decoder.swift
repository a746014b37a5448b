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
        IPAddress(
            hi: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)),
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
            guard let sll = LinuxSLLView(f, at: 0) else { m.truncated = true; return }
            etherType = sll.protocolType; l3 = sll.payload
            guard vlanTags(f, &etherType, &l3, &m) else { m.truncated = true; return }
        case LinkType.linuxSLL2:
            guard let sll = LinuxSLL2View(f, at: 0) else { m.truncated = true; return }
            etherType = sll.protocolType; l3 = sll.payload
            guard vlanTags(f, &etherType, &l3, &m) else { m.truncated = true; return }
        case LinkType.null, LinkType.loop:
            guard let lo = LoopbackView(f, at: 0) else { m.truncated = true; return }
            switch lo.family {
            case 2: etherType = EtherType.ipv4
            case 10, 24, 28, 30: etherType = EtherType.ipv6
            default: etherType = lo.ciscoHDLCType ?? 0
            }
            l3 = lo.payload
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
            if let arp = ARPView(f, at: l3) {
                m.arpOp = arp.operation
                m.arpSender = arp.senderAddress
                m.arpTarget = arp.targetAddress
            }
        default:
            m.network = etherType == 0 ? .none : .other
        }
    }

    @inline(__always) func vlanTags(_ f: Frame, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        while type == EtherType.vlan || type == EtherType.qinq || type == EtherType.qinqOld {
            guard let tag = VLANTagView(f, at: o) else { return false }
            if m.vlanTags == 0 { m.vlanID = tag.vlanID }
            m.vlanTags &+= 1
            type = tag.etherType
            o += VLANTagView.length
            if m.vlanTags > 8 { return false }
        }
        return true
    }

    func ethernet(_ f: Frame, _ start: Int, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        guard let eth = EthernetView(f, at: start) else { return false }
        type = eth.etherType
        o = eth.payload
        guard vlanTags(f, &type, &o, &m) else { return false }
        if type == EtherType.pppoeSession {
            guard let pppoe = PPPoESessionView(f, at: o) else { return false }
            type = PPPProtocol.etherType(pppoe.pppProtocol)
            o = pppoe.payload
        }
        return true
    }

    /// Reads an IP header at `o`. False when not even the addresses could be read.
    func ip(_ f: Frame, _ o: Int, isV6: Bool, _ l: inout IPLayer, _ truncated: inout Bool) -> Bool {
        if !isV6 {
            guard let h = IPv4View(f, at: o) else { truncated = true; return false }
            let ihl = h.headerLength
            l.isV6 = false
            l.src = h.source
            l.dst = h.destination
            l.proto = h.proto
            l.ipID = UInt32(h.identification)
            l.fragmentOffset = h.fragmentOffset
            l.moreFragments = h.moreFragments
            // A zero total length is what TSO offload captures show; trust the capture then.
            let total = h.totalLength
            let length = total >= ihl && total > 0 ? total : f.count - o
            l.ipLength = UInt32(length)
            guard h.headerCaptured else { truncated = true; return true }
            l.badChecksum = h.checksumFails
            l.payloadOffset = o + ihl
            l.payloadLength = UInt32(length - ihl)
            return true
        }
        guard let h = IPv6View(f, at: o) else { truncated = true; return false }
        l.isV6 = true
        l.src = h.source
        l.dst = h.destination
        let payload = h.payloadLength
        l.ipLength = UInt32(IPv6View.length + payload)
        var next = h.nextHeader
        var p = h.payload
        var consumed = 0
        var steps = 0
        while steps < Decoder.maxExtensionHeaders && IPv6ExtensionView.isExtension(next) {
            guard let x = IPv6ExtensionView(f, at: p, kind: next) else { truncated = true; break }
            if next == 44 {
                l.fragmentOffset = x.fragmentOffset
                l.moreFragments = x.moreFragments
                l.ipID = x.identification
            }
            let len = x.headerLength
            next = x.nextHeader
            p += len; consumed += len
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
            guard let t = TCPView(f, at: o) else { truncated = true; return }
            l.srcPort = t.sourcePort; l.dstPort = t.destinationPort
            l.tcpSeq = t.sequence
            l.tcpFlags = t.flags
            l.hasTransport = true
            let hdr = t.headerLength
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - hdr))
            l.payloadOffset = o + hdr
        case IPProto.udp:
            guard let u = UDPView(f, at: o) else { truncated = true; return }
            l.srcPort = u.sourcePort; l.dstPort = u.destinationPort
            l.hasTransport = true
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - UDPView.length))
            l.payloadOffset = u.payload
        case IPProto.icmp, IPProto.icmpv6:
            guard let c = ICMPView(f, at: o) else { truncated = true; return }
            l.icmpType = c.type; l.icmpCode = c.code
            l.srcPort = UInt16(l.icmpType); l.dstPort = UInt16(l.icmpCode)
            if let id = c.identifier { l.icmpID = id }
            l.hasTransport = true
            l.payloadLength = UInt32(max(0, Int(l.payloadLength) - ICMPView.length))
            l.payloadOffset = o + ICMPView.length
        default:
            l.hasTransport = true
        }
        l.payloadCaptured = max(0, min(end, f.count) - l.payloadOffset)
    }

    /// The quoted packet of an ICMP error, or the inner packet of a tunnel.
    func nested(_ f: Frame, _ m: inout PacketMeta, _ truncated: inout Bool) {
        let o = m.outer
        if o.isICMPError {
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
            guard let gre = GREView(f, at: o.payloadOffset), let p = gre.payload else { return }
            switch gre.protocolType {
            case EtherType.ipv4: innerOffset = p
            case EtherType.ipv6: innerOffset = p; innerV6 = true
            case EtherType.transparentEthernet:
                var t: UInt16 = 0, l3 = 0
                var scratch = PacketMeta()
                guard ethernet(f, p, &t, &l3, &scratch) else { return }
                if t == EtherType.ipv4 { innerOffset = l3 } else if t == EtherType.ipv6 { innerOffset = l3; innerV6 = true }
            case EtherType.ppp:
                guard let ppp = PPPView(f, at: p) else { return }
                let (pp, q) = ppp.protocolAndPayload
                let t = PPPProtocol.etherType(pp)
                if t != 0 { innerOffset = q; innerV6 = t == EtherType.ipv6 }
            default: return
            }
        case IPProto.udp where o.dstPort == VXLANView.port:
            guard let vx = VXLANView(f, at: o.payloadOffset) else { return }
            var t: UInt16 = 0, l3 = 0
            var scratch = PacketMeta()
            guard ethernet(f, vx.payload, &t, &l3, &scratch) else { return }
            if t == EtherType.ipv4 {
                innerOffset = l3
            } else if t == EtherType.ipv6 {
                innerOffset = l3; innerV6 = true
            } else {
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
        // An ICMP error quotes only the first 8 bytes of the transport header: read the fields
        // that lie in them, each only if captured.
        case IPProto.tcp, IPProto.udp:
            guard f.has(o, 4) else { return }
            q.srcPort = f.u16(o + TCPView.Field.sourcePort); q.dstPort = f.u16(o + TCPView.Field.destinationPort)
            q.hasTransport = true
            if q.proto == IPProto.tcp && f.has(o + TCPView.Field.flags, 1) { q.tcpFlags = f.u8(o + TCPView.Field.flags) }
        case IPProto.icmp, IPProto.icmpv6:
            guard f.has(o, 2) else { return }
            q.icmpType = f.u8(o + ICMPView.Field.type); q.icmpCode = f.u8(o + ICMPView.Field.code)
            q.srcPort = UInt16(q.icmpType); q.dstPort = UInt16(q.icmpCode)
            if f.has(o + ICMPView.Field.identifier, 2) { q.icmpID = f.u16(o + ICMPView.Field.identifier) }
            q.hasTransport = true
        default:
            q.hasTransport = true
        }
    }
}
