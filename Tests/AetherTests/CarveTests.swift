import AetherCapture
import AetherEngine
@testable import AetherStore
import Foundation
import XCTest

final class CarveTests: XCTestCase {
    func count(_ path: String) throws -> Int {
        let r = try CaptureReader(path: path)
        var n = 0
        while try r.next() { n += 1 }
        return n
    }

    /// Carving a gencap port_scan alert gives exactly the scan's packets (the truth's count).
    func testPortScanAlertCarvesTheScan() throws {
        let cap = try Gencap.make("inc1.pcap", ["--seed", "1", "--duration", "7200", "--packets", "60000"])
        let vscan = (try Gencap.truth(cap)["incidents"] as! [[String: Any]]).first { $0["id"] as? String == "vscan" }!
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let (store, _) = try ingest([cap], db: db)
        let id = try store.rows("SELECT id FROM alert WHERE kind = 'port_scan'")[0][0].int
        let out = tmp.path("scan.pcap")
        let r = try runTool(aetherBinary, ["carve", "--db", db, "--alert", String(id), "-o", out])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try count(out), (vscan["packets"] as! NSNumber).intValue)
        if let tshark = which("tshark") {
            let t = try runTool(tshark, ["-r", out])
            XCTAssertEqual(t.status, 0)
            XCTAssertEqual(t.out.split(separator: "\n").count, (vscan["packets"] as! NSNumber).intValue)
        }
    }

    /// Connections from interfaces of different link types come out as pcapng that tshark reads.
    func testMixedLinkTypesGivePcapng() throws {
        _ = try Shared.require()
        let tmp = TempDir()
        let (store, _) = try ingest([Shared.captures.appendingPathComponent("pcapng_2if-eth-sll_comments.pcapng").path], db: tmp.path("s.sqlite"))
        // One connection first seen on each interface.
        var byLink: [UInt32: Int64] = [:]
        for p in try store.packets(captureID: 1) where p.flowID != 0 && byLink[p.interface] == nil { byLink[p.interface] = p.flowID }
        XCTAssertEqual(byLink.count, 2)
        let out = tmp.path("mixed.pcapng")
        let n = try Carver(store: store).carve(flows: Array(byLink.values), to: out)
        XCTAssertGreaterThan(n, 1)
        let r = try CaptureReader(path: out)
        XCTAssertEqual(r.format, .pcapng)
        var read = 0
        while try r.next() { read += 1 }
        XCTAssertEqual(read, n)
        XCTAssertEqual(Set(r.linkTypes), [1, 113])
        if let tshark = which("tshark") { XCTAssertEqual(try runTool(tshark, ["-r", out]).status, 0) }
    }

    /// A source that is gone or has changed is refused, with a clear message and exit 1.
    func testRefusesMissingOrChangedSource() throws {
        let tmp = TempDir()
        let src = tmp.path("demo.pcapng")
        try FileManager.default.copyItem(atPath: Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path, toPath: src)
        let db = tmp.path("s.sqlite")
        _ = try ingest([src], db: db)
        // Changed: one byte flipped.
        var data = try Data(contentsOf: URL(fileURLWithPath: src))
        data[data.count - 20] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: src))
        var r = try runTool(aetherBinary, ["carve", "--db", db, "--alert", "1", "-o", tmp.path("o.pcap")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("has changed"), r.err)
        try FileManager.default.removeItem(atPath: src)
        r = try runTool(aetherBinary, ["carve", "--db", db, "--alert", "1", "-o", tmp.path("o.pcap")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("missing"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("o.pcap")))
        XCTAssertEqual(try runTool(aetherBinary, ["carve", "--db", db, "-o", tmp.path("o.pcap")]).status, 2)
    }
}
