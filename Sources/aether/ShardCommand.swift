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
/// connections the end of the file cut (`cut.jsonl`), `dns` (and `dns-halves`, a query or a
/// response alone), `ssl`, `http`, `x509`, `series`, and
/// `shard.json` with the file's counts and first and last packet times. Every connection of the
/// file has one `finished` event record (cut or not): the next file's fragments are found there.
struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard", abstract: "Read one capture file of many into a new folder of records (a Spark task's step).")
    @Argument(help: "pcap, pcapng or gzip file (none with --stream)") var input: String?
    @Option(help: "the file's place in time order among all files (0, 1, …): keeps connection ids apart") var index: Int?
    @Option(help: "folder to create (must not exist); - with --stream") var out: String
    @Flag(
        help: """
            read `INDEX<TAB>PATH` lines from standard input and write every file's records to standard output as \
            `TABLE<TAB>JSON` lines (a Spark pipe; event lines carry host, time, sequence, file, connection id and k \
            before the JSON); a file that fails gives an `error` line
            """) var stream = false
    @Option(help: "with --stream: folder for each file's scratch store (default: TMPDIR or /tmp)") var work: String?
    @Option(
        help: """
            with --stream: write each file's records as files in WORK, and only its `shard` line to standard output: \
            the event records by host into this many files, events-INDEX.PARTITION (columns, then the record, in time \
            order); heads-INDEX, the finished connections that could continue one cut at the previous file's end \
            (the same columns); and TABLE-INDEX.jsonl for cut, dns, dns-halves, ssl, http, x509, files, series and conversations
            """) var partitions: Int?
    @OptionGroup var detection: DetectionOptions
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        if stream {
            guard input == nil, index == nil, out == "-" else { throw ValidationError("--stream takes no input or --index, and --out -") }
            if let partitions, !(1...4096).contains(partitions) { throw ValidationError("--partitions must be 1…4096") }
        } else {
            guard input != nil, index != nil else { throw ValidationError("give a capture file and --index (or --stream)") }
        }
    }

    func run() throws {
        let config = try detection.config()
        guard stream else {
            let summary = try shard(input!, index: index!, into: out, config: config, events: nil)
            print(summary)
            return
        }
        let output = StreamOut(fd: 1)
        let base = work ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        try readLines("-") { line in
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2, let i = Int(parts[0]) else { throw BadInput(message: "--stream: a line is not INDEX<TAB>PATH") }
            var template = Array((base + "/aether-shard-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else {
                throw BadInput(message: "\(base): cannot make a scratch folder: \(String(cString: strerror(errno)))")
            }
            let scratch = String(cString: made)
            defer { removeTree(scratch) }
            do {
                let split = partitions.map { (count: $0, prefix: base + "/events-\(i).", heads: base + "/heads-\(i)") }
                _ = try shard(parts[1], index: i, into: scratch + "/s", config: config, events: output, partitions: split)
                for table in ["cut"] + Self.recordTables.map(\.rawValue) + ["dns-halves", "conversations"] {
                    let path = scratch + "/s/" + table + ".jsonl"
                    if partitions != nil {
                        // link() never replaces: a file that is there already is refused.
                        let to = base + "/" + table + "-\(i).jsonl"
                        guard link(path, to) == 0 else { throw BadInput(message: "\(to): \(String(cString: strerror(errno))); refusing to write it") }
                    } else {
                        try readLines(path) { try output.line(table, $0) }
                    }
                }
                try readLines(scratch + "/s/shard.json") { try output.line("shard", $0) }
            } catch let e as BadInput {
                try output.line(
                    "error", JSON.object([("index", .int(Int64(i))), ("file", .string(parts[1])), ("message", .string(e.message))]).render(pretty: false))
            }
            try output.flush()
        }
        try output.flush()
    }

    /// The store's record tables a shard hands on (conn records come from `detect`).
    static let recordTables: [RecordTable] = [.dns, .ssl, .http, .x509, .files, .series]

    /// One file into the folder `out`; with `events`, the event records go there instead of
    /// `events.jsonl`. The line `shard` prints.
    private func shard(
        _ input: String, index: Int, into out: String, config: DetectorConfig, events: StreamOut?,
        partitions: (count: Int, prefix: String, heads: String)? = nil
    ) throws -> String {
        guard index >= 0 && index < 1 << 20 else { throw ValidationError("--index must be 0…1048575") }
        try checkInputs([input])
        try makeFolder(out, mustBeNew: true)
        let store = try openStore(out + "/shard.sqlite", readOnly: false)
        var options = IngestOptions(detect: true, rules: config)
        options.firstFlowID = Int64(index + 1) << 32
        options.storePackets = false
        options.threads = threading.threads
        let pipeline: Pipeline
        do { pipeline = try Pipeline(store: store, options: options) } catch let e as CaptureError { throw BadInput(message: e.description) }
        let eventsPath = events == nil ? out + "/events.jsonl" : "standard output"
        let fd: Int32
        if let events {
            fd = events.fd
            try events.flush()
        } else {
            do { fd = try EvidenceFiles.create(eventsPath) } catch let e as FileRefusal { throw BadInput(message: e.message) }
        }
        defer { if events == nil { close(fd) } }
        var outputs: [Int32] = []
        defer { outputs.forEach { close($0) } }
        let recorder: EventRecorder
        if let partitions {
            for p in 0..<partitions.count {
                do { outputs.append(try EvidenceFiles.create(partitions.prefix + String(p))) } catch let e as FileRefusal { throw BadInput(message: e.message) }
            }
            do { outputs.append(try EvidenceFiles.create(partitions.heads)) } catch let e as FileRefusal { throw BadInput(message: e.message) }
            recorder = EventRecorder(file: index, partitions: partitions.count) { [outputs] in EvidenceFiles.writeAll(outputs[$0], $1) }
        } else {
            recorder = EventRecorder(file: index, streamColumns: events != nil) { EvidenceFiles.writeAll(fd, $0) }
        }
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
        for table in Self.recordTables where table != .dns {
            try writeLines(out + "/" + table.rawValue + ".jsonl") { emit in try store.records(table) { emit($0.render(pretty: false)) } }
        }
        // A DNS query or response alone may be half of a transaction the file's boundary cut:
        // those go apart, for `aether join-dns` to join with the neighbouring file's halves.
        let whole = try LineWriter(out + "/dns.jsonl"), halves = try LineWriter(out + "/dns-halves.jsonl")
        try store.records(.dns) { r in
            let asked = r["query_seen"].map { if case .bool(true) = $0 { return true } else { return false } } ?? false
            let answered = r["response_seen"].map { if case .bool(true) = $0 { return true } else { return false } } ?? false
            try (asked == answered ? whole : halves).write(r.render(pretty: false))
        }
        try whole.close()
        try halves.close()
        // Conversations (distinct 5-tuples) count once over all files: their digests go out.
        try writeLines(out + "/conversations.jsonl") { emit in
            for k in try store.conversationKeys() { emit("{\"k\":\(Int64(bitPattern: k))}") }
        }
        let stats = try store.stats()
        let sha = try store.captures().first?.sha256
        let inferred = pipeline.detector?.internalInferred ?? true
        var meta = stats.json
        if case .object(var o) = meta {
            o.insert(("file", .string(input)), at: 0)
            o.insert(("index", .int(Int64(index))), at: 1)
            o.append(("first_ns", stats.first.map { .int($0) } ?? .null))
            o.append(("last_ns", stats.last.map { .int($0) } ?? .null))
            o.append(("internal_seen", .bool(!inferred)))
            o.append(("event_records", .int(recorder.records)))
            o.append(("sha256", sha.map { .string($0) } ?? .null))
            var st = stat()
            o.append(("size", .int(stat(input, &st) == 0 ? Int64(st.st_size) : 0)))
            meta = .object(o)
        }
        try writeLines(out + "/shard.json") { $0(meta.render(pretty: false)) }
        for o in outcomes where o.status == .failed || o.status == .truncated {
            throw BadInput(message: "\(o.error?.description ?? "\(input): not read whole") (kept \(o.packets) packets read before it)")
        }
        return "shard \(index): \(input): \(stats.packets) packets, \(stats.connections) connection fragments, \(recorder.cuts.count) cut at the end"
    }
}

/// Standard output as `TABLE<TAB>JSON` lines, 1 MB at a time.
final class StreamOut {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    func line(_ table: String, _ json: String) throws {
        buffer.append(contentsOf: table.utf8)
        buffer.append(0x09)
        buffer.append(contentsOf: json.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard buffer.isEmpty || buffer.withUnsafeBytes({ EvidenceFiles.writeAll(fd, $0) }) else {
            throw BadInput(message: "standard output: write failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Removes a scratch folder this process made (its files, then itself; no links followed).
func removeTree(_ path: String) {
    guard let dir = opendir(path) else { return }
    var names: [String] = []
    while let e = readdir(dir) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(dir)
    for name in names {
        let p = path + "/" + name
        var st = stat()
        if lstat(p, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR { removeTree(p) } else { unlink(p) }
    }
    rmdir(path)
}
