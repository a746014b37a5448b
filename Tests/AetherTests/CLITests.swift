import Foundation
import XCTest

/// The command line contract: exit codes and one-line errors.
final class CLITests: XCTestCase {
    func testUsageErrorsExit2() throws {
        XCTAssertEqual(try runTool(aetherBinary, ["stats"]).status, 2)  // missing --db
        XCTAssertEqual(try runTool(aetherBinary, ["frobnicate"]).status, 2)
        XCTAssertEqual(try runTool(aetherBinary, ["flows", "--db", "x", "--json", "--zeek"]).status, 2)
        XCTAssertEqual(try runTool(aetherBinary, ["--help"]).status, 0)
    }

    /// `--version` names the release and the build's features; `make test` builds with gRPC.
    func testVersionNamesTheFeatures() throws {
        let v = try runTool(aetherBinary, ["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.out.hasPrefix("aether "), v.out)
        XCTAssertTrue(v.out.contains("gRPC on") || v.out.contains("gRPC off"), v.out)
    }

    func testBadInputExits1WithOneLine() throws {
        let tmp = TempDir()
        let r = try runTool(aetherBinary, ["ingest", "--db", tmp.path("s.sqlite"), tmp.path("nope.pcap")])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("nope.pcap") && r.err.contains("no such file"), r.err)
        let s = try runTool(aetherBinary, ["stats", "--db", tmp.path("missing.sqlite")])
        XCTAssertEqual(s.status, 1)
        XCTAssertTrue(s.err.contains("does not exist"), s.err)
    }

    func testCorruptFileKeepsPacketsAndExits1() throws {
        _ = try Shared.require()
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["ingest", "--db", db, Shared.captures.appendingPathComponent("corrupt_truncated-eof.pcap").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("at byte 237"), r.err)
        let q = try runTool(aetherBinary, ["query", "--db", db, "SELECT packets, status FROM capture"])
        XCTAssertTrue(q.out.contains("1\ttruncated"), q.out)
    }

    func testQueryIsReadOnlyAndViewsWork() throws {
        _ = try Shared.require()
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", "--db", db, Shared.captures.appendingPathComponent("http-dns_wikipedia.pcap").path]).status, 0)
        let w = try runTool(aetherBinary, ["query", "--db", db, "DELETE FROM flow"])
        XCTAssertEqual(w.status, 1)
        let n = try runTool(aetherBinary, ["query", "--db", db, "SELECT count(*) AS n FROM flows_v"])
        XCTAssertTrue(n.out.contains("34"), n.out)
        // The store is useful with the plain sqlite3 shell too.
        if let sqlite = which("sqlite3") {
            let r = try runTool(sqlite, [db, "select orig_h, resp_h, conn_state from flows_v limit 5"])
            XCTAssertEqual(r.out.split(separator: "\n").count, 5, r.out)
        }
        let z = try runTool(aetherBinary, ["flows", "--db", db, "--zeek"])
        XCTAssertEqual(z.out.split(separator: "\n").filter { !$0.hasPrefix("#") }.count, 34)
        let j = try runTool(aetherBinary, ["flows", "--db", db, "--json", "--limit", "3"])
        let arr = try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(arr.count, 3)
    }

    func testProgressStaysQuietWhenPiped() throws {
        _ = try Shared.require()
        let tmp = TempDir()
        let r = try runTool(aetherBinary, ["ingest", "--db", tmp.path("s.sqlite"), Shared.captures.appendingPathComponent("large").path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        XCTAssertFalse(r.out.contains("\r"))
    }
}

/// Records out: `aether export` writes one JSON object a line with
/// Zeek's field names, as many as the store holds, and never over an existing file or a link.
final class ExportTests: XCTestCase {
    func testExportMatchesTheStoreAndRefusesToOverwrite() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let demo = Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", "--db", db, demo]).status, 0)
        let out = tmp.path("records")
        let r = try runTool(aetherBinary, ["export", "--db", db, "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        let stats = try JSONSerialization.jsonObject(with: Data(try runTool(aetherBinary, ["stats", "--db", db, "--json"]).out.utf8)) as! [String: Any]
        let conn = try String(contentsOfFile: out + "/conn.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(conn.count, stats["connections"] as? Int)
        let first = try JSONSerialization.jsonObject(with: Data(conn[0].utf8)) as! [String: Any]
        for key in ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "conn_state", "history"] {
            XCTAssertNotNil(first[key], key)
        }
        let dns = try String(contentsOfFile: out + "/dns.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dns.count, stats["dns_queries"] as? Int)
        // Again: every file exists now; nothing is replaced.
        let again = try runTool(aetherBinary, ["export", "--db", db, "--out", out, "--tables", "conn"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("refusing"), again.err)
        // A planted link is not followed.
        let other = tmp.path("other")
        XCTAssertEqual(mkdir(other, 0o755), 0)
        let victim = tmp.path("victim.txt")
        try "keep me".write(toFile: victim, atomically: true, encoding: .utf8)
        XCTAssertEqual(symlink(victim, other + "/dns.jsonl"), 0)
        XCTAssertEqual(try runTool(aetherBinary, ["export", "--db", db, "--out", other, "--tables", "dns"]).status, 1)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "keep me")
        // Zeek's ASCII logs: the header, one row per record, as many columns as fields.
        let logs = tmp.path("logs")
        let z = try runTool(aetherBinary, ["export", "--db", db, "--out", logs, "--format", "zeek"])
        XCTAssertEqual(z.status, 0, z.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: logs + "/series.log"))
        let lines = try String(contentsOfFile: logs + "/dns.log", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let fields = lines.first { $0.hasPrefix("#fields\t") }!.split(separator: "\t").dropFirst()
        XCTAssertEqual(Array(fields.prefix(3)), ["ts", "uid", "id.orig_h"])
        XCTAssertTrue(lines.contains { $0.hasPrefix("#types\ttime\tstring\taddr\tport") })
        let rows = lines.filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, stats["dns_queries"] as? Int)
        for r in rows { XCTAssertEqual(r.split(separator: "\t", omittingEmptySubsequences: false).count, fields.count, String(r)) }
        XCTAssertTrue(rows.allSatisfy { $0.split(separator: "\t")[0].split(separator: ".").last?.count == 6 })
    }
}

/// `aether shard` and `aether detect` by hand (what the Spark job's tasks run).
final class ShardDetectTests: XCTestCase {
    func alertKeys(_ text: String, lines: Bool) throws -> [String] {
        let objects: [[String: Any]] =
            lines
            ? try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            : try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [[String: Any]]
        return objects.map { "\($0["kind"]!) \($0["src"]!) \($0["dst"] ?? "") \($0["start"]!)" }.sorted()
    }

    func testShardThenDetectGivesAnalyzeAlerts() throws {
        let tmp = TempDir()
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/attacks/nmap-connect.pcap").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: cap))
        let db = tmp.path("whole.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", "--db", db, cap]).status, 0)
        let truth = try alertKeys(try runTool(aetherBinary, ["alerts", "--db", db, "--json"]).out, lines: false)
        XCTAssertFalse(truth.isEmpty)
        let out = tmp.path("shard")
        let s = try runTool(aetherBinary, ["shard", cap, "--index", "0", "--out", out])
        XCTAssertEqual(s.status, 0, s.err)
        for f in ["events.jsonl", "cut.jsonl", "dns.jsonl", "ssl.jsonl", "http.jsonl", "series.jsonl", "conversations.jsonl", "shard.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        // A task attempt writes a folder of its own: an existing one is refused.
        let again = try runTool(aetherBinary, ["shard", cap, "--index", "0", "--out", out])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("already exists"), again.err)
        // One file: its events are already in time order.
        let alerts = tmp.path("alerts.jsonl")
        let d = try runTool(
            aetherBinary, ["detect", "--events", out + "/events.jsonl", "--cuts", out + "/cut.jsonl", "--alerts", alerts, "--conn", tmp.path("conn.jsonl")])
        XCTAssertEqual(d.status, 0, d.err)
        XCTAssertEqual(try alertKeys(try String(contentsOfFile: alerts, encoding: .utf8), lines: true), truth)
        let conns = try String(contentsOfFile: tmp.path("conn.jsonl"), encoding: .utf8).split(separator: "\n").count
        let stats = try JSONSerialization.jsonObject(with: Data(try runTool(aetherBinary, ["stats", "--db", db, "--json"]).out.utf8)) as! [String: Any]
        XCTAssertEqual(conns, stats["connections"] as? Int)
        // A malformed record is one line naming the line, exit 1, and the alerts file is not replaced.
        let bad = tmp.path("bad.jsonl")
        try "{\"h\":\"10.0.0.1\",\"t\":1,\"q\":0,\"f\":0,\"e\":\"arp\"}\n{oops\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let b = try runTool(aetherBinary, ["detect", "--events", bad, "--alerts", tmp.path("a2.jsonl")])
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.err.contains("line 1"), b.err)
        XCTAssertEqual(b.err.split(separator: "\n").count, 1, b.err)
        let c = try runTool(aetherBinary, ["detect", "--events", out + "/events.jsonl", "--alerts", alerts])
        XCTAssertEqual(c.status, 1)
        XCTAssertTrue(c.err.contains("refusing"), c.err)
    }
}
