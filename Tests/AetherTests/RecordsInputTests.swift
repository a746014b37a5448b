import Foundation
import XCTest

/// Hardening round two: records inputs go through the capture path's input check (regular
/// files only, links followed to one) and lines are bounded, so no records input can hold
/// memory without bound or block forever.
final class RecordsInputTests: XCTestCase {
    /// A minimal records folder `import` accepts.
    func folder(_ tmp: TempDir) throws -> String {
        let dir = tmp.path("records")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try #"{"file":"a.pcap","size":10,"packets":0}"#.write(toFile: dir + "/shards.jsonl", atomically: true, encoding: .utf8)
        for name in ["conn.jsonl", "alerts.jsonl", "series.jsonl"] { try "".write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    func assertRefused(_ args: [String], _ expect: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let start = Date()
        let r = try runTool(aetherBinary, args)
        XCTAssertEqual(r.status, 1, r.err, file: file, line: line)
        XCTAssertTrue(r.err.contains(expect), r.err, file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line: \(r.err)", file: file, line: line)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, file: file, line: line)
    }

    func testImportRefusesALinkToADevice() throws {
        let tmp = TempDir()
        let dir = try folder(tmp)
        try FileManager.default.removeItem(atPath: dir + "/series.jsonl")
        try FileManager.default.createSymbolicLink(atPath: dir + "/series.jsonl", withDestinationPath: "/dev/zero")
        try assertRefused(["import", "--records", dir, "--db", tmp.path("s.sqlite")], "not a regular file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("s.sqlite")), "a failed import leaves no store")
    }

    /// A failed import leaves nothing behind (no partial store a report would render as a
    /// result, no work folder); a good one leaves the store.
    func testImportIsAllOrNothing() throws {
        let tmp = TempDir()
        let dir = try folder(tmp)
        try "{not json\n".write(toFile: dir + "/alerts.jsonl", atomically: true, encoding: .utf8)
        try assertRefused(["import", "--records", dir, "--db", tmp.path("s.sqlite")], "alerts.jsonl: line 1")
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path(""))
        XCTAssertEqual(left.sorted(), ["records"], "\(left)")
        try "".write(toFile: dir + "/alerts.jsonl", atomically: true, encoding: .utf8)
        let ok = try runTool(aetherBinary, ["import", "--records", dir, "--db", tmp.path("s.sqlite")])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path("")).sorted(), ["records", "s.sqlite"])
        XCTAssertEqual(try runTool(aetherBinary, ["report", "--db", tmp.path("s.sqlite"), "-o", tmp.path("r.html")]).status, 0)
    }

    func testDetectRefusesDevicesAndFIFOs() throws {
        let tmp = TempDir()
        try assertRefused(["detect", "--events", "/dev/zero", "--alerts", tmp.path("a.jsonl")], "not a regular file")
        let fifo = tmp.path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try assertRefused(["detect", "--events", fifo, "--alerts", tmp.path("b.jsonl")], "not a regular file")
        try assertRefused(["detect", "--events", tmp.path("none.jsonl"), "--alerts", tmp.path("c.jsonl")], "cannot read")
    }

    /// A 100 MB line is refused by its number, after at most 16 MB of it was held.
    func testALongLineIsRefusedWithItsNumber() throws {
        let tmp = TempDir()
        let path = tmp.path("events.jsonl")
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.write(Data("\n".utf8))
        let block = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        for _ in 0..<100 { h.write(block) }
        try h.close()
        try assertRefused(["detect", "--events", path, "--alerts", tmp.path("a.jsonl")], "line 2: longer than 16 MB")
    }
}

/// Numbers out of range in records give a one-line error, never a trap (exit 132): each is
/// checked where it is decoded, and sums of counts saturate.
extension RecordsInputTests {
    /// A records folder from the real tools: shard a recorded capture, run detect over it.
    func realFolder(_ tmp: TempDir) throws -> String {
        let shard = tmp.path("shard"), dir = tmp.path("records")
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/attacks/dns-exfil-long.pcap").path
        XCTAssertEqual(try runTool(aetherBinary, ["shard", cap, "--index", "0", "--out", shard]).status, 0)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let d = try runTool(
            aetherBinary,
            ["detect", "--events", shard + "/events.jsonl", "--cuts", shard + "/cut.jsonl", "--alerts", dir + "/alerts.jsonl", "--conn", dir + "/conn.jsonl"])
        XCTAssertEqual(d.status, 0, d.err)
        let shardLine = try String(contentsOfFile: shard + "/shard.json", encoding: .utf8).replacingOccurrences(of: "\n", with: "")
        try (shardLine + "\n").write(toFile: dir + "/shards.jsonl", atomically: true, encoding: .utf8)
        for name in ["series.jsonl", "dns.jsonl"] { try FileManager.default.copyItem(atPath: shard + "/" + name, toPath: dir + "/" + name) }
        return dir
    }

    /// Replaces the first match of `pattern` in the first line of `file` that has one.
    func mutate(_ file: String, _ pattern: String, _ replacement: String) throws {
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let re = try NSRegularExpression(pattern: pattern)
        guard let i = lines.firstIndex(where: { re.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }) else {
            return XCTFail("\(pattern) not in \(file)")
        }
        lines[i] = re.stringByReplacingMatches(in: lines[i], range: NSRange(lines[i].startIndex..., in: lines[i]), withTemplate: replacement)
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// `detect --snapshots` writes each connection whole to a file of its own (what a Spark job
    /// sends its driver) and the conn records without `_c`; import reads either form to the same
    /// connections, and refuses a bad snapshot line by that file's name.
    func testSnapshotsFileImportsAsTheConnRecordsDo() throws {
        let tmp = TempDir()
        let dir = try realFolder(tmp)
        let shard = tmp.path("shard"), split = tmp.path("split")
        try FileManager.default.copyItem(atPath: dir, toPath: split)
        try FileManager.default.removeItem(atPath: split + "/conn.jsonl")
        try FileManager.default.removeItem(atPath: split + "/alerts.jsonl")
        let d = try runTool(
            aetherBinary,
            [
                "detect", "--events", shard + "/events.jsonl", "--cuts", shard + "/cut.jsonl", "--alerts", split + "/alerts.jsonl", "--conn",
                split + "/conn.jsonl", "--snapshots", split + "/connections.jsonl",
            ])
        XCTAssertEqual(d.status, 0, d.err)
        let conn = try String(contentsOfFile: split + "/conn.jsonl", encoding: .utf8)
        XCTAssertFalse(conn.contains(#""_c":"#), "the conn records carry no snapshot")
        XCTAssertEqual(
            try String(contentsOfFile: split + "/connections.jsonl", encoding: .utf8).split(separator: "\n").count, conn.split(separator: "\n").count)
        var flows: [String] = []
        for (folder, db) in [(dir, tmp.path("a.sqlite")), (split, tmp.path("b.sqlite"))] {
            let r = try runTool(aetherBinary, ["import", "--records", folder, "--db", db])
            XCTAssertEqual(r.status, 0, r.err)
            flows.append(try runTool(aetherBinary, ["flows", "--db", db, "--zeek"]).out)
        }
        XCTAssertGreaterThan(flows[0].split(separator: "\n").count, 10)
        XCTAssertEqual(flows[0], flows[1])
        // A snapshot is its values in `ConnectionSnapshot`'s order: the 13th is `ob`.
        try mutate(split + "/connections.jsonl", #"^(\[(?:[^,]*,){12})[0-9]+"#, "$19223372036854775807")
        let bad = try runTool(aetherBinary, ["import", "--records", split, "--db", tmp.path("c.sqlite")])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("connections.jsonl: line") && bad.err.contains("'ob' out of range"), bad.err)
    }

    func testOutOfRangeNumbersInImportAreErrors() throws {
        let cases: [(String, String, String, String)] = [
            ("dns.jsonl", #""ts":[0-9.]+"#, #""ts":1e10"#, "'ts' out of range"),
            // The connection whole (`_c`) is its values in `ConnectionSnapshot`'s order: `ts`
            // second, `ob` thirteenth.
            ("conn.jsonl", #"("_c":\[-?[0-9]+,)[0-9]+"#, "$1-9223372036854775808", "'ts' out of range"),
            ("conn.jsonl", #"("_c":\[(?:[^,]*,){12})[0-9]+"#, "$19223372036854775807", "'ob' out of range"),
            ("shards.jsonl", #""first_ns":-?[0-9]+"#, #""first_ns":9223372036854775807"#, "out of range"),
            ("shards.jsonl", #""first_ns":-?[0-9]+"#, #""first_ns":-9223372036854775808"#, "out of range"),
            ("alerts.jsonl", #""start_ns":[0-9]+"#, #""start_ns":9223372036854775807"#, "out of range"),
        ]
        for (file, pattern, replacement, expect) in cases {
            let tmp = TempDir()
            let dir = try realFolder(tmp)
            try mutate(dir + "/" + file, pattern, replacement)
            let r = try runTool(aetherBinary, ["import", "--records", dir, "--db", tmp.path("s.sqlite")])
            XCTAssertEqual(r.status, 1, "\(file) \(replacement): \(r.err)")
            XCTAssertTrue(r.err.contains(expect) && r.err.contains(file), "\(file) \(replacement): \(r.err)")
        }
    }

    /// Series counts that would overflow when summed saturate; every reader of the store works.
    func testSeriesCountsSaturate() throws {
        let tmp = TempDir()
        let dir = try realFolder(tmp)
        let line = try String(contentsOfFile: dir + "/series.jsonl", encoding: .utf8).split(separator: "\n")[0]
        let huge = line.replacingOccurrences(of: #""packets":[0-9]+"#, with: #""packets":9223372036854775807"#, options: .regularExpression)
        try ([huge, huge, huge].joined(separator: "\n") + "\n").write(toFile: dir + "/series.jsonl", atomically: true, encoding: .utf8)
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["import", "--records", dir, "--db", db])
        XCTAssertEqual(r.status, 0, r.err)
        for args in [["report", "--db", db, "-o", tmp.path("r.html")], ["alerts", "--db", db], ["flows", "--db", db], ["stats", "--db", db, "--json"]] {
            XCTAssertEqual(try runTool(aetherBinary, args).status, 0, "\(args)")
        }
    }

    func testOutOfRangeDNSAnswerLengthInEventsIsAnError() throws {
        let tmp = TempDir()
        let shard = tmp.path("shard")
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/attacks/dns-exfil-long.pcap").path
        XCTAssertEqual(try runTool(aetherBinary, ["shard", cap, "--index", "0", "--out", shard]).status, 0)
        try mutate(shard + "/events.jsonl", #""ans":\[\]"#, #""ans":[[16,60,9223372036854775807,1,"x"]]"#)
        let r = try runTool(aetherBinary, ["detect", "--events", shard + "/events.jsonl", "--alerts", tmp.path("a.jsonl")])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("malformed DNS answer"), r.err)
    }
}

/// Text from records reaches no terminal or page as control characters: ESC, BEL, C1 and bidi
/// overrides are shown escaped by every text command, in JSON and in the report.
extension RecordsInputTests {
    static let hostile = #"x\u001b[2J\u001b]0;owned\u0007\u0085\u202egnp.exe"#

    func assertNothingHidden(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = text.unicodeScalars.filter { u in
            u.value == 0x1B || u.value == 0x07 || (0x80...0x9F).contains(u.value) || u.value == 0x202E
        }
        XCTAssertTrue(bad.isEmpty, "\(what): raw \(bad.map { String($0.value, radix: 16) })", file: file, line: line)
    }

    func testRecordTextIsShownNotObeyed() throws {
        let tmp = TempDir()
        let dir = try folder(tmp)
        let alert =
            #"{"kind":"KIND","severity":"high","src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","start_ns":1000000000,"end_ns":2000000000,"evidence":{"note":"KIND"}}"#
        try (alert.replacingOccurrences(of: "KIND", with: Self.hostile) + "\n").write(toFile: dir + "/alerts.jsonl", atomically: true, encoding: .utf8)
        let db = tmp.path("s.sqlite")
        let r = try runTool(aetherBinary, ["import", "--records", dir, "--db", db])
        XCTAssertEqual(r.status, 0, r.err)
        for args in [["alerts", "--db", db], ["alerts", "--db", db, "--json"], ["query", "--db", db, "SELECT kind, evidence FROM alert"]] {
            let out = try runTool(aetherBinary, args)
            XCTAssertEqual(out.status, 0, "\(args): \(out.err)")
            XCTAssertTrue(out.out.contains("gnp"), "\(args): the text is still shown: \(out.out)")
            assertNothingHidden(out.out + out.err, args.joined(separator: " "))
        }
        XCTAssertEqual(try runTool(aetherBinary, ["report", "--db", db, "-o", tmp.path("r.html")]).status, 0)
        assertNothingHidden(try String(contentsOfFile: tmp.path("r.html"), encoding: .utf8), "report")
        // An error message that quotes record text.
        let events = tmp.path("e.jsonl")
        try (#"{"e":"KIND","t":1,"q":0,"f":0,"h":"10.0.0.1"}"#.replacingOccurrences(of: "KIND", with: Self.hostile) + "\n").write(
            toFile: events, atomically: true, encoding: .utf8)
        let d = try runTool(aetherBinary, ["detect", "--events", events, "--alerts", tmp.path("a.jsonl")])
        XCTAssertEqual(d.status, 1)
        assertNothingHidden(d.err, "detect's error")
    }
}

/// `query`'s bounds cannot be turned off: nan and inf are not numbers of seconds.
final class QueryBoundsTests: XCTestCase {
    func testTimeoutMustBeFinite() throws {
        let tmp = TempDir()
        let db = try smallStore(tmp)
        for t in ["nan", "inf", "-1", "0", "1e9"] {
            let r = try runTool(aetherBinary, ["query", "--db", db, "--timeout", t, "SELECT 1"])
            XCTAssertEqual(r.status, 2, "--timeout \(t): \(r.err)")
            XCTAssertTrue(r.err.contains("--timeout"), r.err)
        }
        XCTAssertEqual(try runTool(aetherBinary, ["query", "--db", db, "--timeout", "5", "SELECT 1"]).status, 0)
        // One statement's memory is bounded: a 100 MB value is refused, not built.
        let big = try runTool(aetherBinary, ["query", "--db", db, "SELECT length(zeroblob(100000000))"])
        XCTAssertEqual(big.status, 1, big.err)
        XCTAssertTrue(big.err.contains("too big"), big.err)
    }
}

/// `tail` ends cleanly on SIGINT and SIGTERM, also while it waits for gRPC subscribers, and
/// refuses a --grpc name it cannot bind before it starts.
final class TailShutdownTests: XCTestCase {
    func tempFolders() -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("aether-tail-") })
    }

    func freePort() -> Int { Int.random(in: 20_000...60_000) }

    func testSignalsEndTheWaitForSubscribers() throws {
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path
        for signal in [SIGINT, SIGTERM] {
            let before = tempFolders()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: aetherBinary)
            p.arguments = ["tail", "--replay", cap, "--listen", "127.0.0.1:\(freePort())", "--grpc", "127.0.0.1:\(freePort())", "--grpc-wait", "5"]
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            Thread.sleep(forTimeInterval: 2)
            kill(p.processIdentifier, signal)
            let start = Date()
            while p.isRunning && Date().timeIntervalSince(start) < 10 { Thread.sleep(forTimeInterval: 0.05) }
            XCTAssertFalse(p.isRunning, "signal \(signal): still waiting")
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(p.terminationStatus, 0, "signal \(signal): \(text)")
            XCTAssertFalse(text.contains("cannot serve"), text)
            XCTAssertEqual(tempFolders().subtracting(before), [], "signal \(signal): the temporary folder is removed")
        }
    }

    func testGRPCNeedsANumericAddress() throws {
        let cap = Shared.repoRoot.appendingPathComponent("Fixtures/demo.pcapng").path
        let r = try runTool(aetherBinary, ["tail", "--replay", cap, "--grpc", "example.com:5000"])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("numeric IPv4"), r.err)
    }
}

/// `export` is whole or absent: a planted file among its targets stops it before it writes any.
final class ExportWholeTests: XCTestCase {
    func testPlantedTargetStopsTheExportBeforeItWrites() throws {
        let tmp = TempDir()
        let db = try smallStore(tmp)
        let out = tmp.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: out + "/dns.jsonl", withDestinationPath: tmp.path("elsewhere"))
        let r = try runTool(aetherBinary, ["export", "--db", db, "--out", out])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("dns.jsonl"), r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["dns.jsonl"], "nothing written beside the planted link")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("elsewhere")), "nothing written through it")
    }
}

/// A store of one small recorded capture, made with the tool.
func smallStore(_ tmp: TempDir) throws -> String {
    let db = tmp.path("s.sqlite")
    let cap = Shared.repoRoot.appendingPathComponent("Fixtures/attacks/dns-exfil-long.pcap").path
    XCTAssertEqual(try runTool(aetherBinary, ["ingest", cap, "--db", db]).status, 0)
    return db
}
