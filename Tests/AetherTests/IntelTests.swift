import AetherCore
import AetherDecode
import Foundation
import XCTest

/// `--intel`: Zeek intel files and plain lists, bad lines reported by number, and the
/// `intel_match` alerts a recorded capture gives.
final class IntelTests: XCTestCase {
    func load(_ text: String) throws -> IntelSet {
        let tmp = TempDir()
        let path = tmp.path("intel.dat")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let set = IntelSet()
        try set.load(path)
        return set
    }

    func testZeekIntelFile() throws {
        let s = try load(
            "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + "198.51.100.7\tIntel::ADDR\tfeed\tc2\n"
                + "203.0.113.0/24\tIntel::SUBNET\tfeed\tnet\n" + "203.0.113.128/25\tIntel::SUBNET\tfeed\tnarrower\n"
                + "Evil.Example.\tIntel::DOMAIN\tcase-7\t-\n" + "2001:db8::/32\tIntel::SUBNET\tfeed\tv6\n"
                + "EXAMPLE.net/path?q=1\tIntel::URL\tfeed\turl\n" + "t13d1516h2_8daaf6152771_e5627efa2ab1\tIntel::JA4\tfeed\tja4\n"
                + "not-an-address\tIntel::ADDR\tfeed\tbad\n" + "x\tIntel::WHAT\tfeed\tbad\n" + "only-one-column\n")
        XCTAssertEqual(s.entries.count, 7)
        XCTAssertEqual(s.problems.count, 3, "\(s.problems)")
        XCTAssertTrue(s.problems[0].hasSuffix("line 9: not an address: not-an-address"), s.problems[0])
        XCTAssertTrue(s.problems[1].contains("line 10: unknown indicator_type"), s.problems[1])
        XCTAssertTrue(s.problems[2].contains("line 11: fewer columns"), s.problems[2])
        XCTAssertEqual(s.match(IPAddress("198.51.100.7")!)?.desc, "c2")
        XCTAssertNil(s.match(IPAddress("198.51.100.8")!))
        XCTAssertEqual(s.match(IPAddress("203.0.113.200")!)?.desc, "narrower", "the longest network holding it")
        XCTAssertEqual(s.match(IPAddress("203.0.113.5")!)?.desc, "net")
        XCTAssertEqual(s.match(IPAddress("2001:db8:1::9")!)?.desc, "v6")
        XCTAssertEqual(s.match(domain: "a.b.evil.example")?.indicator, "Evil.Example.", "a domain matches its subdomains")
        XCTAssertEqual(s.match(domain: "EVIL.example")?.source, "case-7")
        XCTAssertEqual(s.match(domain: "evil.example")?.desc, "", "- is no description")
        XCTAssertNil(s.match(domain: "notevil.example"))
        XCTAssertNotNil(s.match("http://example.net/path?q=1", as: .url))
        XCTAssertNotNil(s.match("t13d1516h2_8daaf6152771_e5627efa2ab1", as: .ja4))
    }

    func testPlainList() throws {
        let s = try load("# a colleague's list\n10.9.8.7\n192.0.2.0/28\n\nbad.example\n")
        XCTAssertEqual(s.entries.map(\.kind), [.addr, .subnet, .domain])
        XCTAssertNotNil(s.match(IPAddress("192.0.2.3")!))
        XCTAssertNotNil(s.match(domain: "www.bad.example"))
    }

    /// A recorded DGA run: its resolver, one of its names and an answer's name each match, with
    /// the file's source and description in the evidence; a bad line is reported and skipped.
    func testAnalyzeReportsIntelMatches() throws {
        let tmp = TempDir()
        let intel = tmp.path("intel.dat")
        try
            ("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + "10.70.0.20\tIntel::ADDR\tcase-9\tthe resolver\n"
            + "tun.example\tIntel::DOMAIN\tcase-9\ttunnel zone\n" + "ikaa.us\tIntel::DOMAIN\tcase-9\tanswer name\n"
            + "10.70.0.999\tIntel::ADDR\tcase-9\tbroken\n").write(toFile: intel, atomically: true, encoding: .utf8)
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["analyze", "Fixtures/attacks/dga-nxdomain.pcap", "--db", db, "--report", tmp.path("r.html"), "--intel", intel])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("intel.dat: line 5: not an address: 10.70.0.999 (skipped)"), r.err)
        XCTAssertTrue(r.err.contains("3 indicators from 1 file(s)"), r.err)
        let out = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        let alerts = try JSONSerialization.jsonObject(with: Data(out.out.utf8)) as! [[String: Any]]
        let intelAlerts = alerts.filter { $0["kind"] as? String == "intel_match" }
        let seen = Set(
            intelAlerts.compactMap { a -> String? in
                guard let e = a["evidence"] as? [String: Any] else { return nil }
                return "\(e["indicator"] ?? "") \(e["seen_in"] ?? "") \(e["source"] ?? "")"
            })
        XCTAssertTrue(seen.contains("10.70.0.20 conn.resp_h case-9"), "\(seen)")
        XCTAssertTrue(seen.contains("tun.example dns.query case-9"), "\(seen)")
        XCTAssertTrue(seen.contains("ikaa.us dns.answer case-9"), "\(seen)")
        XCTAssertTrue(alerts.contains { $0["kind"] as? String == "dga" }, "the other detectors still run")
        let report = try String(contentsOfFile: tmp.path("r.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("intel_match"), "the report lists the matches")
    }

    /// A recorded HTTP beacon: its Host as a domain and one request's URL (Zeek's form: no
    /// scheme) each match, over the request heads; the same run without --intel sends no HTTP
    /// events at all (nothing to match).
    func testHTTPHostAndURL() throws {
        let tmp = TempDir()
        let intel = tmp.path("intel.dat")
        try
            ("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + "updates.example\tIntel::DOMAIN\tcase-3\thost\n"
            + "http://updates.example/beacon?id=0\tIntel::URL\tcase-3\turl\n").write(toFile: intel, atomically: true, encoding: .utf8)
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["ingest", "Fixtures/attacks/beacon-http-30s.pcap", "--db", db, "--intel", intel])
        XCTAssertEqual(r.status, 0, r.err)
        let out = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        let alerts = try JSONSerialization.jsonObject(with: Data(out.out.utf8)) as! [[String: Any]]
        let seen = Dictionary(
            alerts.filter { $0["kind"] as? String == "intel_match" }.compactMap { a -> (String, Int)? in
                guard let e = a["evidence"] as? [String: Any], let w = e["seen_in"] as? String else { return nil }
                return (w, e["sightings"] as? Int ?? 0)
            }, uniquingKeysWith: +)
        XCTAssertEqual(seen["http.host"], 40, "every request's Host: \(seen)")
        XCTAssertEqual(seen["http.url"], 1, "the one request with that URL: \(seen)")
        XCTAssertTrue(alerts.contains { $0["kind"] as? String == "beacon" }, "the beacon is still found")
    }

    /// A JA4 fingerprint in the intel file matches each ClientHello that has it, in ingest and
    /// in `aether detect` over a shard's records (the fingerprint travels in the record).
    func testJA4() throws {
        let tmp = TempDir()
        let plain = tmp.path("plain.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", tlsCapture, "--db", plain]).status, 0)
        XCTAssertEqual(try runTool(aetherBinary, ["export", "--db", plain, "--out", tmp.path("x")]).status, 0)
        let ja4s = try String(contentsOfFile: tmp.path("x") + "/ssl.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSONParser.parse(String($0))["ja4"]?.string
        }
        try checkFingerprint(ja4s, "Intel::JA4", seenIn: "tls.ja4", written: { $0.uppercased() })
    }

    /// JA3 (`Intel::JA3`): aether's fingerprint of each ClientHello is tshark's, and one in an
    /// intel file matches every hello that has it, through ingest and through shard → detect.
    func testJA3() throws {
        let tshark = try XCTUnwrap(which("tshark"), "make test installs tshark")
        let t = try runTool(tshark, ["-r", tlsCapture, "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tls.handshake.ja3"])
        XCTAssertEqual(t.status, 0, t.err)
        let ja3s = t.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        XCTAssertEqual(ja3s.first?.count, 32)
        try checkFingerprint(ja3s, "Intel::JA3", seenIn: "tls.ja3")
    }

    private let tlsCapture = "Fixtures/attacks/tls-cdn-sessions.pcap"

    /// The first of `seen` (each hello's fingerprint, in order) as an indicator of `type`, written
    /// as `written` gives it, beside one that is never seen: its sightings are the hellos that
    /// have it, in ingest and in `aether detect` over a shard's records.
    private func checkFingerprint(_ seen: [String], _ type: String, seenIn: String, written: (String) -> String = { $0 }) throws {
        let tmp = TempDir()
        let wanted = try XCTUnwrap(seen.first)
        let expected = seen.filter { $0 == wanted }.count
        let intel = tmp.path("intel.dat")
        try
            ("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + written(wanted) + "\t\(type)\tcase-3\tclient kit\n"
            + String(repeating: "0", count: wanted.count) + "\t\(type)\tcase-3\tnever seen\n")
            .write(toFile: intel, atomically: true, encoding: .utf8)
        func sightings(_ alerts: [[String: Any]]) -> Int {
            alerts.filter { $0["kind"] as? String == "intel_match" }.reduce(0) { n, a in
                let e = a["evidence"] as? [String: Any]
                XCTAssertEqual(e?["seen_in"] as? String, seenIn)
                XCTAssertEqual(e?["value"] as? String, wanted)
                return n + (e?["sightings"] as? Int ?? 0)
            }
        }
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["ingest", tlsCapture, "--db", db, "--intel", intel])
        XCTAssertEqual(r.status, 0, r.err)
        let out = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        XCTAssertEqual(sightings(try JSONSerialization.jsonObject(with: Data(out.out.utf8)) as! [[String: Any]]), expected)
        let shard = tmp.path("shard")
        XCTAssertEqual(try runTool(aetherBinary, ["shard", tlsCapture, "--index", "0", "--out", shard]).status, 0)
        let d = try runTool(aetherBinary, ["detect", "--events", shard + "/events.jsonl", "--alerts", tmp.path("a.jsonl"), "--intel", intel])
        XCTAssertEqual(d.status, 0, d.err)
        let lines = try String(contentsOfFile: tmp.path("a.jsonl"), encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(sightings(records), expected, "the records carry the fingerprint")
    }

    /// JA3's string from a literal ClientHello: GREASE left out of ciphers, extensions and
    /// groups; lists in the order sent; the hello's own version, not supported_versions'.
    func testJA3String() throws {
        let body: [UInt8] =
            [0x03, 0x03] + [UInt8](repeating: 0, count: 32) + [0x00]  // version, random, no session id
            + [0x00, 0x06, 0x0A, 0x0A, 0x13, 0x01, 0xC0, 0x2F]  // ciphers: GREASE, 4865, 49199
            + [0x01, 0x00]  // compression: null
            + [0x00, 0x1C]  // extensions, 28 bytes
            + [0x3A, 0x3A, 0x00, 0x00]  // GREASE extension, empty
            + [0x00, 0x0A, 0x00, 0x08, 0x00, 0x06, 0x2A, 0x2A, 0x00, 0x1D, 0x00, 0x17]  // groups: GREASE, 29, 23
            + [0x00, 0x0B, 0x00, 0x02, 0x01, 0x00]  // point formats: 0
            + [0x00, 0x2B, 0x00, 0x02, 0x01, 0x00]  // supported_versions, cut short on purpose: ignored
        let hs: [UInt8] = [0x01, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        let record: [UInt8] = [0x16, 0x03, 0x01, UInt8(hs.count >> 8), UInt8(hs.count & 0xFF)] + hs
        let hello = try XCTUnwrap(record.withUnsafeBytes { TLSParser.parseClientHello($0) })
        XCTAssertEqual(hello.ja3String, "771,4865-49199,10-11-43,29-23,0")
        // Every shorter prefix parses to nil or to a hello whose lists are cut, never past the end.
        for n in 0..<record.count { _ = Array(record.prefix(n)).withUnsafeBytes { TLSParser.parseClientHello($0) } }
    }

    /// A certificate's SHA-1 (Zeek's `Intel::CERT_HASH`) matches where a server presented it in
    /// clear; the certificates' hashes come from tshark and openssl, not from aether.
    func testCertificateHash() throws {
        let tmp = TempDir()
        let cap = "Fixtures/tls12-certificates.pcap"
        let tshark = try XCTUnwrap(which("tshark"), "make test installs tshark")
        let t = try runTool(tshark, ["-r", cap, "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "tls.handshake.certificate"])
        XCTAssertEqual(t.status, 0, t.err)
        var hashes: [String] = []
        for (i, hex) in t.out.split(whereSeparator: { $0 == "\n" || $0 == "," }).enumerated() {
            var der: [UInt8] = []
            var it = hex.replacingOccurrences(of: ":", with: "").makeIterator()
            while let a = it.next(), let b = it.next(), let v = UInt8(String([a, b]), radix: 16) { der.append(v) }
            let path = tmp.path("c\(i).der")
            try Data(der).write(to: URL(fileURLWithPath: path))
            let d = try runTool("/usr/bin/openssl", ["dgst", "-sha1", "-r", path])
            hashes.append(String(d.out.prefix(40)))
        }
        XCTAssertGreaterThanOrEqual(hashes.count, 2, t.out)
        let wanted = hashes[0]
        let intel = tmp.path("intel.dat")
        try
            ("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + wanted + "\tIntel::CERT_HASH\tcase-5\tc2 certificate\n"
            + String(repeating: "0", count: 40) + "\tIntel::CERT_HASH\tcase-5\tnot in the capture\n").write(toFile: intel, atomically: true, encoding: .utf8)
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["ingest", cap, "--db", db, "--intel", intel])
        XCTAssertEqual(r.status, 0, r.err)
        let out = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        let alerts = (try JSONSerialization.jsonObject(with: Data(out.out.utf8)) as! [[String: Any]]).filter { $0["kind"] as? String == "intel_match" }
        XCTAssertFalse(alerts.isEmpty, out.out)
        for a in alerts {
            let e = a["evidence"] as? [String: Any]
            XCTAssertEqual(e?["indicator"] as? String, wanted)
            XCTAssertEqual(e?["seen_in"] as? String, "x509.cert")
            XCTAssertTrue((e?["value"] as? String ?? "").hasPrefix(wanted))
        }
        XCTAssertEqual(alerts.reduce(0) { $0 + (($1["evidence"] as? [String: Any])?["sightings"] as? Int ?? 0) }, hashes.filter { $0 == wanted }.count)
    }
}
