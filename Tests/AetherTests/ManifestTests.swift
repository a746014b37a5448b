import AetherCapture
import AetherEngine
import AetherStore
import Foundation
import XCTest

/// Every capture of ../shared/captures gives capinfos' packet count; error rows fail with
/// exit 1 and keep what came before the fault.
final class ManifestTests: XCTestCase {
    struct Row { var file: String; var packets: String }

    func rows(_ manifest: String) throws -> [Row] {
        let text = try String(contentsOf: Shared.captures.appendingPathComponent(manifest), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            return Row(file: String(f[0]), packets: String(f[6]))
        }
    }

    func check(_ manifest: String) throws {
        _ = try Shared.require()
        let all = try rows(manifest)
        XCTAssertGreaterThan(all.count, 1)
        for row in all {
            let tmp = TempDir()
            let path = Shared.captures.appendingPathComponent(row.file).path
            let (store, outcomes) = try ingest([path], db: tmp.path("s.sqlite"))
            XCTAssertEqual(outcomes.count, 1)
            let o = outcomes[0]
            let st = try store.stats()
            if row.packets == "error" {
                XCTAssert(o.status == .truncated || o.status == .failed, "\(row.file): expected an error, got \(o.status)")
                XCTAssertNotNil(o.error, row.file)
                XCTAssertEqual(UInt64(st.packets), o.packets, "\(row.file): packets before the fault are kept and counted")
            } else {
                XCTAssertEqual(o.status, .complete, "\(row.file): \(o.error?.description ?? "")")
                XCTAssertEqual(st.packets, Int64(row.packets), row.file)
                // Every stored packet decodes back from its chunk.
                let caps = try store.captures()
                let stored = try caps.reduce(0) { $0 + (try store.packets(captureID: $1.id)).count }
                XCTAssertEqual(stored, Int(row.packets), "\(row.file): packets in chunks")
            }
        }
    }

    func testManifest() throws { try check("MANIFEST.tsv") }
    func testManifestLarge() throws { try check("MANIFEST-large.tsv") }

    /// Values seen for the error rows, fixed here so a reader change that moves them is noticed.
    func testCorruptFilesStopWhereLibpcapDoes() throws {
        _ = try Shared.require()
        let expected: [(String, UInt64, CaptureError.Kind, UInt64?)] = [
            ("corrupt_huge-caplen.pcap", 1, .corrupt, 228),
            ("corrupt_truncated-eof.pcap", 1, .truncated, 237),
            ("corrupt_pcap-v1.pcap", 0, .unsupportedFormat, 4),
            ("corrupt_pcap-v2.5.pcap", 0, .unsupportedFormat, 4),
            ("corrupt_pcapng-shb-option.pcapng", 0, .corrupt, 0),
        ]
        for (file, packets, kind, offset) in expected {
            let tmp = TempDir()
            let (store, o) = try ingest([Shared.captures.appendingPathComponent(file).path], db: tmp.path("s.sqlite"))
            XCTAssertEqual(o[0].packets, packets, file)
            XCTAssertEqual(o[0].error?.kind, kind, file)
            XCTAssertEqual(o[0].error?.offset, offset, file)
            let status = try store.captures().first?.status
            XCTAssertEqual(status, packets > 0 ? "truncated" : (kind == .truncated || kind == .corrupt ? "truncated" : "failed"), file)
        }
    }

    /// The two multi-interface pcapng files libpcap 1.10.3 cannot read to the end.
    func testMultiLinkTypePcapng() throws {
        _ = try Shared.require()
        let tmp = TempDir()
        let r = try CaptureReader(path: Shared.captures.appendingPathComponent("pcapng_2if-eth-sll_comments.pcapng").path)
        var n = 0, sll = 0
        while try r.next() { n += 1; if r.packet.linkType == 113 { sll += 1 } }
        XCTAssertEqual(n, 159)
        XCTAssertGreaterThan(sll, 0)
        XCTAssertEqual(r.linkTypes, [1, 113])
        let (store, _) = try ingest([Shared.captures.appendingPathComponent("pcapng-be_2if-eth-null.pcapng").path], db: tmp.path("s.sqlite"))
        XCTAssertEqual(try store.stats().packets, 5)
    }
}
