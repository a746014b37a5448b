@testable import AetherCore
@testable import AetherDecode
import XCTest

/// Each header view over literal bytes: its fields where they belong, and nil (never a read past
/// the end) when the buffer stops anywhere short of the header.
final class WireTests: XCTestCase {
    /// Runs `body` with a frame over the first `n` bytes of `bytes`.
    func withFrame<T>(_ bytes: [UInt8], _ n: Int? = nil, _ body: (Frame) -> T) -> T {
        let count = n ?? bytes.count
        // A private copy of exactly `count` bytes, so a read past it is a read past the allocation.
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 1)
        defer { p.deallocate() }
        bytes.prefix(count).withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: count) }
        return body(Frame(base: UnsafeRawPointer(p), count: count))
    }

    /// The view exists over the whole header and at no shorter length.
    func assertNeeds<V>(_ bytes: [UInt8], _ length: Int, _ make: (Frame) -> V?, file: StaticString = #filePath, line: UInt = #line) {
        for n in 0..<length {
            XCTAssertNil(withFrame(bytes, n) { make($0) }, "view over \(n) of \(length) bytes", file: file, line: line)
        }
        XCTAssertNotNil(withFrame(bytes, length) { make($0) }, "view over all \(length) bytes", file: file, line: line)
    }

    /// The whole decoder over the first `n` bytes of `frame` (a private copy, as in `withFrame`);
    /// the wire length is the whole frame's.
    func decode(_ frame: [UInt8], _ n: Int? = nil, link: UInt32, into m: inout PacketMeta) {
        withFrame(frame, n) { f in
            var raw = RawPacket()
            raw.bytes = UnsafeRawBufferPointer(start: f.base, count: f.count)
            raw.capturedLength = UInt32(f.count)
            raw.wireLength = UInt32(frame.count)
            raw.linkType = link
            Decoder().decode(raw, into: &m)
        }
    }

    let ethernet: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0x81, 0x00]
    let vlan: [UInt8] = [0x20, 0x64, 0x08, 0x00]  // priority 1, VLAN 100, then IPv4
    let ipv4: [UInt8] = [
        0x45, 0x00, 0x00, 0x3C, 0x1C, 0x46, 0x40, 0x00, 0x40, 0x06, 0xB1, 0xE6,
        0xAC, 0x10, 0x0A, 0x63, 0xAC, 0x10, 0x0A, 0x0C,
    ]
    let tcp: [UInt8] = [0xC3, 0x50, 0x00, 0x50, 0x00, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]
    let udp: [UInt8] = [0x13, 0x88, 0x00, 0x35, 0x00, 0x1C, 0x00, 0x00]
    let icmpEcho: [UInt8] = [0x08, 0x00, 0xF7, 0xFF, 0x12, 0x34, 0x00, 0x01]

    func testEthernetAndVLAN() {
        assertNeeds(ethernet, EthernetView.length) { EthernetView($0, at: 0) }
        withFrame(ethernet) { f in
            let e = EthernetView(f, at: 0)!
            XCTAssertEqual(e.etherType, EtherType.vlan)
            XCTAssertEqual(e.payload, 14)
        }
        assertNeeds(vlan, VLANTagView.length) { VLANTagView($0, at: 0) }
        withFrame(vlan) { f in
            XCTAssertEqual(VLANTagView(f, at: 0)!.vlanID, 100)
            XCTAssertEqual(VLANTagView(f, at: 0)!.etherType, EtherType.ipv4)
        }
    }

    func testIPv4() {
        assertNeeds(ipv4, IPv4View.minLength) { IPv4View($0, at: 0) }
        withFrame(ipv4) { f in
            let h = IPv4View(f, at: 0)!
            XCTAssertEqual(h.headerLength, 20)
            XCTAssertEqual(h.totalLength, 60)
            XCTAssertEqual(h.identification, 0x1C46)
            XCTAssertEqual(h.fragmentOffset, 0)
            XCTAssertFalse(h.moreFragments)
            XCTAssertEqual(h.proto, IPProto.tcp)
            XCTAssertEqual(h.source, IPAddress("172.16.10.99"))
            XCTAssertEqual(h.destination, IPAddress("172.16.10.12"))
            XCTAssertTrue(h.headerCaptured)
            XCTAssertFalse(h.checksumFails)
        }
        var bad = ipv4
        bad[11] ^= 0xFF
        withFrame(bad) { XCTAssertTrue(IPv4View($0, at: 0)!.checksumFails) }
        var zero = ipv4
        zero[10] = 0; zero[11] = 0
        withFrame(zero) { XCTAssertFalse(IPv4View($0, at: 0)!.checksumFails, "zero: left to the NIC (offload)") }
        var v6 = ipv4
        v6[0] = 0x65
        withFrame(v6) { XCTAssertNil(IPv4View($0, at: 0), "version nibble 6") }
        var options = ipv4
        options[0] = 0x46  // IHL 6: 24 bytes, of which only 20 are here
        withFrame(options) { XCTAssertFalse(IPv4View($0, at: 0)!.headerCaptured) }
        var fragment = ipv4
        fragment[6] = 0x20; fragment[7] = 0x03  // MF, offset 3 × 8
        withFrame(fragment) { f in
            XCTAssertEqual(IPv4View(f, at: 0)!.fragmentOffset, 24)
            XCTAssertTrue(IPv4View(f, at: 0)!.moreFragments)
        }
    }

    func testIPv6AndFragmentHeader() {
        var h: [UInt8] = [0x60, 0, 0, 0, 0x00, 0x10, 44, 64]
        h += [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        h += [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [2]
        let fragment: [UInt8] = [17, 0, 0x00, 0x19, 0xDE, 0xAD, 0xBE, 0xEF]  // next UDP, offset 3 × 8, M
        assertNeeds(h, IPv6View.length) { IPv6View($0, at: 0) }
        withFrame(h + fragment) { f in
            let v = IPv6View(f, at: 0)!
            XCTAssertEqual(v.payloadLength, 16)
            XCTAssertEqual(v.nextHeader, 44)
            XCTAssertEqual(v.source, IPAddress("2001:db8::1"))
            XCTAssertEqual(v.destination, IPAddress("2001:db8::2"))
            let x = IPv6ExtensionView(f, at: v.payload, kind: 44)!
            XCTAssertEqual(x.nextHeader, 17)
            XCTAssertEqual(x.headerLength, 8)
            XCTAssertEqual(x.fragmentOffset, 24)
            XCTAssertTrue(x.moreFragments)
            XCTAssertEqual(x.identification, 0xDEAD_BEEF)
        }
        assertNeeds(fragment, IPv6ExtensionView.minLength) { IPv6ExtensionView($0, at: 0, kind: 44) }
        withFrame([6, 1, 0, 0, 0, 0, 0, 0]) { XCTAssertEqual(IPv6ExtensionView($0, at: 0, kind: 0)!.headerLength, 16) }
        withFrame([6, 4, 0, 0, 0, 0, 0, 0]) { XCTAssertEqual(IPv6ExtensionView($0, at: 0, kind: 51)!.headerLength, 24, "AH: (4 + 2) × 4") }
    }

    func testTransportHeaders() {
        assertNeeds(tcp, TCPView.minLength) { TCPView($0, at: 0) }
        withFrame(tcp) { f in
            let t = TCPView(f, at: 0)!
            XCTAssertEqual(t.sourcePort, 50000)
            XCTAssertEqual(t.destinationPort, 80)
            XCTAssertEqual(t.sequence, 1000)
            XCTAssertEqual(t.flags, TCPFlag.syn)
            XCTAssertEqual(t.headerLength, 32)
        }
        var bogus = tcp
        bogus[12] = 0x10  // data offset 4 bytes: read as 20
        withFrame(bogus) { XCTAssertEqual(TCPView($0, at: 0)!.headerLength, 20) }
        assertNeeds(udp, UDPView.length) { UDPView($0, at: 0) }
        withFrame(udp) { f in
            XCTAssertEqual(UDPView(f, at: 0)!.sourcePort, 5000)
            XCTAssertEqual(UDPView(f, at: 0)!.destinationPort, 53)
        }
        assertNeeds(icmpEcho, ICMPView.minLength) { ICMPView($0, at: 0) }
        withFrame(icmpEcho) { f in
            XCTAssertEqual(ICMPView(f, at: 0)!.type, 8)
            XCTAssertEqual(ICMPView(f, at: 0)!.identifier, 0x1234)
        }
        withFrame(icmpEcho, 5) { XCTAssertNil(ICMPView($0, at: 0)!.identifier, "identifier cut") }
    }

    func testTunnelsAndLinks() {
        let gre: [UInt8] = [0x20, 0x00, 0x08, 0x00, 0, 0, 0, 1]  // key present, IPv4
        assertNeeds(gre, GREView.minLength) { GREView($0, at: 0) }
        withFrame(gre) { f in
            XCTAssertEqual(GREView(f, at: 0)!.protocolType, EtherType.ipv4)
            XCTAssertEqual(GREView(f, at: 0)!.payload, 8)
        }
        withFrame([0x00, 0x02, 0x08, 0x00]) { XCTAssertNil(GREView($0, at: 0)!.payload, "version 2 is unknown") }
        let vxlan: [UInt8] = [0x08, 0, 0, 0, 0, 0x12, 0x34, 0]
        assertNeeds(vxlan, VXLANView.length) { VXLANView($0, at: 0) }
        withFrame([0x00, 0, 0, 0, 0, 0x12, 0x34, 0]) { XCTAssertNil(VXLANView($0, at: 0), "I flag clear") }
        let arp: [UInt8] = [0, 1, 0x08, 0x00, 6, 4, 0, 1, 1, 2, 3, 4, 5, 6, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]
        assertNeeds(arp, ARPView.length) { ARPView($0, at: 0) }
        withFrame(arp) { f in
            let a = ARPView(f, at: 0)!
            XCTAssertEqual(a.operation, 1)
            XCTAssertEqual(a.senderAddress, IPAddress("10.0.0.1"))
            XCTAssertEqual(a.targetAddress, IPAddress("10.0.0.2"))
        }
        let pppoe: [UInt8] = [0x11, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00, 0x57]
        assertNeeds(pppoe, PPPoESessionView.length) { PPPoESessionView($0, at: 0) }
        withFrame(pppoe) { XCTAssertEqual(PPPProtocol.etherType(PPPoESessionView($0, at: 0)!.pppProtocol), EtherType.ipv6) }
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xDD]
        assertNeeds(sll, LinuxSLLView.length) { LinuxSLLView($0, at: 0) }
        withFrame(sll) { XCTAssertEqual(LinuxSLLView($0, at: 0)!.protocolType, EtherType.ipv6) }
        assertNeeds([2, 0, 0, 0], LoopbackView.length) { LoopbackView($0, at: 0) }
        withFrame([2, 0, 0, 0]) { XCTAssertEqual(LoopbackView($0, at: 0)!.family, 2) }
        withFrame([0, 0, 0, 2]) { XCTAssertEqual(LoopbackView($0, at: 0)!.family, 2, "either byte order") }
        // A "NULL" capture carrying Cisco HDLC: the decoder reads it as Cisco HDLC.
        var m = PacketMeta()
        decode([0x0F, 0x00, 0x08, 0x00] + ipv4 + tcp, link: LinkType.null, into: &m)
        XCTAssertEqual(m.etherType, EtherType.ipv4)
        XCTAssertEqual(m.outer.dstPort, 80)
    }

    /// The whole decoder over a frame cut at every length: it never reads past the end, and a
    /// frame short of its headers is marked truncated.
    func testDecoderOnEveryPrefix() {
        let frame = [UInt8](ethernet) + vlan + ipv4 + tcp + Array("hello".utf8)
        var m = PacketMeta()
        for n in 0...frame.count {
            decode(frame, n, link: LinkType.ethernet, into: &m)
            if n < 14 + 4 + 20 { XCTAssertTrue(m.truncated, "cut at \(n)") }
            if n >= 14 + 4 + 20 + 20 {
                XCTAssertEqual(m.outer.dstPort, 80, "cut at \(n)")
                XCTAssertEqual(m.vlanID, 100)
            }
        }
    }
}
