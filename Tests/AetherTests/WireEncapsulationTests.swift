@testable import AetherCore
@testable import AetherDecode
import XCTest

/// The encapsulation views over literal bytes (each cut at every length), and the
/// whole decoder over one frame of each: the inner addresses when whole, never a read past the
/// end when cut.
extension WireTests {
    func testLinkEncapsulationViews() {
        let mpls: [UInt8] = [0x00, 0x06, 0x41, 0x40]  // label 100, bottom of stack, TTL 64
        assertNeeds(mpls, MPLSLabelView.length) { MPLSLabelView($0, at: 0) }
        withFrame(mpls) { f in
            XCTAssertEqual(MPLSLabelView(f, at: 0)!.label, 100)
            XCTAssertTrue(MPLSLabelView(f, at: 0)!.isBottom)
        }
        withFrame([0x00, 0x06, 0x40, 0x40]) { XCTAssertFalse(MPLSLabelView($0, at: 0)!.isBottom) }

        assertNeeds([0xFF, 0x03], PPPView.minLength) { PPPView($0, at: 0) }
        withFrame([0xFF, 0x03, 0x00, 0x21]) { f in
            let (p, q) = PPPView(f, at: 0)!.protocolAndPayload!
            XCTAssertEqual(p, PPPProtocol.ipv4); XCTAssertEqual(q, 4)
        }
        withFrame([0xFF, 0x03, 0x00]) { XCTAssertNil(PPPView($0, at: 0)!.protocolAndPayload, "protocol cut") }
        withFrame([0x57, 0x60]) { f in
            let (p, q) = PPPView(f, at: 0)!.protocolAndPayload!
            XCTAssertEqual(p, PPPProtocol.ipv6, "compressed protocol field"); XCTAssertEqual(q, 1)
        }
        XCTAssertTrue(PPPProtocol.isControl(0xC021), "LCP")
        XCTAssertFalse(PPPProtocol.isControl(0x002B), "IPX is a network protocol")

        let hdlc: [UInt8] = [0x0F, 0x00, 0x86, 0xDD]
        assertNeeds(hdlc, CiscoHDLCView.length) { CiscoHDLCView($0, at: 0) }
        withFrame(hdlc) { f in
            XCTAssertEqual(CiscoHDLCView(f, at: 0)!.protocolType, EtherType.ipv6)
            XCTAssertTrue(CiscoHDLCView.hasCiscoAddress(f, at: 0))
        }
        withFrame([0xFF, 0x03, 0x00, 0x21]) { XCTAssertFalse(CiscoHDLCView.hasCiscoAddress($0, at: 0), "PPP") }

        let snap: [UInt8] = [0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00]
        assertNeeds(snap, LLCView.minLength) { LLCView($0, at: 0) }
        withFrame(snap) { f in
            let llc = LLCView(f, at: 0)!
            XCTAssertTrue(llc.isSNAP)
            XCTAssertEqual(llc.snap!.type, EtherType.ipv4)
            XCTAssertEqual(llc.snap!.oui, 0)
            XCTAssertEqual(llc.snap!.payload, 8)
        }
        withFrame(snap, 7) { XCTAssertNil(LLCView($0, at: 0)!.snap, "SNAP cut") }
        withFrame([0x42, 0x42, 0x03]) { f in
            XCTAssertFalse(LLCView(f, at: 0)!.isSNAP, "spanning tree")
            XCTAssertEqual(LLCView(f, at: 0)!.payload, 3)
        }

        let fddi: [UInt8] = [0x50] + Array(repeating: 0x02, count: 12)
        assertNeeds(fddi, FDDIView.length) { FDDIView($0, at: 0) }
        withFrame(fddi) { XCTAssertTrue(FDDIView($0, at: 0)!.carriesLLC) }
        withFrame([0x41] + fddi.dropFirst()) { XCTAssertFalse(FDDIView($0, at: 0)!.carriesLLC, "SMT") }

        // Token Ring with two bytes of routing information (the source's top bit), then LLC.
        let tokenRing: [UInt8] = [0x10, 0x40] + Array(repeating: 2, count: 6) + [0x82] + Array(repeating: 0, count: 5) + [0x02, 0x00]
        assertNeeds(tokenRing, TokenRingView.minLength) { TokenRingView($0, at: 0) }
        withFrame(tokenRing) { f in
            XCTAssertTrue(TokenRingView(f, at: 0)!.carriesLLC)
            XCTAssertEqual(TokenRingView(f, at: 0)!.payload, 16)
        }
        withFrame(tokenRing, 14) { XCTAssertNil(TokenRingView($0, at: 0)!.payload, "routing length cut") }
        let pflog: [UInt8] = [61, 2, 0, 0]
        assertNeeds(pflog, PFLogView.minLength) { PFLogView($0, at: 0) }
        withFrame(pflog) { f in
            XCTAssertEqual(PFLogView(f, at: 0)!.family, 2)
            XCTAssertEqual(PFLogView(f, at: 0)!.payload, 64, "61 bytes padded to 4")
        }

        let pbb: [UInt8] = [0x00, 0x01, 0x02, 0x03] + Array(repeating: 0x02, count: 12) + [0x86, 0xDD]
        assertNeeds(pbb, PBBView.length) { PBBView($0, at: 0) }
        withFrame(pbb) { XCTAssertEqual(PBBView($0, at: 0)!.etherType, EtherType.ipv6) }
        let vntag: [UInt8] = [0x80, 0x01, 0x00, 0x02, 0x08, 0x00]
        assertNeeds(vntag, VNTagView.length) { VNTagView($0, at: 0) }
        withFrame(vntag) { XCTAssertEqual(VNTagView($0, at: 0)!.etherType, EtherType.ipv4) }
        assertNeeds([0x00, 0x41], FabricPathView.minLength) { FabricPathView($0, at: 0) }
        withFrame([0x00, 0x41]) { XCTAssertEqual(FabricPathView($0, at: 0)!.innerEthernet, 2) }
    }

    func testCaptureHeaderViews() {
        // NFLOG: AF_INET, version 0, resource 5; a prefix TLV, then the payload TLV (little-endian).
        let nflog: [UInt8] = [2, 0, 0, 5, 8, 0, 10, 0, 0x61, 0x65, 0, 0, 6, 0, 9, 0, 0x45, 0x00]
        assertNeeds(nflog, NFLOGView.length) { NFLOGView($0, at: 0) }
        withFrame(nflog) { f in
            let v = NFLOGView(f, at: 0)!
            XCTAssertEqual(v.family, 2)
            XCTAssertEqual(v.payload!.offset, 16)
            XCTAssertEqual(v.payload!.length, 2)
        }
        let bigEndian: [UInt8] = [10, 0, 0, 5, 0, 6, 0, 9, 0x60, 0x00]
        withFrame(bigEndian) { XCTAssertEqual(NFLOGView($0, at: 0)!.payload!.offset, 8, "TLVs written big-endian") }
        withFrame([2, 0, 0, 5, 8, 0, 10, 0]) { XCTAssertNil(NFLOGView($0, at: 0)!.payload, "no payload TLV") }
        withFrame([2, 0, 0, 5, 2, 0, 9, 0]) { XCTAssertNil(NFLOGView($0, at: 0)!.payload, "TLV length below its header") }

        let radiotap: [UInt8] = [0, 0, 12, 0, 0x04, 0, 0, 0, 0x02, 0, 0, 0]
        assertNeeds(radiotap, RadiotapView.minLength) { RadiotapView($0, at: 0) }
        withFrame(radiotap) { XCTAssertEqual(RadiotapView($0, at: 0)!.payload, 12) }
        withFrame([1] + radiotap.dropFirst()) { XCTAssertNil(RadiotapView($0, at: 0), "version 1") }
        let ppi: [UInt8] = [0, 0, 8, 0, 105, 0, 0, 0]
        assertNeeds(ppi, PPIView.minLength) { PPIView($0, at: 0) }
        withFrame(ppi) { f in
            XCTAssertEqual(PPIView(f, at: 0)!.linkType, LinkType.ieee80211)
            XCTAssertEqual(PPIView(f, at: 0)!.payload, 8)
        }

        // QoS data to the AP (to-DS, order bit: HT control follows QoS control).
        var wifi: [UInt8] = [0x88, 0x81, 0, 0] + Array(repeating: 0x02, count: 18) + [0x10, 0x00]
        wifi += [0x00, 0x00] + [0, 0, 0, 0]
        assertNeeds(wifi, IEEE80211View.minLength) { IEEE80211View($0, at: 0) }
        withFrame(wifi) { f in
            let w = IEEE80211View(f, at: 0)!
            XCTAssertTrue(w.isData); XCTAssertTrue(w.isQoS); XCTAssertTrue(w.hasPayload)
            XCTAssertFalse(w.isProtected); XCTAssertFalse(w.isAggregate)
            XCTAssertEqual(w.headerLength, 24 + 2 + 4)
        }
        var wds = wifi
        wds[1] = 0x03  // to-DS and from-DS: four addresses
        withFrame(wds + [0, 0, 0, 0, 0, 0]) { XCTAssertEqual(IEEE80211View($0, at: 0)!.headerLength, 24 + 6 + 2) }
        withFrame([0x80, 0x00] + Array(wifi.dropFirst(2))) { XCTAssertFalse(IEEE80211View($0, at: 0)!.isData, "beacon") }
        withFrame([0x48, 0x01] + Array(wifi.dropFirst(2))) { XCTAssertFalse(IEEE80211View($0, at: 0)!.hasPayload, "null function") }
        withFrame([0x08, 0x41] + Array(wifi.dropFirst(2))) { XCTAssertTrue(IEEE80211View($0, at: 0)!.isProtected) }
    }

    func testTunnelHeaderViews() {
        let geneve: [UInt8] = [0x01, 0x00, 0x65, 0x58, 0, 0, 42, 0, 0xAA, 0xBB, 0xCC, 0xDD]
        assertNeeds(geneve, GeneveView.length) { GeneveView($0, at: 0) }
        withFrame(geneve) { f in
            XCTAssertEqual(GeneveView(f, at: 0)!.protocolType, EtherType.transparentEthernet)
            XCTAssertEqual(GeneveView(f, at: 0)!.payload, 12, "one 4-byte option")
        }
        withFrame([0x40] + geneve.dropFirst()) { XCTAssertNil(GeneveView($0, at: 0), "version 1") }

        let gtp: [UInt8] = [0x36, 0xFF, 0, 40, 0, 0, 0x12, 0x34, 0, 7, 0, 0x85, 1, 0, 0, 0]
        assertNeeds(gtp, GTPUView.length) { GTPUView($0, at: 0) }
        withFrame(gtp) { f in
            let g = GTPUView(f, at: 0)!
            XCTAssertTrue(g.carriesUserPacket)
            XCTAssertEqual(g.payload, 16, "sequence word, then one 4-byte extension header")
        }
        withFrame(gtp, 13) { XCTAssertNil(GTPUView($0, at: 0)!.payload, "extension header cut") }
        withFrame([0x30, 0x01, 0, 0, 0, 0, 0, 1]) { XCTAssertFalse(GTPUView($0, at: 0)!.carriesUserPacket, "echo request") }
        withFrame([0x48, 0xFF, 0, 0, 0, 0, 0, 1]) { XCTAssertNil(GTPUView($0, at: 0), "GTPv2") }

        let erspan2: [UInt8] = [0x10, 0x01, 0, 3, 0, 0, 0, 0]
        assertNeeds(erspan2, ERSPANView.minLength) { ERSPANView($0, at: 0) }
        withFrame(erspan2) { XCTAssertEqual(ERSPANView($0, at: 0)!.payload, 8) }
        let erspan3: [UInt8] = [0x20, 0x01, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x01] + Array(repeating: 0, count: 8)
        withFrame(erspan3) { XCTAssertEqual(ERSPANView($0, at: 0)!.payload, 20, "platform subheader") }
        withFrame(erspan3, 11) { XCTAssertNil(ERSPANView($0, at: 0)!.payload, "type III cut") }

        let gpe: [UInt8] = [0x0C, 0, 0, 2, 0, 0, 9, 0]
        assertNeeds(gpe, VXLANGPEView.length) { VXLANGPEView($0, at: 0) }
        withFrame(gpe) { XCTAssertEqual(VXLANGPEView($0, at: 0)!.etherType, EtherType.ipv6) }

        withFrame([0x60, 0, 0, 0]) { XCTAssertEqual(TeredoView($0, at: 0)!.payload, 0) }
        withFrame([0, 0, 0x8D, 0x2F, 1, 2, 3, 4, 0x60]) { XCTAssertEqual(TeredoView($0, at: 0)!.payload, 8, "origin indication") }
        withFrame([0x45, 0, 0, 0]) { XCTAssertNil(TeredoView($0, at: 0)!.payload, "not IPv6") }
    }

    /// One frame per link type or encapsulation: whole, the inner addresses and ports; cut at
    /// every length, no read past the end.
    func testDecoderFollowsEveryEncapsulation() {
        let ip = ipv4 + tcp  // 172.16.10.99:50000 → 172.16.10.12:80
        let mac = Array(repeating: UInt8(0x02), count: 12)
        let eth = { (t: UInt16, p: [UInt8]) -> [UInt8] in mac + [UInt8(t >> 8), UInt8(t & 0xFF)] + p }
        let snapIP: [UInt8] = [0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00] + ip
        let udpTo = { (port: UInt16, p: [UInt8]) -> [UInt8] in
            let length = UInt16(8 + p.count)
            var outer: [UInt8] = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]
            let total = UInt16(20) + length
            outer[2] = UInt8(total >> 8); outer[3] = UInt8(total & 0xFF)
            return eth(EtherType.ipv4, outer + [0xC3, 0x50, UInt8(port >> 8), UInt8(port & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF), 0, 0] + p)
        }
        let cases: [(String, UInt32, [UInt8], Bool)] = [
            ("MPLS", LinkType.ethernet, eth(EtherType.mpls, [0, 0x06, 0x40, 64, 0, 0x0C, 0x81, 64] + ip), false),
            ("PPP", LinkType.ppp, [0xFF, 0x03, 0x00, 0x21] + ip, false),
            ("Cisco HDLC", LinkType.ciscoHDLC, [0x0F, 0x00, 0x08, 0x00] + ip, false),
            ("pflog", LinkType.pflog, [4, 2, 0, 0] + ip, false),
            ("PPPoE without Ethernet", LinkType.pppEther, [0x11, 0, 0, 1, 0, UInt8(2 + ip.count), 0x00, 0x21] + ip, false),
            ("ATM LLC/SNAP", LinkType.atmRFC1483, snapIP, false),
            ("802.3 LLC/SNAP", LinkType.ethernet, eth(UInt16(snapIP.count), snapIP), false),
            ("FDDI", LinkType.fddi, [0x50] + mac + snapIP, false),
            ("NFLOG", LinkType.nflog, [2, 0, 0, 5, UInt8(4 + ip.count), 0, 9, 0] + ip, false),
            ("802.11", LinkType.ieee80211, [0x08, 0x01, 0, 0] + Array(repeating: 0x02, count: 18) + [0x10, 0x00] + snapIP, false),
            ("radiotap", LinkType.radiotap, [0, 0, 8, 0, 0, 0, 0, 0, 0x08, 0x02, 0, 0] + Array(repeating: 0x02, count: 18) + [0, 0] + snapIP, false),
            ("PBB", LinkType.ethernet, eth(EtherType.pbb, [0, 1, 2, 3] + eth(EtherType.ipv4, ip)), false),
            ("VN-Tag", LinkType.ethernet, eth(EtherType.vnTag, [0x80, 1, 0, 2, 0x08, 0x00] + ip), false),
            ("FabricPath", LinkType.ethernet, eth(EtherType.fabricPath, [0, 0x41] + eth(EtherType.ipv4, ip)), false),
            ("Geneve", LinkType.ethernet, udpTo(6081, [0, 0, 0x08, 0x00, 0, 0, 42, 0] + ip), true),
            ("GTP-U", LinkType.ethernet, udpTo(2152, [0x30, 0xFF, 0, UInt8(ip.count), 0, 0, 0, 1] + ip), true),
            ("MPLS in UDP", LinkType.ethernet, udpTo(6635, [0, 0x06, 0x41, 64] + ip), true),
        ]
        var m = PacketMeta()
        for (name, link, frame, tunnelled) in cases {
            for n in 0...frame.count {
                decode(frame, n, link: link, into: &m)
            }
            let l = tunnelled ? m.inner : m.outer
            XCTAssertEqual(m.undecoded, 0, name)
            XCTAssertEqual(tunnelled, m.hasInner, name)
            XCTAssertEqual(l.src, IPAddress("172.16.10.99"), name)
            XCTAssertEqual(l.dst, IPAddress("172.16.10.12"), name)
            XCTAssertEqual(l.dstPort, 80, name)
        }
    }

    /// What is not decoded says why.
    func testUndecodedReasons() {
        let cases: [(UInt32, [UInt8], String)] = [
            (147, [0x45, 0, 0, 20], "link type 147 (LINKTYPE_147)"),
            (LinkType.ethernet, Array(repeating: 2, count: 12) + [0x88, 0xB7, 0, 0], "EtherType 0x88b7"),
            (LinkType.ppp, [0xFF, 0x03, 0x00, 0x3F, 0, 0], "PPP protocol 0x003f"),
            (LinkType.ieee80211, [0x08, 0x41, 0, 0] + Array(repeating: 2, count: 20) + [0, 0], "802.11 protected (encrypted) data"),
            (
                LinkType.ethernet, Array(repeating: 2, count: 12) + [0x88, 0x47, 0x00, 0x01, 0x01, 0x40, 0x77, 0, 0],
                "MPLS label stack (payload not recognised)"
            ),
        ]
        var m = PacketMeta()
        for (link, frame, reason) in cases {
            decode(frame, link: link, into: &m)
            XCTAssertEqual(Undecoded.describe(m.undecoded), reason)
        }
        // Known protocols that are not IP are not "undecoded": LLDP, spanning tree (LLC), 802.11 beacons.
        for (link, frame) in [
            (LinkType.ethernet, Array(repeating: UInt8(2), count: 12) + [0x88, 0xCC, 0, 0]),
            (LinkType.ethernet, Array(repeating: UInt8(2), count: 12) + [0x00, 0x26, 0x42, 0x42, 0x03, 0, 0]),
            (LinkType.ieee80211, [0x80, 0x00, 0, 0] + Array(repeating: UInt8(2), count: 20)),
        ] {
            decode(frame, link: link, into: &m)
            XCTAssertEqual(m.undecoded, 0, "\(frame)")
        }
    }
}
