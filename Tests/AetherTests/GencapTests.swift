import AetherEngine
@testable import AetherStore
import Foundation
import XCTest

/// `stats --json` against gencap's ground truth, across formats and seeds.
final class GencapTests: XCTestCase {
    static let variants: [(String, [String])] = [
        ("s1.pcap", ["--seed", "1", "--packets", "30000"]),
        ("s2.pcap", ["--seed", "2", "--packets", "30000"]),
        ("s3.pcap", ["--seed", "3", "--packets", "30000"]),
        ("s1.pcapng", ["--seed", "1", "--packets", "30000", "--format", "pcapng"]),
        ("s2-ns.pcapng", ["--seed", "2", "--packets", "30000", "--format", "pcapng", "--nanosecond"]),
        ("s3-ns.pcap", ["--seed", "3", "--packets", "30000", "--nanosecond"]),
        ("s1.pcap.gz", ["--seed", "1", "--packets", "30000", "--gzip"]),
        ("s2.pcapng.gz", ["--seed", "2", "--packets", "30000", "--format", "pcapng", "--gzip"]),
        ("s3-snap96.pcap", ["--seed", "3", "--packets", "30000", "--snaplen", "96"]),
    ]

    func assertMatchesTruth(_ st: StoreStats, _ t: [String: Any], _ name: String) {
        XCTAssertEqual(st.packets, (t["packets"] as! NSNumber).int64Value, "\(name) packets")
        XCTAssertEqual(st.bytes, (t["bytes"] as! NSNumber).int64Value, "\(name) bytes")
        XCTAssertEqual(st.wireBytes, (t["wire_bytes"] as! NSNumber).int64Value, "\(name) wire_bytes")
        XCTAssertEqual(st.flows, (t["flows"] as! NSNumber).int64Value, "\(name) flows")
        XCTAssertEqual(st.ipv6Packets, (t["ipv6_packets"] as! NSNumber).int64Value, "\(name) ipv6_packets")
        XCTAssertEqual(st.vlanPackets, (t["vlan_packets"] as! NSNumber).int64Value, "\(name) vlan_packets")
        let protos = t["protocols"] as! [String: NSNumber]
        let ours = Dictionary(uniqueKeysWithValues: st.protocols)
        for (k, v) in protos { XCTAssertEqual(ours[k], v.int64Value, "\(name) protocols.\(k)") }
        XCTAssertEqual(ours["other"], 0, "\(name): every frame has a class the truth knows")
        XCTAssertEqual(st.truncatedPackets, (t["truncated_packets"] as! NSNumber).int64Value, "\(name) truncated")
    }

    func testStatsEqualTruth() throws {
        for (name, args) in Self.variants {
            let cap = try Gencap.make(name, args)
            let tmp = TempDir()
            let (store, o) = try ingest([cap], db: tmp.path("s.sqlite"))
            XCTAssertEqual(o.first?.status, .complete, name)
            assertMatchesTruth(try store.stats(), try Gencap.truth(cap), name)
        }
    }

    /// The CLI prints the same numbers as JSON with the truth's keys.
    func testStatsJSONFromCLI() throws {
        let cap = try Gencap.make("s1.pcap", Self.variants[0].1)
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["ingest", cap, "--db", db])
        XCTAssertEqual(r.status, 0, r.err)
        let s = try runTool(aetherBinary, ["stats", "--db", db, "--json"])
        XCTAssertEqual(s.status, 0)
        let j = try JSONSerialization.jsonObject(with: Data(s.out.utf8)) as! [String: Any]
        let t = try Gencap.truth(cap)
        for k in ["packets", "bytes", "wire_bytes", "flows", "ipv6_packets", "vlan_packets"] {
            XCTAssertEqual((j[k] as! NSNumber).int64Value, (t[k] as! NSNumber).int64Value, k)
        }
        XCTAssertEqual(j["protocols"] as? [String: Int], (t["protocols"] as! [String: Int]).merging(["other": 0]) { a, _ in a })
    }

    /// Ingesting the same file again changes nothing and says so.
    func testSameFileTwiceIsANoOp() throws {
        let cap = try Gencap.make("s1.pcap", Self.variants[0].1)
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let (store, _) = try ingest([cap], db: db)
        let before = try store.stats()
        let chunks = try store.db.scalar("SELECT count(*) FROM packet_chunk")
        let (store2, o2) = try ingest([cap], db: db)
        XCTAssertEqual(o2.first?.status, .alreadyIngested)
        let after = try store2.stats()
        XCTAssertEqual(after.packets, before.packets)
        XCTAssertEqual(after.flows, before.flows)
        XCTAssertEqual(after.connections, before.connections)
        XCTAssertEqual(try store2.db.scalar("SELECT count(*) FROM packet_chunk"), chunks)
        XCTAssertEqual(try store2.db.scalar("SELECT count(*) FROM capture"), 1)
        let r = try runTool(aetherBinary, ["ingest", cap, "--db", db])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("already ingested"), r.out)
    }

    /// Split into three with editcap and ingested as a folder: the same flows as the whole file.
    func testSplitFolderEqualsWhole() throws {
        guard let editcap = which("editcap") else { throw XCTSkip("editcap not installed (make test installs tshark)") }
        let cap = try Gencap.make("s2.pcap", Self.variants[1].1)
        let t = try Gencap.truth(cap)
        let n = (t["packets"] as! NSNumber).intValue
        let tmp = TempDir()
        let dir = tmp.path("parts")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try runTool(editcap, ["-c", String(n / 3 + 1), cap, dir + "/part.pcap"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 3)
        let (whole, _) = try ingest([cap], db: tmp.path("whole.sqlite"))
        let (parts, o) = try ingest([dir], db: tmp.path("parts.sqlite"))
        XCTAssertEqual(o.count, 3)
        let a = try whole.stats(), b = try parts.stats()
        XCTAssertEqual(a.packets, b.packets)
        XCTAssertEqual(a.flows, b.flows)
        XCTAssertEqual(a.connections, b.connections)
        let q = "SELECT orig_h, orig_p, resp_h, resp_p, proto, orig_pkts, resp_pkts, conn_state, history FROM flow ORDER BY 1,2,3,4,5,first_ts"
        func rows(_ s: Store) throws -> [String] {
            let st = try s.db.prepare(q)
            var out: [String] = []
            while try st.step() { out.append((Int32(0)..<9).map { "\(st.value($0) ?? "")" }.joined(separator: "|")) }
            return out
        }
        XCTAssertEqual(try rows(whole), try rows(parts))
    }

    /// A BPF filter compiled by libpcap keeps only what matches.
    func testFilter() throws {
        let cap = try Gencap.make("s1.pcap", Self.variants[0].1)
        let tmp = TempDir()
        let (store, _) = try ingest([cap], db: tmp.path("s.sqlite"), filter: "not vlan")
        let st = try store.stats()
        let t = try Gencap.truth(cap)
        XCTAssertEqual(st.packets, (t["packets"] as! NSNumber).int64Value - (t["vlan_packets"] as! NSNumber).int64Value)
        XCTAssertEqual(st.vlanPackets, 0)
        let filtered = try store.db.scalar("SELECT filtered_out FROM capture")
        XCTAssertEqual(filtered, (t["vlan_packets"] as! NSNumber).int64Value)
    }
}
