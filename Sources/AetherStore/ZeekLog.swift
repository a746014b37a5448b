import AetherCore

/// Zeek's ASCII log format (tab-separated, with the `#fields` and `#types` header) for the
/// records `export` writes: dns.log, ssl.log and http.log, and conn.log, with the fields of
/// Zeek's base scripts that AetherLens has, in Zeek's order.
public enum ZeekLog {
    static let endpoints: [(String, String)] = [
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"), ("id.resp_p", "port"),
    ]

    /// The log's fields and Zeek types; nil for a table Zeek has no log for (series).
    public static func fields(_ table: RecordTable) -> [(String, String)]? {
        switch table {
        case .conn:
            return endpoints + [
                ("proto", "enum"), ("service", "string"), ("duration", "interval"), ("orig_bytes", "count"), ("resp_bytes", "count"),
                ("conn_state", "string"), ("history", "string"), ("orig_pkts", "count"), ("orig_ip_bytes", "count"),
                ("resp_pkts", "count"), ("resp_ip_bytes", "count"), ("tunnel_parents", "set[string]"), ("ip_proto", "count"),
            ]
        case .dns:
            return endpoints + [
                ("proto", "enum"), ("trans_id", "count"), ("query", "string"), ("qtype", "count"), ("rcode", "count"),
                ("answers", "vector[string]"),
            ]
        case .ssl:
            return endpoints + [("version", "string"), ("server_name", "string"), ("next_protocol", "string"), ("ja4", "string")]
        case .http:
            return endpoints + [
                ("method", "string"), ("host", "string"), ("uri", "string"), ("user_agent", "string"), ("status_code", "count"),
            ]
        case .series:
            return nil
        }
    }

    public static func header(_ table: RecordTable, fields: [(String, String)]) -> [String] {
        [
            "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\t\(table == .ssl ? "ssl" : table.rawValue)",
            "#fields\t" + fields.map(\.0).joined(separator: "\t"), "#types\t" + fields.map(\.1).joined(separator: "\t"),
        ]
    }

    /// One record as a log line.
    public static func line(_ record: JSON, fields: [(String, String)]) -> String {
        fields.map { name, type in value(record[name], type: type) }.joined(separator: "\t")
    }

    static func value(_ v: JSON?, type: String) -> String {
        guard let v else { return "-" }
        switch v {
        case .null: return "-"
        case .bool(let b): return b ? "T" : "F"
        case .int(let i): return String(i)
        case .double(let d):
            // Zeek writes times and intervals with six decimals.
            guard d.isFinite, abs(d) < 9e12 else { return "-" }
            let m = Int64((d * 1e6).rounded())
            let f = String(m.magnitude % 1_000_000)
            return (m < 0 ? "-" : "") + String(m.magnitude / 1_000_000) + "." + String(repeating: "0", count: 6 - f.count) + f
        case .string(let s): return s.isEmpty ? "(empty)" : escape(s, inSet: false)
        case .array(let a):
            if a.isEmpty { return "(empty)" }
            return a.map { e in
                if case .string(let s) = e { return escape(s, inSet: true) }
                return value(e, type: "")
            }.joined(separator: ",")
        case .object, .raw: return "-"
        }
    }

    /// Bytes a log line cannot carry as they are (separators, controls, backslash) as \xNN;
    /// other UTF-8 stays as it is, as Zeek writes it.
    static func escape(_ s: String, inSet: Bool) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F || b == UInt8(ascii: "\\") || (inSet && b == UInt8(ascii: ",")) {
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
