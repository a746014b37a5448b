import AetherCapture
import AetherCore
import AetherDecode
import Foundation
import XCTest

/// The decoder against tshark, packet by packet, on the committed specification fixtures
/// (Fixtures/spec, written by scripts/make-spec-fixtures.py with tshark's fields beside each
/// capture): outer and inner addresses and the TCP and UDP ports of every layer. Runs on a fresh
/// clone; tshark is needed only to regenerate the fixtures.
final class DecodeSpecTests: XCTestCase {
    /// Our view of one packet in tshark's field names (all occurrences, outermost first).
    static func fields(_ m: PacketMeta) -> [String: String] {
        var layers: [IPLayer] = []
        if m.network == .ipv4 || m.network == .ipv6 { layers.append(m.outer) }
        if m.hasInner { layers.append(m.inner) }
        if m.hasQuoted { layers.append(m.quoted) }
        func join(_ values: [String]) -> String { values.joined(separator: ",") }
        let v4 = layers.filter { !$0.isV6 }, v6 = layers.filter(\.isV6)
        let tcp = layers.filter { $0.proto == IPProto.tcp && $0.hasTransport }
        let udp = layers.filter { $0.proto == IPProto.udp && $0.hasTransport }
        return [
            "ip.src": join(v4.map(\.src.description)), "ip.dst": join(v4.map(\.dst.description)),
            "ipv6.src": join(v6.map(\.src.description)), "ipv6.dst": join(v6.map(\.dst.description)),
            "tcp.srcport": join(tcp.map { "\($0.srcPort)" }), "tcp.dstport": join(tcp.map { "\($0.dstPort)" }),
            "udp.srcport": join(udp.map { "\($0.srcPort)" }), "udp.dstport": join(udp.map { "\($0.dstPort)" }),
            "arp.src.proto_ipv4": m.network == .arp ? m.arpSender.description : "",
        ]
    }

    func testDecoderAgreesWithTshark() throws {
        let dir = Shared.repoRoot.appendingPathComponent("Fixtures/spec")
        let captures = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".pcap") }.sorted()
        XCTAssertGreaterThanOrEqual(captures.count, 3)
        var packets = 0
        for name in captures {
            let expected = try String(contentsOf: dir.appendingPathComponent(name.replacingOccurrences(of: ".pcap", with: ".tshark.tsv")), encoding: .utf8)
            var lines = expected.split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            }
            let header = lines.removeFirst()
            lines.removeAll { $0.count < header.count }
            let reader = try CaptureReader(path: dir.appendingPathComponent(name).path, hashing: false)
            var m = PacketMeta()
            var frame = 0
            while try reader.next() {
                Decoder().decode(reader.packet, into: &m)
                XCTAssertLessThan(frame, lines.count, "\(name): more packets than tshark saw")
                guard frame < lines.count else { break }
                let ours = Self.fields(m)
                for (i, field) in header.enumerated().dropFirst() {
                    XCTAssertEqual(ours[field], lines[frame][i], "\(name) frame \(frame + 1) \(field)")
                }
                frame += 1
            }
            XCTAssertEqual(frame, lines.count, "\(name): packet count")
            packets += frame
        }
        XCTAssertGreaterThanOrEqual(packets, 18)
    }
}
