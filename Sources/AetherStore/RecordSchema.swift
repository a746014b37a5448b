import AetherCore
import AetherFlows

/// A record field's type in Arrow and Parquet: what `aether schema --json` tells a Spark job,
/// which reads the records with it instead of keeping column lists of its own.
public enum ArrowType: String, Sendable {
    case string, int64, double, bool
    case strings = "list<string>"
}

/// One field of a record type, as Zeek's `Conn::Info` declares a log's columns: its name
/// (Zeek's, where Zeek has the field), its type in Zeek's log (nil for a field Zeek's log does
/// not have: it is only in JSON and Parquet), its Arrow type, and how it is read from a row.
/// Every writer of the record derives from the list: JSON Lines (`export`, `detect`'s conn
/// records), Zeek's ASCII log (`export --format zeek`, `flows --zeek`) and the Parquet schema.
public struct RecordField<Row> {
    public let name: String
    public let zeekType: String?
    public let arrow: ArrowType
    let value: (Row) -> JSON

    init(_ name: String, zeek: String?, _ arrow: ArrowType, _ value: @escaping (Row) -> JSON) {
        self.name = name
        self.zeekType = zeek
        self.arrow = arrow
        self.value = value
    }
}

/// The fields of one record type, in order.
public struct RecordSchema<Row> {
    public let table: RecordTable
    public let fields: [RecordField<Row>]

    /// The record of `row`: every field, in order.
    public func record(_ row: Row) -> JSON { .object(fields.map { ($0.name, $0.value(row)) }) }

    public var description: [(name: String, zeekType: String?, arrow: ArrowType)] { fields.map { ($0.name, $0.zeekType, $0.arrow) } }
}

/// The record types' schemas: conn, dns, ssl, http and series (`RecordTable`).
public enum RecordSchemas {
    private static func text(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
    private static func seconds(_ ns: Int64) -> JSON { .double(Double(ns) / 1e9) }

    /// Zeek's first fields: ts (seconds), uid and the connection's endpoints (`id.*`).
    static func endpoints<Row>(
        ts: @escaping (Row) -> Int64, id: @escaping (Row) -> Int64, origH: @escaping (Row) -> String, origP: @escaping (Row) -> Int64,
        respH: @escaping (Row) -> String, respP: @escaping (Row) -> Int64
    ) -> [RecordField<Row>] {
        [
            RecordField("ts", zeek: "time", .double) { seconds(ts($0)) },
            RecordField("uid", zeek: "string", .string) { .string(connectionUID(id($0))) },
            RecordField("id.orig_h", zeek: "addr", .string) { .string(origH($0)) },
            RecordField("id.orig_p", zeek: "port", .int64) { .int(origP($0)) },
            RecordField("id.resp_h", zeek: "addr", .string) { .string(respH($0)) },
            RecordField("id.resp_p", zeek: "port", .int64) { .int(respP($0)) },
        ]
    }

    /// Endpoints of a row joined with its `flow` row (columns `ts`, `id`, `orig_h`, …).
    private static let joinedEndpoints: [RecordField<Statement>] = endpoints(
        ts: { $0.int("ts") }, id: { $0.int("id") }, origH: { $0.text("orig_h") ?? "" }, origP: { $0.int("orig_p") },
        respH: { $0.text("resp_h") ?? "" }, respP: { $0.int("resp_p") })

    public static let dns = RecordSchema<Statement>(
        table: .dns,
        fields: joinedEndpoints + [
            RecordField("proto", zeek: "enum", .string) { .string(IPProto.zeekName(UInt8(truncatingIfNeeded: $0.int("proto")))) },
            RecordField("trans_id", zeek: "count", .int64) { .int($0.int("query_id")) },
            RecordField("query", zeek: "string", .string) { .string($0.text("qname") ?? "") },
            RecordField("qtype", zeek: "count", .int64) { .int($0.int("qtype")) },
            RecordField("rcode", zeek: "count", .int64) { $0.int("response") == 1 ? .int($0.int("rcode")) : .null },
            RecordField("answers", zeek: "vector[string]", .strings) {
                .array(($0.text("answers") ?? "").split(separator: ",").map { .string(String($0)) })
            },
            // Not Zeek's: whether the query and the response were seen (a transaction cut by a
            // file boundary is two halves that a Spark job joins again).
            RecordField("query_seen", zeek: nil, .bool) { .bool($0.int("query") == 1) },
            RecordField("response_seen", zeek: nil, .bool) { .bool($0.int("response") == 1) },
        ])

    static let dnsSelect = """
        SELECT d.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, d.query_id, d.qname, d.qtype, d.rcode,
          d.answers, d.query, d.response
        FROM dns d JOIN flow f ON f.id = d.flow_id ORDER BY d.ts, d.id
        """

    public static let ssl = RecordSchema<Statement>(
        table: .ssl,
        fields: joinedEndpoints + [
            RecordField("version", zeek: "string", .string) { .string($0.text("server_version") ?? $0.text("version") ?? "") },
            RecordField("server_name", zeek: "string", .string) { text($0.text("server_name")) },
            RecordField("next_protocol", zeek: "string", .string) { text($0.text("alpn")) },
            RecordField("ja4", zeek: "string", .string) { text($0.text("ja4")) },
        ])

    static let sslSelect = """
        SELECT t.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, t.server_name, t.version, t.server_version, t.alpn, j.value AS ja4
        FROM tls t JOIN flow f ON f.id = t.flow_id LEFT JOIN ja4 j ON j.id = t.ja4_id ORDER BY t.ts, t.id
        """

    public static let http = RecordSchema<Statement>(
        table: .http,
        fields: joinedEndpoints + [
            RecordField("method", zeek: "string", .string) { text($0.text("method")) },
            RecordField("host", zeek: "string", .string) { text($0.text("host")) },
            RecordField("uri", zeek: "string", .string) { text($0.text("uri")) },
            RecordField("user_agent", zeek: "string", .string) { text($0.text("user_agent")) },
            RecordField("status_code", zeek: "count", .int64) { $0.isNull("status") ? .null : .int($0.int("status")) },
        ])

    static let httpSelect = """
        SELECT h.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, h.method, h.host, h.uri, u.value AS user_agent, h.status
        FROM http h JOIN flow f ON f.id = h.flow_id LEFT JOIN user_agent u ON u.id = h.user_agent_id ORDER BY h.ts, h.id
        """

    /// Certificates servers presented: the fields of Zeek's x509.log that AetherLens has, tied to
    /// their connection (Zeek ties them through files.log), then its own: the place in the chain
    /// (0 the server's) and whether issuer and subject are one.
    public static let x509 = RecordSchema<Statement>(
        table: .x509,
        fields: joinedEndpoints + [
            RecordField("certificate.serial", zeek: "string", .string) { .string($0.text("serial") ?? "") },
            RecordField("certificate.subject", zeek: "string", .string) { .string($0.text("subject") ?? "") },
            RecordField("certificate.issuer", zeek: "string", .string) { .string($0.text("issuer") ?? "") },
            RecordField("certificate.not_valid_before", zeek: "time", .double) { .double(Double($0.int("not_before"))) },
            RecordField("certificate.not_valid_after", zeek: "time", .double) { .double(Double($0.int("not_after"))) },
            RecordField("certificate.key_type", zeek: "string", .string) { .string($0.text("key_type") ?? "") },
            RecordField("certificate.key_length", zeek: "count", .int64) { .int($0.int("key_bits")) },
            RecordField("san.dns", zeek: "vector[string]", .strings) { .array(sanNames($0, addresses: false)) },
            RecordField("san.ip", zeek: "vector[addr]", .strings) { .array(sanNames($0, addresses: true)) },
            RecordField("depth", zeek: nil, .int64) { .int($0.int("depth")) },
            RecordField("self_signed", zeek: nil, .bool) { .bool($0.int("self_signed") != 0) },
        ])

    static let x509Select = """
        SELECT x.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, x.serial, x.subject, x.issuer, x.not_before, x.not_after,
          x.key_type, x.key_bits, x.san, x.depth, x.self_signed
        FROM x509 x JOIN flow f ON f.id = x.flow_id ORDER BY x.ts, x.rowid
        """

    /// The stored subjectAltName list split into names and addresses.
    private static func sanNames(_ s: Statement, addresses: Bool) -> [JSON] {
        (s.text("san") ?? "").split(separator: ",").filter { (IPAddress(String($0)) != nil) == addresses }.map { .string(String($0)) }
    }

    /// Files that crossed a connection: the fields of Zeek's files.log that AetherLens has (with
    /// the connection's uid and endpoints, as Zeek 5.2 and later log them), then its own: whether
    /// the content is kept for `aether extract`, and why a file is not whole. Hashes are empty
    /// (null) for a file that is not whole. `fuid` is derived from the connection, the time and
    /// the size (`fileUID`).
    public static let files = RecordSchema<Statement>(
        table: .files,
        fields: joinedEndpoints.prefix(1)
            + [
                RecordField<Statement>("fuid", zeek: "string", .string) {
                    let ends = "\($0.text("orig_h") ?? "") \($0.int("orig_p")) \($0.text("resp_h") ?? "") \($0.int("resp_p"))"
                    return .string(fileUID(endpoints: ends, ts: $0.int("ts"), size: $0.int("size")))
                }
            ]
            + joinedEndpoints.dropFirst() + [
                RecordField("source", zeek: "string", .string) { .string($0.text("source") ?? "") },
                RecordField("mime_type", zeek: "string", .string) { text($0.text("mime_type").flatMap { $0.isEmpty ? nil : $0 }) },
                RecordField("filename", zeek: "string", .string) { text($0.text("name")) },
                RecordField("is_orig", zeek: "bool", .bool) { .bool($0.int("is_orig") != 0) },
                RecordField("seen_bytes", zeek: "count", .int64) { .int($0.int("size")) },
                RecordField("total_bytes", zeek: "count", .int64) { $0.isNull("total_bytes") ? .null : .int($0.int("total_bytes")) },
                RecordField("missing_bytes", zeek: "count", .int64) { .int($0.int("missing_bytes")) },
                RecordField("md5", zeek: "string", .string) { text($0.text("md5").flatMap { $0.isEmpty ? nil : $0 }) },
                RecordField("sha1", zeek: "string", .string) { text($0.text("sha1").flatMap { $0.isEmpty ? nil : $0 }) },
                RecordField("sha256", zeek: "string", .string) { text($0.text("sha256").flatMap { $0.isEmpty ? nil : $0 }) },
                RecordField("kept", zeek: nil, .bool) { .bool($0.int("extracted") != 0) },
                RecordField("problem", zeek: nil, .string) { text($0.text("problem")) },
            ])

    static let filesSelect = """
        SELECT x.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, x.source, x.mime_type, x.name, x.is_orig, x.size, x.total_bytes,
          x.missing_bytes, x.md5, x.sha1, x.sha256, x.extracted, x.problem
        FROM file x JOIN flow f ON f.id = x.flow_id ORDER BY x.ts, x.id
        """

    /// Packets and bytes per second and protocol class: AetherLens's own, with no Zeek log.
    public static let series = RecordSchema<Statement>(
        table: .series,
        fields: [
            RecordField("second", zeek: nil, .int64) { .int($0.int("second")) },
            RecordField("proto", zeek: nil, .string) { .string($0.text("proto") ?? "") },
            RecordField("packets", zeek: nil, .int64) { .int($0.int("packets")) },
            RecordField("bytes", zeek: nil, .int64) { .int($0.int("bytes")) },
        ])

    static let seriesSelect = "SELECT second, proto, packets, bytes FROM series ORDER BY second, proto"

    /// A table's fields, whatever its row type.
    public static func description(_ table: RecordTable) -> [(name: String, zeekType: String?, arrow: ArrowType)] {
        switch table {
        case .conn: return conn.description
        case .dns: return dns.description
        case .ssl: return ssl.description
        case .http: return http.description
        case .x509: return x509.description
        case .files: return files.description
        case .series: return series.description
        }
    }

    /// `aether schema --json`: every table's fields with their Zeek and Arrow types.
    public static var json: JSON {
        .object(
            RecordTable.allCases.map { t in
                (
                    t.rawValue,
                    .array(
                        description(t).map {
                            .object([
                                ("name", .string($0.name)), ("zeek_type", $0.zeekType.map { .string($0) } ?? .null), ("arrow_type", .string($0.arrow.rawValue)),
                            ])
                        })
                )
            })
    }
}

extension Store {
    /// Calls `emit` with each record of `table`, in time order (at most `limit`). Read row by
    /// row: memory does not grow with the store.
    public func records(_ table: RecordTable, limit: Int? = nil, _ emit: (JSON) throws -> Void) throws {
        func each(_ sql: String, _ row: (Statement) throws -> Void) throws {
            let s = try db.prepare(sql + (limit.map { " LIMIT \(max(0, $0))" } ?? ""))
            while try s.step() { try row(s) }
        }
        switch table {
        case .conn:
            let s = try FlowColumns.select(db, limit: limit.map { max(0, $0) })
            while try s.step() { try emit(RecordSchemas.conn.record(ConnValues(s))) }
        case .dns: try each(RecordSchemas.dnsSelect) { try emit(RecordSchemas.dns.record($0)) }
        case .ssl: try each(RecordSchemas.sslSelect) { try emit(RecordSchemas.ssl.record($0)) }
        case .http: try each(RecordSchemas.httpSelect) { try emit(RecordSchemas.http.record($0)) }
        case .x509:
            // A store made before certificates were kept has no such table: no records.
            guard try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'x509'") ?? 0 > 0 else { return }
            try each(RecordSchemas.x509Select) { try emit(RecordSchemas.x509.record($0)) }
        case .files:
            guard try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'file'") ?? 0 > 0 else { return }
            try each(RecordSchemas.filesSelect) { try emit(RecordSchemas.files.record($0)) }
        case .series: try each(RecordSchemas.seriesSelect) { try emit(RecordSchemas.series.record($0)) }
        }
    }
}
