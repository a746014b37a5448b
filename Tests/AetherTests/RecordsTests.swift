import AetherCore
import AetherDetect
import AetherEngine
import AetherFlows
import AetherStore
import Foundation
import XCTest

/// Records in: detector events written as records and fed back, whole or
/// partitioned by host, give the alerts ingest gives; fragments of a cut connection join.
final class RecordsTests: XCTestCase {
    /// Ingests `path` with an event recorder; returns the records and the alerts of the run.
    func record(_ path: String) throws -> (lines: [String], alerts: [Alert]) {
        let dir = TempDir()
        let store = try Store(path: dir.path("s.sqlite"))
        let p = try Pipeline(store: store, options: IngestOptions(detect: true))
        var bytes: [UInt8] = []
        let recorder = EventRecorder(file: 0) { b in
            bytes.append(contentsOf: b)
            return true
        }
        p.detector?.recorder = recorder
        _ = try p.ingest([path])
        recorder.flush()
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        return (lines, p.detector?.finalAlerts ?? [])
    }

    func key(_ a: Alert) -> String {
        "\(a.kind) \(a.src) \(a.dst?.description ?? a.dsts.map(\.description).sorted().joined(separator: ",")) \(a.start)"
    }

    /// Every recorded attack: the same alerts from records, in one engine and in three
    /// partitions of hosts.
    func testReplayGivesIngestAlerts() throws {
        let folder = Shared.repoRoot.appendingPathComponent("Fixtures/attacks").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".pcap") }.sorted()
        XCTAssertGreaterThan(files.count, 20)
        var withAlerts = 0
        for f in files {
            let (lines, truth) = try record(folder + "/" + f)
            if !truth.isEmpty { withAlerts += 1 }
            let records = try lines.map { try JSONParser.parse($0) }
            let connections = try records.compactMap { r in try r["c"].map(connection(fromRecord:)) }
            XCTAssertFalse(connections.isEmpty, f)
            let first = connections.map(\.firstTime).min() ?? 0
            let seen = connections.contains { c in
                DetectorConfig().internalNetworks.contains { $0.contains(c.origAddress) || $0.contains(c.respAddress) }
            }
            for parts in [1, 3] {
                var groups = Array(repeating: [JSON](), count: parts)
                for r in records { groups[Int((r["h"]?.string ?? "").utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF }) % parts].append(r) }
                var got: [String] = []
                for g in groups {
                    let replay = EventReplay(engine: DetectionEngine(), join: FragmentJoin())
                    replay.assume(firstTime: first, internalSeen: seen)
                    for r in g.sorted(by: { ($0["t"]!.int!, $0["q"]!.int!) < ($1["t"]!.int!, $1["q"]!.int!) }) { try replay.take(r) }
                    got += replay.engine.finalAlerts.map(key)
                }
                XCTAssertEqual(got.sorted(), truth.map(key).sorted(), "\(f), \(parts) partition(s)")
            }
        }
        XCTAssertGreaterThan(withAlerts, 10)
    }

    func testRecordsOutOfOrderAreRefused() throws {
        let replay = EventReplay(engine: DetectionEngine(), join: FragmentJoin())
        try replay.take(try JSONParser.parse(#"{"h":"10.0.0.1","t":20,"q":0,"f":0,"e":"arp","at":20,"op":1,"s":"10.0.0.1","d":"10.0.0.2"}"#))
        XCTAssertThrowsError(
            try replay.take(try JSONParser.parse(#"{"h":"10.0.0.1","t":10,"q":1,"f":0,"e":"arp","at":10,"op":1,"s":"10.0.0.1","d":"10.0.0.3"}"#)))
        XCTAssertThrowsError(try replay.take(try JSONParser.parse(#"{"h":"10.0.0.1","t":30,"q":2,"f":0,"e":"nonsense"}"#)))
        XCTAssertThrowsError(try replay.take(try JSONParser.parse(#"{"h":"10.0.0.1","t":40,"q":3,"f":0,"e":"opened"}"#)))
    }

    func testFragmentsJoinAsOneConnection() {
        var a = Connection()
        a.id = 7; a.proto = IPProto.tcp
        a.origAddress = IPAddress("10.0.0.1")!; a.origPort = 40000
        a.respAddress = IPAddress("10.0.0.2")!; a.respPort = 22
        a.firstTime = 100; a.lastTime = 200
        a.origPackets = 5; a.respPackets = 4; a.origBytes = 300; a.respBytes = 900
        a.history = History("ShAD")
        a.origState = .established; a.respState = .established
        // The next file's fragment, which the table there saw first from the server.
        var b = Connection()
        b.id = 99; b.proto = IPProto.tcp
        b.origAddress = a.respAddress; b.origPort = 22
        b.respAddress = a.origAddress; b.respPort = 40000
        b.firstTime = 250; b.lastTime = 300
        b.origPackets = 2; b.respPackets = 3; b.origBytes = 100; b.respBytes = 10
        b.history = History("^DaF")
        b.origState = .closed; b.respState = .partial
        XCTAssertTrue(a.isFlipped(b))
        a.absorb(b)
        XCTAssertEqual(a.id, 7)
        XCTAssertEqual(a.origAddress, IPAddress("10.0.0.1")!)
        XCTAssertEqual(a.origPackets, 8); XCTAssertEqual(a.respPackets, 6)
        XCTAssertEqual(a.origBytes, 310); XCTAssertEqual(a.respBytes, 1000)
        XCTAssertEqual(a.firstTime, 100); XCTAssertEqual(a.lastTime, 300)
        XCTAssertEqual(a.history.description, "ShADdf")
        XCTAssertEqual(a.respState, .closed)
        XCTAssertEqual(a.origState, .established)
        XCTAssertEqual(a.state, "S3")
        XCTAssertFalse(a.joinedMidStream)
    }

    func testJSONParser() throws {
        let v = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "s": "x\"\\\/\n\u00e9\ud83d\ude00", "o": {}} "#)
        XCTAssertEqual(v["a"]?.array?.count, 7)
        XCTAssertEqual(v["a"]?.array?[1].int, -2)
        XCTAssertEqual(v["a"]?.array?[2].double, 3.5)
        XCTAssertEqual(v["a"]?.array?[3].double, 1000)
        XCTAssertEqual(v["s"]?.string, "x\"\\/\né😀")
        // Integers are read without a String in between: the 64-bit edges, and one past them.
        XCTAssertEqual(try JSONParser.parse("9223372036854775807").int, Int64.max)
        XCTAssertEqual(try JSONParser.parse("-9223372036854775808").int, Int64.min)
        XCTAssertEqual(try JSONParser.parse("1700000000034450000").int, 1_700_000_000_034_450_000)
        XCTAssertEqual(try JSONParser.parse("-0").int, 0)
        guard case .double(let big) = try JSONParser.parse("9223372036854775808") else { return XCTFail("not a double") }
        XCTAssertEqual(big, 9_223_372_036_854_775_808)
        guard case .double = try JSONParser.parse("-9223372036854775809") else { return XCTFail("not a double") }
        guard case .double = try JSONParser.parse("99999999999999999999") else { return XCTFail("not a double") }
        XCTAssertEqual(try JSONParser.parse(#"{"t":true,"f":false,"n":null}"#).render(pretty: false), #"{"t":true,"f":false,"n":null}"#)
        // What the writer writes, the reader reads back.
        let record = JSON.object([("k", .string("<tab>\t\u{1}")), ("n", .int(Int64.min)), ("l", .array([.double(0.25)]))])
        XCTAssertEqual(try JSONParser.parse(record.render(pretty: false)).render(pretty: false), record.render(pretty: false))
        for bad in [
            "", "{", "[1,]", "{\"a\" 1}", "\"abc", "\"\\x\"", "01x", "{} x", "tru", "nul", "falsy", "-", "1-", "\"\u{1}\"",
            String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        ] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
    }
}

final class ZeekLogTests: XCTestCase {
    func testValuesAreWrittenAsZeekWritesThem() {
        let fields: [(String, String)] = [
            ("ts", "time"), ("query", "string"), ("answers", "vector[string]"), ("rcode", "count"), ("empty", "string"), ("none", "set[string]"),
            ("d", "interval"),
        ]
        let record = JSON.object([
            ("ts", .double(1_700_000_000.5)), ("query", .string("a\tb\\c\u{7}é")), ("answers", .array([.string("x,y"), .string("z")])),
            ("rcode", .null), ("empty", .string("")), ("none", .array([])), ("d", .double(0.000_0004)),
        ])
        XCTAssertEqual(ZeekLog.line(record, fields: fields), "1700000000.500000\ta\\x09b\\x5cc\\x07é\tx\\x2cy,z\t-\t(empty)\t(empty)\t0.000000")
        XCTAssertEqual(ZeekLog.header(.ssl, fields: fields)[4], "#path\tssl")
        XCTAssertNil(ZeekLog.fields(.series))
    }
}
