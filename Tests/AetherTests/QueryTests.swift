import Foundation
import XCTest

/// `aether query`: one read-only statement, streamed, bounded in time and in blob output.
final class QueryTests: XCTestCase {
    func store(_ tmp: TempDir) throws -> String {
        let db = tmp.path("q.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path, "--db", db]).status, 0)
        return db
    }

    func testOneReadOnlyStatementOnly() throws {
        let tmp = TempDir()
        let db = try store(tmp)
        var r = try runTool(aetherBinary, ["query", "--db", db, "select 1; select 2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("one statement"), r.err)
        r = try runTool(aetherBinary, ["query", "--db", db, "VACUUM INTO '\(tmp.path("copy.sqlite"))'"])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("copy.sqlite")), "a refused VACUUM INTO leaves no file")
        XCTAssertEqual(try runTool(aetherBinary, ["query", "--db", db, "select 1; -- a comment"]).status, 0)
    }

    func testBlobsAreTruncatedAndJSONStreams() throws {
        let tmp = TempDir()
        let db = try store(tmp)
        var r = try runTool(aetherBinary, ["query", "--db", db, "select ts from packet_chunk"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("truncated"), r.out)
        XCTAssertLessThan(r.out.utf8.count, 1000)
        r = try runTool(aetherBinary, ["query", "--db", db, "--json", "select id, proto, orig_h from flow"])
        let rows = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]]
        XCTAssertGreaterThan(rows?.count ?? 0, 100)
    }

    func testTimeout() throws {
        let tmp = TempDir()
        let db = try store(tmp)
        let start = Date()
        let r = try runTool(
            aetherBinary,
            [
                "query", "--db", db, "--timeout", "1",
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            ])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("timeout"), r.err)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    /// libpcap and Wireshark refuse a pcap whose link-type field sets the reserved bits 16-25.
    func testReservedLinkTypeBitsAreCorrupt() throws {
        let tmp = TempDir()
        var b = PacketBuilder()
        b.icmp(1000, "10.0.0.1", "10.0.0.2", type: 8, id: 1, seq: 1)
        try b.write(tmp.path("ok.pcap"))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: tmp.path("ok.pcap"))))
        bytes[22] = 0x01  // link type 0x00010001
        try Data(bytes).write(to: URL(fileURLWithPath: tmp.path("bad.pcap")))
        let r = try runTool(aetherBinary, ["ingest", tmp.path("bad.pcap"), "--db", tmp.path("b.sqlite")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("reserved"), r.err)
    }
}
