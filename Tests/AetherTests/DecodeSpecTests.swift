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
        Dictionary(uniqueKeysWithValues: zip(DecodedFields.names, DecodedFields.values(m)))
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
