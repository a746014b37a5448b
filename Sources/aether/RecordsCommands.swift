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

/// `aether detect`: detector event records in (time-ordered, any mix of hosts: a partition of
/// a Spark job, or every shard's events sorted), alerts and the connections out, both as JSON
/// Lines. The detectors are the very ones `ingest` runs.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Run the detectors over event records (from aether shard) and write alerts and connections as JSON Lines.")
    @Option(
        help: """
            event records, time-ordered (- for standard input); give it again for more streams, each time-ordered \
            (one shard's records of one partition), and they are merged by time, then file order, then sequence
            """) var events: [String] = []
    @Option(help: "file indexes in time order, comma-separated: the merge's order between files at the same time") var fileOrder: String?
    @Option(help: "cut records of every shard (cut.jsonl)") var cuts: String?
    @Option(help: "continuations: JSON Lines {\"b\": later fragment id, \"a\": the cut fragment it continues}") var matches: String?
    @Option(help: "the whole input's first packet time, ns") var firstTime: Int64?
    @Flag(help: "some host of the whole input is in the internal networks") var internalSeen = false
    @Option(help: "alerts file to create (JSON Lines)") var alerts: String
    @Option(help: "connections file to create (JSON Lines, conn.log keys)") var conn: String?
    @OptionGroup var detection: DetectionOptions

    func run() throws {
        let config = try detection.config()
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
        let rank = try fileRanks()
        var merge = try EventMerge(paths: events.isEmpty ? ["-"] : events, rank: rank)
        var line: [UInt8] = []
        while let (r, path, n) = try merge.next() {
            do {
                if let c = try replay.take(r) {
                    connections += 1
                    // The conn record, then the connection whole for `aether import` (a Spark job
                    // drops it from Parquet) as its last member.
                    line.removeAll(keepingCapacity: true)
                    c.connRecord.write(into: &line)
                    line.removeLast()
                    line.append(contentsOf: #","_c":"#.utf8)
                    EventRecorder.writeSnapshot(c, into: &line)
                    line.append(UInt8(ascii: "}"))
                    try connOut?.write(bytes: line)
                }
            } catch let e as RecordError {
                throw BadInput(message: "\(path): line \(n): \(e.reason)")
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

extension DetectCommand {
    private func fileRanks() throws -> [Int64: Int] {
        guard let fileOrder else { return [:] }
        var rank: [Int64: Int] = [:]
        for (i, f) in fileOrder.split(separator: ",").enumerated() {
            guard let index = Int64(f), rank.updateValue(i, forKey: index) == nil else {
                throw ValidationError("--file-order: '\(f)' is not a file index, or it is given twice")
            }
        }
        return rank
    }
}

func parseRecord(_ line: String, _ path: String, _ n: Int) throws -> JSON {
    do { return try JSONParser.parse(line) } catch let e as JSONParser.Failure { throw BadInput(message: "\(path): line \(n): \(e)") }
}

func parseRecord(bytes: [UInt8], from start: Int, _ path: String, _ n: Int) throws -> JSON {
    do { return try JSONParser.parse(bytes: bytes, from: start) } catch let e as JSONParser.Failure {
        throw BadInput(message: "\(path): line \(n): \(e)")
    }
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

    func write(_ line: String) throws { try write(bytes: line.utf8) }

    func write<Bytes: Collection>(bytes line: Bytes) throws where Bytes.Element == UInt8 {
        buffer.append(contentsOf: line)
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
    var x509: [X509Row] = []
    try each("x509.jsonl") { r, flow, ts in
        func seconds(_ key: String) -> Int64 {
            guard let d = r[key]?.double, d.isFinite, abs(d) < 1e15 else { return 0 }
            return Int64(d)
        }
        let names = (r["san.dns"]?.array ?? []) + (r["san.ip"]?.array ?? [])
        x509.append(
            X509Row(
                ts: ts, flowID: flow, depth: Int(clamping: r["depth"]?.int ?? 0), subject: r["certificate.subject"]?.string ?? "",
                issuer: r["certificate.issuer"]?.string ?? "", serial: r["certificate.serial"]?.string ?? "",
                notBefore: seconds("certificate.not_valid_before"), notAfter: seconds("certificate.not_valid_after"),
                keyType: r["certificate.key_type"]?.string ?? "", keyBits: Int(clamping: r["certificate.key_length"]?.int ?? 0),
                san: names.compactMap(\.string), selfSigned: r["self_signed"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false))
    }
    try store.transaction {
        if !dns.isEmpty { try store.insert(dns: dns) }
        if !tls.isEmpty { try store.insert(tls: tls) }
        if !http.isEmpty { try store.insert(http: http) }
        if !x509.isEmpty { try store.insert(x509: x509) }
    }
}

/// `aether import`: a folder of records (a Spark job's whole result) into a new store, so that
/// the one report code renders it: `shards.jsonl` (each file's `shard.json`), `conn.jsonl` and
/// `alerts.jsonl` (from `aether detect`), `series.jsonl`, the shards' dns, ssl, http and x509
/// records, and `routes.jsonl` (each joined fragment's uid and its root connection's).
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
        // A fragment joined to the connection it continues has no row of its own: its dns, ssl,
        // http and x509 rows belong to the root connection (`routes.jsonl`, from join-cuts).
        if access(records + "/routes.jsonl", F_OK) == 0 {
            n = 0
            try readLines(records + "/routes.jsonl") { line in
                n += 1
                let r = try parseRecord(line, "routes.jsonl", n)
                guard let uid = r["uid"]?.string, let root = r["root_uid"]?.string else {
                    throw BadInput(message: "routes.jsonl: line \(n): needs uid and root_uid")
                }
                if ids[uid] == nil, let flow = ids[root] { ids[uid] = flow }
            }
        }
        try importApplicationRows(store, ids, from: records)
        if access(records + "/conversations.jsonl", F_OK) == 0 {
            var keys = Set<UInt64>()
            n = 0
            try readLines(records + "/conversations.jsonl") { line in
                n += 1
                if let k = try parseRecord(line, "conversations.jsonl", n)["k"]?.int { keys.insert(UInt64(bitPattern: k)) }
            }
            // Each key once: the store's own are already there.
            keys.subtract(try store.conversationKeys())
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
