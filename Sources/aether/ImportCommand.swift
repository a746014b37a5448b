import AetherCore
import AetherDetect
import AetherFlows
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

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
    var files: [FileRow] = []
    try each("files.jsonl") { r, flow, ts in
        func bool(_ key: String) -> Bool { r[key].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false }
        files.append(
            FileRow(
                ts: ts, flowID: flow, source: r["source"]?.string ?? "", isOrig: bool("is_orig"), name: r["filename"]?.string,
                mimeType: r["mime_type"]?.string ?? "", size: max(0, r["seen_bytes"]?.int ?? 0), totalBytes: r["total_bytes"]?.int,
                missingBytes: max(0, r["missing_bytes"]?.int ?? 0), md5: r["md5"]?.string ?? "", sha1: r["sha1"]?.string ?? "",
                sha256: r["sha256"]?.string ?? "", problem: r["problem"]?.string, content: nil))
    }
    try store.transaction {
        if !files.isEmpty { try store.insert(files: files) }
        if !dns.isEmpty { try store.insert(dns: dns) }
        if !tls.isEmpty { try store.insert(tls: tls) }
        if !http.isEmpty { try store.insert(http: http) }
        if !x509.isEmpty { try store.insert(x509: x509) }
    }
}

/// `aether import`: a folder of records (a Spark job's whole result) into a new store, so that
/// the one report code renders it: `shards.jsonl` (each file's `shard.json`), the connections
/// whole (`connections.jsonl` from `aether detect --snapshots`, or `conn.jsonl` with `_c`) and
/// `alerts.jsonl` (from `aether detect`), `series.jsonl`, the shards' dns, ssl, http, x509 and files
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
        // Each connection whole: `connections.jsonl` (detect --snapshots), or else each conn
        // record's `_c`.
        let whole = access(records + "/connections.jsonl", F_OK) == 0
        let name = whole ? "connections.jsonl" : "conn.jsonl"
        try readLines(records + "/" + name) { line in
            n += 1
            let r = try parseRecord(line, name, n)
            guard let c = whole ? r : r["_c"] else { throw BadInput(message: "conn.jsonl: line \(n): no connection (_c)") }
            do { batch.append(try connection(fromRecord: c)) } catch let e as RecordError { throw BadInput(message: "\(name): line \(n): \(e.reason)") }
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
