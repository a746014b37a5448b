import Foundation
import XCTest

/// Nothing AetherLens does changes a capture, a store it did not create, or a file it was not
/// asked to write. Each case failed before the fix.
final class EvidenceSafetyTests: XCTestCase {
    func bytes(_ p: String) -> Data { FileManager.default.contents(atPath: p) ?? Data() }

    func demoCopy(_ tmp: TempDir) throws -> String {
        let src = tmp.path("demo.pcapng")
        try FileManager.default.copyItem(atPath: Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path, toPath: src)
        return src
    }

    func testCarveOntoItsSourceIsRefused() throws {
        let tmp = TempDir()
        let src = try demoCopy(tmp)
        let before = bytes(src)
        let db = tmp.path("s.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", src, "--db", db]).status, 0)
        // The capture under its own name and under another (a hard link): both refused.
        link(src, tmp.path("alias.pcapng"))
        for target in [src, tmp.path("alias.pcapng")] {
            let r = try runTool(aetherBinary, ["carve", "--db", db, "--alert", "1", "-o", target, "--force"])
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertTrue(r.err.contains("evidence"), r.err)
        }
        XCTAssertEqual(bytes(src), before, "the capture is byte-identical")
        // The store itself is not a carve target either.
        XCTAssertEqual(try runTool(aetherBinary, ["carve", "--db", db, "--alert", "1", "-o", db, "--force"]).status, 1)
    }

    func testForeignSQLiteIsUntouched() throws {
        let tmp = TempDir()
        let foreign = tmp.path("foreign.sqlite")
        XCTAssertEqual(try runTool("/usr/bin/sqlite3", [foreign, "CREATE TABLE t(x); INSERT INTO t VALUES(1);"]).status, 0)
        let before = bytes(foreign)
        let r = try runTool(aetherBinary, ["ingest", try demoCopy(tmp), "--db", foreign])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("not an AetherLens store"), r.err)
        XCTAssertEqual(bytes(foreign), before, "not even the journal mode changed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: foreign + "-wal"))
    }

    func testReportNeverFollowsAPlantedLink() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", try demoCopy(tmp), "--db", db]).status, 0)
        let victim = tmp.path("victim.txt")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        let out = tmp.path("r.html")
        // The old temporary name and the target itself, both planted as links to the victim.
        symlink(victim, out + ".tmp")
        var r = try runTool(aetherBinary, ["report", "--db", db, "-o", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(bytes(victim), Data("precious".utf8))
        let link2 = tmp.path("r2.html")
        symlink(victim, link2)
        r = try runTool(aetherBinary, ["report", "--db", db, "-o", link2, "--force"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(bytes(victim), Data("precious".utf8))
        // A device is not a regular file.
        XCTAssertEqual(try runTool(aetherBinary, ["report", "--db", db, "-o", "/dev/null", "--force"]).status, 1)
        // An existing report is replaced only with --force.
        XCTAssertEqual(try runTool(aetherBinary, ["report", "--db", db, "-o", out]).status, 1)
        XCTAssertEqual(try runTool(aetherBinary, ["report", "--db", db, "-o", out, "--force"]).status, 0)
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).filter { $0.hasPrefix(".aether-") }
        XCTAssertEqual(left, [], "no temporary file left behind")
    }

    func testInputsThatNeverEndAreRefusedAtOnce() throws {
        let tmp = TempDir()
        for dev in ["/dev/urandom", "/dev/zero"] {
            let start = Date()
            let r = try runTool(aetherBinary, ["ingest", dev, "--db", tmp.path("d.sqlite")])
            XCTAssertEqual(r.status, 1, dev)
            XCTAssertLessThan(Date().timeIntervalSince(start), 10, dev)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("d.sqlite")), "no store made for a refused input")
    }

    func testMissingInputLeavesNothing() throws {
        let tmp = TempDir()
        let r = try runTool(aetherBinary, ["analyze", tmp.path("missing.pcap"), "--db", tmp.path("m.sqlite"), "--report", tmp.path("m.html")])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("m.sqlite")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("m.html")))
    }
}
