import AetherCore
import AetherDetect
import AetherFlows
import AetherStore
import Foundation
import XCTest

/// One schema per record type (`RecordSchemas`): every writer derives from it, so what each
/// writes is checked against it field by field, and each field is read back from the Zeek log
/// and compared with the JSON record it came from. Runs on a fresh clone (Fixtures only).
final class RecordSchemaTests: XCTestCase {
    func testEveryWriterFollowsTheSchemaAndEveryFieldRoundTrips() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        let captures = ["Fixtures/demo.pcapng", "Fixtures/attacks/tls-cdn-sessions.pcap", "Fixtures/tls12-certificates.pcap", "Fixtures/http-files.pcap"].map {
            Shared.repoRoot.appendingPathComponent($0).path
        }
        let ingest = try runTool(aetherBinary, ["ingest", "--db", db] + captures)
        XCTAssertEqual(ingest.status, 0, ingest.err)
        let json = tmp.path("json"), logs = tmp.path("logs")
        XCTAssertEqual(try runTool(aetherBinary, ["export", "--db", db, "--out", json]).status, 0)
        XCTAssertEqual(try runTool(aetherBinary, ["export", "--db", db, "--out", logs, "--format", "zeek"]).status, 0)

        // `aether schema --json` is the schema, in order, with both types.
        let described = try JSONParser.parse(try runTool(aetherBinary, ["schema", "--json"]).out)
        for table in RecordTable.allCases {
            let fields = RecordSchemas.description(table)
            let shown = described[table.rawValue]?.array ?? []
            XCTAssertEqual(shown.compactMap { $0["name"]?.string }, fields.map(\.name), table.rawValue)
            XCTAssertEqual(shown.compactMap { $0["arrow_type"]?.string }, fields.map(\.arrow.rawValue), table.rawValue)
            XCTAssertEqual(shown.map { $0["zeek_type"]?.string }, fields.map(\.zeekType), table.rawValue)
        }

        var recordsSeen: [RecordTable: Int] = [:]
        for table in RecordTable.allCases {
            let fields = RecordSchemas.description(table)
            let lines = try String(contentsOfFile: "\(json)/\(table.rawValue).jsonl", encoding: .utf8).split(separator: "\n")
            let records = try lines.map { try JSONParser.parse(String($0)) }
            recordsSeen[table] = records.count
            for r in records {
                guard case .object(let pairs) = r else { return XCTFail("\(table): not an object") }
                XCTAssertEqual(pairs.map(\.0), fields.map(\.name), "\(table): JSON keys are the schema's, in order")
                for (name, value) in pairs {
                    let arrow = fields.first { $0.name == name }!.arrow
                    XCTAssertTrue(Self.fits(value, arrow), "\(table).\(name): \(value) is not \(arrow)")
                }
            }
            let zeekFields = fields.compactMap { f in f.zeekType.map { (f.name, $0) } }
            guard !zeekFields.isEmpty else {
                XCTAssertFalse(FileManager.default.fileExists(atPath: "\(logs)/\(table.rawValue).log"), "\(table) has no Zeek log")
                continue
            }
            let log = try String(contentsOfFile: "\(logs)/\(table.rawValue).log", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(log.first { $0.hasPrefix("#fields\t") }, Substring("#fields\t" + zeekFields.map(\.0).joined(separator: "\t")))
            XCTAssertEqual(log.first { $0.hasPrefix("#types\t") }, Substring("#types\t" + zeekFields.map(\.1).joined(separator: "\t")))
            let rows = log.filter { !$0.hasPrefix("#") }
            XCTAssertEqual(rows.count, records.count, "\(table): one log line per record")
            for (row, record) in zip(rows, records) {
                let values = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                XCTAssertEqual(values.count, zeekFields.count)
                for ((name, type), text) in zip(zeekFields, values) {
                    XCTAssertTrue(Self.same(text, record[name] ?? .null, zeekType: type), "\(table).\(name): log '\(text)' against \(record[name] ?? .null)")
                }
            }
        }
        // Each table the fixtures can fill was filled, so every field above was read back.
        for table in [RecordTable.conn, .dns, .ssl, .http, .x509, .files, .series] { XCTAssertGreaterThan(recordsSeen[table] ?? 0, 0, "\(table) records") }

        // `flows --zeek` is the same writer as export's conn.log.
        let flows = try runTool(aetherBinary, ["flows", "--db", db, "--zeek"])
        XCTAssertEqual(flows.status, 0)
        XCTAssertEqual(flows.out, try String(contentsOfFile: "\(logs)/conn.log", encoding: .utf8))
        let three = try runTool(aetherBinary, ["flows", "--db", db, "--zeek", "--limit", "3"]).out.split(separator: "\n")
        XCTAssertEqual(three.filter { !$0.hasPrefix("#") }.count, 3)
    }

    /// A connection's own record (what `detect` writes) has the schema's fields, and the values
    /// the store gives the same connection.
    func testAConnectionsRecordIsTheStoresRecord() throws {
        var c = Connection()
        c.id = 7; c.captureID = 2; c.firstTime = 1_700_000_000_123_456_000; c.lastTime = c.firstTime + 2_500_000_000
        c.origAddress = IPAddress("10.0.0.1")!; c.origPort = 40_000; c.respAddress = IPAddress("10.0.0.2")!; c.respPort = 443
        c.proto = 6; c.origPackets = 3; c.respPackets = 4; c.origBytes = 100; c.respBytes = 2000; c.origIPBytes = 220; c.respIPBytes = 2160
        c.tunnelParent = 5; c.tunnelKind = Tunnel.gre
        guard case .object(let pairs) = c.connRecord else { return XCTFail("not an object") }
        XCTAssertEqual(pairs.map(\.0), RecordSchemas.description(.conn).map(\.name))
        XCTAssertEqual(c.connRecord["duration"]?.double, 2.5)
        XCTAssertEqual(c.connRecord["tunnel_parents"]?.array?.first?.string, connectionUID(5))
        XCTAssertEqual(c.connRecord["tunnel"]?.string, "gre")
        XCTAssertEqual(c.connRecord["capture_id"]?.int, 2)

        // And the store's record of it, once stored, is the same record: both read the values
        // through the flow columns, one from the connection, one from its row.
        var plain = c
        plain.id = 8; plain.tunnelParent = 0; plain.tunnelKind = 0; plain.service = .ssh; plain.history.add(UInt8(ascii: "S"))
        let tmp = TempDir()
        let store = try Store(path: tmp.path("conn.sqlite"))
        try store.insert(connections: [c, plain])
        var stored: [String] = []
        try store.records(.conn) { stored.append($0.render(pretty: false)) }
        XCTAssertEqual(stored, [c.connRecord.render(pretty: false), plain.connRecord.render(pretty: false)])
        XCTAssertEqual(plain.connRecord["service"]?.string, "ssh")
        XCTAssertEqual(plain.connRecord["history"]?.string, "S")
        XCTAssertEqual(plain.connRecord["tunnel_parents"]?.array?.count, 0)
    }

    /// The connection snapshot records carry between a shard and `detect` (`EventRecorder`):
    /// every field set to something other than its default comes back as it went.
    /// Connection uids are in every store, log and alert already written: the same ids give the
    /// same text as the first implementation (an array of characters per call) did.
    func testConnectionUIDsAreStable() {
        func reference(_ id: Int64) -> String {
            let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
            var v = UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15
            var s = "C"
            for _ in 0..<17 {
                s.append(alphabet[Int(v % 62)])
                v /= 62
                if v == 0 { v = UInt64(bitPattern: id) &+ 0x1234567 }
            }
            return s
        }
        var rng = SplitMix(seed: 7)
        let ids: [Int64] = [0, 1, 5, -1, .max, .min, 4_294_967_301] + (0..<2000).map { _ in Int64(bitPattern: rng.next()) }
        for id in ids { XCTAssertEqual(connectionUID(id), reference(id), "\(id)") }
        XCTAssertEqual(connectionUID(1).count, 18)
    }

    func testTheSnapshotCodecCarriesEveryField() throws {
        var c = Connection()
        c.id = 9; c.firstTime = 1_000; c.lastTime = 5_000
        c.origAddress = IPAddress("10.1.2.3")!; c.origPort = 1234; c.respAddress = IPAddress("2001:db8::1")!; c.respPort = 22
        c.proto = 6; c.vlan = 7; c.service = .ssh
        c.origPackets = 11; c.respPackets = 12; c.origBytes = 13; c.respBytes = 14; c.origIPBytes = 15; c.respIPBytes = 16
        c.history = History("ShAD"); c.origState = .established; c.respState = .established
        c.loginFailures = 3; c.loginSuccesses = 1; c.inspected = 2; c.appState = 0xABCD; c.tunnelKind = Tunnel.gre; c.tunnelParent = 4
        c.firstPacket = 100; c.lastPacket = 200; c.firstFrame = 50; c.captureID = 3
        c.restore(idleClass: 1, lastOriginatorPayload: 4_000)
        let sent = EventRecorder.snapshot(c), blank = EventRecorder.snapshot(Connection())
        guard case .array(let values) = sent, case .array(let defaults) = blank else { return XCTFail("not arrays") }
        XCTAssertEqual(values.count, EventRecorder.snapshotKeys.count)
        for ((key, value), empty) in zip(zip(EventRecorder.snapshotKeys, values), defaults) {
            XCTAssertNotEqual(value.render(pretty: false), empty.render(pretty: false), "\(key) is not exercised")
        }
        let back = try connection(fromRecord: try JSONParser.parse(sent.render(pretty: false)))
        XCTAssertEqual(EventRecorder.snapshot(back).render(pretty: false), sent.render(pretty: false))
        // The same values by key (a record written by hand), and what is refused.
        let keyed = JSON.object(Array(zip(EventRecorder.snapshotKeys, values)))
        XCTAssertEqual(EventRecorder.snapshot(try connection(fromRecord: keyed)).render(pretty: false), sent.render(pretty: false))
        XCTAssertThrowsError(try connection(fromRecord: try JSONParser.parse(#"{"id":1}"#)))
        XCTAssertThrowsError(try connection(fromRecord: .array(Array(values.dropLast()))))
        XCTAssertThrowsError(try connection(fromRecord: .int(1)))
    }

    static func fits(_ v: JSON, _ arrow: ArrowType) -> Bool {
        switch (v, arrow) {
        case (.null, _), (.string, .string), (.int, .int64), (.double, .double), (.int, .double), (.bool, .bool): return true
        case (.array(let a), .strings): return a.allSatisfy { $0.string != nil }
        default: return false
        }
    }

    /// A Zeek log value read back against the JSON value it was written from.
    static func same(_ text: String, _ v: JSON, zeekType: String) -> Bool {
        if case .null = v { return text == "-" }
        switch zeekType {
        case "time", "interval":
            guard let d = v.double, let t = Double(text), text.split(separator: ".").last?.count == 6 else { return false }
            return abs(d - t) <= 1e-6  // six decimals, as Zeek writes them
        case "count", "port": return v.int.map { String($0) } == text
        case "bool":
            guard case .bool(let b) = v else { return false }
            return text == (b ? "T" : "F")
        case "set[string]", "vector[string]", "vector[addr]":
            guard let a = v.array else { return false }
            return a.isEmpty ? text == "(empty)" : text.split(separator: ",").map { unescape(String($0)) } == a.compactMap(\.string)
        default:
            guard let s = v.string else { return false }
            return s.isEmpty ? text == "(empty)" : unescape(text) == s
        }
    }

    /// Zeek's `\xNN` escapes undone.
    static func unescape(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count, b[i + 1] == UInt8(ascii: "x"),
                let n = UInt8(String(decoding: b[i + 2...i + 3], as: UTF8.self), radix: 16)
            {
                out.append(n)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
