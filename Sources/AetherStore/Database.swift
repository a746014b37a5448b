import CSQLite
#if canImport(Glibc)
    import Glibc
#endif

public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A small owner of one sqlite3 connection; statements are prepared once and reused.
public final class Database {
    let handle: OpaquePointer
    public let path: String

    /// `immutable`: read the file as it is, taking no lock and making no -wal or -shm file
    /// (for deciding whether a file is ours before touching it).
    /// `mustExist`: open for writing but never create the file.
    public init(path: String, readOnly: Bool = false, immutable: Bool = false, mustExist: Bool = false) throws {
        self.path = path
        var h: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (mustExist ? 0 : SQLITE_OPEN_CREATE))
        var rc =
            immutable
            ? sqlite3_open_v2(
                "file:" + path.addingPercentEncodingForURI + "?immutable=1", &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
            : sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, nil)
        if readOnly && !immutable && rc == SQLITE_OK, let opened = h, sqlite3_exec(opened, "SELECT count(*) FROM sqlite_master", nil, nil, nil) != SQLITE_OK {
            // On read-only media WAL cannot make its -shm file; an immutable open reads the file as it is.
            sqlite3_close(opened)
            h = nil
            let uri = "file:" + (path.addingPercentEncodingForURI) + "?immutable=1"
            rc = sqlite3_open_v2(uri, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        }
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite3_close(h) }
            throw StoreError("cannot open store \(path): \(msg)")
        }
        handle = h
        sqlite3_busy_timeout(h, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Copies the whole log into the database file, empties the log, and syncs the file to disk
    /// (the writer runs with `synchronous = OFF`). The log is emptied, not synced: its pages are
    /// dropped rather than written. False only when the sync failed: a checkpoint that could not
    /// run (a full disk, which the writer has already reported) leaves the log as it is, and
    /// SQLite reads it on the next open.
    func checkpointAndSync() -> Bool {
        guard sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil) == SQLITE_OK else { return true }
        return syncFile()
    }

    /// Syncs the database file (not its log) to disk.
    func syncFile() -> Bool {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(handle, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK, let file,
            let methods = file.pointee.pMethods, let sync = methods.pointee.xSync
        else { return false }
        return sync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK
    }

    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw StoreError("\(path): \(msg)")
        }
    }

    public func prepare(_ sql: String) throws -> Statement {
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &s, nil) == SQLITE_OK, let s else {
            throw StoreError("\(path): \(String(cString: sqlite3_errmsg(handle)))")
        }
        return Statement(s, db: self)
    }

    /// One read-only statement, as `aether query` takes it: anything after the first statement
    /// (but blanks, semicolons and comments) and any statement that would write are refused
    /// before it runs, so a refused `VACUUM INTO` leaves no file behind.
    public func prepareReadOnlyStatement(_ sql: String) throws -> Statement {
        var s: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let rc = sql.withCString { base -> Int32 in
            let rc = sqlite3_prepare_v2(handle, base, -1, &s, &tail)
            if rc == SQLITE_OK, let t = tail, !Self.isBlank(String(cString: t)) {
                sqlite3_finalize(s); s = nil
                return SQLITE_MISUSE
            }
            return rc
        }
        if rc == SQLITE_MISUSE { throw StoreError("one statement only: found more SQL after the first ';'") }
        guard rc == SQLITE_OK, let s else { throw StoreError("\(path): \(String(cString: sqlite3_errmsg(handle)))") }
        guard sqlite3_stmt_readonly(s) != 0 else {
            sqlite3_finalize(s)
            throw StoreError("only read-only SQL is allowed here")
        }
        return Statement(s, db: self)
    }

    static func isBlank(_ sql: String) -> Bool {
        var rest = Substring(sql)
        while let c = rest.first {
            if c == " " || c == "\n" || c == "\t" || c == "\r" || c == ";" { rest.removeFirst(); continue }
            if rest.hasPrefix("--") { rest = rest.drop(while: { $0 != "\n" }); continue }
            if rest.hasPrefix("/*") {
                rest = rest.dropFirst(2)
                while !rest.isEmpty && !rest.hasPrefix("*/") { rest.removeFirst() }
                rest = rest.dropFirst(2)
                continue
            }
            return false
        }
        return true
    }

    private var deadline = 0.0
    /// Interrupts any statement still running `seconds` from now (SQLITE_INTERRUPT).
    /// Bounds what one analyst statement may hold: a value at most 64 MB, SQLite's heap at most
    /// 512 MB for the process (only `query` runs analyst SQL, in a process of its own).
    public func limitMemory() {
        sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, 64 << 20)
        _ = sqlite3_hard_heap_limit64(512 << 20)
    }

    public func limitTime(seconds: Double) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        deadline = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 + seconds
        sqlite3_progress_handler(
            handle, 10_000,
            { ctx in
                let db = Unmanaged<Database>.fromOpaque(ctx!).takeUnretainedValue()
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 > db.deadline ? 1 : 0
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    public var lastInsertID: Int64 { sqlite3_last_insert_rowid(handle) }
    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// The first column of the first row, as an integer.
    public func scalar(_ sql: String) throws -> Int64? {
        let s = try prepare(sql)
        return try s.step() ? s.int(0) : nil
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

public final class Statement {
    let s: OpaquePointer
    unowned let db: Database

    init(_ s: OpaquePointer, db: Database) { self.s = s; self.db = db }
    deinit { sqlite3_finalize(s) }

    public func reset() { sqlite3_reset(s); sqlite3_clear_bindings(s) }

    /// Columns by the names the statement gives them, so readers do not count positions.
    private lazy var columnIndex: [String: Int32] = Dictionary(uniqueKeysWithValues: (0..<columnCount).map { (name($0), $0) })

    func column(_ name: String) -> Int32 {
        guard let i = columnIndex[name] else { preconditionFailure("no column \(name) in this statement") }
        return i
    }
    func int(_ name: String) -> Int64 { int(column(name)) }
    func double(_ name: String) -> Double { double(column(name)) }
    func text(_ name: String) -> String? { text(column(name)) }
    func isNull(_ name: String) -> Bool { isNull(column(name)) }
    func optionalInt(_ name: String) -> Int64? { isNull(name) ? nil : int(name) }
    public func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(s, i, v) }
    public func bind(_ i: Int32, _ v: Int) { sqlite3_bind_int64(s, i, Int64(v)) }
    public func bind(_ i: Int32, _ v: Double) { sqlite3_bind_double(s, i, v) }
    public func bind(_ i: Int32, _ v: String?) {
        if let v { sqlite3_bind_text(s, i, v, -1, aether_sqlite_transient()) } else { sqlite3_bind_null(s, i) }
    }
    public func bindNull(_ i: Int32) { sqlite3_bind_null(s, i) }
    public func bind(_ i: Int32, blob p: UnsafeRawPointer, count: Int) {
        sqlite3_bind_blob(s, i, p, Int32(count), aether_sqlite_transient())
    }
    public func bind(_ i: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { sqlite3_bind_blob(s, i, $0.baseAddress, Int32($0.count), aether_sqlite_transient()) }
    }

    /// True while a row is available.
    @discardableResult public func step() throws -> Bool {
        let rc = sqlite3_step(s)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw StoreError("\(db.path): \(db.errorMessage)")
    }

    public func run() throws { try step(); sqlite3_reset(s) }

    public var columnCount: Int32 { sqlite3_column_count(s) }
    public func name(_ i: Int32) -> String { String(cString: sqlite3_column_name(s, i)) }
    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(s, i) == SQLITE_NULL }
    public func int(_ i: Int32) -> Int64 { sqlite3_column_int64(s, i) }
    public func double(_ i: Int32) -> Double { sqlite3_column_double(s, i) }
    public func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(s, i) else { return nil }
        return String(cString: p)
    }
    public func blobSize(_ i: Int32) -> Int { Int(sqlite3_column_bytes(s, i)) }

    /// A value for display: blobs past `limit` bytes shown by their first bytes and their size.
    public func displayValue(_ i: Int32, blobLimit limit: Int) -> Any? {
        guard sqlite3_column_type(s, i) == SQLITE_BLOB, blobSize(i) > limit, let p = sqlite3_column_blob(s, i) else { return value(i) }
        let head = UnsafeRawBufferPointer(start: p, count: limit).map { String(format2: $0) }.joined()
        return "x'\(head)'… (\(blobSize(i)) bytes, truncated)"
    }

    public func blob(_ i: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(s, i))
        guard n > 0, let p = sqlite3_column_blob(s, i) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: p, count: n))
    }

    /// A value as JSON-ready Swift value: Int64, Double, String, nil, or hex for blobs.
    public func value(_ i: Int32) -> Any? {
        switch sqlite3_column_type(s, i) {
        case SQLITE_INTEGER: return int(i)
        case SQLITE_FLOAT: return double(i)
        case SQLITE_TEXT: return text(i)
        case SQLITE_BLOB: return "x'" + blob(i).map { String(format2: $0) }.joined() + "'"
        default: return nil
        }
    }
}

extension String {
    init(format2 b: UInt8) {
        let s = String(b, radix: 16)
        self = s.count == 1 ? "0" + s : s
    }
}

extension String {
    /// Percent-encodes what an SQLite URI filename cannot carry as is.
    var addingPercentEncodingForURI: String {
        var out = ""
        for b in utf8 {
            switch b {
            case UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "%"), 0x80...0xFF, 0..<0x20:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            default: out.unicodeScalars.append(UnicodeScalar(b))
            }
        }
        return out
    }
}
