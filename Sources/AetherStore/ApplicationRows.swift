import AetherCore

/// The application layer's rows (DNS, TLS, HTTP, certificates) into their tables; during an
/// ingest they are queued like every bulk write (`Store.deferred`).
extension Store {
    public func insert(dns rows: [DNSRow]) throws {
        if rows.isEmpty { return }
        if try deferred(rows, { try $0.insert(dns: $1) }) { return }
        let s = try db.prepare("INSERT INTO dns(ts, flow_id, query, response, query_id, qname, qtype, rcode, answers) VALUES(?,?,?,?,?,?,?,?,?)")
        for r in rows {
            s.bind(1, r.ts); s.bind(2, r.flowID); s.bind(3, r.hasQuery ? 1 : 0)
            s.bind(4, r.hasResponse ? 1 : 0); s.bind(5, Int64(r.id)); s.bind(6, r.name); s.bind(7, Int64(r.qtype))
            if r.hasResponse { s.bind(8, Int64(r.rcode)) } else { s.bindNull(8) }
            s.bind(9, r.answers.isEmpty ? nil : r.answers)
            try s.run()
        }
    }

    /// The id of a value in a dictionary table (ja4, user_agent), adding it when new.
    func dictionaryID(_ table: String, _ value: String) throws -> Int64 {
        if let id = dictionaryCache[table + "\u{0}" + value] { return id }
        let ins = try db.prepare("INSERT OR IGNORE INTO \(table)(value) VALUES(?)")
        ins.bind(1, value)
        try ins.run()
        let sel = try db.prepare("SELECT id FROM \(table) WHERE value = ?")
        sel.bind(1, value)
        guard try sel.step() else { throw StoreError("\(table): value vanished") }
        let id = sel.int(0)
        if dictionaryCache.count > 100_000 { dictionaryCache.removeAll() }
        dictionaryCache[table + "\u{0}" + value] = id
        return id
    }

    public func insert(tls rows: [TLSRow]) throws {
        if rows.isEmpty { return }
        if try deferred(rows, { try $0.insert(tls: $1) }) { return }
        let s = try db.prepare("INSERT INTO tls(ts, flow_id, server_name, version, alpn, ja4_id, server_version) VALUES(?,?,?,?,?,?,?)")
        for r in rows {
            s.bind(1, r.ts); s.bind(2, r.flowID); s.bind(3, r.serverName); s.bind(4, r.version)
            s.bind(5, r.alpn.isEmpty ? nil : r.alpn); s.bind(6, try dictionaryID("ja4", r.ja4)); s.bind(7, r.serverVersion)
            try s.run()
        }
    }

    public func insert(http rows: [HTTPRow]) throws {
        if rows.isEmpty { return }
        if try deferred(rows, { try $0.insert(http: $1) }) { return }
        let s = try db.prepare("INSERT INTO http(ts, flow_id, method, host, uri, user_agent_id, status) VALUES(?,?,?,?,?,?,?)")
        for r in rows {
            s.bind(1, r.ts); s.bind(2, r.flowID); s.bind(3, r.method); s.bind(4, r.host); s.bind(5, r.uri)
            if let ua = r.userAgent { s.bind(6, try dictionaryID("user_agent", ua)) } else { s.bindNull(6) }
            if let st = r.status { s.bind(7, Int64(st)) } else { s.bindNull(7) }
            try s.run()
        }
    }

    public func nextFlowID() throws -> Int64 {
        (try db.scalar("SELECT coalesce(max(id), 0) + 1 FROM flow")) ?? 1
    }

    public func insert(x509 rows: [X509Row]) throws {
        if rows.isEmpty { return }
        if try deferred(rows, { try $0.insert(x509: $1) }) { return }
        let s = try db.prepare(
            "INSERT INTO x509(ts, flow_id, depth, subject, issuer, serial, not_before, not_after, key_type, key_bits, san, self_signed) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        for r in rows {
            s.bind(1, r.ts); s.bind(2, r.flowID); s.bind(3, Int64(r.depth)); s.bind(4, r.subject); s.bind(5, r.issuer); s.bind(6, r.serial)
            s.bind(7, r.notBefore); s.bind(8, r.notAfter); s.bind(9, r.keyType); s.bind(10, Int64(r.keyBits))
            s.bind(11, r.san.joined(separator: ",")); s.bind(12, r.selfSigned ? 1 : 0)
            try s.run()
        }
    }

    public func insert(files rows: [FileRow]) throws {
        if rows.isEmpty { return }
        if try deferred(rows, { try $0.insert(files: $1) }) { return }
        let s = try db.prepare(
            """
            INSERT INTO file(ts, flow_id, source, is_orig, name, mime_type, size, total_bytes, missing_bytes, md5, sha1, sha256, problem,
              extracted) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """)
        let c = try db.prepare("INSERT INTO file_content(file_id, bytes) VALUES(?, ?)")
        for r in rows {
            s.bind(1, r.ts); s.bind(2, r.flowID); s.bind(3, r.source); s.bind(4, r.isOrig ? 1 : 0); s.bind(5, r.name)
            s.bind(6, r.mimeType); s.bind(7, r.size); if let t = r.totalBytes { s.bind(8, t) } else { s.bindNull(8) }; s.bind(9, r.missingBytes);
            s.bind(10, r.md5)
            s.bind(11, r.sha1); s.bind(12, r.sha256); s.bind(13, r.problem); s.bind(14, r.content == nil ? 0 : 1)
            try s.run()
            if let content = r.content {
                c.bind(1, db.lastInsertID)
                c.bind(2, blob: content)
                try c.run()
            }
        }
    }
}
