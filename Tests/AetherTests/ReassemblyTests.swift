import AetherEngine
@testable import AetherStore
import Foundation
import XCTest

/// A ClientHello and a DNS-over-TCP answer spread over two TCP segments are still read.
final class ReassemblyTests: XCTestCase {
    func tcpFrame(_ src: [UInt8], _ dst: [UInt8], _ sport: UInt16, _ dport: UInt16, seq: UInt32, flags: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
        let total = 40 + payload.count
        f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, 6, 0, 0] + src + dst
        f += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)]
        f += [UInt8(seq >> 24), UInt8((seq >> 16) & 0xFF), UInt8((seq >> 8) & 0xFF), UInt8(seq & 0xFF), 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]
        return f + payload
    }

    func clientHello(_ sni: String) -> [UInt8] {
        let name = Array(sni.utf8)
        var ext: [UInt8] = [0, 0] + be16(name.count + 5) + be16(name.count + 3) + [0] + be16(name.count) + name
        ext += [0, 0x2B, 0, 3, 2, 3, 4]  // supported_versions: TLS 1.3
        ext += [0, 0x15] + be16(600) + [UInt8](repeating: 0, count: 600)  // padding, so the hello is long
        var body: [UInt8] = [3, 3] + [UInt8](repeating: 0x11, count: 32) + [0] + be16(2) + [0x13, 0x01] + [1, 0]
        body += be16(ext.count) + ext
        let hs: [UInt8] = [1, 0] + be16(body.count) + body
        return [0x16, 3, 1] + be16(hs.count) + hs
    }

    func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    func write(_ frames: [[UInt8]], to path: String) {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(0xA1B2_C3D4); d.append(contentsOf: [2, 0, 4, 0]); u32(0); u32(0); u32(65535); u32(1)
        for (i, f) in frames.enumerated() { u32(1_700_000_000 + UInt32(i)); u32(0); u32(UInt32(f.count)); u32(UInt32(f.count)); d.append(contentsOf: f) }
        FileManager.default.createFile(atPath: path, contents: d)
    }

    func testHelloAndDNSAcrossSegments() throws {
        let c: [UInt8] = [10, 0, 0, 1], s: [UInt8] = [10, 0, 0, 2]
        let hello = clientHello("split.example.org")
        let cut = 200
        // A DNS answer over TCP: length prefix, then a message whose answer is in the second segment.
        var dns: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 5] + Array("split".utf8) + [3] + Array("dns".utf8) + [0, 0, 1, 0, 1]
        dns += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]
        let framed = be16(dns.count) + dns
        let query: [UInt8] =
            be16(dns.count - 16) + [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5] + Array("split".utf8) + [3] + Array("dns".utf8) + [0, 0, 1, 0, 1]
        let frames = [
            tcpFrame(c, s, 40000, 443, seq: 1000, flags: 0x02, []),
            tcpFrame(s, c, 443, 40000, seq: 5000, flags: 0x12, []),
            tcpFrame(c, s, 40000, 443, seq: 1001, flags: 0x10, []),
            tcpFrame(c, s, 40000, 443, seq: 1001, flags: 0x10, Array(hello[..<cut])),
            tcpFrame(c, s, 40000, 443, seq: 1001 + UInt32(cut), flags: 0x18, Array(hello[cut...])),
            tcpFrame(c, s, 40001, 53, seq: 7000, flags: 0x18, query),
            tcpFrame(s, c, 53, 40001, seq: 9000, flags: 0x10, Array(framed[..<20])),
            tcpFrame(s, c, 53, 40001, seq: 9020, flags: 0x18, Array(framed[20...])),
        ]
        let tmp = TempDir()
        let cap = tmp.path("split.pcap")
        write(frames, to: cap)
        let (store, o) = try ingest([cap], db: tmp.path("s.sqlite"))
        XCTAssertEqual(o.first?.status, .complete)
        XCTAssertEqual(try store.rows("SELECT server_name, version FROM tls").map { $0.map(\.text) }, [["split.example.org", "1.3"]])
        let d = try store.rows("SELECT qname, query, response, answers FROM dns")
        XCTAssertEqual(d.map { $0.map(\.text) }, [["split.dns", "1", "1", "192.0.2.1"]])
    }
}
