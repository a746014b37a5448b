/// How writers group their work. Ingest holds one transaction open and commits at checkpoints,
/// so a reader (the live report, `aether stats` while tail runs) sees whole chunks only.
extension Store {
    public func begin() throws { try db.execute("BEGIN") }

    /// Makes what was written so far durable and visible, and goes on in a new transaction.
    public func checkpoint() throws {
        if try deferred({ [unowned(unsafe) self] in try checkpoint() }) { return }
        try db.execute("COMMIT; BEGIN")
        checkpointer?.request()
    }

    public func commit() throws {
        try db.execute("COMMIT")
        checkpointer?.request()
    }

    /// Writes the body queued (`deferWrites`) run before its COMMIT.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try db.transaction {
            let r = try body()
            if writes.active { try writes.drain() }
            return r
        }
    }

    /// The pipeline-wide number of the next packet: ingests into an existing store go on after it.
    public func nextPacketSequence() throws -> UInt64 {
        UInt64(try db.scalar("SELECT coalesce(max(first_seq + count), 0) FROM packet_chunk") ?? 0)
    }

    /// Stored captures of exactly this size that were read to the end (candidates for "already ingested").
    public func finishedCaptureCount(size: UInt64) throws -> Int64 {
        let s = try db.prepare("SELECT count(*) FROM capture WHERE size = ? AND status IN ('complete', 'truncated')")
        s.bind(1, Int64(size))
        return try s.step() ? s.int(0) : 0
    }

    /// Captures of this path and size whose ingest never finished (the process died).
    public func unfinishedCaptures(path: String, size: UInt64) throws -> [Int64] {
        let s = try db.prepare("SELECT id FROM capture WHERE path = ? AND size = ? AND status = 'ingesting'")
        s.bind(1, path)
        s.bind(2, Int64(size))
        var ids: [Int64] = []
        while try s.step() { ids.append(s.int(0)) }
        return ids
    }
}

/// What `carve` needs: an alert's connections and the time they span.
extension Store {
    public func alertExists(_ id: Int64) throws -> Bool {
        let s = try db.prepare("SELECT count(*) FROM alert WHERE id = ?")
        s.bind(1, id)
        return try s.step() && s.int(0) == 1
    }

    public func flowIDs(ofAlert id: Int64) throws -> [Int64] {
        let s = try db.prepare("SELECT flow_id FROM alert_flow WHERE alert_id = ? ORDER BY flow_id")
        s.bind(1, id)
        var ids: [Int64] = []
        while try s.step() { ids.append(s.int(0)) }
        return ids
    }

    /// The first and last packet time over these connections; nil when none is stored.
    public func timeSpan(ofFlows ids: [Int64]) throws -> (first: Int64, last: Int64)? {
        let s = try db.prepare("SELECT min(first_ts), max(last_ts) FROM flow WHERE id IN (SELECT value FROM json_each(?))")
        s.bind(1, "[" + ids.map(String.init).joined(separator: ",") + "]")
        guard try s.step(), !s.isNull(0) else { return nil }
        return (s.int(0), s.int(1))
    }
}

/// `aether query`: one read-only statement of the analyst's, with a time limit.
extension Store {
    public func analystQuery(_ sql: String, timeoutSeconds: Double) throws -> Statement {
        let s = try db.prepareReadOnlyStatement(sql)
        db.limitTime(seconds: timeoutSeconds)
        db.limitMemory()
        return s
    }
}
