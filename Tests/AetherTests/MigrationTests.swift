import AetherCore
@testable import AetherStore
import XCTest

/// A store written by the previous schema opens, gains what the new one adds, and keeps its rows.
final class MigrationTests: XCTestCase {
    func testVersion1StoreIsMigrated() throws {
        let tmp = TempDir()
        let path = tmp.path("old.sqlite")
        do {
            let s = try Store(path: path)
            // Make it a version-1 store: no service column, the old view, the old version number.
            try s.db.execute(
                """
                DROP VIEW flows_v; ALTER TABLE flow DROP COLUMN service;
                INSERT INTO flow(id, proto, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, conn_state, history)
                  VALUES(7, 6, '10.0.0.1', 4000, '10.0.0.2', 22, 1, 2, 'SF', 'ShADadFf');
                UPDATE meta SET value = '1' WHERE key = 'schema_version';
                """)
        }
        let s = try Store(path: path)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM pragma_table_info('flow') WHERE name = 'service'"), 1)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM flows_v WHERE service IS NULL AND id = 7"), 1)
        XCTAssertEqual(try s.meta("schema_version"), "\(Schema.version)")
    }

    /// The flow table is what `FlowColumns` says; a store lacking a column gains it on a writable
    /// open, and a read-only open of such a store reads the column as NULL instead of failing.
    func testFlowColumnsDriveTheTable() throws {
        let tmp = TempDir()
        let path = tmp.path("cols.sqlite")
        do {
            let s = try Store(path: path)
            var names: [String] = []
            let info = try s.db.prepare("SELECT name FROM pragma_table_info('flow')")
            while try info.step() { names.append(info.text(0) ?? "") }
            XCTAssertEqual(names, FlowColumns.all.map(\.name))
            try s.db.execute(
                """
                DROP VIEW flows_v; ALTER TABLE flow DROP COLUMN service;
                INSERT INTO flow(id, proto, orig_h, orig_p, resp_h, resp_p, first_ts, last_ts, conn_state, history)
                  VALUES(3, 17, '10.0.0.1', 5353, '10.0.0.2', 53, 1000, 3000, 'SF', 'Dd');
                """)
        }
        let old = try Store(path: path, readOnly: true)
        let rows = try old.flowRows(limit: nil)
        XCTAssertEqual(rows.count, 1)
        XCTAssertNil(rows.first?.service)
        let json = rows.first?.json.render(pretty: false) ?? ""
        XCTAssertTrue(json.contains("\"service\":null"), json)
        XCTAssertTrue(json.contains("\"uid\":\"C"), json)
        XCTAssertFalse(json.contains("capture_id"), json)
        // The conn records of such a store too: its missing column is a null service.
        var records: [JSON] = []
        try old.records(.conn) { records.append($0) }
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["service"].map { $0.render(pretty: false) }, "null")
        XCTAssertEqual(records.first?["id.resp_p"]?.int, 53)
        let s = try Store(path: path)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM pragma_table_info('flow') WHERE name = 'service'"), 1)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM flows_v WHERE id = 3 AND service IS NULL"), 1)
    }
}

/// How a new store is laid out for bulk loading: connection indexes built once when the writer is
/// done, conversation keys appended and kept once by the writers.
final class StoreLayoutTests: XCTestCase {
    private func indexes(_ s: Store) throws -> Int64 {
        try s.db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('flow_orig', 'flow_resp')") ?? -1
    }

    /// A new store has no connection indexes until its writer is done; a store whose writer never
    /// got there (killed) gains them on its next writable open.
    func testConnectionIndexesComeWhenTheWriterIsDone() throws {
        let tmp = TempDir()
        let path = tmp.path("s.sqlite")
        do {
            let s = try Store(path: path)
            XCTAssertEqual(try indexes(s), 0, "not kept up row by row while a new store is loaded")
            try s.ensureIndexes()
            XCTAssertEqual(try indexes(s), 2)
            try s.db.execute("DROP INDEX flow_orig; DROP INDEX flow_resp")
        }
        XCTAssertEqual(try indexes(Store(path: path)), 2, "a store lacking them gains them when opened for writing")
        XCTAssertEqual(try indexes(Store(path: path, readOnly: true)), 2)
    }

    /// The same conversation in two captures ingested by two runs is one row: the table only
    /// appends, and each writer keeps the keys the store already has.
    func testAConversationInTwoCapturesIsOneRow() throws {
        let tmp = TempDir()
        let a = tmp.path("a.pcap"), b = tmp.path("b.pcap"), db = tmp.path("s.sqlite")
        _ = ParallelIngestTests.writeCapture(a, sizes: [100, 100, 100])
        _ = ParallelIngestTests.writeCapture(b, sizes: [100, 100, 100, 100, 100])
        for f in [a, b] {
            let r = try runTool(aetherBinary, ["ingest", f, "--db", db])
            XCTAssertEqual(r.status, 0, r.err)
        }
        let s = try Store(path: db, readOnly: true)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM capture"), 2)
        XCTAssertEqual(try s.db.scalar("SELECT count(*) FROM conversation"), 1)
        XCTAssertEqual(try indexes(s), 2, "ingest builds them at its end")
    }
}
