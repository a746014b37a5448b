import AetherCapture
import AetherCore
import AetherDetect
import AetherEngine
import AetherFlows
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aether shard`: one capture file of many, read on its own (a Spark task). It writes what the
/// file taught into a new folder: the detector events as records (`events.jsonl`), the
/// connections the end of the file cut (`cut.jsonl`), `dns`, `ssl`, `http`, `series`, and
/// `shard.json` with the file's counts and first and last packet times. Every connection of the
/// file has one `finished` event record (cut or not): the next file's fragments are found there.
struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard", abstract: "Read one capture file of many into a new folder of records (a Spark task's step).")
    @Argument(help: "pcap, pcapng or gzip file") var input: String
    @Option(help: "the file's place in time order among all files (0, 1, …): keeps connection ids apart") var index: Int
    @Option(help: "folder to create (must not exist)") var out: String
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @Option(help: "internal networks, comma-separated") var `internal`: String?

    func run() throws {
        guard index >= 0 && index < 1 << 20 else { throw ValidationError("--index must be 0…1048575") }
        let config = try loadRules(rules, internal: `internal`)
        try checkInputs([input])
        try makeFolder(out, mustBeNew: true)
        let store = try openStore(out + "/shard.sqlite", readOnly: false)
        var options = IngestOptions(detect: true, rules: config)
        options.firstFlowID = Int64(index + 1) << 32
        let pipeline: Pipeline
        do { pipeline = try Pipeline(store: store, options: options) } catch let e as CaptureError { throw BadInput(message: e.description) }
        let eventsPath = out + "/events.jsonl"
        let fd: Int32
        do { fd = try EvidenceFiles.create(eventsPath) } catch let e as FileRefusal { throw BadInput(message: e.message) }
        defer { close(fd) }
        let recorder = EventRecorder(file: index) { EvidenceFiles.writeAll(fd, $0) }
        pipeline.detector?.recorder = recorder
        let outcomes: [FileOutcome]
        do { outcomes = try pipeline.ingest([input]) } catch let e as CaptureError {
            throw BadInput(message: "\(input): \(e.description)")
        } catch let e as StoreError {
            throw BadInput(message: "\(input): \(e.message)")
        }
        recorder.flush()
        if recorder.failed { throw BadInput(message: "\(eventsPath): write failed: \(String(cString: strerror(errno)))") }
        try writeLines(out + "/cut.jsonl") { emit in recorder.cuts.forEach(emit) }
        for table in [RecordTable.dns, .ssl, .http, .series] {
            try writeLines(out + "/" + table.rawValue + ".jsonl") { emit in try store.records(table) { emit($0.render(pretty: false)) } }
        }
        let stats = try store.stats()
        let inferred = pipeline.detector?.internalInferred ?? true
        var meta = stats.json
        if case .object(var o) = meta {
            o.insert(("file", .string(input)), at: 0)
            o.insert(("index", .int(Int64(index))), at: 1)
            o.append(("first_ns", stats.first.map { .int($0) } ?? .null))
            o.append(("last_ns", stats.last.map { .int($0) } ?? .null))
            o.append(("internal_seen", .bool(!inferred)))
            meta = .object(o)
        }
        try writeLines(out + "/shard.json") { $0(meta.render(pretty: false)) }
        for o in outcomes where o.status == .failed || o.status == .truncated {
            throw BadInput(message: "\(input): \(o.error?.description ?? "not read whole") (kept \(o.packets) packets read before it)")
        }
        print("shard \(index): \(input): \(stats.packets) packets, \(stats.connections) connection fragments, \(recorder.cuts.count) cut at the end")
    }
}

/// `aether detect`: detector event records in (time-ordered, any mix of hosts: a partition of
/// a Spark job, or every shard's events sorted), alerts and the connections out, both as JSON
/// Lines. The detectors are the very ones `ingest` runs.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Run the detectors over event records (from aether shard) and write alerts and connections as JSON Lines.")
    @Option(help: "event records, time-ordered (- for standard input)") var events: String = "-"
    @Option(help: "cut records of every shard (cut.jsonl)") var cuts: String?
    @Option(help: "continuations: JSON Lines {\"b\": later fragment id, \"a\": the cut fragment it continues}") var matches: String?
    @Option(help: "the whole input's first packet time, ns") var firstTime: Int64?
    @Flag(help: "some host of the whole input is in the internal networks") var internalSeen = false
    @Option(help: "alerts file to create (JSON Lines)") var alerts: String
    @Option(help: "connections file to create (JSON Lines, conn.log keys)") var conn: String?
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @Option(help: "internal networks, comma-separated") var `internal`: String?

    func run() throws {
        let config = try loadRules(rules, internal: `internal`)
        let join = FragmentJoin()
        if let cuts {
            var n = 0
            try readLines(cuts) { line in
                n += 1
                try join.addCut(try parseRecord(line, cuts, n), line: n)
            }
        }
        if let matches {
            var n = 0
            try readLines(matches) { line in
                n += 1
                let r = try parseRecord(line, matches, n)
                guard let b = r["b"]?.int, let a = r["a"]?.int else { throw BadInput(message: "\(matches): line \(n): needs integers b and a") }
                join.addMatch(later: b, earlier: a)
            }
        }
        let engine = DetectionEngine(config: config)
        let replay = EventReplay(engine: engine, join: join)
        replay.assume(firstTime: firstTime ?? Int64.max, internalSeen: internalSeen)
        var connections = 0
        var records = 0
        let connOut = try conn.map { path in try LineWriter(path) }
        var n = 0
        try readLines(events) { line in
            n += 1
            let r = try parseRecord(line, events, n)
            do {
                if let c = try replay.take(r) {
                    connections += 1
                    try connOut?.write(c.connRecord.render(pretty: false))
                }
            } catch let e as RecordError {
                throw BadInput(message: "\(events): line \(n): \(e.reason)")
            }
            records += 1
        }
        try connOut?.close()
        let found = engine.finalAlerts
        try writeLines(alerts) { emit in
            for var a in found {
                // A connection counts once however often it came back to the episode, as the
                // store's alert_flow table counts it.
                var seen = Set<Int64>()
                a.flows = a.flows.filter { seen.insert($0).inserted }
                var j = a.json(includeEvidence: true)
                if case .object(var o) = j {
                    o.append(("uids", .array(a.flows.prefix(1000).map { .string(connectionUID($0)) })))
                    j = .object(o)
                }
                emit(j.render(pretty: false))
            }
        }
        print("detect: \(records) records, \(connections) connections, \(found.count) alerts")
    }
}

private func parseRecord(_ line: String, _ path: String, _ n: Int) throws -> JSON {
    do { return try JSONParser.parse(line) } catch let e as JSONParser.Failure { throw BadInput(message: "\(path): line \(n): \(e)") }
}

/// Calls `body` with each non-empty line of `path` (- for standard input), without the newline.
func readLines(_ path: String, _ body: (String) throws -> Void) throws {
    let f: UnsafeMutablePointer<FILE>?
    if path == "-" { f = stdin } else { f = fopen(path, "r") }
    guard let f else { throw BadInput(message: "\(path): cannot read: \(String(cString: strerror(errno)))") }
    defer { if path != "-" { fclose(f) } }
    var buffer: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(buffer) }
    while true {
        let n = getline(&buffer, &capacity, f)
        if n < 0 { break }
        guard let buffer else { break }
        var len = n
        while len > 0 && (buffer[len - 1] == 0x0A || buffer[len - 1] == 0x0D) { len -= 1 }
        if len == 0 { continue }
        let line = buffer.withMemoryRebound(to: UInt8.self, capacity: len) { String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self) }
        try body(line)
    }
    if ferror(f) != 0 { throw BadInput(message: "\(path): read failed") }
}

/// A created file written line by line, 64 KB at a time.
final class LineWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    init(_ path: String) throws {
        self.path = path
        do { fd = try EvidenceFiles.create(path) } catch let e as FileRefusal { throw BadInput(message: e.message) }
    }

    func write(_ line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard buffer.isEmpty || buffer.withUnsafeBytes({ EvidenceFiles.writeAll(fd, $0) }) else {
            throw BadInput(message: "\(path): write failed: \(String(cString: strerror(errno)))")
        }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        try flush()
        _ = Glibc.close(fd)
    }

    deinit { if !closed { _ = Glibc.close(fd) } }
}
