import Foundation
import XCTest

/// long_connection on a recorded connection kept up by keep-alives, stretched to 1 h 40 min and
/// cut by the idle timeout into 16 pieces: one alert, whole across its pieces, at the first tier;
/// none when the first tier is above its length; and the setting is checked.
final class LongConnectionTests: XCTestCase {
    func alerts(_ extra: [String], _ tmp: TempDir) throws -> [[String: Any]] {
        let db = tmp.path("s\(extra.count).sqlite")
        let r = try runTool(aetherBinary, ["ingest", "Fixtures/attacks/long-keepalive.pcap", "--db", db] + extra)
        XCTAssertEqual(r.status, 0, r.err)
        let out = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        return try JSONSerialization.jsonObject(with: Data(out.out.utf8)) as! [[String: Any]]
    }

    func testOneAlertAcrossThePieces() throws {
        let tmp = TempDir()
        let found = try alerts([], tmp)
        XCTAssertEqual(found.map { $0["kind"] as? String }, ["long_connection"])
        let a = try XCTUnwrap(found.first)
        XCTAssertEqual(a["severity"] as? String, "low")
        let e = try XCTUnwrap(a["evidence"] as? [String: Any])
        XCTAssertGreaterThanOrEqual(e["duration_s"] as? Int ?? 0, 3600)
        XCTAssertEqual(e["pieces"] as? Int, 16, "the idle timeout's pieces joined")
        XCTAssertEqual(e["tier_hours"] as? Int, 1)

        let rules = tmp.path("rules.conf")
        try "long.tiers = 7200,14400\n".write(toFile: rules, atomically: true, encoding: .utf8)
        XCTAssertTrue(try alerts(["--rules", rules], tmp).isEmpty, "shorter than the first tier")
        try "long.tiers = 14400,3600\n".write(toFile: rules, atomically: true, encoding: .utf8)
        let bad = try runTool(aetherBinary, ["rules", "--rules", rules])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("long.tiers needs increasing whole seconds"), bad.err)
    }
}
