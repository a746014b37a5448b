import AetherCore

/// Zeek's ASCII log format (tab-separated, with the `#fields` and `#types` header) for the
/// records `export` and `flows --zeek` write: conn.log, dns.log, ssl.log and http.log, with the
/// fields of Zeek's base scripts that AetherLens has, in Zeek's order (`RecordSchemas`).
public enum ZeekLog {
    /// The log's fields and Zeek types (the schema's fields Zeek has); nil for a table Zeek has
    /// no log for (series).
    public static func fields(_ table: RecordTable) -> [(String, String)]? {
        let fields = RecordSchemas.description(table).compactMap { f in f.zeekType.map { (f.name, $0) } }
        return fields.isEmpty ? nil : fields
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
