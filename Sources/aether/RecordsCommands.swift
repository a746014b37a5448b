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
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @OptionGroup var intel: IntelOption
    @Option(help: "internal networks, comma-separated") var `internal`: String?
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        if stream {
            guard input == nil, index == nil, out == "-" else { throw ValidationError("--stream takes no input or --index, and --out -") }
        } else {
            guard input != nil, index != nil else { throw ValidationError("give a capture file and --index (or --stream)") }
        }
    }

    func run() throws {
        let config = try loadRules(rules, internal: `internal`, intel: intel.files)
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
                _ = try shard(parts[1], index: i, into: scratch + "/s", config: config, events: output)
                for table in ["cut", "dns", "ssl", "http", "series", "conversations"] {
                    try readLines(scratch + "/s/" + table + ".jsonl") { try output.line(table, $0) }
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

    /// One file into the folder `out`; with `events`, the event records go there instead of
    /// `events.jsonl`. The line `shard` prints.
    private func shard(_ input: String, index: Int, into out: String, config: DetectorConfig, events: StreamOut?) throws -> String {
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
        let recorder = EventRecorder(file: index, streamColumns: events != nil) { EvidenceFiles.writeAll(fd, $0) }
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
    @OptionGroup var intel: IntelOption
    @Option(help: "internal networks, comma-separated") var `internal`: String?

    func run() throws {
        let config = try loadRules(rules, internal: `internal`, intel: intel.files)
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
                    var record = c.connRecord
                    // The connection whole, for `aether import` (a Spark job drops it from Parquet).
                    if case .object(var o) = record {
                        o.append(("_c", EventRecorder.snapshot(c)))
                        record = .object(o)
                    }
                    try connOut?.write(record.render(pretty: false))
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
                    o += [("start_ns", .int(a.start)), ("end_ns", .int(a.end)), ("flow_ids", .array(a.flows.map { .int($0) }))]
                    o += [("dst_total", .int(Int64(a.dstCount))), ("port_total", .int(Int64(a.portCount)))]
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

extension ClosedRange where Bound == Int64 {
    func clamped(_ v: Int64) -> Int64 { Swift.min(Swift.max(v, lowerBound), upperBound) }
}

/// Calls `body` with each non-empty line of `path` (- for standard input), without the newline
/// (`RecordLines`, whose errors become one-line bad-input errors here).
func readLines(_ path: String, _ body: (String) throws -> Void) throws {
    do { try RecordLines.read(path, body) } catch let e as RecordInputError { throw BadInput(message: e.message) }
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

/// dns, ssl and http records (optional files) with their connections found by uid.
private func importApplicationRows(_ store: Store, _ ids: [String: Int64], from folder: String) throws {
    func each(_ name: String, _ body: (JSON, Int64, Int64) throws -> Void) throws {
        let path = folder + "/" + name
        guard access(path, F_OK) == 0 else { return }
        var n = 0
        try readLines(path) { line in
            n += 1
            let r = try parseRecord(line, name, n)
            guard let uid = r["uid"]?.string, let flow = ids[uid], let seconds = r["ts"]?.double else { return }
            guard let ts = RecordRange.nanoseconds(fromSeconds: seconds) else { throw BadInput(message: "\(name): line \(n): 'ts' out of range: not a time") }
            try body(r, flow, ts)
        }
    }
    var dns: [DNSRow] = []
    try each("dns.jsonl") { r, flow, ts in
        let response = r["response_seen"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? (r["rcode"]?.int != nil)
        let query = r["query_seen"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? true
        dns.append(
            DNSRow(
                ts: ts, flowID: flow, hasQuery: query, hasResponse: response, id: UInt16(clamping: r["trans_id"]?.int ?? 0),
                name: r["query"]?.string ?? "", qtype: UInt16(clamping: r["qtype"]?.int ?? 0), rcode: UInt8(clamping: r["rcode"]?.int ?? 0),
                answers: (r["answers"]?.array ?? []).compactMap(\.string).joined(separator: ",")))
    }
    var tls: [TLSRow] = []
    try each("ssl.jsonl") { r, flow, ts in
        tls.append(
            TLSRow(
                ts: ts, flowID: flow, serverName: r["server_name"]?.string, version: r["version"]?.string ?? "",
                alpn: r["next_protocol"]?.string ?? "", ja4: r["ja4"]?.string ?? ""))
    }
    var http: [HTTPRow] = []
    try each("http.jsonl") { r, flow, ts in
        var h = HTTPRow(
            ts: ts, flowID: flow, method: r["method"]?.string ?? "", host: r["host"]?.string, uri: r["uri"]?.string ?? "",
            userAgent: r["user_agent"]?.string)
        h.status = r["status_code"]?.int.map { Int($0) }
        http.append(h)
    }
    try store.transaction {
        if !dns.isEmpty { try store.insert(dns: dns) }
        if !tls.isEmpty { try store.insert(tls: tls) }
        if !http.isEmpty { try store.insert(http: http) }
    }
}

/// `aether import`: a folder of records (a Spark job's whole result) into a new store, so that
/// the one report code renders it: `shards.jsonl` (each file's `shard.json`), `conn.jsonl` and
/// `alerts.jsonl` (from `aether detect`), `series.jsonl`.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Read records (shards, conn, alerts, series) into a new store, for aether report.")
    @Option(help: "folder of records") var records: String
    @Option(help: "store file to create") var db: String

    /// The store is built in a private folder beside `db` and linked into place only when the
    /// whole import succeeded: a failed import leaves nothing a report could mistake for a result.
    func run() throws {
        if access(db, F_OK) == 0 || isSymlink(db) { throw BadInput(message: "\(db): already exists; import writes a new store") }
        let slash = db.lastIndex(of: "/")
        let dir = slash.map { $0 == db.startIndex ? "/" : String(db[..<$0]) } ?? "."
        var template = Array((dir + "/.aether-import-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw BadInput(message: "\(db): cannot write in \(dir): \(String(cString: strerror(errno)))")
        }
        let work = String(cString: template)
        let built = work + "/store.sqlite"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(built + suffix) }
            rmdir(work)
        }
        let count = try importRecords(into: built)
        // link() never replaces: a file that appeared meanwhile is not clobbered.
        guard link(built, db) == 0 else { throw BadInput(message: "\(db): cannot write: \(String(cString: strerror(errno)))") }
        print("imported \(records): \(count) alerts")
    }

    private func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    /// Every record into a new store at `path`; the number of alerts. The store is closed on return.
    private func importRecords(into path: String) throws -> Int {
        let store = try openStore(path, readOnly: false)
        var n = 0
        try readLines(records + "/shards.jsonl") { line in
            n += 1
            let m = try parseRecord(line, "shards.jsonl", n)
            let id = try store.beginCapture(
                path: m["file"]?.string ?? "?", size: UInt64(max(0, m["size"]?.int ?? 0)), format: "records", compressed: false,
                linkTypes: [], filter: nil)
            var c = CaptureCounts()
            func u(_ k: String, _ o: JSON? = nil) -> UInt64 { UInt64(RecordRange.count.clamped((o ?? m)[k]?.int ?? 0)) }
            c.packets = u("packets"); c.bytes = u("bytes"); c.wireBytes = u("wire_bytes")
            c.truncated = u("truncated_packets"); c.outOfOrder = u("out_of_order")
            c.ipv6 = u("ipv6_packets"); c.vlan = u("vlan_packets")
            if let p = m["protocols"] {
                c.tcp = u("tcp", p); c.udp = u("udp", p); c.icmp = u("icmp", p); c.icmpv6 = u("icmpv6", p)
                c.otherIP = u("other_ip", p); c.arp = u("arp", p); c.other = u("other", p)
            }
            c.firstTime = m["first_ns"]?.int ?? 0
            c.lastTime = m["last_ns"]?.int ?? 0
            guard RecordRange.time.contains(c.firstTime), RecordRange.time.contains(c.lastTime) else {
                throw BadInput(message: "shards.jsonl: line \(n): 'first_ns' or 'last_ns' out of range: not a time")
            }
            try store.finishCapture(id, counts: c, sha256: m["sha256"]?.string ?? "", status: "complete", error: nil)
        }
        var batch: [Connection] = []
        var ids: [String: Int64] = [:]
        n = 0
        try readLines(records + "/conn.jsonl") { line in
            n += 1
            guard let c = try parseRecord(line, "conn.jsonl", n)["_c"] else { throw BadInput(message: "conn.jsonl: line \(n): no connection (_c)") }
            do { batch.append(try connection(fromRecord: c)) } catch let e as RecordError { throw BadInput(message: "conn.jsonl: line \(n): \(e.reason)") }
            ids[connectionUID(batch[batch.count - 1].id)] = batch[batch.count - 1].id
            if batch.count >= 16_384 {
                try store.transaction { try store.insert(connections: batch) }
                batch.removeAll(keepingCapacity: true)
            }
        }
        try store.transaction { try store.insert(connections: batch) }
        try importApplicationRows(store, ids, from: records)
        if access(records + "/conversations.jsonl", F_OK) == 0 {
            var keys = Set<UInt64>()
            n = 0
            try readLines(records + "/conversations.jsonl") { line in
                n += 1
                if let k = try parseRecord(line, "conversations.jsonl", n)["k"]?.int { keys.insert(UInt64(bitPattern: k)) }
            }
            try store.transaction { try store.insert(conversations: Array(keys)) }
        }
        var series: [Int64: [UInt64]] = [:]
        n = 0
        try readLines(records + "/series.jsonl") { line in
            n += 1
            let r = try parseRecord(line, "series.jsonl", n)
            guard let second = r["second"]?.int, let k = CaptureCounts.protocolNames.firstIndex(of: r["proto"]?.string ?? "") else { return }
            guard RecordRange.time.contains(second.multipliedReportingOverflow(by: 1_000_000_000).overflow ? Int64.max : second * 1_000_000_000) else {
                throw BadInput(message: "series.jsonl: line \(n): 'second' out of range: not a time")
            }
            var v = series[second] ?? Array(repeating: 0, count: 14)
            // Counts are bounded and their sums saturate: records are untrusted input.
            v[2 * k] = min(v[2 * k] &+ UInt64(RecordRange.count.clamped(r["packets"]?.int ?? 0)), UInt64(Int64.max))
            v[2 * k + 1] = min(v[2 * k + 1] &+ UInt64(RecordRange.count.clamped(r["bytes"]?.int ?? 0)), UInt64(Int64.max))
            series[second] = v
        }
        try store.transaction { try store.add(series: series) }
        var alerts: [Alert] = []
        n = 0
        try readLines(records + "/alerts.jsonl") { line in
            n += 1
            let r = try parseRecord(line, "alerts.jsonl", n)
            guard let kind = r["kind"]?.string, let src = r["src"]?.string.flatMap(IPAddress.init), let start = r["start_ns"]?.int else {
                throw BadInput(message: "alerts.jsonl: line \(n): needs kind, src and start_ns")
            }
            let end = r["end_ns"]?.int ?? start
            guard RecordRange.time.contains(start), RecordRange.time.contains(end), end >= start else {
                throw BadInput(message: "alerts.jsonl: line \(n): 'start_ns' or 'end_ns' out of range: not a time span")
            }
            var a = Alert(
                kind: kind, severity: r["severity"]?.string ?? "medium", src: src, dst: r["dst"]?.string.flatMap(IPAddress.init),
                proto: r["proto"]?.string ?? "", start: start)
            a.end = end
            a.dsts = (r["dsts"]?.array ?? []).compactMap { $0.string.flatMap(IPAddress.init) }
            a.dstCount = Int(RecordRange.count.clamped(r["dst_total"]?.int ?? Int64(a.dsts.count)))
            a.ports = (r["ports"]?.array ?? []).compactMap { $0.int.flatMap { UInt16(exactly: $0) } }
            a.portCount = Int(RecordRange.count.clamped(r["port_total"]?.int ?? Int64(a.ports.count)))
            a.flows = (r["flow_ids"]?.array ?? []).compactMap(\.int)
            if case .object(let o)? = r["evidence"] { a.evidence = o }
            if case .object(let o)? = r["why"] { a.why = o }
            a.technique = r["technique"]?.string ?? ""
            alerts.append(a)
        }
        alerts.sort { ($0.start, $0.kind, $0.src.description) < ($1.start, $1.kind, $1.src.description) }
        for i in alerts.indices { alerts[i].id = Int64(i + 1) }
        try store.transaction { try store.save(alerts: alerts) }
        try store.setMeta("internal_scope", "as the Spark job's shards saw it")
        return alerts.count
    }
}

/// `aether join-cuts`: which fragments continue a connection cut at a file's end (a Spark job's
/// step between its stages). The job pairs each cut record with the next file's `finished`
/// records of the same `k`; the rule that decides is `CutContinuation`, here and nowhere else.
struct JoinCutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-cuts",
        abstract: "Decide which candidate fragments continue cut connections (a Spark job's step).",
        discussion: """
            Reads JSON Lines {"cut": cut record, "head": finished record of the next file with the same k, "start": that \
            file's first packet time, ns}. Writes `match<TAB>{"b":later,"a":earlier}` (for aether detect --matches), \
            `cut<TAB>record` for each cut connection something continues (for --cuts), and \
            `route<TAB>{"id":fragment,"host":its chain's originator,"uid":its uid,"root_uid":the chain's}`.
            """)
    @Option(help: "candidate pairs (- for standard input)") var pairs: String = "-"

    func run() throws {
        var candidates: [(cut: Connection, head: Connection)] = []
        var cutText: [Int64: String] = [:]
        var n = 0
        try readLines(pairs) { line in
            n += 1
            let r = try parseRecord(line, pairs, n)
            guard let cutRecord = r["cut"], let head = r["head"], let start = r["start"]?.int, let timeout = cutRecord["to"]?.int,
                let c = cutRecord["c"], let h = head["c"]
            else { throw BadInput(message: "\(pairs): line \(n): needs cut (with to), head and start") }
            let a: Connection
            let b: Connection
            do {
                a = try connection(fromRecord: c)
                b = try connection(fromRecord: h)
            } catch let e as RecordError { throw BadInput(message: "\(pairs): line \(n): \(e.reason)") }
            guard CutContinuation.continues(cut: a, timeout: timeout, head: b, fileStart: start) else { return }
            candidates.append((a, b))
            cutText[a.id] = cutRecord.render(pretty: false)
        }
        let matches = CutContinuation.matches(candidates)
        let origin = Dictionary(candidates.map { ($0.cut.id, $0.cut.origAddress) }, uniquingKeysWith: { a, _ in a })
        let out = StreamOut(fd: 1)
        for (later, earlier) in matches.sorted(by: { $0.key < $1.key }) {
            try out.line("match", "{\"b\":\(later),\"a\":\(earlier)}")
        }
        for id in Set(matches.values).sorted() { try out.line("cut", cutText[id]!) }
        for (later, root) in CutContinuation.roots(matches).sorted(by: { $0.key < $1.key }) {
            let host = origin[root].map { JSON.string($0.description) } ?? .null
            try out.line(
                "route",
                JSON.object([
                    ("id", .int(later)), ("host", host), ("uid", .string(connectionUID(later))), ("root_uid", .string(connectionUID(root))),
                ]).render(pretty: false))
        }
        try out.flush()
    }
}
