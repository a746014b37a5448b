import AetherCore
import AetherEngine
import AetherStore
import Foundation
import XCTest

/// The attack corpus recorded with real tools (scripts/record-attacks.sh, Fixtures/attacks):
/// every incident found once, nothing on the benign look-alikes; the shared captures raise
/// nothing beyond what they are known to hold.
final class CorpusTests: XCTestCase {
    struct Found { var kind, src: String; var targets: Set<String>; var start, end: Double }

    static func alerts(_ store: Store) throws -> [Found] {
        let data = Data(JSON.array(try store.alerts()).render().utf8)
        let arr = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return arr.map { a in
            let targets = Set((a["dst"] as? String).map { [$0] } ?? ((a["dsts"] as? [String]) ?? []))
            return Found(
                kind: a["kind"] as! String, src: a["src"] as! String, targets: targets,
                start: (a["start"] as! NSNumber).doubleValue, end: (a["end"] as! NSNumber).doubleValue)
        }
    }

    static func matches(_ a: Found, _ t: [String: Any]) -> Bool {
        guard a.kind == t["kind"] as? String, a.src == t["src"] as? String else { return false }
        let start = (t["start"] as! NSNumber).doubleValue, end = (t["end"] as! NSNumber).doubleValue
        guard a.start <= end + 2, a.end >= start - 2 else { return false }
        if a.kind == "dns_tunnel" || a.kind == "dga" { return true }
        let theirs = Set((t["dst"] as? String).map { [$0] } ?? ((t["dsts"] as? [String]) ?? []))
        return !a.targets.isDisjoint(with: theirs)
    }

    static var corpus: URL { Shared.repoRoot.appendingPathComponent("Fixtures/attacks") }

    func testRecordedCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".pcap") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 40, "the recorded corpus is in Fixtures/attacks")
        var table = ["| capture | expected | found | false alerts |", "| --- | --- | --- | --- |"]
        var incidents = 0, benign = 0
        for f in files {
            let name = String(f.dropLast(5))
            let truthText = try String(contentsOf: Self.corpus.appendingPathComponent(name + ".truth"), encoding: .utf8)
            let truth = try truthText.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let tmp = TempDir()
            let (store, _) = try ingest([Self.corpus.appendingPathComponent(f).path], db: tmp.path("s.sqlite"))
            let found = try Self.alerts(store)
            var hits = 0
            for t in truth {
                let n = found.filter { Self.matches($0, t) }.count
                XCTAssertEqual(n, 1, "\(name): \(t["kind"]!) from \(t["src"]!) matched by \(n) alerts")
                if n > 0 { hits += 1 }
            }
            let stray = found.filter { a in !truth.contains { Self.matches(a, $0) } }
            for a in stray { XCTFail("\(name): alert beyond the truth: \(a.kind) \(a.src) → \(a.targets.sorted().prefix(3))") }
            if truth.isEmpty { benign += 1 } else { incidents += truth.count }
            table.append("| \(name) | \(truth.count) | \(hits) | \(stray.count) |")
        }
        XCTAssertGreaterThanOrEqual(benign, 10, "benign look-alikes recorded")
        XCTAssertGreaterThanOrEqual(incidents, 30)
        print(table.joined(separator: "\n"))
    }

    /// The same behaviour between private addresses and between public ones gives the same alerts.
    func testInternalAndPublicAddressesAlike() throws {
        func kinds(_ f: String) throws -> [String] {
            let tmp = TempDir()
            let (store, _) = try ingest([Self.corpus.appendingPathComponent(f).path], db: tmp.path("s.sqlite"))
            return try Self.alerts(store).map(\.kind).sorted()
        }
        XCTAssertEqual(try kinds("nmap-syn.pcap"), ["port_scan"])
        XCTAssertEqual(try kinds("nmap-public.pcap"), ["port_scan"])
        XCTAssertEqual(try kinds("beacon-http-2s.pcap"), ["beacon"])
        XCTAssertEqual(try kinds("beacon-https-2s-public.pcap"), ["beacon"])
    }

    /// Each nmap probe type is a scan.
    func testEveryNmapProbeTypeIsAScan() throws {
        for (f, kind) in [
            ("nmap-syn", "port_scan"), ("nmap-connect", "port_scan"), ("nmap-fin", "port_scan"), ("nmap-xmas", "port_scan"),
            ("nmap-null", "port_scan"), ("nmap-ack", "port_scan"), ("nmap-maimon", "port_scan"), ("nmap-udp", "udp_scan"),
            ("nmap-ipproto", "port_scan"), ("nmap-ipv6", "port_scan"),
        ] {
            let tmp = TempDir()
            let (store, _) = try ingest([Self.corpus.appendingPathComponent(f + ".pcap").path], db: tmp.path("s.sqlite"))
            XCTAssertEqual(try Self.alerts(store).map(\.kind), [kind], f)
        }
    }

    /// Known contents of the shared corpus; anything else there is benign.
    static let sharedTruth: [String: [(String, String)]] = [
        "portscan_masscan-tcp.pcap": [("port_scan", "172.31.15.102")],
        "scan_nmap-lan-sweep.pcap": [("host_sweep", "192.168.1.71")],
        "c2-outbound_trickbot.pcap": [("suspicious_outbound", "10.12.29.101")],
        // GRE from an internal host to a public one: outbound IP protocol 47.
        "gre_tunnel.pcap": [("unusual_protocol", "172.27.1.66")],
    ]

    func testSharedCapturesRaiseNothingBeyondTheirTruth() throws {
        let root = try Shared.require().appendingPathComponent("captures")
        var files = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains(".pcap") }
        files += try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("large").path).map { "large/" + $0 }
        for f in files.sorted() {
            let tmp = TempDir()
            let (store, _) = try ingest([root.appendingPathComponent(f).path], db: tmp.path("s.sqlite"))
            let found = try Self.alerts(store).map { "\($0.kind) \($0.src)" }.sorted()
            let expected = (Self.sharedTruth[f] ?? []).map { "\($0.0) \($0.1)" }.sorted()
            XCTAssertEqual(found, expected, f)
        }
    }
}
