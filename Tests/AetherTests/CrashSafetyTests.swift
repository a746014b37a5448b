@testable import AetherStore
import Foundation
import XCTest

/// Issue 6: kill -9 mid-ingest, a full disk, a read-only store.
final class CrashSafetyTests: XCTestCase {
    func integrityOK(_ db: String) throws -> Bool {
        let s = try Store(path: db, readOnly: true)
        return try s.rows("PRAGMA integrity_check").first?.first?.text == "ok"
    }

    func testKillNineThenIngestAgain() throws {
        let cap = try Gencap.make("crash.pcap", ["--seed", "5", "--packets", "400000", "--duration", "3600"])
        let tmp = TempDir()
        let clean = tmp.path("clean.sqlite"), crashed = tmp.path("crashed.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", cap, "--db", clean]).status, 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: aetherBinary)
        p.arguments = ["ingest", cap, "--db", crashed]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until it has committed some chunks, then kill it without warning.
        var chunks: Int64 = 0
        for _ in 0..<400 {
            usleep(25_000)
            if let s = try? Store(path: crashed, readOnly: true), let n = try? s.db.scalar("SELECT count(*) FROM packet_chunk") { chunks = n }
            if chunks > 0 { break }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertGreaterThan(chunks, 0, "the ingest was killed in the middle, after committing chunks")
        XCTAssertTrue(try integrityOK(crashed))
        let before = try Store(path: crashed, readOnly: true)
        XCTAssertEqual(try before.rows("SELECT status FROM capture").map { $0[0].text }, ["ingesting"])

        XCTAssertEqual(try runTool(aetherBinary, ["ingest", cap, "--db", crashed]).status, 0)
        let after = try Store(path: crashed, readOnly: true)
        XCTAssertEqual(try after.rows("SELECT status FROM capture ORDER BY id").map { $0[0].text }, ["failed", "complete"])
        let a = try after.stats(), b = try Store(path: clean, readOnly: true).stats()
        XCTAssertEqual(a.packets, b.packets)
        XCTAssertEqual(a.bytes, b.bytes)
        XCTAssertEqual(a.flows, b.flows)
        XCTAssertEqual(a.connections, b.connections)
        XCTAssertEqual(a.dnsQueries, b.dnsQueries)
        XCTAssertEqual(try after.alerts().count, try Store(path: clean, readOnly: true).alerts().count)
        XCTAssertTrue(try integrityOK(crashed))
    }

    func testFullDiskIsAClearError() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let cap = try Gencap.make("s1.pcap", ["--seed", "1", "--packets", "30000"])
        let tmp = TempDir()
        let mnt = tmp.path("small")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]).status == 0 else { throw XCTSkip("cannot mount tmpfs here") }
        defer { _ = try? runTool("/bin/umount", [mnt]) }
        let db = mnt + "/s.sqlite"
        let r = try runTool(aetherBinary, ["ingest", cap, "--db", db])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.lowercased().contains("full"), r.err)
        XCTAssertTrue(try integrityOK(db))
    }

    func testReadOnlyStoreIsAClearError() throws {
        let tmp = TempDir()
        let dir = tmp.path("ro")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let db = dir + "/s.sqlite"
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", Shared.repoRoot.appendingPathComponent("Fixtures/markup.pcap").path, "--db", db]).status, 0)
        chmod(db, 0o444)
        chmod(dir, 0o555)
        defer { chmod(dir, 0o755); chmod(db, 0o644) }
        if getuid() == 0 {
            // root ignores permissions; a read-only bind of the directory stands in.
            guard try runTool("/bin/mount", ["--bind", "-o", "ro", dir, dir]).status == 0 else { throw XCTSkip("cannot bind-mount read-only") }
        }
        defer { if getuid() == 0 { _ = try? runTool("/bin/umount", [dir]) } }
        let r = try runTool(aetherBinary, ["ingest", Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path, "--db", db])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("readonly") || r.err.contains("read-only") || r.err.contains("read only"), r.err)
        XCTAssertTrue(try integrityOK(db))
    }
}
