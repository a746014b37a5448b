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
    /// Little-endian fields (radiotap, PPI, NFLOG written on x86): the same checked offsets.
    @inline(__always) func u16le(_ o: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    @inline(__always) func u32le(_ o: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
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
    public static let mpls: UInt16 = 0x8847
    public static let mplsMulticast: UInt16 = 0x8848
    public static let pbb: UInt16 = 0x88E7
    public static let vnTag: UInt16 = 0x8926
    public static let fabricPath: UInt16 = 0x8903
    public static let macsec: UInt16 = 0x88E5
    /// Below 0x0600 the field is an 802.3 length. These two values in the gap are the decoder's
    /// own: "an 802.2 LLC header follows" and "a PPP protocol field follows".
    static let llc: UInt16 = 0x05F0
    static let pppFrame: UInt16 = 0x05F1
    static let maxLength: UInt16 = 1500

    /// Protocols that are not IP and need no decoding to be what they are: counted as `other`,
    /// never as undecoded.
    public static func isKnownNonIP(_ t: UInt16) -> Bool {
        switch t {
        case 0x0842, 0x2000, 0x22EA, 0x22F0, 0x6000...0x6007, 0x8035, 0x809B, 0x80F3, 0x8137, 0x8138, 0x8808,
            0x8809, 0x8863, 0x886F, 0x8892, 0x8899, 0x88A4, 0x88AB, 0x88B5, 0x88B6, 0x88B8, 0x88BA, 0x88C7,
            0x88CA, 0x88CC, 0x88D9, 0x88DC, 0x88E1, 0x88E3, 0x88F5, 0x88F6, 0x88F7, 0x88FB, 0x8902, 0x8906,
            0x890D, 0x8914, 0x8915, 0x891D, 0x893A, 0x9000, 0x888E, 0x8874, 0x8876:
            return true
        default:
            return false
        }
    }
}

/// Turns one frame into a `PacketMeta`: link layer, the headers between it and IP, outer IP,
/// transport, the packet an ICMP error quotes, and one level of tunnel. What could not be
/// followed to a network layer is named in `undecoded`. Stateless; no allocation.
public struct Decoder: Sendable {
    public static let maxExtensionHeaders = 8
    /// Headers followed between the link and the network layer (tags, labels, LLC…).
    static let maxLinkSteps = 24

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
        // Untagged Ethernet carrying IP is most of any capture: no walk through the link headers.
        if packet.linkType == LinkType.ethernet, let eth = EthernetView(f, at: 0),
            eth.etherType == EtherType.ipv4 || eth.etherType == EtherType.ipv6
        {
            etherType = eth.etherType; l3 = eth.payload
        } else if !link(f, packet.linkType, &etherType, &l3, &m) || !resolve(f, &etherType, &l3, &m) {
            m.truncated = true
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
            if m.undecoded == 0 && etherType != 0 && !EtherType.isKnownNonIP(etherType) {
                m.undecoded = etherType == EtherType.macsec ? Undecoded.macsec : Undecoded.etherType | UInt32(etherType)
            }
        }
    }

    /// The link-layer header: sets the EtherType (or the decoder's own LLC/PPP marks) of what
    /// follows and where. False when the header is cut short. An unknown link type leaves
    /// `type` 0 and names itself in `undecoded`.
    @inline(never)
    func link(_ f: Frame, _ linkType: UInt32, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        switch linkType {
        case LinkType.ethernet:
            type = EtherType.transparentEthernet; o = 0
        case LinkType.linuxSLL, LinkType.linuxSLL2:
            if linkType == LinkType.linuxSLL {
                guard let sll = LinuxSLLView(f, at: 0) else { return false }
                type = sll.protocolType; o = sll.payload
            } else {
                guard let sll = LinuxSLL2View(f, at: 0) else { return false }
                type = sll.protocolType; o = sll.payload
            }
            // Below 0x0600 SLL names a framing, not a length: 4 is 802.2 LLC; the rest are not IP.
            if type < 0x0600 { type = type == 0x0004 ? EtherType.llc : 0 }
        case LinkType.null, LinkType.loop:
            guard let lo = LoopbackView(f, at: 0) else { return false }
            switch lo.family {
            case 2: type = EtherType.ipv4
            case 10, 24, 28, 30: type = EtherType.ipv6
            default: type = 0
            }
            o = lo.payload
            // Some "NULL" captures carry Cisco HDLC instead, as Wireshark's heuristics also accept.
            if type == 0, CiscoHDLCView.hasCiscoAddress(f, at: 0), let h = CiscoHDLCView(f, at: 0) {
                type = h.protocolType; o = h.payload
            }
        case LinkType.raw, LinkType.rawAlt1, LinkType.rawAlt2, LinkType.ipv4, LinkType.ipv6:
            guard f.has(0, 1) else { return false }
            type = f.u8(0) >> 4 == 6 ? EtherType.ipv6 : (f.u8(0) >> 4 == 4 ? EtherType.ipv4 : 0)
            o = 0
        case LinkType.ppp, LinkType.pppHDLC, LinkType.ciscoHDLC:
            // Wireshark's rule: a Cisco HDLC address byte means Cisco HDLC whatever the link type says.
            guard f.has(0, 2) else { return false }
            if linkType == LinkType.ciscoHDLC || CiscoHDLCView.hasCiscoAddress(f, at: 0) {
                guard let h = CiscoHDLCView(f, at: 0) else { return false }
                type = h.protocolType; o = h.payload
            } else {
                type = EtherType.pppFrame; o = 0
            }
        case LinkType.fddi:
            guard let fddi = FDDIView(f, at: 0) else { return false }
            type = fddi.carriesLLC ? EtherType.llc : 0; o = fddi.payload
        case LinkType.tokenRing:
            guard let tr = TokenRingView(f, at: 0), let p = tr.payload else { return false }
            type = tr.carriesLLC ? EtherType.llc : 0; o = p
        case LinkType.atmRFC1483:
            type = EtherType.llc; o = 0
        case LinkType.pppEther:
            type = EtherType.pppoeSession; o = 0
        case LinkType.pflog:
            guard let pf = PFLogView(f, at: 0) else { return false }
            o = pf.payload
            switch pf.family {
            case 2: type = EtherType.ipv4
            case 10, 24, 28, 30: type = EtherType.ipv6
            default: m.undecoded = Undecoded.linkType | linkType; type = 0
            }
        case LinkType.ieee80211:
            return wifi(f, 0, &type, &o, &m)
        case LinkType.radiotap:
            guard let rt = RadiotapView(f, at: 0) else { return false }
            return wifi(f, rt.payload, &type, &o, &m)
        case LinkType.ppi:
            guard let ppi = PPIView(f, at: 0) else { return false }
            switch ppi.linkType {
            case LinkType.ieee80211: return wifi(f, ppi.payload, &type, &o, &m)
            case LinkType.ethernet: type = EtherType.transparentEthernet; o = ppi.payload
            default: m.undecoded = Undecoded.linkType | ppi.linkType; type = 0
            }
        case LinkType.nflog:
            guard let nf = NFLOGView(f, at: 0) else { return false }
            guard let p = nf.payload else { m.undecoded = Undecoded.nflogPayload; type = 0; return true }
            o = p.offset
            guard p.length > 0 else { return false }
            let nibble = f.u8(o) >> 4
            type = nf.family == 10 || nibble == 6 ? EtherType.ipv6 : (nf.family == 2 || nibble == 4 ? EtherType.ipv4 : 0)
        default:
            m.undecoded = Undecoded.linkType | linkType
            type = 0
        }
        return true
    }

    /// Follows the headers named by EtherTypes from `type` at `o` to the network layer: Ethernet
    /// (0x6558), 802.3 with LLC/SNAP, VLAN tags, 802.1ah, VN-Tag, FabricPath, MPLS, PPPoE and PPP.
    /// On return `type` is the network layer's EtherType, or 0 with `undecoded` set, or a protocol
    /// we do not follow. False when a header is cut short.
    @inline(never)
    func resolve(_ f: Frame, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        var steps = 0
        while steps < Decoder.maxLinkSteps {
            steps += 1
            switch type {
            case EtherType.ipv4, EtherType.ipv6, EtherType.arp:
                return true
            case EtherType.transparentEthernet:
                guard let eth = EthernetView(f, at: o) else { return false }
                type = eth.etherType <= EtherType.maxLength ? EtherType.llc : eth.etherType
                o = eth.payload
            case EtherType.vlan, EtherType.qinq, EtherType.qinqOld:
                guard let tag = VLANTagView(f, at: o) else { return false }
                if m.vlanTags == 0 { m.vlanID = tag.vlanID }
                m.vlanTags &+= 1
                type = tag.etherType <= EtherType.maxLength ? EtherType.llc : tag.etherType
                o += VLANTagView.length
            case EtherType.llc:
                guard let llc = LLCView(f, at: o) else { return false }
                if llc.isSNAP {
                    guard let snap = llc.snap else { return false }
                    // OUI 0 and 0xF8 (bridge tunnel) carry EtherTypes; vendor OUIs (Cisco's CDP,
                    // VTP, PVST) carry their own protocols.
                    type = snap.oui == 0 || snap.oui == 0xF8 ? snap.type : 0
                    o = snap.payload
                } else {
                    type = llc.dsap == LLCView.ipSAP ? EtherType.ipv4 : 0
                    o = llc.payload
                }
                if type == 0 { return true }
            case EtherType.pbb:
                guard let pbb = PBBView(f, at: o) else { return false }
                type = pbb.etherType; o = pbb.payload
            case EtherType.vnTag:
                guard let tag = VNTagView(f, at: o) else { return false }
                type = tag.etherType; o = tag.payload
            case EtherType.fabricPath:
                guard let fp = FabricPathView(f, at: o) else { return false }
                type = EtherType.transparentEthernet; o = fp.innerEthernet
            case EtherType.mpls, EtherType.mplsMulticast:
                guard mpls(f, &type, &o, &m) else { return false }
                if type == 0 { return true }
            case EtherType.pppoeSession:
                guard let pppoe = PPPoESessionView(f, at: o) else { return false }
                type = EtherType.pppFrame; o = pppoe.payload - 2
            case EtherType.pppFrame, EtherType.ppp:
                guard let ppp = PPPView(f, at: o), let (p, q) = ppp.protocolAndPayload else { return false }
                type = PPPProtocol.etherType(p); o = q
                if type == 0 {
                    if p == PPPProtocol.compressed || p == PPPProtocol.compressedLink {
                        m.undecoded = Undecoded.pppCompressed
                    } else if !PPPProtocol.isControl(p) {
                        m.undecoded = Undecoded.pppProtocol | UInt32(p)
                    }
                    return true
                }
            default:
                return true
            }
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
