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
}
