import AetherCapture
import AetherCore
import AetherDecode
import AetherDetect
import AetherFlows
import Foundation
import XCTest

final class FuzzRegressionTests: XCTestCase {
    func kept(_ target: String) -> [String] {
        let root = Shared.repoRoot.appendingPathComponent("Fixtures/fuzz/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { root.appendingPathComponent($0).path }
    }

    /// Every kept reader input is malformed: the reader says so (at open or at a packet) and
    /// stops; it never loops and never reports a clean end.
    func testKeptReaderInputsEndInAnError() throws {
        let files = kept("reader")
        XCTAssertGreaterThanOrEqual(files.count, 8)
        for path in files {
            var failed = false
            do {
                let r = try CaptureReader(path: path, hashing: false)
                var n = 0
                while try r.next() {
                    n += 1
                    XCTAssertLessThan(n, 1000, path)
                    if n >= 1000 { break }
                }
            } catch is CaptureError {
                failed = true
            }
            XCTAssertTrue(failed, "\(path): read to a clean end")
        }
    }

    /// Every kept frame decodes without an offset past its end, twice the same way.
    func testKeptDecoderInputsStayInBounds() throws {
        let files = kept("decode")
        XCTAssertGreaterThanOrEqual(files.count, 7)
        for path in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { b in
                var p = RawPacket()
                p.linkType = [1, 0, 101, 108, 113, 228, 229, 276][Int(b[0]) % 8]
                p.capturedLength = UInt32(b.count - 1); p.wireLength = p.capturedLength
                p.bytes = UnsafeRawBufferPointer(rebasing: b[1...])
                var m = PacketMeta(), again = PacketMeta()
                Decoder().decode(p, into: &m)
                Decoder().decode(p, into: &again)
                for (what, l) in [("outer", m.outer), ("inner", m.inner), ("quoted", m.quoted)] {
                    XCTAssertLessThanOrEqual(l.payloadOffset + l.payloadCaptured, b.count - 1, "\(path): \(what)")
                }
                XCTAssertEqual(m.outer.src, again.outer.src, path)
                XCTAssertEqual(m.truncated, again.truncated, path)
            }
        }
    }

    /// The kept application-layer inputs are refused by their parsers.
    func testKeptApplicationInputsAreRefused() throws {
        let files = kept("appl")
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for path in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { b in
                if path.contains("dns-") { XCTAssertNil(DNSParser.parse(b), path) }
                if path.contains("tls-") { XCTAssertNil(TLSParser.parseClientHello(b), path) }
                _ = DNSParser.parseTCP(b); _ = TLSParser.serverHelloVersion(b)
                _ = HTTPParser.parseRequest(b); _ = HTTPParser.parseStatus(b)
            }
        }
    }

    /// Every corrupt or odd file of the corpus and Fixtures ends with success or a one-line
    /// error and exit 1: never a signal.
    func testEveryFileEndsCleanly() throws {
        var files = try FileManager.default.contentsOfDirectory(atPath: Shared.repoRoot.appendingPathComponent("Fixtures").path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.map { "Fixtures/" + $0 }
            .map { Shared.repoRoot.appendingPathComponent($0).path }
        if let shared = Shared.root {
            let caps = shared.appendingPathComponent("captures")
            files += try FileManager.default.contentsOfDirectory(atPath: caps.path).filter { !$0.hasSuffix(".tsv") && !$0.hasSuffix(".log") && $0 != "large" }
                .map { caps.appendingPathComponent($0).path }
        }
        XCTAssertGreaterThan(files.count, 2)
        for f in files {
            let tmp = TempDir()
            let r = try runTool(aetherBinary, ["ingest", f, "--db", tmp.path("s.sqlite")])
            XCTAssertTrue(r.status == 0 || r.status == 1, "\(f): exit \(r.status)")
            if r.status == 1 { XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(f): \(r.err)") }
            XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("crashed"), "\(f): \(r.err)")
        }
    }

    /// Kept records inputs: the seeds from a real shard are taken whole; every other file holds a
    /// number out of range and is refused with a record error, never a trap.
    func testKeptRecordInputsAreTakenOrRefused() throws {
        let files = kept("records")
        XCTAssertGreaterThanOrEqual(files.count, 8)
        for path in files {
            let replay = EventReplay(engine: DetectionEngine(), join: FragmentJoin())
            var refused = false
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for (i, line) in text.split(separator: "\n").enumerated() {
                let record = try JSONParser.parse(String(line))
                do {
                    if record["e"] == nil { try replay.join.addCut(record, line: i + 1) } else { try replay.take(record) }
                } catch is RecordError {
                    refused = true
                }
            }
            let seed = URL(fileURLWithPath: path).lastPathComponent.hasPrefix("seed-")
            XCTAssertEqual(refused, !seed, path)
        }
    }
}
