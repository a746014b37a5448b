import AetherCore
import AetherDetect
import Foundation
import XCTest

/// The Spark path's blocks: `aether shard --stream --partitions` writes a file's events by host
/// into files, each in time order, and `aether detect` over those files (merged by time, file
/// order and sequence) gives what detect over the one time-ordered stream gives.
final class ShardPartitionTests: XCTestCase {
    func testPartitionedEventsMergeToTheSameAlertsAndConnections() throws {
        let tmp = TempDir()
        let caps = ["Fixtures/attacks/nmap-connect.pcap", "Fixtures/demo.pcapng"].map { Shared.repoRoot.appendingPathComponent($0).path }
        for (i, cap) in caps.enumerated() {
            // The whole, one stream: the reference.
            let whole = tmp.path("whole\(i)")
            XCTAssertEqual(try runTool(aetherBinary, ["shard", cap, "--index", "0", "--out", whole]).status, 0)
            let a1 = tmp.path("a1-\(i).jsonl"), c1 = tmp.path("c1-\(i).jsonl")
            let d1 = try runTool(aetherBinary, ["detect", "--events", whole + "/events.jsonl", "--alerts", a1, "--conn", c1])
            XCTAssertEqual(d1.status, 0, d1.err)

            let work = tmp.path("work\(i)")
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)
            let s = try runTool(aetherBinary, ["shard", "--stream", "--out", "-", "--work", work, "--partitions", "3"], input: "0\t\(cap)\n")
            XCTAssertEqual(s.status, 0, s.err)
            // Standard output has the file's counts only; everything else is a file.
            XCTAssertEqual(s.out.split(separator: "\n").map { $0.split(separator: "\t").first ?? "" }, ["shard"])
            for f in ["heads-0", "cut-0.jsonl", "dns-0.jsonl", "ssl-0.jsonl", "http-0.jsonl", "x509-0.jsonl", "series-0.jsonl", "conversations-0.jsonl"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/" + f), f)
            }
            var total = 0
            var streams: [String] = []
            for p in 0..<3 {
                let path = work + "/events-0.\(p)"
                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                total += lines.count
                streams += ["--events", path]
                var last: Int64 = .min
                for line in lines {
                    let cols = line.split(separator: "\t", maxSplits: 6, omittingEmptySubsequences: false)
                    XCTAssertEqual(cols.count, 7)
                    // Each record is in its host's partition, and each file is in time order.
                    XCTAssertEqual(EventRecorder.partition(of: String(cols[0]), 3), p)
                    let t = Int64(cols[1])!
                    XCTAssertGreaterThanOrEqual(t, last)
                    last = t
                }
            }
            let wholeLines = try String(contentsOfFile: whole + "/events.jsonl", encoding: .utf8).split(separator: "\n").count
            XCTAssertEqual(total, wholeLines, "every event record is in one partition")
            XCTAssertGreaterThan(total, 100)
            let a2 = tmp.path("a2-\(i).jsonl"), c2 = tmp.path("c2-\(i).jsonl")
            let d2 = try runTool(aetherBinary, ["detect"] + streams + ["--file-order", "0", "--alerts", a2, "--conn", c2])
            XCTAssertEqual(d2.status, 0, d2.err)
            XCTAssertEqual(try sortedLines(a2), try sortedLines(a1), "\(cap): the same alerts")
            XCTAssertEqual(try sortedLines(c2), try sortedLines(c1), "\(cap): the same connections")
        }
    }

    /// An error in a stream's next line comes after the records before it, in line order.
    func testMergeReportsTheFirstBadLine() throws {
        let tmp = TempDir()
        let a = tmp.path("a.jsonl"), b = tmp.path("b.jsonl")
        try "{\"h\":\"10.0.0.1\",\"t\":1,\"q\":0,\"f\":0,\"e\":\"arp\",\"at\":1,\"op\":1,\"s\":\"10.0.0.1\",\"d\":\"10.0.0.2\"}\n{oops\n".write(
            toFile: a, atomically: true, encoding: .utf8)
        try "{\"h\":\"10.0.0.3\",\"t\":5,\"q\":0,\"f\":1,\"e\":\"arp\",\"at\":5,\"op\":1,\"s\":\"10.0.0.3\",\"d\":\"10.0.0.2\"}\n".write(
            toFile: b, atomically: true, encoding: .utf8)
        let r = try runTool(aetherBinary, ["detect", "--events", a, "--events", b, "--alerts", tmp.path("x.jsonl")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("a.jsonl: line 2"), r.err)
        let o = try runTool(aetherBinary, ["detect", "--events", b, "--file-order", "1,x", "--alerts", tmp.path("y.jsonl")])
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(o.err.contains("--file-order"), o.err)
    }

    /// A query at one file's end and its response at the next file's start become one record
    /// (on the root connection's uid); any other half stays as it is.
    func testJoinDNSHalves() throws {
        let tmp = TempDir()
        func rec(_ uid: String, _ id: Int, _ name: String, q: Bool, r: Bool, rcode: String = "null", answers: String = "null") -> String {
            #"{"ts":1.5,"uid":"\#(uid)","trans_id":\#(id),"query":"\#(name)","qtype":1,"rcode":\#(rcode),"answers":\#(answers),"query_seen":\#(q),"response_seen":\#(r)}"#
        }
        let halves = [
            rec("Cfrag", 7, "a.example", q: false, r: true, rcode: "0", answers: #"["192.0.2.1"]"#),  // the answer, on the fragment
            rec("Croot", 7, "a.example", q: true, r: false),  // its query, on the root connection
            rec("Croot", 8, "lonely.example", q: true, r: false),  // never answered
            rec("Cx", 9, "twice.example", q: true, r: false), rec("Cx", 9, "twice.example", q: true, r: false),  // two queries: no pair
        ]
        try (halves.joined(separator: "\n") + "\n").write(toFile: tmp.path("h.jsonl"), atomically: true, encoding: .utf8)
        try #"{"uid":"Cfrag","root_uid":"Croot"}"#.appending("\n").write(toFile: tmp.path("r.jsonl"), atomically: true, encoding: .utf8)
        let r = try runTool(aetherBinary, ["join-dns", "--records", tmp.path("h.jsonl"), "--routes", tmp.path("r.jsonl")])
        XCTAssertEqual(r.status, 0, r.err)
        let out = try r.out.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        XCTAssertEqual(out.count, 4, r.out)
        let joined = out.filter { $0["query"]?.string == "a.example" }
        XCTAssertEqual(joined.count, 1)
        XCTAssertEqual(joined.first?["uid"]?.string, "Croot")
        XCTAssertEqual(joined.first?["rcode"]?.int, 0)
        XCTAssertEqual(joined.first?["answers"]?.array?.first?.string, "192.0.2.1")
        XCTAssertEqual(joined.first?.render(pretty: false).contains(#""query_seen":true,"response_seen":true"#), true)
        XCTAssertEqual(out.filter { $0["query"]?.string == "twice.example" }.count, 2)
        XCTAssertEqual(out.filter { $0["query"]?.string == "lonely.example" }.count, 1)
        // The same halves without the route are two connections' halves: nothing joins.
        let apart = try runTool(aetherBinary, ["join-dns", "--records", tmp.path("h.jsonl")])
        XCTAssertEqual(apart.out.split(separator: "\n").count, 5)
    }

    /// Dotted quads are read in one pass; anything else goes to the general parser, which
    /// decides as before.
    func testAddressText() {
        for text in ["0.0.0.0", "1.2.3.4", "10.20.0.100", "255.255.255.255", "192.168.1.9"] {
            XCTAssertEqual(IPAddress(text)?.description, text)
        }
        XCTAssertEqual(IPAddress("01.2.3.4"), IPAddress("1.2.3.4"))
        for bad in ["256.1.1.1", "1.2.3", "1..2.3", "1.2.3.4.", ".1.2.3", "1.2.3.4.5", "a.b.c.d", "", "1.2.3.-4"] {
            XCTAssertNil(IPAddress(bad), bad)
        }
        XCTAssertEqual(IPAddress("::ffff:10.0.0.1")?.description, IPAddress("::ffff:10.0.0.1")?.description)
        XCTAssertEqual(IPAddress("2001:db8::1")?.description, "2001:db8::1")
    }

    private func sortedLines(_ path: String) throws -> [Substring] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").sorted()
    }
}
