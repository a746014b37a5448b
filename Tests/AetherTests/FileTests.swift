import AetherCore
import AetherCapture
import AetherDecode
import AetherEngine
import AetherReport
import AetherStore
import Foundation
import XCTest

/// Files that crossed the wire: HTTP message framing on literal bytes, types by magic bytes,
/// reassembly out of order and with gaps, and the recorded downloads of Fixtures/http-files.pcap
/// (scripts/make-file-capture.sh: nginx and curl), hashed and extracted byte for byte.
final class FileTests: XCTestCase {
    /// Every piece a stream gives for `chunks` fed one after another.
    private func pieces(_ chunks: [String], fromServer: Bool, methods: [String] = []) -> [String] {
        var s = HTTPMessageStream(fromServer: fromServer)
        s.pendingMethods = methods
        var out: [String] = []
        for c in chunks {
            Array(c.utf8).withUnsafeBytes { b in
                s.feed(b) { p in
                    switch p {
                    case .head(let h): out.append(h.isResponse ? "head \(h.status)" : "head \(h.method) \(h.uri)")
                    case .body(let x): out.append("body " + String(decoding: x, as: UTF8.self))
                    case .end: out.append("end")
                    }
                }
            }
        }
        if s.isLost { out.append("lost") }
        return out
    }

    /// Adjacent body pieces joined: how a stream cuts its bodies depends on how it was fed.
    private func joined(_ p: [String]) -> [String] {
        var out: [String] = []
        for x in p {
            if x.hasPrefix("body "), let last = out.last, last.hasPrefix("body ") {
                out[out.count - 1] = last + x.dropFirst(5)
            } else {
                out.append(x)
            }
        }
        return out
    }

    func testContentLengthAndKeepAlive() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nno!"
        XCTAssertEqual(pieces([wire], fromServer: true), ["head 200", "body hello", "end", "head 404", "body no!", "end"])
        // The same bytes one at a time give the same messages.
        XCTAssertEqual(joined(pieces(wire.map { String($0) }, fromServer: true)), ["head 200", "body hello", "end", "head 404", "body no!", "end"])
    }

    func testChunkedWithExtensionsAndTrailer() {
        let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n"
        XCTAssertEqual(joined(pieces([wire], fromServer: true)), ["head 200", "body Wikipedia in\r\n\r\nchunks.", "end"])
        XCTAssertEqual(joined(pieces(wire.map { String($0) }, fromServer: true)), ["head 200", "body Wikipedia in\r\n\r\nchunks.", "end"])
    }

    func testBodilessResponsesAndUntilClose() {
        // A HEAD's response has no body whatever its length says; nor has a 304.
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.0 200 OK\r\n\r\nrest of it"
        XCTAssertEqual(
            pieces([head], fromServer: true, methods: ["HEAD", "GET", "GET"]), ["head 200", "end", "head 304", "end", "head 200", "body rest of it"])
        // A request without a length has no body; the next request follows at once.
        XCTAssertEqual(
            pieces(["GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"], fromServer: false),
            ["head GET /a", "end", "head POST /b", "body hi", "end"])
    }

    func testMalformedFramingStopsTheStream() {
        // Two different lengths (request smuggling), a chunk size that is not hex, one too large
        // to be real, and a head that never ends: nothing after them is read.
        XCTAssertEqual(pieces(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"], fromServer: true), ["lost"])
        XCTAssertEqual(pieces(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], fromServer: true), ["head 200", "lost"])
        XCTAssertEqual(pieces(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n"], fromServer: true), ["head 200", "lost"])
        XCTAssertEqual(pieces(["HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 20_000)], fromServer: true), ["lost"])
        XCTAssertEqual(pieces(["SSH-2.0-OpenSSH\r\n\r\n"], fromServer: true), ["lost"])
    }

    func testDispositionName() {
        let h = Array("HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"../x y.exe\"\r\n\r\n".utf8).withUnsafeBytes {
            HTTPHeadParser.parse($0, response: true)
        }
        XCTAssertEqual(h?.dispositionName, "../x y.exe")
    }

    func testMagicBytes() {
        XCTAssertEqual(FileMagic.mimeType(Array("%PDF-1.7\n".utf8)), "application/pdf")
        XCTAssertEqual(FileMagic.mimeType([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]), "image/png")
        XCTAssertEqual(FileMagic.mimeType([0x4D, 0x5A, 0x90, 0x00]), "application/x-dosexec")
        XCTAssertEqual(FileMagic.mimeType([0x7F, 0x45, 0x4C, 0x46, 2, 1]), "application/x-executable")
        XCTAssertEqual(FileMagic.mimeType([0x50, 0x4B, 0x03, 0x04, 20, 0]), "application/zip")
        XCTAssertEqual(FileMagic.mimeType(Array("  <!DOCTYPE html><html>".utf8)), "text/html")
        XCTAssertEqual(FileMagic.mimeType(Array("hello, wörld\n".utf8)), "text/plain")
        XCTAssertEqual(FileMagic.mimeType([0x00, 0x13, 0x37, 0xFF, 0x01]), "application/octet-stream")
        XCTAssertEqual(FileMagic.mimeType([]), "application/x-empty")
        // A name or a declared type does not decide: the bytes of an executable are one.
        XCTAssertEqual(FileMagic.mimeType(Array("MZ".utf8) + Array("this is not text\u{1}".utf8)), "application/x-dosexec")
    }

    /// A response whose body comes in three segments, the last two swapped and the first sent
    /// twice; and one whose middle segment never comes.
    private func capture(_ path: String, body: [UInt8], order: [Int], drop: Int? = nil) throws {
        var b = PacketBuilder()
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        let wire = head + body
        let cut1 = head.count + body.count / 3, cut2 = head.count + 2 * body.count / 3
        let parts = [Array(wire[..<cut1]), Array(wire[cut1..<cut2]), Array(wire[cut2...])]
        let starts: [UInt32] = [5001, 5001 + UInt32(cut1), 5001 + UInt32(cut2)]
        let req = Array("GET /files/payload.bin HTTP/1.1\r\nHost: files.example\r\n\r\n".utf8)
        b.tcp(1.000, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x02, seq: 100)
        b.tcp(1.001, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x12, seq: 5000, ack: 101)
        b.tcp(1.002, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x10, seq: 101, ack: 5001)
        b.tcp(1.003, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x18, seq: 101, ack: 5001, payload: req)
        var t = 1.010
        for i in order where i != drop {
            b.tcp(t, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x18, seq: starts[i], ack: 101 + UInt32(req.count), payload: parts[i])
            t += 0.001
        }
        let end = 5001 + UInt32(wire.count)
        b.tcp(t, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x11, seq: end, ack: 101 + UInt32(req.count))
        b.tcp(t + 0.001, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x11, seq: 101 + UInt32(req.count), ack: end + 1)
        try b.write(path)
    }

    private var payload: [UInt8] { (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) } }

    func testOutOfOrderAndRetransmittedSegments() throws {
        let tmp = TempDir()
        try capture(tmp.path("ooo.pcap"), body: payload, order: [0, 0, 2, 1])
        let (store, _) = try ingest([tmp.path("ooo.pcap")], db: tmp.path("s.sqlite"), keepFiles: true)
        let files = try store.files()
        XCTAssertEqual(files.count, 1)
        XCTAssertEqual(files.first?.name, "payload.bin")
        XCTAssertEqual(files.first?.size, 30_000)
        XCTAssertEqual(files.first?.sha256, sha256Hex(bytes: payload))
        XCTAssertNil(files.first?.problem)
        XCTAssertEqual(try store.fileContent(try XCTUnwrap(files.first?.id)), payload)
    }

    func testGapLeavesTheFileUnhashed() throws {
        let tmp = TempDir()
        try capture(tmp.path("gap.pcap"), body: payload, order: [0, 1, 2], drop: 1)
        let (store, _) = try ingest([tmp.path("gap.pcap")], db: tmp.path("s.sqlite"), keepFiles: true)
        let f = try XCTUnwrap(try store.files().first)
        XCTAssertEqual(f.missingBytes, 10_000)
        XCTAssertEqual(f.sha256, "")
        XCTAssertFalse(f.extracted)
        XCTAssertEqual(f.problem, "the capture lacks 10000 bytes of it")
    }

    static let fixture = Shared.repoRoot.appendingPathComponent("Fixtures/http-files.pcap").path
    /// `sha256sum` of the files nginx served (printed by make-file-capture.sh).
    static let served: [(name: String, mime: String, size: Int64, sha256: String)] = [
        ("report.pdf", "application/pdf", 120_009, "284bef5d39af6e334b0d528f9f2e92a9e3a3f09f74d4b52b342bdee77e0d6193"),
        ("tool.exe", "application/x-dosexec", 70_002, "2cf925510b7e8184ab5ceff95e33b428cc802320897a7265f4b7711f7baaaca3"),
        ("notes.txt", "text/plain", 163_893, "6355917aa8de3499b56af23f45f52f6832fcdc5ec2320a3d13db73de6d6832da"),
        ("../../../tmp/evil.sh", "text/x-shellscript", 61, "5b2fd71baf808b7f0ced5dd695cc29daece622a8a6581b9d4470c401088788fe"),
    ]

    func testRecordedDownloads() throws {
        let tmp = TempDir()
        let (store, _) = try ingest([Self.fixture], db: tmp.path("s.sqlite"), keepFiles: true)
        let files = try store.files()
        XCTAssertEqual(files.count, 5)
        for (f, want) in zip(files, Self.served) {
            XCTAssertEqual(f.name, want.name)
            XCTAssertEqual(f.mimeType, want.mime, want.name)
            XCTAssertEqual(f.size, want.size, want.name)
            XCTAssertEqual(f.sha256, want.sha256, want.name)
            XCTAssertEqual(f.source, "HTTP")
            XCTAssertFalse(f.isOrig)
            XCTAssertTrue(f.extracted)
            XCTAssertEqual(f.respH, "10.78.0.2")
        }
        // report.pdf and tool.exe came over one kept-alive connection; notes.txt gzip-coded and
        // chunked (no declared length).
        XCTAssertEqual(files[0].flowID, files[1].flowID)
        XCTAssertNil(files[2].totalBytes)
        // 512 MB of zeros, gzip-coded: stopped at the bound, without hashes, not kept.
        let bomb = files[4]
        XCTAssertEqual(bomb.name, "bomb.txt")
        XCTAssertTrue(bomb.problem?.contains("decompression bomb") ?? false, bomb.problem ?? "")
        XCTAssertLessThan(bomb.size, 64 << 20)
        XCTAssertEqual(bomb.sha256, "")
        XCTAssertFalse(bomb.extracted)
    }

    /// `--file-hashes`: each choice computes what it names and nothing else, and the files are
    /// logged the same.
    func testFileHashChoices() throws {
        let tmp = TempDir()
        var seen: [String: [StoredFile]] = [:]
        for choice in ["all", "sha256", "none"] {
            let db = tmp.path("\(choice).sqlite")
            let r = try runTool(aetherBinary, ["ingest", "--file-hashes", choice, "--db", db, Self.fixture])
            XCTAssertEqual(r.status, 0, r.err)
            seen[choice] = try Store(path: db, readOnly: true).files()
        }
        let all = try XCTUnwrap(seen["all"]), sha = try XCTUnwrap(seen["sha256"]), none = try XCTUnwrap(seen["none"])
        XCTAssertEqual(all.map(\.name), none.map(\.name))
        XCTAssertEqual(all.map(\.size), sha.map(\.size))
        XCTAssertEqual(all[0].md5.count, 32)
        XCTAssertEqual(all[0].sha1.count, 40)
        XCTAssertEqual(sha.map(\.sha256), all.map(\.sha256))
        XCTAssertEqual(sha.map(\.md5), Array(repeating: "", count: sha.count))
        XCTAssertEqual(sha.map(\.sha1), Array(repeating: "", count: sha.count))
        XCTAssertEqual(none.map(\.sha256), Array(repeating: "", count: none.count))
        XCTAssertEqual(none.map(\.problem), all.map(\.problem))
        // Extraction checks SHA-256 before writing: keeping content without it is refused.
        let r = try runTool(aetherBinary, ["ingest", "--keep-files", "--file-hashes", "none", "--db", tmp.path("x.sqlite"), Self.fixture])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--keep-files needs --file-hashes"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path("x.sqlite")))
    }

    func testExtractWritesSafeNamesIntoANewFolderOnly() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite")
        // Without --keep-files the hashes are kept and the content is not.
        let hashesOnly = tmp.path("h.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", "--db", hashesOnly, Self.fixture]).status, 0)
        let refused = try runTool(aetherBinary, ["extract", "--db", hashesOnly, "--file", "1", "-o", tmp.path("h")])
        XCTAssertTrue(refused.out.contains("report.pdf: not kept (ingest with --keep-files"), refused.out)
        XCTAssertEqual(try Store(path: hashesOnly, readOnly: true).files().first?.sha256, Self.served[0].sha256)
        let ing = try runTool(aetherBinary, ["ingest", "--keep-files", "--db", db, Self.fixture])
        XCTAssertEqual(ing.status, 0, ing.err)
        let out = tmp.path("out")
        let r = try runTool(aetherBinary, ["extract", "--db", db, "--all", "-o", out])
        XCTAssertEqual(r.status, 0, r.err)
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(names, ["1-report.pdf", "2-tool.exe", "3-notes.txt", "4-evil.sh"])
        for (name, want) in zip(names, Self.served) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)))
            XCTAssertEqual(sha256Hex(bytes: bytes), want.sha256, name)
        }
        XCTAssertTrue(r.out.contains("bomb.txt: not kept"), r.out)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: "/tmp/evil.sh") && (try? String(contentsOfFile: "/tmp/evil.sh"))?.contains("named itself") == true)
        // The folder must be new: an existing one, or a link planted where it would go, is refused.
        let again = try runTool(aetherBinary, ["extract", "--db", db, "--file", "1", "-o", out])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("extract writes a new folder"), again.err)
        let target = tmp.path("elsewhere")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: tmp.path("planted"), withDestinationPath: target)
        XCTAssertEqual(try runTool(aetherBinary, ["extract", "--db", db, "--file", "1", "-o", tmp.path("planted")]).status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), [])
        XCTAssertEqual(try runTool(aetherBinary, ["extract", "--db", db, "--file", "99", "-o", tmp.path("none")]).status, 1)
    }

    /// Zeek's `Intel::FILE_HASH`: a file's SHA-256, SHA-1 or MD5 matches where the file crossed,
    /// in ingest and in detect over a shard's records; a hash not in the capture matches nothing.
    func testFileHashIntel() throws {
        let tmp = TempDir()
        let (store, _) = try ingest([Self.fixture], db: tmp.path("probe.sqlite"))
        let pdfSHA1 = try XCTUnwrap(try store.files().first?.sha1)
        let intel = tmp.path("intel.dat")
        try
            ("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" + Self.served[1].sha256.uppercased() + "\tIntel::FILE_HASH\tcase-7\tdropper\n"
            + pdfSHA1 + "\tIntel::FILE_HASH\tcase-7\tlure\n" + String(repeating: "a", count: 64) + "\tIntel::FILE_HASH\tcase-7\tnot here\n")
            .write(toFile: intel, atomically: true, encoding: .utf8)
        func matches(_ alerts: [JSON]) -> [String: String] {
            var out: [String: String] = [:]
            for a in alerts where a["kind"]?.string == "intel_match" {
                XCTAssertEqual(a["evidence"]?["seen_in"]?.string, "files.hash")
                XCTAssertEqual(a["src"]?.string, "10.78.0.1")
                out[a["evidence"]?["desc"]?.string ?? ""] = a["evidence"]?["value"]?.string
            }
            return out
        }
        let want = ["dropper": Self.served[1].sha256 + " (tool.exe)", "lure": pdfSHA1 + " (report.pdf)"]
        let db = tmp.path("s.sqlite")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", Self.fixture, "--db", db, "--intel", intel]).status, 0)
        let listed = try runTool(aetherBinary, ["alerts", "--db", db, "--json"])
        XCTAssertEqual(matches(try JSONParser.parse(listed.out).array ?? []), want, listed.out)
        // The same from the records a Spark shard hands on.
        let shard = tmp.path("shard")
        XCTAssertEqual(try runTool(aetherBinary, ["shard", Self.fixture, "--index", "0", "--out", shard]).status, 0)
        let d = try runTool(aetherBinary, ["detect", "--events", shard + "/events.jsonl", "--alerts", tmp.path("a.jsonl"), "--intel", intel])
        XCTAssertEqual(d.status, 0, d.err)
        let lines = try String(contentsOfFile: tmp.path("a.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(matches(try lines.map { try JSONParser.parse(String($0)) }), want)
        // files.jsonl of the shard holds the files, for the job's files table.
        let records = try String(contentsOfFile: shard + "/files.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(records.count, 5)
    }

    /// The report lists the files, programs and scripts first, escaped.
    func testReportListsFiles() throws {
        let tmp = TempDir()
        let db = tmp.path("s.sqlite"), html = tmp.path("r.html")
        XCTAssertEqual(try runTool(aetherBinary, ["ingest", Self.fixture, "--db", db]).status, 0)
        let r = try runTool(aetherBinary, ["report", "--db", db, "-o", html])
        XCTAssertEqual(r.status, 0, r.err)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("5 transfer(s) of 5 distinct file(s)"), page)
        let table = try XCTUnwrap(page.range(of: "id=\"files\"")).upperBound
        let rest = page[table...]
        let exe = try XCTUnwrap(rest.range(of: "tool.exe")).lowerBound, pdf = try XCTUnwrap(rest.range(of: "report.pdf")).lowerBound
        XCTAssertLessThan(exe, pdf, "a program before a document")
        XCTAssertTrue(rest.contains(Self.served[1].sha256))
        XCTAssertTrue(rest.contains("decompression bomb"))
    }

    /// 100,000 tiny files over one kept-alive connection: each is a row with its own hashes, the
    /// report lists a bounded number of them, and nothing is held beyond the connection's end.
    func testHundredThousandTinyFiles() throws {
        let tmp = TempDir()
        var b = PacketBuilder()
        b.tcp(1.000, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x02, seq: 100)
        b.tcp(1.001, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x12, seq: 5000, ack: 101)
        var c: UInt32 = 101, s: UInt32 = 5001
        var t = 1.002
        for i in 0..<100_000 {
            let req = Array("GET /f/\(i).txt HTTP/1.1\r\nHost: tiny.example\r\n\r\n".utf8)
            let body = Array("file \(i)".utf8)
            let resp = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
            b.tcp(t, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x18, seq: c, ack: s, payload: req)
            b.tcp(t + 0.000_01, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x18, seq: s, ack: c + UInt32(req.count), payload: resp)
            c += UInt32(req.count)
            s += UInt32(resp.count)
            t += 0.000_1
        }
        b.tcp(t, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x11, seq: c, ack: s)
        b.tcp(t + 0.000_01, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x11, seq: s, ack: c + 1)
        try b.write(tmp.path("tiny.pcap"))
        let db = tmp.path("s.sqlite"), html = tmp.path("r.html")
        let r = try runTool(aetherBinary, ["analyze", tmp.path("tiny.pcap"), "--db", db, "--report", html])
        XCTAssertEqual(r.status, 0, r.err)
        let store = try Store(path: db, readOnly: true)
        let files = try store.files()
        XCTAssertEqual(files.count, 100_000)
        XCTAssertEqual(Set(files.map(\.sha256)).count, 100_000)
        XCTAssertEqual(files.last?.name, "99999.txt")
        XCTAssertEqual(files.last?.sha256, sha256Hex(bytes: Array("file 99999".utf8)))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("100000 transfer(s) of 100000 distinct file(s)"))
        let table = try XCTUnwrap(page.range(of: "id=\"files\"")).upperBound
        let rows = String(page[table...]).components(separatedBy: "</table>")[0].components(separatedBy: "<tr").count - 2
        XCTAssertEqual(rows, Report.listedFiles)
    }

    /// An upload: a POST's body is a file the client sent (is_orig), named by its target.
    func testUploadIsTheClientsFile() throws {
        let tmp = TempDir()
        var b = PacketBuilder()
        let body = Array("MZ".utf8) + (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let req = Array("POST /drop/upload.bin HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        let resp = Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)
        b.tcp(1.000, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x02, seq: 100)
        b.tcp(1.001, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x12, seq: 5000, ack: 101)
        b.tcp(1.002, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x18, seq: 101, ack: 5001, payload: Array(req[..<1400]))
        b.tcp(1.003, "10.9.0.1", 40000, "10.9.0.2", 80, flags: 0x18, seq: 1501, ack: 5001, payload: Array(req[1400...]))
        b.tcp(1.004, "10.9.0.2", 80, "10.9.0.1", 40000, flags: 0x18, seq: 5001, ack: 101 + UInt32(req.count), payload: resp)
        try b.write(tmp.path("up.pcap"))
        let (store, _) = try ingest([tmp.path("up.pcap")], db: tmp.path("s.sqlite"))
        let f = try XCTUnwrap(try store.files().first)
        XCTAssertTrue(f.isOrig)
        XCTAssertEqual(f.name, "upload.bin")
        XCTAssertEqual(f.mimeType, "application/x-dosexec")
        XCTAssertEqual(f.sha256, sha256Hex(bytes: body))
    }
}
