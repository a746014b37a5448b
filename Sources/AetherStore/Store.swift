import AetherCore
import AetherFlows

public struct CaptureRecord: Sendable {
    public var id: Int64
    public var path: String
    public var sha256: String?
    public var status: String
    public var packets: Int64
}

/// The SQLite store: schema, writer and readers.
public final class Store {
    private let database: Database
    /// The connection, for everything but a deferred write's own job: waits for the queued
    /// writes first, so that SQLite is used by one thread at a time and in the order of calls.
    var db: Database {
        if !writes.onRunner && writes.active { try? writes.drain() }
        return database
    }
    /// Bulk writes of an ingest, queued for whichever thread has time (`deferWrites`).
    let writes = DeferredWrites()
    public let path: String
    public static let chunkSize = 65_536

    private var builder = ChunkBuilder()
    private var stage: ChunkStage?
    /// WAL checkpoints off the writer's thread (with `encodeOnOwnThread`).
    var checkpointer: WALCheckpointer?
    private let deflater = Deflater(level: 1)
    private var insertChunk: Statement?
    private var insertFlow: Statement?
    private var insertConversation: Statement?
    private var currentCapture: Int64 = 0
    var dictionaryCache: [String: Int64] = [:]
    private let readOnly: Bool

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        if readOnly {
            var st = stat()
            if stat(path, &st) != 0 { throw StoreError("store \(path) does not exist") }
        }
        if !readOnly { try Self.checkOurs(path) }
        database = try Database(path: path, readOnly: readOnly)
        if readOnly {
            try db.execute("PRAGMA query_only = ON")
            try checkVersion()
        } else {
            do {
                // No fsync while writing: the log of a bulk load would go to disk only to be
                // deleted. The store is made durable once, when it is closed (`deinit`); a power
                // cut during a run can lose that run's store, never the capture it came from.
                try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;")
                try migrate()
            } catch let e as StoreError {
                let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
                if access(path, W_OK) != 0 && access(path, F_OK) == 0 || access(dir.isEmpty ? "/" : dir, W_OK) != 0 {
                    throw StoreError("store \(path) is read-only: cannot write it or its directory (\(String(cString: strerror(errno))))")
                }
                throw e
            }
        }
    }

    private func storedVersion() throws -> Int? {
        let hasMeta = try db.scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'") ?? 0
        if hasMeta == 0 { return nil }
        let s = try db.prepare("SELECT value FROM meta WHERE key='schema_version'")
        guard try s.step(), let v = s.text(0) else { return nil }
        return Int(v)
    }

    private func checkVersion() throws {
        let tables = try db.scalar("SELECT count(*) FROM sqlite_master") ?? 0
        guard let v = try storedVersion() else {
            throw StoreError(tables == 0 ? "\(path) is empty, not an AetherLens store" : "\(path) is not an AetherLens store")
        }
        if v > Schema.version {
            throw StoreError("\(path) has schema version \(v), newer than this aether (\(Schema.version)); upgrade aether")
        }
    }

    private func migrate() throws {
        let tables = try db.scalar("SELECT count(*) FROM sqlite_master") ?? 0
        let v = try storedVersion()
        if v == nil && tables > 0 { throw StoreError("\(path) is an SQLite file but not an AetherLens store; refusing to touch it") }
        if let v, v > Schema.version {
            throw StoreError("\(path) has schema version \(v), newer than this aether (\(Schema.version)); upgrade aether")
        }
        if let v {
            for step in Schema.migrations where step.from >= v {
                try db.transaction { try db.execute(step.sql) }
            }
        }
        indexesPending = v == nil
        try db.transaction {
            try db.execute(Schema.tables)
            var columns = Set<String>()
            let info = try db.prepare("SELECT name FROM pragma_table_info('flow')")
            while try info.step() { columns.insert(info.text(0) ?? "") }
            for sql in FlowColumns.additions(existing: columns) { try db.execute(sql) }
            for name in Schema.viewNames { try db.execute("DROP VIEW IF EXISTS \(name)") }
            try db.execute(Schema.views)
            try db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '\(Schema.version)')")
            if !indexesPending { try db.execute(Schema.flowIndexes) }
        }
    }

    /// A new store's connection indexes are built when its writer is done (`Schema.flowIndexes`):
    /// the pipeline's end, a live session's start; the store's close builds them otherwise.
    private var indexesPending = false

    public func ensureIndexes() throws {
        guard indexesPending else { return }
        try db.transaction { try db.execute(Schema.flowIndexes) }
        indexesPending = false
    }

    // MARK: captures

    public func capture(withSHA256 sha: String) throws -> CaptureRecord? {
        let s = try db.prepare("SELECT id, path, sha256, status, packets FROM capture WHERE sha256 = ? ORDER BY id DESC LIMIT 1")
        s.bind(1, sha)
        guard try s.step() else { return nil }
        return CaptureRecord(id: s.int(0), path: s.text(1) ?? "", sha256: s.text(2), status: s.text(3) ?? "", packets: s.int(4))
    }

    public func captures() throws -> [CaptureRecord] {
        let s = try db.prepare("SELECT id, path, sha256, status, packets FROM capture ORDER BY id")
        var out: [CaptureRecord] = []
        while try s.step() {
            out.append(CaptureRecord(id: s.int(0), path: s.text(1) ?? "", sha256: s.text(2), status: s.text(3) ?? "", packets: s.int(4)))
        }
        return out
    }

    /// An ingest that never finished (killed, machine lost): its row stays, marked so, and what
    /// it had written is removed so the next ingest of the file counts nothing twice.
    public func markInterrupted(_ id: Int64) throws {
        try db.transaction {
            try db.execute("DELETE FROM packet_chunk WHERE capture_id = \(id)")
            try db.execute("DELETE FROM undecoded WHERE capture_id = \(id)")
            try db.execute("DELETE FROM flow WHERE capture_id = \(id)")
            // Rows of connections still open when the ingest stopped have no flow row yet: a
            // finished ingest leaves none without one, so every such row is the interrupted one's.
            for table in ["dns", "tls", "http", "alert_flow"] {
                try db.execute("DELETE FROM \(table) WHERE flow_id NOT IN (SELECT id FROM flow)")
            }
            try db.execute(
                """
                UPDATE capture SET status = 'failed', packets = 0, bytes = 0, wire_bytes = 0, tcp = 0, udp = 0, icmp = 0, icmpv6 = 0,
                  other_ip = 0, arp = 0, other = 0, ipv6_packets = 0, vlan_packets = 0, truncated_packets = 0,
                  error = 'interrupted: this ingest did not finish; its partial data was removed and the file ingested again',
                  finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                WHERE id = \(id)
                """)
        }
    }

    public func beginCapture(path: String, size: UInt64, format: String, compressed: Bool, linkTypes: [UInt32], filter: String?) throws -> Int64 {
        let s = try db.prepare(
            """
            INSERT INTO capture(path, size, format, compressed, link_types, filter, status)
            VALUES(?, ?, ?, ?, ?, ?, 'ingesting')
            """)
        s.bind(1, path); s.bind(2, Int64(size)); s.bind(3, format); s.bind(4, compressed ? 1 : 0)
        s.bind(5, linkTypes.map { LinkType.name($0) }.joined(separator: ","))
        s.bind(6, filter)
        try s.run()
        currentCapture = db.lastInsertID
        return currentCapture
    }

    public func updateLinkTypes(_ id: Int64, _ linkTypes: [UInt32]) throws {
        let s = try db.prepare("UPDATE capture SET link_types = ? WHERE id = ?")
        s.bind(1, linkTypes.map { LinkType.name($0) }.joined(separator: ","))
        s.bind(2, id)
        try s.run()
    }

    public func finishCapture(_ id: Int64, counts c: CaptureCounts, sha256: String, status: String, error: String?) throws {
        let s = try db.prepare(
            """
            UPDATE capture SET sha256 = ?, first_ts = ?, last_ts = ?, packets = ?, bytes = ?, wire_bytes = ?,
              truncated_packets = ?, out_of_order = ?, filtered_out = ?, tcp = ?, udp = ?, icmp = ?, icmpv6 = ?,
              other_ip = ?, arp = ?, other = ?, ipv6_packets = ?, vlan_packets = ?, status = ?, error = ?,
              finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
            WHERE id = ?
            """)
        s.bind(1, sha256)
        if c.packets > 0 { s.bind(2, c.firstTime); s.bind(3, c.lastTime) } else { s.bindNull(2); s.bindNull(3) }
        let values: [UInt64] = [
            c.packets, c.bytes, c.wireBytes, c.truncated, c.outOfOrder, c.filteredOut, c.tcp, c.udp,
            c.icmp, c.icmpv6, c.otherIP, c.arp, c.other, c.ipv6, c.vlan,
        ]
        for (i, v) in values.enumerated() { s.bind(Int32(4 + i), Int64(v)) }
        s.bind(19, status)
        s.bind(20, error)
        s.bind(21, id)
        try s.run()
        try db.execute("DELETE FROM undecoded WHERE capture_id = \(id)")
        let u = try db.prepare("INSERT INTO undecoded(capture_id, reason, packets) VALUES(?, ?, ?)")
        for (code, n) in c.undecodedReasons.sorted(by: { $0.key < $1.key }) {
            u.reset()
            u.bind(1, id); u.bind(2, Undecoded.describe(code)); u.bind(3, Int64(n))
            try u.run()
        }
    }

    // MARK: packets

    /// Adds one packet to the open chunk; a full chunk is written out.
    /// Column encoding and compression off the decoder's path (the pipeline's last stage).
    /// The chunks and their rows are the same either way.
    /// `ownThread`: a thread of the stage's own (more cores than the reader and decoder use);
    /// otherwise the reader (`helpEncode`) and the decoder, when it must wait, do the work.
    public func encodeOffThePath(ownThread: Bool) {
        if stage == nil { stage = ChunkStage(ownThread: ownThread) }
        if checkpointer == nil, let w = WALCheckpointer(path: path), (try? db.execute("PRAGMA wal_autocheckpoint = 0")) != nil {
            checkpointer = w
        }
    }

    /// One unit of the last stage's work, from any thread: a batch of packet rows encoded (or one
    /// column compressed), else one queued write; whether there was one.
    public func helpEncode() -> Bool { (stage?.helpOnce() ?? false) || writes.helpOnce() }

    /// From now on the bulk writes (connections, conversations, application rows, packet chunks,
    /// checkpoints) are queued for whichever thread has time (`helpEncode`) instead of run by the
    /// caller. Only while another thread calls `helpEncode` (a file's reader thread); the caller
    /// ends it with `endDeferredWrites` before its commit.
    public func deferWrites() { writes.start() }

    /// Runs every queued write and writes inline again; the error of one that failed.
    public func endDeferredWrites() throws { try writes.finish() }

    /// Queues `job` when writes are deferred and this is not the thread running them; whether
    /// it did (the caller then returns).
    func deferred(_ job: @escaping () throws -> Void) throws -> Bool {
        guard !writes.onRunner, writes.active else { return false }
        try writes.enqueue(job)
        return true
    }

    /// `deferred` for a list of rows, in parts of `DeferredWrites.part`: the reader thread takes a
    /// job only while it is ahead, by 8 MB of file, which the parser reads in about 5 ms; a longer
    /// job leaves the parser waiting for its next block.
    func deferred<Row>(_ rows: [Row], _ insert: @escaping (Store, [Row]) throws -> Void) throws -> Bool {
        guard !writes.onRunner, writes.active else { return false }
        var i = 0
        while i < rows.count {
            let part = Array(rows[i..<min(i + DeferredWrites.part, rows.count)])
            try writes.enqueue { [unowned(unsafe) self] in try insert(self, part) }
            i += DeferredWrites.part
        }
        return true
    }

    deinit {
        // What an ingest that ended early (an error) had queued is still written.
        try? writes.finish()
        try? ensureIndexes()
        // Its connection closes first, so that the writer's close is the last and ends the WAL.
        checkpointer?.stop()
        checkpointer = nil
        if !readOnly && !db.checkpointAndSync() {
            fputs("aether: warning: store \(path) could not be synced to disk; it may not survive a power cut\n", stderr)
        }
    }

    @inline(__always) public func append(_ m: PacketMeta, flowID: Int64, sequence: UInt64, captureID: Int64) throws {
        let row = PacketRow(m, flowID: flowID, sequence: sequence)
        if let stage {
            if let chunks = stage.append(row, captureID: captureID) { try insert(chunks: chunks) }
            return
        }
        builder.append(row)
        if builder.count >= Store.chunkSize { try flushChunk(captureID: captureID) }
    }

    private func insert(chunks: [EncodedChunk]) throws {
        if chunks.isEmpty { return }
        if try deferred({ [unowned(unsafe) self] in try insert(chunks: chunks) }) { return }
        for c in chunks {
            try insertChunk(
                captureID: c.captureID, firstSequence: c.firstSequence, count: c.count, tsMin: c.tsMin, tsMax: c.tsMax
            ) { s, i in
                s.bind(Int32(7 + i), blob: c.columns[i])
            }
        }
    }

    /// Ends the current packet chunk (at the end of a capture, or a live checkpoint).
    public func flushChunk(captureID: Int64) throws {
        if let stage {
            try insert(chunks: stage.flush())
            return
        }
        guard builder.count > 0 else { return }
        try insertChunk(
            captureID: captureID, firstSequence: builder.firstSequence, count: builder.count, tsMin: builder.tsMin, tsMax: builder.tsMax
        ) { s, i in
            let col = builder.columns[i].pointee
            let z = deflater.compress(col.base, col.count)
            s.bind(Int32(7 + i), blob: z.baseAddress!, count: z.count)
        }
        builder.reset()
    }

    private func insertChunk(
        captureID: Int64, firstSequence: UInt64, count: Int, tsMin: Int64, tsMax: Int64, bindColumn: (Statement, Int) -> Void
    ) throws {
        if insertChunk == nil {
            let cols = ChunkBuilder.columnNames
            insertChunk = try db.prepare(
                """
                INSERT INTO packet_chunk(capture_id, first_seq, count, ts_min, ts_max, encoding, \(cols.joined(separator: ", ")))
                VALUES(?, ?, ?, ?, ?, ?, \(cols.map { _ in "?" }.joined(separator: ", ")))
                """)
        }
        let s = insertChunk!
        s.bind(1, captureID)
        s.bind(2, Int64(firstSequence))
        s.bind(3, count)
        s.bind(4, tsMin)
        s.bind(5, tsMax)
        s.bind(6, ChunkBuilder.encoding)
        for i in 0..<ChunkBuilder.columnNames.count { bindColumn(s, i) }
        try s.run()
        s.reset()
    }

    // MARK: flows

    public func insert(connections: [Connection]) throws {
        if connections.isEmpty { return }
        if try deferred(connections, { try $0.insert(connections: $1) }) { return }
        if insertFlow == nil { insertFlow = try db.prepare(FlowColumns.insert) }
        let s = insertFlow!
        for c in connections {
            for (i, column) in FlowColumns.all.enumerated() { column.bind(s, Int32(i + 1), c) }
            try s.run()
        }
    }

    public func nextAlertID() throws -> Int64 {
        (try db.scalar("SELECT coalesce(max(id), 0) + 1 FROM alert")) ?? 1
    }

    /// Writes alerts (replacing earlier versions of the same ids) with their flows. An alert's
    /// flows only grow, so `savedFlows[id]` of them are already stored and only the rest are written.
    public func save(alerts: [Alert], savedFlows: [Int64: Int] = [:]) throws {
        if alerts.isEmpty { return }
        let a = try db.prepare(
            "INSERT OR REPLACE INTO alert(id, kind, severity, src, dst, dsts, ports, proto, start_ts, end_ts, evidence) VALUES(?,?,?,?,?,?,?,?,?,?,?)")
        let del = try db.prepare("DELETE FROM alert_flow WHERE alert_id = ?")
        let f = try db.prepare("INSERT OR IGNORE INTO alert_flow(alert_id, flow_id) VALUES(?, ?)")
        for x in alerts {
            a.bind(1, x.id); a.bind(2, x.kind); a.bind(3, x.severity); a.bind(4, x.src.description)
            a.bind(5, x.dst?.description)
            a.bind(6, x.dst == nil ? JSON.array(x.dsts.map { .string($0.description) }).render(pretty: false) : nil)
            a.bind(7, JSON.array(x.ports.map { .int(Int64($0)) }).render(pretty: false))
            a.bind(8, x.proto); a.bind(9, x.start); a.bind(10, x.end)
            // Technique and reasons ride in the evidence object; `alerts --json` lifts them out.
            a.bind(11, JSON.object(x.evidence + [("technique", .string(x.technique)), ("why", .object(x.why))]).render(pretty: false))
            try a.run()
            let already = min(savedFlows[x.id] ?? 0, x.flows.count)
            if already == 0 {
                del.bind(1, x.id)
                try del.run()
            }
            for flow in x.flows[already...] {
                f.bind(1, x.id); f.bind(2, flow)
                try f.run()
            }
        }
    }

    public func insert(conversations: [UInt64]) throws {
        if conversations.isEmpty { return }
        if try deferred(conversations, { try $0.insert(conversations: $1) }) { return }
        if insertConversation == nil { insertConversation = try db.prepare("INSERT OR IGNORE INTO conversation(key) VALUES(?)") }
        let s = insertConversation!
        for k in conversations {
            s.bind(1, Int64(bitPattern: k))
            try s.run()
        }
    }

    public func conversationKeys() throws -> [UInt64] {
        let s = try db.prepare("SELECT key FROM conversation")
        var out: [UInt64] = []
        while try s.step() { out.append(UInt64(bitPattern: s.int(0))) }
        return out
    }

    /// Adds per-second counts: (second, protocol class) → (packets, bytes).
    public func add(series: [Int64: [UInt64]]) throws {
        if series.isEmpty { return }
        let s = try db.prepare(
            """
            INSERT INTO series(second, proto, packets, bytes) VALUES(?, ?, ?, ?)
            ON CONFLICT(second, proto) DO UPDATE SET packets = packets + excluded.packets, bytes = bytes + excluded.bytes
            """)
        for (second, v) in series {
            for k in 0..<CaptureCounts.protocolNames.count where v[2 * k] > 0 {
                s.bind(1, second); s.bind(2, CaptureCounts.protocolNames[k])
                s.bind(3, Int64(v[2 * k])); s.bind(4, Int64(v[2 * k + 1]))
                try s.run()
            }
        }
    }

    // MARK: reading

    /// Every packet of one capture, decoded (tests, carving); with a time range, only the chunks
    /// whose min/max times overlap it are read.
    public func packets(captureID: Int64, from: Int64 = Int64.min, to: Int64 = Int64.max) throws -> [StoredPacket] {
        let cols = ChunkBuilder.columnNames
        let s = try db.prepare(
            "SELECT count, first_seq, \(cols.joined(separator: ", ")) FROM packet_chunk WHERE capture_id = ? AND ts_max >= ? AND ts_min <= ? ORDER BY first_seq"
        )
        s.bind(1, captureID)
        s.bind(2, from)
        s.bind(3, to)
        var out: [StoredPacket] = []
        while try s.step() {
            let n = Int(s.int(0))
            var columns: [[UInt8]] = []
            for i in 0..<cols.count { columns.append(try Deflater.inflate(s.blob(Int32(2 + i)), expected: n * 4)) }
            out += try ChunkDecoder.decode(columns: columns, count: n, firstSequence: UInt64(s.int(1)))
        }
        return out
    }
}

#if canImport(Glibc)
    import Glibc
#endif
