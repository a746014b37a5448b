import AetherCore
import AetherFlows

/// One column of the `flow` table: its SQL declaration, how a `Connection` fills it and how it
/// appears in `flows --json`. The table, the insert statement, the migration of older stores and
/// the JSON export are all derived from `FlowColumns.all`, so a new column is one entry here
/// (plus its field on `Connection` and the code that sets it).
public struct FlowColumn {
    public let name: String
    let declaration: String
    let bind: (Statement, Int32, Connection) -> Void
    let export: (Statement) -> [(String, JSON)]

    init(
        _ name: String, _ declaration: String, bind: @escaping (Statement, Int32, Connection) -> Void,
        export: @escaping (Statement) -> [(String, JSON)]
    ) {
        self.name = name
        self.declaration = declaration
        self.bind = bind
        self.export = export
    }

    /// An integer column exported under its own name (or not at all).
    static func int(_ name: String, exported: Bool = true, _ value: @escaping (Connection) -> Int64) -> FlowColumn {
        FlowColumn(
            name, "INTEGER", bind: { s, i, c in s.bind(i, value(c)) },
            export: { s in exported ? [(name, .int(s.int(name)))] : [] })
    }

    /// A text column, NULL when `value` is nil, exported under its own name.
    static func text(_ name: String, _ value: @escaping (Connection) -> String?) -> FlowColumn {
        FlowColumn(
            name, "TEXT", bind: { s, i, c in s.bind(i, value(c)) },
            export: { s in [(name, s.text(name).map { .string($0) } ?? .null)] })
    }
}

public enum FlowColumns {
    /// In the order of `flows --json`; columns added later go to the end of older stores' tables,
    /// which is harmless because every read is by name.
    public static let all: [FlowColumn] = [
        FlowColumn(
            "id", "INTEGER PRIMARY KEY", bind: { s, i, c in s.bind(i, c.id) },
            export: { s in [("id", .int(s.int("id"))), ("uid", .string(connectionUID(s.int("id"))))] }),
        .int("capture_id", exported: false) { $0.captureID },
        FlowColumn(
            "first_ts", "INTEGER NOT NULL", bind: { s, i, c in s.bind(i, c.firstTime) },
            export: { s in [("ts", .string(Timestamp(nanoseconds: s.int("first_ts")).decimalString))] }),
        FlowColumn(
            "proto", "INTEGER NOT NULL", bind: { s, i, c in s.bind(i, Int64(c.proto)) },
            export: { s in [("proto", .string(IPProto.zeekName(UInt8(truncatingIfNeeded: s.int("proto")))))] }),
        FlowColumn(
            "orig_h", "TEXT NOT NULL", bind: { s, i, c in s.bind(i, c.origAddress.description) },
            export: { s in [("orig_h", .string(s.text("orig_h") ?? ""))] }),
        .int("orig_p") { Int64($0.origPort) },
        FlowColumn(
            "resp_h", "TEXT NOT NULL", bind: { s, i, c in s.bind(i, c.respAddress.description) },
            export: { s in [("resp_h", .string(s.text("resp_h") ?? ""))] }),
        .int("resp_p") { Int64($0.respPort) },
        FlowColumn(
            "last_ts", "INTEGER NOT NULL", bind: { s, i, c in s.bind(i, c.lastTime) },
            export: { s in [("duration", .double(Double(s.int("last_ts") - s.int("first_ts")) / 1e9))] }),
        .int("first_frame", exported: false) { Int64($0.firstFrame) },
        .int("first_seq", exported: false) { Int64($0.firstPacket) },
        .int("last_seq", exported: false) { Int64($0.lastPacket) },
        FlowColumn(
            "conn_state", "TEXT NOT NULL", bind: { s, i, c in s.bind(i, c.state) },
            export: { s in [("conn_state", .string(s.text("conn_state") ?? ""))] }),
        FlowColumn(
            "history", "TEXT NOT NULL", bind: { s, i, c in s.bind(i, c.history.description) },
            export: { s in [("history", .string(s.text("history") ?? ""))] }),
        .int("orig_pkts") { Int64($0.origPackets) },
        .int("orig_bytes") { Int64($0.origBytes) },
        .int("orig_ip_bytes") { Int64($0.origIPBytes) },
        .int("resp_pkts") { Int64($0.respPackets) },
        .int("resp_bytes") { Int64($0.respBytes) },
        .int("resp_ip_bytes") { Int64($0.respIPBytes) },
        FlowColumn(
            "tunnel_parent", "INTEGER",
            bind: { s, i, c in if c.tunnelParent != 0 { s.bind(i, c.tunnelParent) } else { s.bindNull(i) } },
            export: { s in [("tunnel_parent", s.isNull("tunnel_parent") ? .null : .string(connectionUID(s.int("tunnel_parent"))))] }),
        .text("tunnel") { $0.tunnelKind == 0 ? nil : Tunnel.name($0.tunnelKind) },
        .int("vlan", exported: false) { Int64($0.vlan) },
        .text("service") { $0.service == .unknown ? nil : $0.service.name },
    ]

    static var createTable: String {
        "CREATE TABLE IF NOT EXISTS flow(\n  " + all.map { "\($0.name) \($0.declaration)" }.joined(separator: ",\n  ") + "\n);"
    }

    static var insert: String {
        "INSERT INTO flow(\(all.map(\.name).joined(separator: ", "))) VALUES(\(all.map { _ in "?" }.joined(separator: ",")))"
    }

    /// `ALTER TABLE` for each column an older store lacks. SQLite cannot add a NOT NULL column
    /// without a default, so added columns are declared without NOT NULL.
    static func additions(existing: Set<String>) -> [String] {
        all.filter { !existing.contains($0.name) }.map {
            "ALTER TABLE flow ADD COLUMN \($0.name) \($0.declaration.replacingNotNull)"
        }
    }
}

extension String {
    fileprivate var replacingNotNull: String {
        var words = split(separator: " ")
        while let i = words.firstIndex(of: "NOT"), i + 1 < words.count, words[i + 1] == "NULL" { words.removeSubrange(i...i + 1) }
        return words.joined(separator: " ")
    }
}

/// A stable Zeek-style uid derived from the row id.
/// A file's uid (Zeek's `fuid`): FNV-1a of its connection's endpoints, its time and size, not
/// of row ids, so that a single store and a Spark job's shards name a file alike.
public func fileUID(endpoints: String, ts: Int64, size: Int64) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in endpoints.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    for v in [ts, size] {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 {
            h = (h ^ (x & 0xff)) &* 0x100_0000_01b3
            x >>= 8
        }
    }
    return "F" + connectionUID(Int64(bitPattern: h & 0x7fff_ffff_ffff_ffff)).dropFirst()
}

public func connectionUID(_ id: Int64) -> String {
    // Every conn record, file and alert names one: built in place, with no array of characters
    // made per call.
    let alphabet: StaticString = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    var v = UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15
    return String(unsafeUninitializedCapacity: 18) { out in
        out[0] = UInt8(ascii: "C")
        for i in 1..<18 {
            out[i] = alphabet.utf8Start[Int(v % 62)]
            v /= 62
            if v == 0 { v = UInt64(bitPattern: id) &+ 0x1234567 }
        }
        return 18
    }
}
