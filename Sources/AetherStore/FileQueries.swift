import AetherCore

/// A file the store holds (`file` table), with its connection's endpoints.
public struct StoredFile: Sendable {
    public var id: Int64, ts: Int64, flowID: Int64
    public var origH: String, origP: Int64, respH: String, respP: Int64
    public var source: String, isOrig: Bool, name: String?, mimeType: String
    public var size: Int64, totalBytes: Int64?, missingBytes: Int64
    public var md5: String, sha1: String, sha256: String, problem: String?, extracted: Bool
}

extension Store {
    /// Whether the store has a file table (stores made before files were kept have none).
    public var hasFiles: Bool {
        (try? db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'file'")).flatMap { $0 } ?? 0 > 0
    }

    /// Files in time order; `id` limits them to one.
    public func files(id: Int64? = nil, limit: Int = Int.max) throws -> [StoredFile] {
        guard hasFiles else { return [] }
        let s = try db.prepare(
            """
            SELECT x.id, x.ts, x.flow_id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, x.source, x.is_orig, x.name, x.mime_type, x.size,
              x.total_bytes, x.missing_bytes, x.md5, x.sha1, x.sha256, x.problem, x.extracted
            FROM file x JOIN flow f ON f.id = x.flow_id WHERE ?1 IS NULL OR x.id = ?1 ORDER BY x.ts, x.id LIMIT ?2
            """)
        if let id { s.bind(1, id) } else { s.bindNull(1) }
        s.bind(2, limit)
        var out: [StoredFile] = []
        while try s.step() {
            out.append(
                StoredFile(
                    id: s.int("id"), ts: s.int("ts"), flowID: s.int("flow_id"), origH: s.text("orig_h") ?? "", origP: s.int("orig_p"),
                    respH: s.text("resp_h") ?? "", respP: s.int("resp_p"), source: s.text("source") ?? "", isOrig: s.int("is_orig") != 0,
                    name: s.text("name"), mimeType: s.text("mime_type") ?? "", size: s.int("size"),
                    totalBytes: s.isNull("total_bytes") ? nil : s.int("total_bytes"), missingBytes: s.int("missing_bytes"),
                    md5: s.text("md5") ?? "", sha1: s.text("sha1") ?? "", sha256: s.text("sha256") ?? "", problem: s.text("problem"),
                    extracted: s.int("extracted") != 0))
        }
        return out
    }

    /// A kept file's bytes (nil when it was not kept).
    public func fileContent(_ id: Int64) throws -> [UInt8]? {
        guard hasFiles else { return nil }
        let s = try db.prepare("SELECT bytes FROM file_content WHERE file_id = ?1")
        s.bind(1, id)
        return try s.step() ? s.blob(0) : nil
    }
}

/// One distinct file for the report: every transfer of the same content (SHA-256) together, or
/// each transfer that could not be hashed on its own.
public struct ReportFile: Sendable {
    public var first: StoredFile
    public var transfers: Int
    public var clients: Int
}

extension Store {
    /// The files for the report: distinct contents, the kinds that run (programs, scripts,
    /// archives) and those not whole first, then in time order; and how many transfers there were.
    public func reportFiles(limit: Int) throws -> (files: [ReportFile], transfers: Int, distinct: Int) {
        guard hasFiles else { return ([], 0, 0) }
        let transfers = Int(try db.scalar("SELECT count(*) FROM file") ?? 0)
        let distinct = Int(try db.scalar("SELECT count(DISTINCT CASE WHEN sha256 = '' THEN 'id' || id ELSE sha256 END) FROM file") ?? 0)
        let s = try db.prepare(
            """
            SELECT min(x.id) AS id, count(*) AS n, count(DISTINCT CASE WHEN x.is_orig = 1 THEN f.resp_h ELSE f.orig_h END) AS clients,
              max(CASE WHEN x.problem IS NOT NULL THEN 1 WHEN x.mime_type IN (\(Self.runnableTypes)) THEN 1 ELSE 0 END) AS flagged
            FROM file x JOIN flow f ON f.id = x.flow_id
            GROUP BY CASE WHEN x.sha256 = '' THEN 'id' || x.id ELSE x.sha256 END
            ORDER BY flagged DESC, min(x.ts), min(x.id) LIMIT ?1
            """)
        s.bind(1, limit)
        var picked: [(Int64, Int, Int)] = []
        while try s.step() { picked.append((s.int("id"), Int(s.int("n")), Int(s.int("clients")))) }
        let out = try picked.compactMap { p in try files(id: p.0).first.map { ReportFile(first: $0, transfers: p.1, clients: p.2) } }
        return (out, transfers, distinct)
    }

    /// Types by content that run or unpack on a host: what a responder looks at first.
    public static let runnable: Set<String> = [
        "application/x-dosexec", "application/x-executable", "application/x-mach-binary", "application/java-vm", "text/x-shellscript",
        "application/x-ole-storage", "application/zip", "application/x-7z-compressed", "application/vnd.rar",
    ]
    private static var runnableTypes: String { runnable.sorted().map { "'\($0)'" }.joined(separator: ", ") }
}
