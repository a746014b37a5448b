import AetherCapture
import AetherEngine
import AetherStore
import Foundation
import XCTest

/// Where the shared corpus is: $AETHER_SHARED, or ../shared beside the checkout.
enum Shared {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var root: URL? {
        if let env = ProcessInfo.processInfo.environment["AETHER_SHARED"] { return URL(fileURLWithPath: env) }
        let u = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: u.appendingPathComponent("captures/MANIFEST.tsv").path) ? u : nil
    }

    /// Skips (visibly) when ../shared is absent, as on a fresh clone outside CI.
    static func require() throws -> URL {
        guard let r = root else {
            print("SKIP: ../shared not found (set AETHER_SHARED); tests on the shared corpus are skipped")
            throw XCTSkip("../shared not found: shared-corpus tests skipped")
        }
        return r
    }

    static var captures: URL { root!.appendingPathComponent("captures") }
}

final class TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("aether-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Ingests into a fresh store and returns it with the outcomes.
/// `keepFiles` keeps transferred files' content, as `--keep-files` does.
func ingest(_ paths: [String], db: String, filter: String? = nil, keepFiles: Bool = false) throws -> (Store, [FileOutcome]) {
    let store = try Store(path: db)
    var options = IngestOptions(filter: filter)
    if keepFiles { options.files.extractBytes = FileLimits.keptFileBytes }
    let p = try Pipeline(store: store, options: options)
    let o = try p.ingest(paths)
    return (store, o)
}

@discardableResult
func runTool(_ exe: String, _ args: [String], cwd: String? = nil, input: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let o = Pipe(), e = Pipe()
    p.standardOutput = o
    p.standardError = e
    let i = Pipe()
    if input != nil { p.standardInput = i }
    try p.run()
    if let input {
        i.fileHandleForWriting.write(Data(input.utf8))
        try i.fileHandleForWriting.close()
    }
    let od = o.fileHandleForReading.readDataToEndOfFile()
    let ed = e.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
}

func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let p = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// The aether binary built beside the tests (make test builds it first).
var aetherBinary: String {
    if let env = ProcessInfo.processInfo.environment["AETHER_BIN"] { return env }
    return Shared.repoRoot.appendingPathComponent(".build/debug/aether").path
}

/// Generated gencap captures, made once per test process.
enum Gencap {
    static let dir = TempDir()
    nonisolated(unsafe) static var made: [String: String] = [:]
    static let lock = NSLock()

    /// Returns the capture path; its truth is at path + ".truth.json".
    static func make(_ name: String, _ args: [String]) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let p = made[name] { return p }
        let shared = try Shared.require()
        let out = dir.path(name)
        let r = try runTool("/usr/bin/env", ["python3", shared.appendingPathComponent("bench/gencap.py").path, "--out", out, "--quiet"] + args)
        guard r.status == 0 else { throw NSError(domain: "gencap", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.err]) }
        made[name] = out
        return out
    }

    static func truth(_ path: String) throws -> [String: Any] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path + ".truth.json"))
        return try JSONSerialization.jsonObject(with: d) as! [String: Any]
    }
}

/// A recorded capture of file transfers ingested with `--keep-files`: its files, in time order,
/// with the names `names` (checked), and each one's extracted bytes (`aether extract --all`)
/// checked against `sha256s` (the originals', printed by the recording script).
func recordedFiles(_ capture: String, names: [String], sha256s: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [StoredFile] {
    let tmp = TempDir()
    let db = tmp.path("s.sqlite")
    XCTAssertEqual(try runTool(aetherBinary, ["ingest", "--keep-files", "--db", db, capture]).status, 0, file: file, line: line)
    let files = try Store(path: db, readOnly: true).files()
    XCTAssertEqual(files.map(\.name), names, file: file, line: line)
    XCTAssertEqual(files.map(\.sha256), sha256s, file: file, line: line)
    let out = tmp.path("out")
    XCTAssertEqual(try runTool(aetherBinary, ["extract", "--db", db, "--all", "-o", out]).status, 0, file: file, line: line)
    for (f, want) in zip(files, sha256s) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(f.id)-\(f.name ?? "")")))
        XCTAssertEqual(sha256Hex(bytes: bytes), want, "extracted \(f.name ?? "")", file: file, line: line)
    }
    return files
}
