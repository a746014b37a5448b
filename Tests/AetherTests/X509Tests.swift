import AetherCore
import AetherDecode
import AetherStore
import Foundation
import XCTest

/// Certificates made with `openssl req -x509` / `openssl x509 -req` (Fixtures/x509), read as
/// `openssl x509 -noout -subject -issuer -dates -serial` prints them.
final class X509Tests: XCTestCase {
    private func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Shared.repoRoot.appendingPathComponent("Fixtures/x509/" + name)))
    }

    func testSelfSignedShortLivedRSA() throws {
        let c = try XCTUnwrap(X509Parser.parse(try fixture("self-signed-rsa2048-3d.der")))
        XCTAssertEqual(c.subject, "O=Aether Test,CN=c2.evil.test")
        XCTAssertEqual(c.issuer, c.subject)
        XCTAssertTrue(c.selfSigned)
        XCTAssertEqual(c.serial, "5D71A16347E150EFA5E27991CCDEE73155353EDF")
        XCTAssertEqual(c.notBefore, 1_796_358_209)
        XCTAssertEqual(c.notAfter, 1_796_617_409)
        XCTAssertEqual(c.keyType, "rsa")
        XCTAssertEqual(c.keyBits, 2048)
        XCTAssertEqual(c.san, ["c2.evil.test", "www.c2.evil.test"])
    }

    func testCASignedEC() throws {
        let c = try XCTUnwrap(X509Parser.parse(try fixture("leaf-ec256-90d.der")))
        XCTAssertEqual(c.subject, "O=Example\\, Inc.,CN=www.example.test")
        XCTAssertEqual(c.issuer, "CN=Aether Root,O=Aether Test CA,C=US")
        XCTAssertFalse(c.selfSigned)
        XCTAssertEqual(c.serial, "0100")
        XCTAssertEqual(c.notBefore, 1_796_358_288)
        XCTAssertEqual(c.notAfter, 1_804_134_288)
        XCTAssertEqual(c.keyType, "ec")
        XCTAssertEqual(c.keyBits, 256)
        XCTAssertEqual(c.san, ["www.example.test", "192.0.2.7"])
    }

    /// Cut at every length, or with any one byte changed: nil or a certificate, never a crash.
    func testMalformedNeverCrashes() throws {
        let der = try fixture("leaf-ec256-90d.der")
        for n in 0..<der.count { XCTAssertNil(X509Parser.parse(Array(der[..<n])), "cut at \(n)") }
        for i in 0..<der.count {
            for v: UInt8 in [0x00, 0x7F, 0x80, 0x84, 0xFF] {
                var d = der
                d[i] = v
                _ = X509Parser.parse(d)
            }
        }
    }

    /// A TLS Certificate message's list: lengths checked, at most 10 certificates.
    func testChain() throws {
        let a = try fixture("leaf-ec256-90d.der"), b = try fixture("self-signed-rsa2048-3d.der")
        func u24(_ n: Int) -> [UInt8] { [UInt8(n >> 16), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] }
        let list = u24(a.count) + a + u24(b.count) + b
        XCTAssertEqual(X509Parser.chain((u24(list.count) + list)[...]), [a, b])
        XCTAssertNil(X509Parser.chain((u24(list.count + 1) + list)[...]))
        XCTAssertNil(X509Parser.chain((u24(list.count) + list.dropLast())[...]))
    }
}

/// The certificates servers presented on the wire (scripts/make-tls-capture.sh: TLS 1.2 between
/// two namespaces, MTU 1500: a self-signed one, a CA's leaf with its CA, an expired leaf),
/// reassembled across segments and stored with their connection.
final class X509CaptureTests: XCTestCase {
    func testCertificatesOfARecordedSession() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/tls12-certificates.pcap").path
        let r = try runTool(aetherBinary, ["ingest", cap, "--db", db])
        XCTAssertEqual(r.status, 0, r.err)
        let rows = try runTool(
            "/usr/bin/sqlite3",
            [
                db,
                "SELECT f.resp_p, x.depth, x.subject, x.issuer, x.key_type, x.key_bits, x.self_signed, x.not_after - x.not_before, length(x.san) - length(replace(x.san, ',', '')) + 1 FROM x509 x JOIN flow f ON f.id = x.flow_id ORDER BY x.ts, x.depth",
            ]
        ).out.split(separator: "\n").map(String.init)
        XCTAssertEqual(
            rows,
            [
                // Over 2 KB: the message spans two segments.
                "8443|0|O=Aether Test,CN=c2.evil.test|O=Aether Test,CN=c2.evil.test|rsa|4096|1|259200|41",
                "443|0|O=Example\\, Inc.,CN=www.example.test|CN=Aether Root,O=Aether Test CA,C=US|ec|256|0|7776000|2",
                "443|1|CN=Aether Root,O=Aether Test CA,C=US|CN=Aether Root,O=Aether Test CA,C=US|ec|256|1|315360000|1",
                "8443|0|O=Aether Test,CN=c2.evil.test|O=Aether Test,CN=c2.evil.test|rsa|4096|1|259200|41",
                // Signed by the same CA, valid January to April 2024: expired when seen.
                "9443|0|CN=old.example.test|CN=Aether Root,O=Aether Test CA,C=US|ec|256|0|7862400|1",
                "9443|1|CN=Aether Root,O=Aether Test CA,C=US|CN=Aether Root,O=Aether Test CA,C=US|ec|256|1|315360000|1",
            ])
    }

    /// The report lists the certificates, flagged ones first, and puts a flagged certificate of
    /// an alert's destination beside the alert as evidence.
    func testReportShowsCertificatesAndTheirEvidenceOnAlerts() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite"), html = tmp.path("r.html")
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/tls12-certificates.pcap").path
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", cap, "--db", db]).status, 0)
        do {
            let store = try Store(path: db)
            var a = Alert(kind: "beacon", severity: "high", src: IPAddress("10.77.0.1")!, dst: IPAddress("10.77.0.2")!, proto: "tcp", start: 1)
            a.id = 1
            a.ports = [8443]
            try store.save(alerts: [a])
        }
        let r = try runTool(aetherBinary, ["report", "--db", db, "-o", html])
        XCTAssertEqual(r.status, 0, r.err)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let table = try XCTUnwrap(page.range(of: "id=\"certificates\"")).upperBound
        let rows = page[table...]
        let selfSigned = try XCTUnwrap(rows.range(of: "10.77.0.2:8443")).lowerBound
        let caSigned = try XCTUnwrap(rows.range(of: "10.77.0.2:443<")).lowerBound
        XCTAssertLessThan(selfSigned, caSigned, "flagged first")
        XCTAssertTrue(page.contains("self-signed, valid 3 days"))
        XCTAssertTrue(page.contains("class=\"cert-evidence\">Certificate of 10.77.0.2:8443: self-signed, valid 3 days"), "beside the beacon alert")
        XCTAssertTrue(page.contains("class=\"cert-evidence\">Certificate of 10.77.0.2:9443: expired when seen"), "the expired one too")
        let expired = try XCTUnwrap(rows.range(of: "10.77.0.2:9443")).lowerBound
        XCTAssertLessThan(expired, caSigned, "flagged first")
    }

    /// A Spark shard hands the certificates on as x509 records (the job writes them as a Parquet
    /// table and imports them for its report).
    func testAShardHandsCertificatesOn() throws {
        let tmp = TempDir()
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/tls12-certificates.pcap").path
        let list = tmp.path("list")
        try "0\t\(cap)\n".write(toFile: list, atomically: true, encoding: .utf8)
        let r = try runTool("/bin/sh", ["-c", "\"$0\" shard --stream --out - --work \"$1\" < \"$2\"", aetherBinary, tmp.path(""), list])
        XCTAssertEqual(r.status, 0, r.err)
        let x509 = r.out.split(separator: "\n").filter { $0.hasPrefix("x509\t") }
        XCTAssertEqual(x509.count, 6)
        let first = try JSONParser.parse(String(x509[0].dropFirst(5)))
        XCTAssertEqual(first["certificate.subject"]?.string, "O=Aether Test,CN=c2.evil.test")
        XCTAssertEqual(first["san.dns"]?.array?.count, 41)
    }
}
