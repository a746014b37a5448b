import AetherStore
import Foundation
import XCTest

/// Our connections against Zeek's conn.log for every NAME.zeek-conn.log in the corpus:
/// their number, and per connection the originator, orig_pkts, resp_pkts and conn_state.
final class ZeekConnTests: XCTestCase {
    struct ZeekRow {
        var origH: String?, origP: Int64?, respH: String?, respP: Int64?
        var origPkts: Int64, respPkts: Int64
        var state: String?
        var history: String?
    }

    /// Reads both the full conn.log and btest-diff-cut's column subsets.
    func parse(_ url: URL) throws -> [ZeekRow] {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        var fields: [String] = []
        var rows: [ZeekRow] = []
        for line in lines {
            if line.hasPrefix("#fields") { fields = Array(line.split(separator: "\t").dropFirst().map(String.init)); continue }
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if fields.isEmpty { fields = parts; continue }  // btest-diff-cut header line
            var d: [String: String] = [:]
            for (i, f) in fields.enumerated() where i < parts.count { d[f] = parts[i] }
            rows.append(
                ZeekRow(
                    origH: d["id.orig_h"], origP: d["id.orig_p"].flatMap { Int64($0) },
                    respH: d["id.resp_h"], respP: d["id.resp_p"].flatMap { Int64($0) },
                    origPkts: Int64(d["orig_pkts"] ?? "") ?? -1, respPkts: Int64(d["resp_pkts"] ?? "") ?? -1,
                    state: d["conn_state"], history: d["history"]))
        }
        return rows
    }

    /// Deliberate differences, each with its reason.
    static let differences: [String: String] = [
        // Zeek ran without -C, so it dropped the two packets whose UDP checksums are bad (history Cc, 0 packets).
        // A forensics store keeps every packet it was given; we do not verify checksums on the hot path.
        "dns-corrupt": "bad checksums: Zeek discards the packets, we keep and count them"
    ]

    func testConnectionsEqualZeek() throws {
        _ = try Shared.require()
        let logs = try FileManager.default.contentsOfDirectory(atPath: Shared.captures.path).filter { $0.hasSuffix(".zeek-conn.log") }.sorted()
        XCTAssertGreaterThanOrEqual(logs.count, 7)
        var compared = 0
        for log in logs {
            let name = String(log.dropLast(".zeek-conn.log".count))
            guard
                let capture = try FileManager.default.contentsOfDirectory(atPath: Shared.captures.path)
                    .first(where: { $0.hasPrefix(name + ".") && !$0.hasSuffix(".log") })
            else { XCTFail("no capture for \(log)"); continue }
            let zeek = try parse(Shared.captures.appendingPathComponent(log))
            let tmp = TempDir()
            let (store, _) = try ingest([Shared.captures.appendingPathComponent(capture).path], db: tmp.path("s.sqlite"))
            let ours = try store.flowRows(limit: nil)
            if let why = Self.differences[name] {
                // Still the same number of connections and the same endpoints; only the counts differ.
                XCTAssertEqual(ours.count, zeek.count, "\(name) (\(why))")
                continue
            }
            XCTAssertEqual(ours.count, zeek.count, "\(name): number of connections")
            for (i, z) in zeek.enumerated() {
                let match: Store.FlowRow?
                if let oh = z.origH, let op = z.origP, let rh = z.respH, let rp = z.respP {
                    match = ours.first { $0.origH == oh && $0.origP == op && $0.respH == rh && $0.respP == rp }
                    XCTAssertNotNil(match, "\(name): no connection \(oh):\(op) → \(rh):\(rp) (originator as Zeek has it)")
                } else {
                    match = i < ours.count ? ours[i] : nil
                }
                guard let m = match else { continue }
                XCTAssertEqual(m.origPkts, z.origPkts, "\(name) \(z.origH ?? "") orig_pkts")
                XCTAssertEqual(m.respPkts, z.respPkts, "\(name) \(z.origH ?? "") resp_pkts")
                if let s = z.state { XCTAssertEqual(m.connState, s, "\(name) \(z.origH ?? ""):\(z.origP ?? 0) conn_state") }
                if let h = z.history, h != "-", m.proto != 1 { XCTAssertEqual(m.history, h, "\(name) history") }
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 40)
    }
}
