@testable import AetherStore
import Foundation
import XCTest

/// DNS, TLS and HTTP names on the shared captures equal what tshark prints.
final class MetadataTests: XCTestCase {
    /// Deliberate differences, each with its reason.
    static let differences: [String: String] = [
        // tshark also dissects the DNS query quoted inside an ICMPv6 error; a quoted packet is not a lookup.
        "icmpv6_traceroute-nd.pcap": "dns"
    ]

    func testNamesEqualTshark() throws {
        _ = try Shared.require()
        guard let tshark = which("tshark") else { throw XCTSkip("tshark not installed (make test installs it)") }
        let files =
            try FileManager.default.contentsOfDirectory(atPath: Shared.captures.path)
            .filter { ($0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") || $0.hasSuffix(".gz")) && !$0.hasPrefix("corrupt") }.sorted()
            + ["large/mixed-browsing_http-dns-tls.pcap"]
        var compared = 0
        for f in files {
            let path = Shared.captures.appendingPathComponent(f).path
            let tmp = TempDir()
            let (store, _) = try ingest([path], db: tmp.path("s.sqlite"))
            func ours(_ sql: String) throws -> Set<String> { Set(try store.rows(sql).map { $0[0].text }) }
            // One tshark run for the three fields (its start-up is most of its time here): a
            // tab between fields, a comma between occurrences.
            let fields = ["dns.qry.name", "tls.handshake.extensions_server_name", "http.host"]
            let r = try runTool(tshark, ["-r", path, "-T", "fields", "-E", "separator=\t"] + fields.flatMap { ["-e", $0] })
            let lines = r.out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
            func theirs(_ column: Int, lower: Bool = false) -> Set<String> {
                Set(
                    lines.flatMap { $0.count > column ? $0[column].split(separator: ",") : [] }.map { lower ? $0.lowercased() : String($0) }.filter {
                        !$0.isEmpty
                    })
            }
            if Self.differences[f] != "dns" {
                XCTAssertEqual(try ours("SELECT DISTINCT qname FROM dns"), theirs(0, lower: true), "\(f): DNS names")
            }
            XCTAssertEqual(
                try ours("SELECT DISTINCT server_name FROM tls WHERE server_name IS NOT NULL"), theirs(1), "\(f): TLS server names")
            XCTAssertEqual(try ours("SELECT DISTINCT host FROM http WHERE host IS NOT NULL"), theirs(2), "\(f): HTTP hosts")
            compared += 1
        }
        XCTAssertGreaterThan(compared, 25)
    }

    /// gencap's truth for the application-level counts, several formats.
    func testApplicationCountsEqualTruth() throws {
        for (name, args) in [
            ("s1.pcap", ["--seed", "1", "--packets", "30000"]),
            ("s2-ns.pcapng", ["--seed", "2", "--packets", "30000", "--format", "pcapng", "--nanosecond"]),
            ("s1.pcap.gz", ["--seed", "1", "--packets", "30000", "--gzip"]),
        ] {
            let cap = try Gencap.make(name, args)
            let t = try Gencap.truth(cap)
            let tmp = TempDir()
            let (store, _) = try ingest([cap], db: tmp.path("s.sqlite"))
            let st = try store.stats()
            XCTAssertEqual(st.dnsQueries, (t["dns_queries"] as! NSNumber).int64Value, "\(name) dns_queries")
            XCTAssertEqual(st.dnsResponses, (t["dns_responses"] as! NSNumber).int64Value, "\(name) dns_responses")
            XCTAssertEqual(st.tlsSNI, t["tls_sni"] as! [String], "\(name) tls_sni")
            XCTAssertEqual(st.httpHosts, t["http_hosts"] as! [String], "\(name) http_hosts")
            XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM tls"), (t["tls_client_hellos"] as! NSNumber).int64Value, "\(name) hellos")
            XCTAssertEqual(try store.db.scalar("SELECT count(*) FROM http"), (t["http_requests"] as! NSNumber).int64Value, "\(name) requests")
        }
    }
}
