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
