import AetherCore
import AetherDetect
import AetherEngine
import AetherStore
import Foundation
import XCTest

/// Each detector at its threshold: N-1 of the behaviour raises nothing, N raises one alert.
/// Inputs are hand-made frames (PacketBuilder), so the counts are exact.
final class ThresholdTests: XCTestCase {
    let config = DetectorConfig()

    func kinds(_ b: PacketBuilder) throws -> [String] {
        let tmp = TempDir()
        try b.write(tmp.path("in.pcap"))
        let (store, _) = try ingest([tmp.path("in.pcap")], db: tmp.path("s.sqlite"))
        return try CorpusTests.alerts(store).map(\.kind).sorted()
    }

    func alerts(_ b: PacketBuilder) throws -> [[String: Any]] {
        let tmp = TempDir()
        try b.write(tmp.path("in.pcap"))
        let (store, _) = try ingest([tmp.path("in.pcap")], db: tmp.path("s.sqlite"))
        let data = Data(JSON.array(try store.alerts()).render().utf8)
        return try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }

    func testSynScanAtThreshold() throws {
        func scan(_ n: Int) -> PacketBuilder {
            var b = PacketBuilder()
            for p in 0..<n {
                b.tcp(1000 + Double(p) * 0.01, "10.0.0.5", 40000, "10.0.0.9", UInt16(100 + p), flags: 0x02)
                b.tcp(1000 + Double(p) * 0.01 + 0.001, "10.0.0.9", UInt16(100 + p), "10.0.0.5", 40000, flags: 0x14, ack: 1001)
            }
            return b
        }
        XCTAssertEqual(try kinds(scan(config[setting: .scanPorts] - 1)), [])
        XCTAssertEqual(try kinds(scan(config[setting: .scanPorts])), ["port_scan"])
        // The alert says why: the counter and the threshold it reached, and its technique.
        let a = try alerts(scan(config[setting: .scanPorts]))[0]
        XCTAssertEqual(a["technique"] as? String, "T1046")
        let why = a["why"] as! [String: [String: Any]]
        XCTAssertEqual((why["failed_ports"]?["value"] as? NSNumber)?.intValue, config[setting: .scanPorts])
        XCTAssertEqual((why["failed_ports"]?["threshold"] as? NSNumber)?.intValue, config[setting: .scanPorts])
    }

    func testStealthProbesCountByTheirResets() throws {
        for flags: UInt8 in [0x01, 0x29, 0x00, 0x10, 0x11] {  // FIN, Xmas, NULL, ACK, Maimon
            func scan(_ n: Int) -> PacketBuilder {
                var b = PacketBuilder()
                for p in 0..<n {
                    b.tcp(1000 + Double(p) * 0.01, "10.0.0.5", 40000, "10.0.0.9", UInt16(100 + p), flags: flags)
                    b.tcp(1000 + Double(p) * 0.01 + 0.001, "10.0.0.9", UInt16(100 + p), "10.0.0.5", 40000, flags: 0x04)
                }
                return b
            }
            XCTAssertEqual(try kinds(scan(config[setting: .scanPorts] - 1)), [], "flags \(flags)")
            XCTAssertEqual(try kinds(scan(config[setting: .scanPorts])), ["port_scan"], "flags \(flags)")
        }
    }

    func testBadIPChecksumsFeedNoDetector() throws {
        var b = PacketBuilder()
        for p in 0..<40 { b.tcp(1000 + Double(p) * 0.01, "10.0.0.5", 40000, "10.0.0.9", UInt16(100 + p), flags: 0x02, badChecksum: true) }
        XCTAssertEqual(try kinds(b), [])
    }

    func testIPProtocolScanAtThreshold() throws {
        func scan(_ n: Int) -> PacketBuilder {
            var b = PacketBuilder()
            for p in 0..<n { b.ip(1000 + Double(p) * 0.01, src: "10.0.0.5", dst: "10.0.0.9", proto: UInt8(60 + p), []) }
            return b
        }
        XCTAssertEqual(try kinds(scan(config[setting: .scanPorts] - 1)), [])
        XCTAssertEqual(try kinds(scan(config[setting: .scanPorts])), ["port_scan"])
    }

    func testHostSweepAtThreshold() throws {
        func sweep(_ n: Int) -> PacketBuilder {
            var b = PacketBuilder()
            for h in 0..<n { b.tcp(1000 + Double(h) * 0.01, "10.0.0.5", 40000, "10.0.1.\(h + 1)", 445, flags: 0x02) }
            return b
        }
        XCTAssertEqual(try kinds(sweep(config[setting: .scanHosts] - 1)), [])
        XCTAssertEqual(try kinds(sweep(config[setting: .scanHosts])), ["host_sweep"])
    }

    /// The stored counters agree with each other: hosts that answered before the episode opened
    /// are counted as answered, not as unanswered.
    func testSweepEvidenceAddsUp() throws {
        var b = PacketBuilder()
        for h in 0..<30 {
            let t = 1000 + Double(h) * 0.01
            b.tcp(t, "10.0.0.5", 40000, "10.0.1.\(h + 1)", 445, flags: 0x02)
            if h < 5 { b.tcp(t + 0.001, "10.0.1.\(h + 1)", 445, "10.0.0.5", 40000, flags: 0x12, seq: 9, ack: 1001) }
        }
        let a = try alerts(b)
        XCTAssertEqual(a.count, 1)
        let e = a[0]["evidence"] as! [String: Any]
        XCTAssertEqual((e["distinct_hosts"] as? NSNumber)?.intValue, 30)
        XCTAssertEqual((e["answered_hosts"] as? NSNumber)?.intValue, 5)
        XCTAssertEqual((e["unanswered_or_refused_hosts"] as? NSNumber)?.intValue, 25)
    }

    func testSmallFastPingSweepAtThreshold() throws {
        func sweep(_ n: Int) -> PacketBuilder {
            var b = PacketBuilder()
            for h in 0..<n { b.icmp(1000 + Double(h) * 0.05, "10.0.0.5", "10.0.2.\(h + 1)", type: 8, id: 7, seq: UInt16(h)) }
            return b
        }
        XCTAssertEqual(try kinds(sweep(config[setting: .pingSmallHosts] - 1)), [])
        XCTAssertEqual(try kinds(sweep(config[setting: .pingSmallHosts])), ["ping_sweep"])
    }

    func testMonitorPingingHostsThatAnswerIsQuiet() throws {
        var b = PacketBuilder()
        for round in 0..<10 {
            for h in 0..<20 {
                let t = 1000 + Double(round) * 30 + Double(h) * 0.05
                b.icmp(t, "10.0.0.3", "10.0.2.\(h + 1)", type: 8, id: 9, seq: UInt16(round))
                b.icmp(t + 0.001, "10.0.2.\(h + 1)", "10.0.0.3", type: 0, id: 9, seq: UInt16(round))
            }
        }
        XCTAssertEqual(try kinds(b), [])
    }

    static let ftpBanner = Array("220 (vsFTPd 3.0.3)\r\n".utf8)

    func ftp(_ n: Int, reply: String) -> PacketBuilder {
        var b = PacketBuilder()
        for i in 0..<n {
            b.session(
                1000 + Double(i) * 2 + Double(i % 3) * 0.7, "10.0.0.5", UInt16(41000 + i), "10.0.0.9", 2121,
                exchange: [
                    (false, Self.ftpBanner), (true, Array("USER alice\r\n".utf8)), (false, Array("331 Please specify the password.\r\n".utf8)),
                    (true, Array("PASS guess\(i)\r\n".utf8)), (false, Array(reply.utf8)),
                ])
        }
        return b
    }

    func testBruteForceOnAnyPortByContentAtThreshold() throws {
        XCTAssertEqual(try kinds(ftp(config[setting: .bruteAttempts] - 1, reply: "530 Login incorrect.\r\n")), [])
        XCTAssertEqual(try kinds(ftp(config[setting: .bruteAttempts], reply: "530 Login incorrect.\r\n")), ["brute_force"])
    }

    func testSSHBannerChecksAreNotLogins() throws {
        var b = PacketBuilder()
        var rng = SplitMix(seed: 3)
        var t = 1000.0
        for i in 0..<30 {
            t += 1 + Double(rng.next() % 1000) / 100
            b.session(
                t, "10.0.0.5", UInt16(44000 + i), "10.0.0.9", 22,
                exchange: [
                    (false, Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8)), (true, Array("SSH-2.0-check_ssh\r\n".utf8)),
                ])
        }
        let found = try alerts(b)
        XCTAssertEqual(found.map { $0["kind"] as! String }, [], "\(found)")
    }

    func testSuccessfulLoginsNeverCountAsFailed() throws {
        XCTAssertEqual(try kinds(ftp(config[setting: .bruteAttempts] * 3, reply: "230 Login successful.\r\n")), [])
    }

    func testBeaconAtThreshold() throws {
        func beacon(_ n: Int, src: String, dst: String) -> PacketBuilder {
            var b = PacketBuilder()
            for i in 0..<n {
                b.session(
                    1000 + Double(i) * 30, src, UInt16(42000 + i), dst, 8443,
                    exchange: [
                        (true, Array("GET /b HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), (false, Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)),
                    ])
            }
            return b
        }
        XCTAssertEqual(try kinds(beacon(config[setting: .beaconMinConnections] - 1, src: "10.0.0.5", dst: "203.0.113.7")), [])
        XCTAssertEqual(try kinds(beacon(config[setting: .beaconMinConnections], src: "10.0.0.5", dst: "203.0.113.7")), ["beacon"])
        // Between two public addresses (no host internal): the same.
        XCTAssertEqual(try kinds(beacon(config[setting: .beaconMinConnections], src: "198.51.100.5", dst: "203.0.113.7")), ["beacon"])
    }

    func testBroadcastAndMulticastAreNeverOutbound() throws {
        var b = PacketBuilder()
        for i in 0..<40 {
            let t = 1000 + Double(i) * 60
            b.udp(t, "192.168.1.50", 5000, "255.255.255.255", 6667, payload: Array("{\"discover\":1}".utf8))
            b.udp(t + 0.1, "192.168.1.50", 5000, "192.168.1.255", 6667, payload: Array("{\"discover\":1}".utf8))
            b.ip(t + 0.2, src: "192.168.1.50", dst: "224.0.0.22", proto: 2, [0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 239, 1, 2, 3])
            b.ip(t + 0.3, src: "192.168.1.1", dst: "224.0.0.18", proto: 112, Array(repeating: 0, count: 20))  // VRRP
            b.ip(t + 0.4, src: "192.168.1.1", dst: "224.0.0.13", proto: 103, Array(repeating: 0, count: 20))  // PIM
        }
        XCTAssertEqual(try kinds(b), [])
    }

    func testSuspiciousOutboundNeedsASession() throws {
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 43000, "203.0.113.9", 4444, exchange: [(true, Array("id\n".utf8)), (false, Array("uid=0(root)\n".utf8))])
        XCTAssertEqual(try kinds(b), ["suspicious_outbound"])
        var probe = PacketBuilder()
        probe.tcp(1000, "10.0.0.5", 43000, "203.0.113.9", 4444, flags: 0x02)
        probe.tcp(1000.001, "203.0.113.9", 4444, "10.0.0.5", 43000, flags: 0x12, seq: 1, ack: 1001)
        probe.tcp(1000.002, "10.0.0.5", 43000, "203.0.113.9", 4444, flags: 0x04, seq: 1001)
        XCTAssertEqual(try kinds(probe), [], "an answered SYN that carried nothing is a probe, not a session")
    }

    /// Many hosts to one destination and port: the first 64 each an alert, the rest one grouped
    /// alert that counts them.
    func testManySourcesAreGrouped() throws {
        var b = PacketBuilder()
        for i in 0..<300 {
            b.session(
                1000 + Double(i) * 0.01, "10.2.\(i / 250).\(i % 250 + 1)", 43000, "203.0.113.9", 4444,
                exchange: [(true, Array("id\n".utf8)), (false, Array("uid=0\n".utf8))])
        }
        let found = try alerts(b)
        XCTAssertEqual(found.count, 65)
        let grouped = found.compactMap { $0["evidence"] as? [String: Any] }.filter { $0["grouped"] != nil }
        XCTAssertEqual(grouped.count, 1)
        XCTAssertEqual((grouped.first?["sources"] as? NSNumber)?.intValue, 300 - 64)
    }

    func dnsRun(_ n: Int, nx: Bool, txt: Int? = nil, sameAnswer: Bool = false) -> PacketBuilder {
        var b = PacketBuilder()
        let letters = Array("qwertyuiopasdfghjklzxcvbnm0123456789")
        var rng = SplitMix(seed: 42)
        for i in 0..<n {
            let label = String((0..<14).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
            let name = txt != nil ? "c\(i).cmd.example" : label + ".com"
            let t = 1000 + Double(i) * 0.5
            b.udp(t, "10.0.0.5", UInt16(50000 + i), "10.0.0.53", 53, payload: PacketBuilder.dnsQuery(name, id: UInt16(i), qtype: txt != nil ? 16 : 1))
            b.udp(
                t + 0.01, "10.0.0.53", 53, "10.0.0.5", UInt16(50000 + i),
                payload: PacketBuilder.dnsAnswer(
                    name, id: UInt16(i), rcode: nx ? 3 : 0, qtype: txt != nil ? 16 : 1,
                    txt: txt.map { n in
                        sameAnswer
                            ? Array(repeating: UInt8(ascii: "Q"), count: n)
                            : Array("\(i)-".utf8) + Array(repeating: UInt8(65 + i % 26), count: n)
                    }))
        }
        return b
    }

    func testDGAAtThreshold() throws {
        XCTAssertEqual(try kinds(dnsRun(config[setting: .dgaNames] - 1, nx: true)), [])
        XCTAssertEqual(try kinds(dnsRun(config[setting: .dgaNames], nx: true)), ["dga"])
    }

    func testTXTAnswerTunnelAtThreshold() throws {
        // 250-byte answers: the bytes threshold is passed well before the name count.
        XCTAssertEqual(try kinds(dnsRun(config[setting: .tunnelMinQueries] - 1, nx: false, txt: 250)), [])
        XCTAssertEqual(try kinds(dnsRun(config[setting: .tunnelMinQueries], nx: false, txt: 250)), ["dns_tunnel"])
    }

    /// The same answer given again (a CDN's CNAME, a fixed TXT record) carries no new data.
    func testRepeatedAnswersCarryNoData() throws {
        XCTAssertEqual(try kinds(dnsRun(config[setting: .tunnelMinQueries] * 3, nx: false, txt: 250, sameAnswer: true)), [])
    }

    func testRulesAsPrintedAreAccepted() throws {
        let printed = DetectorConfig().settings.map { "\($0.0) = \($0.1)" }.joined(separator: "\n")
        let parsed = try DetectorConfig.parse(printed)
        XCTAssertTrue(parsed.allowSources.isEmpty)
        XCTAssertFalse(parsed.internalExplicit, "the default networks written back do not turn inference off")
        XCTAssertTrue(try DetectorConfig.parse("internal_networks = 10.9.0.0/16").internalExplicit)
    }

    /// A setting a detector declares in its own file: its default until a rules file sets it,
    /// shown and written back like any other.
    func testDeclaredSettingsKeepTheirValues() throws {
        let tiers = DetectorSetting<[Int64]>("long.tiers", default: [1])
        XCTAssertEqual(DetectorConfig()[setting: tiers], [1], "not given: the declaration's default")
        let set = try DetectorConfig.parse("long.tiers = 60,120")
        XCTAssertEqual(set[setting: tiers], [60, 120])
        XCTAssertEqual(set.settings.first { $0.0 == "long.tiers" }?.1, "60,120")
        XCTAssertEqual(DetectorConfig().settings.first { $0.0 == "long.tiers" }?.1, "3600,14400,28800,43200")
        var c = DetectorConfig()
        c[setting: DetectorSetting<Int>("other.count", default: 5)] = 7
        XCTAssertEqual(c[setting: DetectorSetting<Int>("other.count", default: 5)], 7)
        XCTAssertEqual(c[setting: tiers], [1], "settings of other keys are apart")
    }
}

/// A seeded generator: the same inputs every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
