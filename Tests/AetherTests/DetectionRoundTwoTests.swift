import AetherCore
import AetherDetect
import Foundation
import XCTest

@testable import AetherEngine

/// Detection, round two: the behaviours that slipped past round one, each at its threshold.
extension ThresholdTests {
    /// One FTP connection that retries USER/PASS `n` times (hydra, medusa keep the control
    /// connection while the server allows), answered by `last` at the end when given.
    func ftpOneConnection(_ n: Int, last: String? = nil) -> PacketBuilder {
        var ex: [(fromClient: Bool, bytes: [UInt8])] = [(false, Self.ftpBanner)]
        for i in 0..<n {
            ex += [
                (true, Array("USER alice\r\n".utf8)), (false, Array("331 Please specify the password.\r\n".utf8)),
                (true, Array("PASS guess\(i)\r\n".utf8)), (false, Array("530 Login incorrect.\r\n".utf8)),
            ]
        }
        if let last { ex += [(true, Array("PASS right\r\n".utf8)), (false, Array(last.utf8))] }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 21, exchange: ex)
        return b
    }

    func testBruteForceCountsAttemptsInsideOneConnection() throws {
        XCTAssertEqual(try kinds(ftpOneConnection(config[setting: .bruteAttempts] - 1)), [])
        let found = try alerts(ftpOneConnection(config[setting: .bruteAttempts]))
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["brute_force"])
        let e = found.first?["evidence"] as? [String: Any] ?? [:]
        XCTAssertEqual((e["failed_attempts"] as? NSNumber)?.intValue, config[setting: .bruteAttempts])
        XCTAssertEqual((e["connections"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(found.first?["severity"] as? String, "high")
    }

    /// Hundreds of refusals on one connection: every server answer is read, not only the first 64 segments.
    func testBruteForceReadsEveryAnswerOfALongConnection() throws {
        let found = try alerts(ftpOneConnection(300))
        let e = found.first?["evidence"] as? [String: Any]
        XCTAssertEqual((e?["failed_attempts"] as? NSNumber)?.intValue, 300, "\(found)")
    }

    func testGuessedPasswordAfterFailuresIsCritical() throws {
        let found = try alerts(ftpOneConnection(config[setting: .bruteAttempts] + 5, last: "230 Login successful.\r\n"))
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["brute_force"])
        XCTAssertEqual(found.first?["severity"] as? String, "critical")
        let e = found.first?["evidence"] as? [String: Any] ?? [:]
        XCTAssertEqual(e["login_accepted_after_failures"] as? Bool, true)
    }

    /// HTTP Basic guessing over one keep-alive connection: each 401 is an attempt.
    func httpKeepAlive(_ n: Int, answer: String? = nil) -> PacketBuilder {
        var ex: [(fromClient: Bool, bytes: [UInt8])] = []
        for i in 0..<n {
            ex.append((true, Array("GET /admin HTTP/1.1\r\nHost: 10.0.0.9\r\nAuthorization: Basic YWxpY2U6Z3Vlc3N\(i)\r\n\r\n".utf8)))
            ex.append((false, Array("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n".utf8)))
            if let answer {
                ex.append((true, Array("GET /admin HTTP/1.1\r\nHost: 10.0.0.9\r\nAuthorization: Digest username=\"alice\"\r\n\r\n".utf8)))
                ex.append((false, Array(answer.utf8)))
            }
        }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 8080, exchange: ex)
        return b
    }

    func testHTTP401sOnOneKeepAliveConnectionAtThreshold() throws {
        XCTAssertEqual(try kinds(httpKeepAlive(config[setting: .bruteAttempts] - 1)), [])
        XCTAssertEqual(try kinds(httpKeepAlive(config[setting: .bruteAttempts])), ["brute_force"])
    }

    /// Digest or NTLM over HTTP: every request is challenged with a 401, then succeeds.
    func testHTTPChallengesThatSucceedAreNotGuessing() throws {
        XCTAssertEqual(try kinds(httpKeepAlive(config[setting: .bruteAttempts] * 4, answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")), [])
    }

    /// smb-brute's shape: SMB2 SESSION_SETUP answered STATUS_LOGON_FAILURE, many per connection.
    func smb2Failures(_ n: Int) -> PacketBuilder {
        func smb2(command: UInt16, status: UInt32, response: Bool) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 64)
            h[0] = 0xFE; h[1] = 0x53; h[2] = 0x4D; h[3] = 0x42; h[4] = 64
            h[8] = UInt8(status & 0xFF); h[9] = UInt8(status >> 8 & 0xFF); h[10] = UInt8(status >> 16 & 0xFF); h[11] = UInt8(status >> 24)
            h[12] = UInt8(command)
            if response { h[16] = 1 }
            let body = [UInt8](repeating: 0x41, count: 24)
            let len = h.count + body.count
            return [0, 0, UInt8(len >> 8), UInt8(len & 0xFF)] + h + body
        }
        var ex: [(fromClient: Bool, bytes: [UInt8])] = [
            (true, smb2(command: 0, status: 0, response: false)), (false, smb2(command: 0, status: 0, response: true)),
        ]
        for _ in 0..<n {
            ex.append((true, smb2(command: 1, status: 0, response: false)))
            ex.append((false, smb2(command: 1, status: 0xC000_006D, response: true)))
        }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 445, exchange: ex)
        return b
    }

    func testSMBLogonFailuresInOneConnectionAtThreshold() throws {
        XCTAssertEqual(try kinds(smb2Failures(config[setting: .bruteAttempts] - 1)), [])
        XCTAssertEqual(try kinds(smb2Failures(config[setting: .bruteAttempts])), ["brute_force"])
    }
}

extension ThresholdTests {
    /// Thin exfiltration: `n` distinct names of four full hex labels (about 240 bytes) under one
    /// domain, answered, far under the volume rule's bytes and name count.
    func nearMaxNames(_ n: Int, domain: String = "exfil.example") -> PacketBuilder {
        var b = PacketBuilder()
        var rng = SplitMix(seed: 7)
        let hex = Array("0123456789abcdef")
        for i in 0..<n {
            let labels = (0..<4).map { _ in String((0..<52).map { _ in hex[Int(rng.next() % 16)] }) }
            let name = labels.joined(separator: ".") + ".\(i)." + domain
            let t = 1000 + Double(i) * 7
            b.udp(t, "10.0.0.5", UInt16(50000 + i), "10.0.0.53", 53, payload: PacketBuilder.dnsQuery(name, id: UInt16(i)))
            b.udp(t + 0.01, "10.0.0.53", 53, "10.0.0.5", UInt16(50000 + i), payload: PacketBuilder.dnsAnswer(name, id: UInt16(i)))
        }
        return b
    }

    func testNearMaximumNamesAtThreshold() throws {
        XCTAssertEqual(try kinds(nearMaxNames(config[setting: .tunnelNearMaxNames] - 1)), [])
        let found = try alerts(nearMaxNames(config[setting: .tunnelNearMaxNames]))
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["dns_tunnel"])
        let why = found.first?["why"] as? [String: Any]
        XCTAssertNotNil(why?["near_maximum_names"], "\(found)")
    }

    /// Long names that are not data: CDN and load-balancer names, DKIM and DMARC, SRV, reverse
    /// lookups, reputation lookups with a hash label; many of each from one client.
    func testBenignLongNamesStayQuiet() throws {
        var b = PacketBuilder()
        var rng = SplitMix(seed: 9)
        let hex = Array("0123456789abcdef")
        func h(_ n: Int) -> String { String((0..<n).map { _ in hex[Int(rng.next() % 16)] }) }
        var names: [String] = []
        for i in 0..<40 {
            names.append("internal-app-lb-\(h(10))-\(i).eu-west-1.elb.amazonaws.com")
            names.append("s\(i)-\(h(8))._domainkey.mail.example.com")
            names.append("_ldap._tcp.site\(i).dc._msdcs.corp.example.com")
            names.append((0..<32).map { _ in String(hex[Int(rng.next() % 16)]) }.joined(separator: ".") + ".ip6.arpa")
            names.append("0.0.0.0.1.0.0.4e.\(h(64)).avqs.mcafee.com")
            names.append("e\(h(40)).dscx.akamaiedge.net")
        }
        for (i, name) in names.enumerated() {
            let t = 1000 + Double(i) * 0.3
            b.udp(t, "10.0.0.5", UInt16(20000 + i), "10.0.0.53", 53, payload: PacketBuilder.dnsQuery(name, id: UInt16(i)))
            b.udp(t + 0.01, "10.0.0.53", 53, "10.0.0.5", UInt16(20000 + i), payload: PacketBuilder.dnsAnswer(name, id: UInt16(i)))
        }
        let found = try alerts(b)
        XCTAssertEqual(found.map { $0["kind"] as! String }, [], "\(found)")
    }
}

extension ThresholdTests {
    /// A reverse shell between two internal hosts on a C2 handler port: lateral movement.
    func testLateralSessionOnAC2PortIsReported() throws {
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 43000, "10.0.0.9", 4444, exchange: [(true, Array("id\n".utf8)), (false, Array("uid=0(root)\n".utf8))])
        let found = try alerts(b)
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["suspicious_outbound"])
        XCTAssertEqual(found.first?["severity"] as? String, "medium")
        let why = found.first?["why"] as? [String: Any]
        XCTAssertTrue((why?["direction"] as? String ?? "").hasPrefix("internal:"), "\(found)")
    }

    /// The payload rule holds inside too, and internal SMB, RDP and telnet are ordinary.
    func testInternalProbesAndFileSharingAreQuiet() throws {
        var probe = PacketBuilder()
        probe.tcp(1000, "10.0.0.5", 43000, "10.0.0.9", 4444, flags: 0x02)
        probe.tcp(1000.001, "10.0.0.9", 4444, "10.0.0.5", 43000, flags: 0x12, seq: 1, ack: 1001)
        probe.tcp(1000.002, "10.0.0.5", 43000, "10.0.0.9", 4444, flags: 0x04, seq: 1001)
        XCTAssertEqual(try kinds(probe), [])
        var shares = PacketBuilder()
        for (i, port) in [445, 3389, 23].enumerated() {
            shares.session(
                1000 + Double(i), "10.0.0.5", UInt16(43000 + i), "10.0.0.9", UInt16(port),
                exchange: [(true, Array("hello\n".utf8)), (false, Array("world\n".utf8))])
        }
        XCTAssertEqual(try kinds(shares), [])
    }
}

extension ThresholdTests {
    func periodic(_ n: Int, every: Double, src: String = "10.0.0.5", dst: String = "203.0.113.9") -> PacketBuilder {
        var b = PacketBuilder()
        for i in 0..<n {
            b.session(
                1000 + Double(i) * every, src, UInt16(42000 + i), dst, 8443,
                exchange: [
                    (true, Array("GET /b HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), (false, Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)),
                ])
        }
        return b
    }

    /// Regular contacts every 6 s: a beacon only once they span a minute (11 contacts), not at
    /// the 10 the count alone asks for.
    func testBeaconNeedsItsMinimumSpan() throws {
        let needed = Int((config[setting: .beaconMinSpan] / 6).rounded(.up)) + 1
        XCTAssertGreaterThan(needed, config[setting: .beaconMinConnections])
        XCTAssertEqual(try kinds(periodic(needed - 1, every: 6)), [])
        XCTAssertEqual(try kinds(periodic(needed, every: 6)), ["beacon"])
    }

    func testLoopbackNeverBeacons() throws {
        XCTAssertEqual(try kinds(periodic(40, every: 30, src: "127.0.0.1", dst: "127.0.0.1")), [])
        XCTAssertTrue(IPAddress("::1")!.isLoopback)
        XCTAssertTrue(IPAddress("127.3.0.1")!.isLoopback)
        XCTAssertFalse(IPAddress("::2")!.isLoopback)
        XCTAssertFalse(IPAddress("128.0.0.1")!.isLoopback)
    }

    /// FTP guessing, one connection per password at a steady pace: brute force, not also a beacon.
    func testGuessingAtASteadyPaceIsNotAlsoABeacon() throws {
        var b = PacketBuilder()
        for i in 0..<40 {
            b.session(
                1000 + Double(i) * 5, "10.0.0.5", UInt16(41000 + i), "10.0.0.9", 21,
                exchange: [
                    (false, Self.ftpBanner), (true, Array("USER alice\r\n".utf8)), (false, Array("331 Password?\r\n".utf8)),
                    (true, Array("PASS guess\(i)\r\n".utf8)), (false, Array("530 Login incorrect.\r\n".utf8)),
                ])
        }
        XCTAssertEqual(try kinds(b), ["brute_force"])
    }
}

extension ThresholdTests {
    /// IPsec between a host and the outside (a VPN client, a site-to-site tunnel) is quiet; GRE
    /// from a host to the outside still is not.
    func testIPsecIsNotUnusualButGREIs() throws {
        func flow(_ proto: UInt8, _ payload: [UInt8]) -> PacketBuilder {
            var b = PacketBuilder()
            for i in 0..<20 {
                b.ip(1000 + Double(i), src: "10.0.0.5", dst: "203.0.113.9", proto: proto, payload)
                b.ip(1000.01 + Double(i), src: "203.0.113.9", dst: "10.0.0.5", proto: proto, payload)
            }
            return b
        }
        let esp: [UInt8] = [0, 0, 0x10, 0x01, 0, 0, 0, 1] + Array(repeating: 0xA5, count: 64)
        XCTAssertEqual(try kinds(flow(IPProto.esp, esp)), [])
        XCTAssertEqual(try kinds(flow(IPProto.ah, [6, 4, 0, 0, 0, 0, 0x10, 1, 0, 0, 0, 1] + Array(repeating: 0, count: 12))), [])
        // GRE carrying IPv4 (protocol type 0x0800) from a host to the outside.
        var inner: [UInt8] = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0] + PacketBuilder.v4("192.168.9.1") + PacketBuilder.v4("192.168.9.2")
        inner += [0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]
        XCTAssertEqual(try kinds(flow(IPProto.gre, [0, 0, 0x08, 0x00] + inner)), ["unusual_protocol"])
    }

    /// A switch mirroring frames over GRE (ERSPAN type II) to a collector outside: not unusual.
    func testERSPANMirrorIsNotUnusual() throws {
        var frame: [UInt8] = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00]
        frame += [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0] + PacketBuilder.v4("192.168.9.1") + PacketBuilder.v4("192.168.9.2")
        frame += [0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]
        var b = PacketBuilder()
        for i in 0..<20 {
            // GRE with a sequence number (flag 0x1000), protocol 0x88BE, then the ERSPAN II header.
            let gre: [UInt8] = [0x10, 0x00, 0x88, 0xBE, 0, 0, 0, UInt8(i)] + [0x10, 0x01, 0, 3, 0, 0, 0, 0]
            b.ip(1000 + Double(i), src: "10.0.0.5", dst: "203.0.113.9", proto: IPProto.gre, gre + frame)
        }
        XCTAssertEqual(try kinds(b), [])
    }
}

extension ThresholdTests {
    /// nmap -PA: a bare ACK to each address; live hosts answer with a RST, dead ones stay silent.
    func ackSweep(_ n: Int) -> PacketBuilder {
        var b = PacketBuilder()
        for h in 0..<n {
            let t = 1000 + Double(h) * 0.02, dst = "10.0.3.\(h + 1)"
            b.tcp(t, "10.0.0.5", UInt16(50000 + h), dst, 80, flags: 0x10, seq: 77, ack: 99)
            if h % 2 == 0 { b.tcp(t + 0.001, dst, 80, "10.0.0.5", UInt16(50000 + h), flags: 0x04, seq: 99) }
        }
        return b
    }

    func testACKSweepCountsLiveAndDeadHostsAtThreshold() throws {
        XCTAssertEqual(try kinds(ackSweep(config[setting: .scanHosts] - 1)), [])
        XCTAssertEqual(try kinds(ackSweep(config[setting: .scanHosts])), ["host_sweep"])
    }
}

/// The round-two recordings (scripts/record-attacks.sh, real tools): what each alert says.
extension CorpusTests {
    func alertObjects(_ file: String) throws -> [[String: Any]] {
        let tmp = TempDir()
        let (store, _) = try ingest([Self.corpus.appendingPathComponent(file).path], db: tmp.path("s.sqlite"))
        let data = Data(JSON.array(try store.alerts()).render().utf8)
        return try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }

    func testRecordedGuessingCountsAttemptsNotConnections() throws {
        // nmap smb-brute: dozens of NTLM logons refused over a handful of kept SMB connections.
        let smb = try alertObjects("nmap-smb-brute.pcap")
        let e = smb.first?["evidence"] as? [String: Any] ?? [:]
        let attempts = (e["failed_attempts"] as? NSNumber)?.intValue ?? 0, conns = (e["connections"] as? NSNumber)?.intValue ?? 0
        XCTAssertGreaterThanOrEqual(attempts, 40, "\(smb)")
        XCTAssertLessThanOrEqual(conns, 8)
        XCTAssertGreaterThan(attempts, conns * 5)
        // hydra over one POP3 connection.
        let pop = try alertObjects("hydra-pop3.pcap").first?["evidence"] as? [String: Any] ?? [:]
        XCTAssertEqual((pop["connections"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual((pop["failed_attempts"] as? NSNumber)?.intValue, 40)
        // The password was the last guess.
        let guessed = try alertObjects("hydra-pop3-guessed.pcap")
        XCTAssertEqual(guessed.first?["severity"] as? String, "critical")
    }

    func testRecordedInternalReverseShellIsLateral() throws {
        let found = try alertObjects("socat-revshell-internal.pcap")
        XCTAssertEqual(found.first?["severity"] as? String, "medium")
        XCTAssertEqual(found.first?["src"] as? String, "10.70.0.20")
    }
}

extension ThresholdTests {
    func synScan(_ b: inout PacketBuilder, from src: String, to dst: String, at t0: Double, ports: Int) {
        for p in 0..<ports { b.tcp(t0 + Double(p) * 0.01, src, 40000, dst, UInt16(1 + p), flags: 0x02) }
    }

    /// A few packets with addresses no host can have, among normal traffic, feed no detector;
    /// stats names them.
    func testStrayUnassignedAddressesFeedNoDetector() throws {
        var b = PacketBuilder()
        for i in 0..<20 {
            b.session(
                1000 + Double(i), "10.0.0.5", UInt16(43000 + i), "10.0.0.9", 80,
                exchange: [(true, Array("GET / HTTP/1.1\r\n\r\n".utf8)), (false, Array("HTTP/1.1 200 OK\r\n\r\n".utf8))])
        }
        synScan(&b, from: "241.3.0.1", to: "10.0.0.9", at: 1030, ports: 40)
        let tmp = TempDir()
        try b.write(tmp.path("in.pcap"))
        let (store, _) = try ingest([tmp.path("in.pcap")], db: tmp.path("s.sqlite"))
        XCTAssertEqual(try CorpusTests.alerts(store).map(\.kind), [])
        let stats = try store.stats().json
        XCTAssertEqual(stats["withheld_from_detectors"]?["unassigned_address"]?.int, 40, "\(stats.render())")
        // The same probes from an assigned address are a scan.
        var c = PacketBuilder()
        synScan(&c, from: "10.0.0.66", to: "10.0.0.9", at: 1030, ports: 40)
        XCTAssertEqual(try kinds(c), ["port_scan"])
    }

    /// A capture anonymized into reserved space (every address in 240.0.0.0/4) is data.
    func testCaptureConsistentlyInReservedSpaceIsAnalysed() throws {
        var b = PacketBuilder()
        synScan(&b, from: "241.3.0.1", to: "242.0.0.9", at: 1000, ports: 40)
        XCTAssertEqual(try kinds(b), ["port_scan"])
    }

    func testAssignedAddressSpace() {
        for a in ["2001:db8::1", "fd00::1", "fe80::1", "ff02::1", "::1", "::", "64:ff9b::a00:1", "100::1", "10.0.0.1", "255.255.255.255"] {
            XCTAssertTrue(IPAddress(a)!.isInAssignedSpace, a)
        }
        for a in ["4a00::1", "c000::1", "8001:2::3", "241.0.0.1", "e000::"] {
            XCTAssertFalse(IPAddress(a)!.isInAssignedSpace, a)
        }
    }
}

extension ThresholdTests {
    /// A peer-to-peer client on one UDP port: `kept` peers answer and are contacted twice more,
    /// `once` answer once and are left, then 30 candidates never answer.
    func fanOut(kept: Int, once: Int = 0) -> PacketBuilder {
        var b = PacketBuilder()
        let me = "10.0.0.5"
        for round in 0..<3 {
            for i in 0..<kept {
                let t = 1000 + Double(round) * 2 + Double(i) * 0.01, peer = "10.0.4.\(i + 1)"
                b.udp(t, me, 40000, peer, 6881, payload: Array("ping \(round)".utf8))
                b.udp(t + 0.001, peer, 6881, me, 40000, payload: Array("pong".utf8))
            }
        }
        for i in 0..<once {
            let t = 1001 + Double(i) * 0.01, peer = "10.0.5.\(i + 1)"
            b.udp(t, me, 40000, peer, 6881, payload: Array("find".utf8))
            b.udp(t + 0.001, peer, 6881, me, 40000, payload: Array("node".utf8))
        }
        for i in 0..<30 { b.udp(1010 + Double(i) * 0.05, me, 40000, "10.0.6.\(i + 1)", 6881, payload: Array("find".utf8)) }
        return b
    }

    func testPeerToPeerFanOutThatKeepsItsPeersIsNotASweep() throws {
        XCTAssertEqual(try kinds(fanOut(kept: 3)), [])
        XCTAssertEqual(try kinds(fanOut(kept: 2)), ["host_sweep"], "fewer kept peers than keptPeersMin")
        // Most answering hosts left after one answer: a sweep that found them.
        XCTAssertEqual(try kinds(fanOut(kept: 3, once: 10)), ["host_sweep"])
    }
}
