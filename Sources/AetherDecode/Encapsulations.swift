import AetherCore

/// The decoder's encapsulations above the link layer: tunnels that carry a second IP packet
/// (IP-in-IP, 6in4, GRE with ERSPAN, VXLAN, VXLAN-GPE, Geneve, GTP-U, Teredo, L2TP, MPLS in UDP),
/// MPLS label stacks, and 802.11 data frames.
extension Decoder {
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
        var type: UInt16 = 0
        var p = o.payloadOffset
        var tunnel: UInt8 = 0
        switch o.proto {
        case IPProto.ipip: type = EtherType.ipv4; tunnel = Tunnel.ipip
        case IPProto.ipv6: type = EtherType.ipv6; tunnel = Tunnel.sixInFour
        case IPProto.gre:
            guard let gre = GREView(f, at: p), let q = gre.payload else { return }
            tunnel = Tunnel.gre
            p = q
            switch gre.protocolType {
            case ERSPANView.typeII where gre.flags & GREView.Flag.sequence == 0:
                type = EtherType.transparentEthernet  // type I: the mirrored frame directly
                tunnel = Tunnel.erspan
            case ERSPANView.typeII, ERSPANView.typeIII:
                guard let e = ERSPANView(f, at: q), let x = e.payload else { return }
                type = EtherType.transparentEthernet; p = x
                tunnel = Tunnel.erspan
            default:
                type = gre.protocolType
            }
        case IPProto.udp:
            guard udpTunnel(f, o, &type, &p, &tunnel) else { return }
        default: return
        }
        // Tags inside a tunnel are not the capture's own VLANs: they go to a scratch record.
        var scratch = PacketMeta()
        guard resolve(f, &type, &p, &scratch), p > 0 else { return }
        if type == EtherType.arp {
            // ARP bridged through the tunnel: its addresses, though it opens no connection.
            if let arp = ARPView(f, at: p) {
                m.innerARP = true
                m.arpOp = arp.operation; m.arpSender = arp.senderAddress; m.arpTarget = arp.targetAddress
            }
            return
        }
        guard type == EtherType.ipv4 || type == EtherType.ipv6, f.has(p, 1) else { return }
        var inner = IPLayer()
        var t = false
        if ip(f, p, isV6: type == EtherType.ipv6, &inner, &t) {
            transport(f, &inner, &t)
            m.inner = inner
            m.hasInner = true
            m.tunnel = tunnel
            // An ICMP error inside the tunnel quotes the packet it answers, as an outer one does.
            if inner.hasTransport && inner.isICMPError {
                var q = IPLayer()
                if ip(f, inner.payloadOffset, isV6: inner.proto == IPProto.icmpv6, &q, &t) {
                    quotedTransport(f, &q)
                    m.quoted = q
                    m.hasQuoted = true
                }
            }
        }
    }

    /// A tunnel over UDP, chosen by port as Wireshark does: the lower port first, then the higher
    /// one when the lower is not a well-known port.
    func udpTunnel(_ f: Frame, _ o: IPLayer, _ type: inout UInt16, _ p: inout Int, _ tunnel: inout UInt8) -> Bool {
        let low = min(o.srcPort, o.dstPort), high = max(o.srcPort, o.dstPort)
        if udpTunnel(f, port: low, o.payloadOffset, &type, &p, &tunnel) { return true }
        return low >= 1024 && udpTunnel(f, port: high, o.payloadOffset, &type, &p, &tunnel)
    }

    func udpTunnel(_ f: Frame, port: UInt16, _ at: Int, _ type: inout UInt16, _ p: inout Int, _ tunnel: inout UInt8) -> Bool {
        switch port {
        case VXLANView.port:
            guard let vx = VXLANView(f, at: at) else { return false }
            type = EtherType.transparentEthernet; p = vx.payload; tunnel = Tunnel.vxlan
        case VXLANGPEView.port:
            guard let gpe = VXLANGPEView(f, at: at), gpe.etherType != 0 else { return false }
            type = gpe.etherType; p = gpe.payload; tunnel = Tunnel.vxlanGPE
        case GeneveView.port:
            guard let g = GeneveView(f, at: at) else { return false }
            type = g.protocolType; p = g.payload; tunnel = Tunnel.geneve
        case GTPUView.port:
            guard let g = GTPUView(f, at: at), g.carriesUserPacket, let q = g.payload, f.has(q, 1) else { return false }
            let nibble = f.u8(q) >> 4
            guard nibble == 4 || nibble == 6 else { return false }
            type = nibble == 4 ? EtherType.ipv4 : EtherType.ipv6; p = q; tunnel = Tunnel.gtpU
        case TeredoView.port:
            guard let t = TeredoView(f, at: at), let q = t.payload else { return false }
            type = EtherType.ipv6; p = q; tunnel = Tunnel.teredo
        case L2TPView.port:
            guard let l = L2TPView(f, at: at), let q = l.payload else { return false }
            type = EtherType.pppFrame; p = q; tunnel = Tunnel.l2tp
        case MPLSInUDP.port:
            type = EtherType.mpls; p = at; tunnel = Tunnel.mplsUDP
        default:
            return false
        }
        return true
    }

    /// An MPLS label stack down to its bottom entry, then what is below it, guessed as Wireshark
    /// does: the explicit-null labels name IPv4 (0) and IPv6 (2); otherwise a first nibble of 4 or
    /// 6 is IP, an Ethernet header with a known EtherType is a pseudowire without control word,
    /// a first nibble of 0 is a control word before the Ethernet frame, and 1 is an associated
    /// channel (OAM, not IP).
    func mpls(_ f: Frame, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        var depth = 0
        var bottomLabel: UInt32 = 0
        while true {
            guard let entry = MPLSLabelView(f, at: o) else { return false }
            o += MPLSLabelView.length
            depth += 1
            if entry.isBottom { bottomLabel = entry.label; break }
            if depth >= MPLSLabelView.maxDepth { m.undecoded = Undecoded.mplsPayload; type = 0; return true }
        }
        guard f.has(o, 1) else { return false }
        let nibble = f.u8(o) >> 4
        if bottomLabel == 0 || (bottomLabel != 2 && nibble == 4 && f.u8(o) & 0x0F >= 5) {
            type = EtherType.ipv4
        } else if bottomLabel == 2 || nibble == 6 {
            type = EtherType.ipv6
        } else if looksLikeEthernet(f, o) {
            type = EtherType.transparentEthernet
        } else if nibble == 0 && looksLikeEthernet(f, o + 4) {
            type = EtherType.transparentEthernet; o += 4
        } else if nibble == 1 {
            type = 0  // pseudowire associated channel: OAM (BFD, LSP ping), known and not IP
        } else {
            m.undecoded = Undecoded.mplsPayload; type = 0
        }
        return true
    }

    /// An Ethernet header at `o` whose EtherType is one we follow.
    func looksLikeEthernet(_ f: Frame, _ o: Int) -> Bool {
        guard let eth = EthernetView(f, at: o) else { return false }
        switch eth.etherType {
        case EtherType.ipv4, EtherType.ipv6, EtherType.arp, EtherType.vlan, EtherType.qinq, EtherType.mpls,
            EtherType.pppoeSession:
            return true
        default:
            return false
        }
    }

    /// An 802.11 frame at `o`: data frames lead to their LLC header; management and control
    /// frames carry no packet; protected and aggregated data are named as undecoded.
    func wifi(_ f: Frame, _ at: Int, _ type: inout UInt16, _ o: inout Int, _ m: inout PacketMeta) -> Bool {
        guard let w = IEEE80211View(f, at: at) else { return false }
        type = 0
        guard w.isData, w.hasPayload else { return true }
        guard f.has(at, w.headerLength) else { return false }
        if w.isProtected { m.undecoded = Undecoded.wifiProtected; return true }
        if w.isAggregate { m.undecoded = Undecoded.wifiAggregate; return true }
        type = EtherType.llc; o = w.payload
        return true
    }
}
