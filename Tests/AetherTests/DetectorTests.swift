import AetherCapture
import AetherCore
import AetherDetect
import AetherEngine
import AetherStore
import Foundation
import XCTest

/// Detectors against gencap's ground truth and the peer captures.
final class DetectorTests: XCTestCase {
    struct Found { var kind, src: String; var dst: String?; var dsts: [String]; var start, end: Double; var flows: Int }

    func alerts(_ store: Store) throws -> [Found] {
        let data = Data(JSON.array(try store.alerts()).render().utf8)
        let arr = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return arr.map { a in
            Found(
                kind: a["kind"] as! String, src: a["src"] as! String, dst: a["dst"] as? String,
                dsts: (a["dsts"] as? [String]) ?? [], start: (a["start"] as! NSNumber).doubleValue,
                end: (a["end"] as! NSNumber).doubleValue, flows: (a["flows"] as! NSNumber).intValue)
        }
    }

    static func strings(_ v: Any?) -> [String] {
        if let s = v as? String { return [s] }
        return (v as? [String]) ?? []
    }

    /// An alert matches an incident: same kind and src, a target the truth names (the domain-based
    /// kinds by src alone), and overlapping time.
    func matches(_ a: Found, _ inc: [String: Any]) -> Bool {
        guard a.kind == inc["kind"] as? String, a.src == inc["src"] as? String else { return false }
        let start = (inc["start"] as! NSNumber).doubleValue, end = (inc["end"] as! NSNumber).doubleValue
        guard a.start <= end + 1, a.end >= start - 1 else { return false }
        if a.kind == "dns_tunnel" || a.kind == "dga" { return true }
        let truthTargets = Set(Self.strings(inc["dst"]) + Self.strings(inc["dsts"]))
        let ours = Set((a.dst.map { [$0] } ?? []) + a.dsts)
        return !truthTargets.isDisjoint(with: ours)
    }

    func testGencapIncidentsSeeds1To5() throws {
        for seed in 1...5 {
            let cap = try Gencap.make("inc\(seed).pcap", ["--seed", "\(seed)", "--duration", "7200", "--packets", "60000"])
            let truth = try Gencap.truth(cap)
            let tmp = TempDir()
            let (store, _) = try ingest([cap], db: tmp.path("s.sqlite"))
            let found = try alerts(store)
            let incidents = truth["incidents"] as! [[String: Any]]
            XCTAssertEqual(incidents.count, 17, "seed \(seed): every incident emitted")
            var used = Set<Int>()
            for inc in incidents {
                let hits = found.enumerated().filter { matches($0.element, inc) }
                XCTAssertEqual(hits.count, 1, "seed \(seed): \(inc["id"]!) (\(inc["kind"]!) from \(inc["src"]!)) matched by \(hits.count) alerts")
                for h in hits { used.insert(h.offset) }
            }
            // Every alert is one of the incidents: nothing on the benign look-alikes or background.
            for (i, a) in found.enumerated() where !used.contains(i) {
                XCTFail("seed \(seed): alert matches no incident: \(a.kind) \(a.src) → \(a.dst ?? a.dsts.prefix(3).joined(separator: ","))")
            }
            // Benign look-alikes by name: none of their sources may be reported.
            for b in truth["benign"] as! [[String: Any]] {
                let srcs = Set(Self.strings(b["src"]) + Self.strings(b["srcs"]))
                let dsts = Set(Self.strings(b["dst"]) + Self.strings(b["dsts"]))
                for a in found where srcs.contains(a.src) && !dsts.isDisjoint(with: Set((a.dst.map { [$0] } ?? []) + a.dsts)) {
                    XCTAssertTrue(incidents.contains { matches(a, $0) }, "seed \(seed): alert on benign \(b["id"]!): \(a.kind) \(a.src)")
                }
            }
        }
    }

    func testNoIncidentsNoAlerts() throws {
        for seed in 1...3 {
            let cap = try Gencap.make("none\(seed).pcap", ["--seed", "\(seed)", "--duration", "7200", "--packets", "60000", "--incidents", "none"])
            let tmp = TempDir()
            let (store, _) = try ingest([cap], db: tmp.path("s.sqlite"))
            let found = try alerts(store)
            XCTAssertEqual(found.count, 0, "seed \(seed): \(found.map { "\($0.kind) \($0.src)" })")
        }
    }

    func testPeerCaptures() throws {
        _ = try Shared.require()
        func run(_ file: String) throws -> [Found] {
            let tmp = TempDir()
            let (store, _) = try ingest([Shared.captures.appendingPathComponent(file).path], db: tmp.path("s.sqlite"))
            return try alerts(store)
        }
        let masscan = try run("portscan_masscan-tcp.pcap")
        XCTAssertEqual(masscan.map(\.kind), ["port_scan"], "one port scan, its probes to listed ports are not separate outbound alerts")
        XCTAssertEqual(masscan.first?.src, "172.31.15.102")
        XCTAssertEqual(masscan.first?.flows, 1001)
        // nmap's discovery here is an ARP sweep of the /24 (the TCP probes reach only 7 hosts).
        let nmap = try run("scan_nmap-lan-sweep.pcap")
        XCTAssertEqual(nmap.map(\.kind), ["host_sweep"])
        XCTAssertEqual(nmap.first?.src, "192.168.1.71")
        XCTAssertGreaterThan(nmap.first?.dsts.count ?? 0, 200)
        // TrickBot's C2 on TCP 7080, a port on the documented list.
        let trick = try run("c2-outbound_trickbot.pcap")
        XCTAssertEqual(trick.map(\.kind), ["suspicious_outbound"])
        XCTAssertEqual(trick.first?.src, "10.12.29.101")
        XCTAssertEqual(trick.first?.dst, "82.118.225.196")
    }

    /// Fixtures/demo.pcapng carries the incidents scripts/make-demo-capture.sh made.
    func testDemoCaptureAlerts() throws {
        let tmp = TempDir()
        let (store, _) = try ingest([Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path], db: tmp.path("s.sqlite"))
        let kinds = Set(try alerts(store).map(\.kind))
        XCTAssertEqual(kinds, ["port_scan", "host_sweep", "udp_scan", "ping_sweep", "suspicious_outbound", "dga", "brute_force", "beacon"])
    }

    func signature(_ store: Store) throws -> [String] {
        try alerts(store).map { "\($0.kind) \($0.src) \($0.dst ?? $0.dsts.sorted().joined(separator: ",")) \($0.start) \($0.end) \($0.flows)" }.sorted()
    }

    /// The whole file, the file split into three as a folder, and packet by packet through the
    /// session path live mode uses: the same alerts.
    func testSameAlertsThreeWays() throws {
        guard let editcap = which("editcap") else { throw XCTSkip("editcap missing (make test installs tshark)") }
        let cap = try Gencap.make("inc1.pcap", ["--seed", "1", "--duration", "7200", "--packets", "60000"])
        let tmp = TempDir()
        let (whole, _) = try ingest([cap], db: tmp.path("whole.sqlite"))
        let n = (try Gencap.truth(cap)["packets"] as! NSNumber).intValue
        let dir = tmp.path("parts")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertEqual(try runTool(editcap, ["-c", String(n / 3 + 1), cap, dir + "/p.pcap"]).status, 0)
        let (parts, _) = try ingest([dir], db: tmp.path("parts.sqlite"))

        let live = try Store(path: tmp.path("live.sqlite"))
        let pipeline = try Pipeline(store: live)
        let reader = try CaptureReader(path: cap)
        _ = try pipeline.beginSession(label: "replay:\(cap)", linkTypes: reader.linkTypes)
        // Checkpoints along the way, as live mode makes every two seconds: alerts are written
        // while they still grow, and must end up the same as a single write at the end.
        var fed = 0
        while try reader.next() {
            try pipeline.feed(reader.packet)
            fed += 1
            if fed % 5000 == 0 { try pipeline.checkpoint() }
        }
        try pipeline.endSession()

        let a = try signature(whole)
        XCTAssertEqual(a.count, 17)
        XCTAssertEqual(a, try signature(parts))
        XCTAssertEqual(a, try signature(live))
        XCTAssertEqual(try live.stats().packets, try whole.stats().packets)
    }

    func testDetectorsChangeNoCounts() throws {
        let cap = try Gencap.make("inc2.pcap", ["--seed", "2", "--duration", "7200", "--packets", "60000"])
        let tmp = TempDir()
        let on = try Store(path: tmp.path("on.sqlite"))
        _ = try Pipeline(store: on, options: IngestOptions(detect: true)).ingest([cap])
        let off = try Store(path: tmp.path("off.sqlite"))
        _ = try Pipeline(store: off, options: IngestOptions(detect: false)).ingest([cap])
        let a = try on.stats(), b = try off.stats()
        XCTAssertEqual(a.packets, b.packets)
        XCTAssertEqual(a.flows, b.flows)
        XCTAssertEqual(a.connections, b.connections)
        XCTAssertEqual(a.protocols.map(\.1), b.protocols.map(\.1))
        XCTAssertGreaterThan(try on.alerts().count, 0)
        XCTAssertEqual(try off.alerts().count, 0)
    }

    /// Each setting is declared once (beside its detector) and registered once: no key or alias
    /// twice, and each one set from the rules file changes what it shows.
    func testEverySettingIsRegisteredOnceAndTakesItsValue() throws {
        let keys = DetectorConfig.registry.flatMap { [$0.key] + $0.aliases }
        XCTAssertEqual(Set(keys).count, keys.count, "a key declared twice")
        for setting in DetectorConfig.registry where setting.key != "scan.preset" {
            var c = DetectorConfig()
            let value = setting.key.hasPrefix("allow.") || setting.key == "internal_networks" ? "10.99.0.0/16" : setting.key.hasSuffix("ports") ? "7" : "77"
            try c.set(setting.key, value, line: 1)
            XCTAssertTrue(setting.show(c) == value || setting.show(c) == value + ".0", "\(setting.key): \(setting.show(c))")
        }
        XCTAssertEqual(try DetectorConfig.parse("brute.sessions = 3")[setting: .bruteAttempts], 3)
    }

    /// Each alert kind is declared beside its detector and known once registered: every name
    /// reads back as its kind (with its technique), and an unknown one as nil.
    func testEveryAlertKindIsDeclaredOnceAndReadsBack() {
        let names = Array(AlertKind.known.keys)
        XCTAssertEqual(
            Set(names),
            [
                "port_scan", "host_sweep", "udp_scan", "ping_sweep", "slow_scan", "suspicious_outbound", "unusual_protocol", "beacon", "dns_tunnel", "dga",
                "brute_force", "intel_match", "long_connection",
            ])
        for name in names { XCTAssertEqual(AlertKind(rawValue: name)?.rawValue, name) }
        XCTAssertEqual(AlertKind(rawValue: "brute_force")?.technique, "T1110")
        XCTAssertEqual(AlertKind(rawValue: "port_scan"), .port_scan)
        XCTAssertNotEqual(AlertKind.port_scan, .udp_scan)
        XCTAssertNil(AlertKind(rawValue: "not_a_kind"))
    }

    /// A rules file overrides defaults; a bad one is refused with its line.
    func testRulesFile() throws {
        var c = try DetectorConfig.parse("scan.preset = snort-high\nbeacon.score = 0.9 # stricter\nallow.sources = 10.20.0.66\n")
        XCTAssertEqual(c[setting: .scanWindow], 600)
        XCTAssertEqual(c[setting: .beaconScore], 0.9)
        XCTAssertTrue(c.allowed(src: IPAddress("10.20.0.66")!, dst: nil))
        XCTAssertThrowsError(try DetectorConfig.parse("nonsense = 3")) { e in XCTAssertTrue("\(e)".contains("line 1")) }
        XCTAssertThrowsError(try c.apply(preset: "bogus"))
        let r = try runTool(aetherBinary, ["rules"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("scan.ports = 15"))
    }
}
