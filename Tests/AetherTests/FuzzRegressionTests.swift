import AetherCapture
import AetherCore
import AetherDecode
import Foundation
import XCTest

final class FuzzRegressionTests: XCTestCase {
    /// Every input a fuzz target once crashed on, through all the code the targets cover.
    func testKeptFuzzInputs() throws {
        let root = Shared.repoRoot.appendingPathComponent("Fixtures/fuzz")
        let files = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix(".md") && !$0.hasSuffix("/") }
            .map { root.appendingPathComponent($0).path }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
        for path in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            if let r = try? CaptureReader(path: path, hashing: false) {
                var m = PacketMeta()
                while (try? r.next()) == true { Decoder().decode(r.packet, into: &m) }
            }
            data.withUnsafeBytes { b in
                _ = DNSParser.parse(b); _ = DNSParser.parseTCP(b)
                _ = TLSParser.parseClientHello(b); _ = TLSParser.serverHelloVersion(b)
                _ = HTTPParser.parseRequest(b); _ = HTTPParser.parseStatus(b)
                if b.count > 1 {
                    var p = RawPacket()
                    p.linkType = [1, 0, 101, 108, 113, 228, 229, 276][Int(b[0]) % 8]
                    p.capturedLength = UInt32(b.count - 1); p.wireLength = p.capturedLength
                    p.bytes = UnsafeRawBufferPointer(rebasing: b[1...])
                    var m = PacketMeta()
                    Decoder().decode(p, into: &m)
                }
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
}
