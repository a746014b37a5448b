import AetherReport
import Foundation
import XCTest

/// The report stays small whatever the capture held: long alert lists end with "and N more".
final class ReportCapTests: XCTestCase {
    func testAlertListsAreCapped() throws {
        let tmp = TempDir()
        var b = PacketBuilder()
        let n = Report.listedAlerts + 100
        for i in 0..<n {
            // One reverse-shell session from each of n internal hosts, each to a host of its own:
            // n suspicious_outbound alerts.
            b.session(
                1000 + Double(i) * 0.01, "10.1.\(i / 250).\(i % 250 + 1)", 43000, "198.18.\(i / 250).\(i % 250 + 1)", 4444,
                exchange: [(true, Array("id\n".utf8)), (false, Array("uid=0\n".utf8))])
        }
        try b.write(tmp.path("many.pcap"))
        let db = tmp.path("m.sqlite"), html = tmp.path("m.html")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", tmp.path("many.pcap"), "--db", db]).status, 0)
        let r = try runTool(aetherBinary, ["report", "--db", db, "-o", html])
        XCTAssertEqual(r.status, 0, r.err)
        let text = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(text.contains("and 100 more alerts"), "the table says how many are not listed")
        XCTAssertTrue(text.contains("\"alerts_not_listed\":100"))
        XCTAssertEqual(text.components(separatedBy: "class=\"alert-detail\"").count - 1, Report.detailedAlerts)
    }
}
