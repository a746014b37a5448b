import AetherCore
import AetherFlows

/// A `flow` column's value as the store keeps it.
public enum ColumnValue: Equatable, Sendable {
    case int(Int64), text(String), null

    var int: Int64 { if case .int(let v) = self { v } else { 0 } }
    var text: String? { if case .text(let s) = self { s } else { nil } }
    var json: JSON {
        switch self {
        case .int(let v): .int(v)
        case .text(let s): .string(s)
        case .null: .null
        }
    }
}

/// One column of the `flow` table: its SQL declaration, how a `Connection` fills it and how it
/// appears in `flows --json`. The table, the insert statement, the migration of older stores,
/// the JSON export and the values the conn record reads (`ConnValues`) are all derived from
/// `FlowColumns.all`, so a new column is one entry here (plus its field on `Connection` and the
/// code that sets it), and one line in `RecordSchemas.conn` below to export it.
public struct FlowColumn {
    public let name: String
    let declaration: String
    /// The value as stored: what the conn record of a `Connection` reads.
    let value: (Connection) -> ColumnValue
    /// The same value bound straight to the insert: no `ColumnValue` on the store's path.
    let bind: (Statement, Int32, Connection) -> Void
    let read: (Statement, Int32) -> ColumnValue
    let export: (Statement) -> [(String, JSON)]

    /// How `flows --json` shows a column: under its own name as stored, not at all, or as
    /// fields of its own (`ts` from `first_ts`).
    enum Shown {
        case asStored, hidden
        case fields((Statement) -> [(String, JSON)])
    }

    /// An integer column.
    static func int(
        _ name: String, _ declaration: String = "INTEGER", shown: Shown = .asStored, _ get: @escaping (Connection) -> Int64
    )
        -> FlowColumn
    {
        FlowColumn(
            name: name, declaration: declaration, value: { .int(get($0)) }, bind: { s, i, c in s.bind(i, get(c)) },
            read: { s, i in s.isNull(i) ? .null : .int(s.int(i)) },
            export: shown.export(name) { s in .int(s.int(name)) })
    }

    /// An integer column, NULL when `get` is nil.
    static func optionalInt(_ name: String, shown: Shown, _ get: @escaping (Connection) -> Int64?) -> FlowColumn {
        FlowColumn(
            name: name, declaration: "INTEGER", value: { get($0).map { .int($0) } ?? .null },
            bind: { s, i, c in if let v = get(c) { s.bind(i, v) } else { s.bindNull(i) } },
            read: { s, i in s.isNull(i) ? .null : .int(s.int(i)) },
            export: shown.export(name) { s in s.isNull(name) ? .null : .int(s.int(name)) })
    }

    /// A text column, NULL when `get` is nil.
    static func text(
        _ name: String, _ declaration: String = "TEXT", shown: Shown = .asStored, _ get: @escaping (Connection) -> String?
    )
        -> FlowColumn
    {
        FlowColumn(
            name: name, declaration: declaration, value: { get($0).map { .text($0) } ?? .null }, bind: { s, i, c in s.bind(i, get(c)) },
            read: { s, i in s.text(i).map { .text($0) } ?? .null },
            export: shown.export(name) { s in s.text(name).map { .string($0) } ?? .null })
    }
}

extension FlowColumn.Shown {
    fileprivate func export(_ name: String, _ stored: @escaping (Statement) -> JSON) -> (Statement) -> [(String, JSON)] {
        switch self {
        case .asStored: { s in [(name, stored(s))] }
        case .hidden: { _ in [] }
        case .fields(let f): f
        }
    }
}

public enum FlowColumns {
    /// In the order of `flows --json`; columns added later go to the end of older stores' tables,
    /// which is harmless because every read is by name.
    public static let all: [FlowColumn] = [
        .int("id", "INTEGER PRIMARY KEY", shown: .fields { s in [("id", .int(s.int("id"))), ("uid", .string(connectionUID(s.int("id"))))] }) { $0.id },
        .int("capture_id", shown: .hidden) { $0.captureID },
        .int("first_ts", "INTEGER NOT NULL", shown: .fields { s in [("ts", .string(Timestamp(nanoseconds: s.int("first_ts")).decimalString))] }) {
            $0.firstTime
        },
        .int("proto", "INTEGER NOT NULL", shown: .fields { s in [("proto", .string(IPProto.zeekName(UInt8(truncatingIfNeeded: s.int("proto")))))] }) {
            Int64($0.proto)
        },
        .text("orig_h", "TEXT NOT NULL") { $0.origAddress.description },
        .int("orig_p") { Int64($0.origPort) },
        .text("resp_h", "TEXT NOT NULL") { $0.respAddress.description },
        .int("resp_p") { Int64($0.respPort) },
        .int("last_ts", "INTEGER NOT NULL", shown: .fields { s in [("duration", .double(Timestamp.seconds(from: s.int("first_ts"), to: s.int("last_ts"))))] }) {
            $0.lastTime
        },
        .int("first_frame", shown: .hidden) { Int64($0.firstFrame) },
        .int("first_seq", shown: .hidden) { Int64($0.firstPacket) },
        .int("last_seq", shown: .hidden) { Int64($0.lastPacket) },
        .text("conn_state", "TEXT NOT NULL") { $0.state },
        .text("history", "TEXT NOT NULL") { $0.history.description },
        .int("orig_pkts") { Int64($0.origPackets) },
        .int("orig_bytes") { Int64($0.origBytes) },
        .int("orig_ip_bytes") { Int64($0.origIPBytes) },
        .int("resp_pkts") { Int64($0.respPackets) },
        .int("resp_bytes") { Int64($0.respBytes) },
        .int("resp_ip_bytes") { Int64($0.respIPBytes) },
        .optionalInt(
            "tunnel_parent",
            shown: .fields { s in [("tunnel_parent", s.isNull("tunnel_parent") ? .null : .string(connectionUID(s.int("tunnel_parent"))))] }
        ) { $0.tunnelParent != 0 ? $0.tunnelParent : nil },
        .text("tunnel") { $0.tunnelKind == 0 ? nil : Tunnel.name($0.tunnelKind) },
        .int("vlan", shown: .hidden) { Int64($0.vlan) },
        .text("service") { $0.service == .unknown ? nil : $0.service.name },
    ]

    /// The place of column `name` in `all` (and in a `ConnValues`).
    static func position(_ name: String) -> Int {
        guard let i = all.firstIndex(where: { $0.name == name }) else { preconditionFailure("no flow column \(name)") }
        return i
    }

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

    /// Every column in `all`'s order, a column an older read-only store lacks read as NULL.
    static func select(_ db: Database, where condition: String = "", limit: Int? = nil) throws -> Statement {
        var present = Set<String>()
        let info = try db.prepare("SELECT name FROM pragma_table_info('flow')")
        while try info.step() { present.insert(info.text(0) ?? "") }
        let columns = all.map { present.contains($0.name) ? $0.name : "NULL AS \($0.name)" }
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM flow\(condition) ORDER BY first_ts, id"
        if let limit { sql += " LIMIT \(limit)" }
        return try db.prepare(sql)
    }
}

/// A connection's stored values: from a `flow` row, or from a `Connection` as the store would
/// keep it (the conn records `aether detect` writes). One row type, so both go through one
/// schema, and a column is read through its own entry in `FlowColumns.all`, without a line here.
/// Values are taken as a field asks for them: nothing is built for the columns a record leaves out.
public struct ConnValues {
    private let connection: Connection?
    private let row: Statement?

    init(_ c: Connection) {
        connection = c
        row = nil
    }

    /// A row of `FlowColumns.select`.
    init(_ s: Statement) {
        connection = nil
        row = s
    }

    /// Column `column`, at `position` in `FlowColumns.all`.
    func value(_ column: FlowColumn, at position: Int) -> ColumnValue {
        if let connection { return column.value(connection) }
        return column.read(row!, Int32(position))
    }
}

extension RecordField where Row == ConnValues {
    /// A conn field that is one flow column as stored (`column`, or the field's own name).
    fileprivate static func column(_ name: String, _ column: String? = nil, zeek: String?, _ arrow: ArrowType) -> Self {
        let i = FlowColumns.position(column ?? name), c = FlowColumns.all[i]
        return Self(name, zeek: zeek, arrow) { $0.value(c, at: i).json }
    }
}

extension RecordSchemas {
    /// conn.log's fields that AetherLens has, in Zeek's order, then its own. Zeek's `local_orig`,
    /// `local_resp` and `missed_bytes` are left out: the first two are unset without Zeek's
    /// `Site::local_nets`, and AetherLens does not measure sequence gaps, so a 0 would claim
    /// what it does not know.
    public static let conn: RecordSchema<ConnValues> = {
        // The columns fields compute from, each read through its entry.
        func column(_ name: String) -> (ConnValues) -> ColumnValue {
            let i = FlowColumns.position(name), c = FlowColumns.all[i]
            return { $0.value(c, at: i) }
        }
        let id = column("id"), first = column("first_ts"), last = column("last_ts"), proto = column("proto")
        let parent = column("tunnel_parent"), origH = column("orig_h"), origP = column("orig_p"), respH = column("resp_h")
        let respP = column("resp_p")
        return RecordSchema(
            table: .conn,
            fields: endpoints(
                ts: { first($0).int }, id: { id($0).int }, origH: { origH($0).text ?? "" }, origP: { origP($0).int },
                respH: { respH($0).text ?? "" }, respP: { respP($0).int })
                + [
                    RecordField("proto", zeek: "enum", .string) { .string(IPProto.zeekName(UInt8(truncatingIfNeeded: proto($0).int))) },
                    .column("service", zeek: "string", .string),
                    RecordField("duration", zeek: "interval", .double) { .double(Timestamp.seconds(from: first($0).int, to: last($0).int)) },
                    .column("orig_bytes", zeek: "count", .int64),
                    .column("resp_bytes", zeek: "count", .int64),
                    .column("conn_state", zeek: "string", .string),
                    .column("history", zeek: "string", .string),
                    .column("orig_pkts", zeek: "count", .int64),
                    .column("orig_ip_bytes", zeek: "count", .int64),
                    .column("resp_pkts", zeek: "count", .int64),
                    .column("resp_ip_bytes", zeek: "count", .int64),
                    RecordField("tunnel_parents", zeek: "set[string]", .strings) {
                        let p = parent($0).int
                        return p == 0 ? .array([]) : .array([.string(connectionUID(p))])
                    },
                    RecordField("ip_proto", zeek: "count", .int64) { .int(Int64(UInt8(truncatingIfNeeded: proto($0).int))) },
                    .column("tunnel", zeek: nil, .string),
                    .column("capture_id", zeek: nil, .int64),
                ])
    }()
}

extension Connection {
    /// The conn record of a connection, as `export` gives the flow table's rows (what
    /// `aether detect` writes for the connections it saw finish).
    public var connRecord: JSON { RecordSchemas.conn.record(ConnValues(self)) }
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
