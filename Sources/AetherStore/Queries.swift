import AetherCore

/// What `aether stats` reports; keys follow the ground truth of ../shared/bench/gencap.py.
public struct StoreStats: Sendable {
    public var captures = 0
    public var packets: Int64 = 0
    public var bytes: Int64 = 0
    public var wireBytes: Int64 = 0
    public var flows: Int64 = 0
    public var connections: Int64 = 0
    public var protocols: [(String, Int64)] = []
    public var ipv6Packets: Int64 = 0
    public var vlanPackets: Int64 = 0
    public var truncatedPackets: Int64 = 0
    /// Packets whose network layer was not reached, and why (most packets first).
    public var undecoded: Int64 = 0
    public var undecodedReasons: [(String, Int64)] = []
    public var outOfOrder: Int64 = 0
    public var first: Int64?
    public var last: Int64?
    public var incomplete = 0
    public var chunkBytes: Int64 = 0
    public var dnsQueries: Int64 = 0
    public var dnsResponses: Int64 = 0
    public var tlsSNI: [String] = []
    public var httpHosts: [String] = []
    /// Which side the detectors took as internal, and whether it was inferred from the capture.
    public var internalScope: String?
    public var internalInferred = false
    /// Packets kept from the detectors, by reason (only when there were any).
    public var withheld: JSON?
}

extension Store {
    public func stats() throws -> StoreStats {
        var st = StoreStats()
        let s = try db.prepare(
            """
            SELECT count(*), coalesce(sum(packets),0), coalesce(sum(bytes),0), coalesce(sum(wire_bytes),0),
              coalesce(sum(tcp),0), coalesce(sum(udp),0), coalesce(sum(icmp),0), coalesce(sum(icmpv6),0),
              coalesce(sum(other_ip),0), coalesce(sum(arp),0), coalesce(sum(other),0),
              coalesce(sum(ipv6_packets),0), coalesce(sum(vlan_packets),0), coalesce(sum(truncated_packets),0),
              coalesce(sum(out_of_order),0), min(first_ts), max(last_ts),
              sum(status NOT IN ('complete'))
            FROM capture WHERE status IN ('complete', 'truncated', 'failed')
            """)
        if try s.step() {
            st.captures = Int(s.int(0))
            st.packets = s.int(1); st.bytes = s.int(2); st.wireBytes = s.int(3)
            st.protocols = zip(CaptureCounts.protocolNames, (4...10).map { s.int(Int32($0)) }).map { ($0, $1) }
            st.ipv6Packets = s.int(11); st.vlanPackets = s.int(12); st.truncatedPackets = s.int(13)
            st.outOfOrder = s.int(14)
            st.first = s.isNull(15) ? nil : s.int(15)
            st.last = s.isNull(16) ? nil : s.int(16)
            st.incomplete = Int(s.int(17))
        }
        let hasUndecoded = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'undecoded'") ?? 0
        let u = try db.prepare(
            hasUndecoded == 0
                ? "SELECT '' AS reason, 0 AS packets WHERE 0"
                : """
                SELECT reason, sum(u.packets) AS packets FROM undecoded u JOIN capture c ON c.id = u.capture_id
                WHERE c.status IN ('complete', 'truncated', 'failed') GROUP BY reason ORDER BY packets DESC, reason
                """)
        while try u.step() {
            st.undecodedReasons.append((u.text("reason") ?? "", u.int("packets")))
            st.undecoded += u.int("packets")
        }
        st.flows = try db.scalar("SELECT count(*) FROM conversation") ?? 0
        st.connections = try db.scalar("SELECT count(*) FROM flow") ?? 0
        st.chunkBytes = try db.scalar("SELECT coalesce(sum(bytes), 0) FROM chunks_v") ?? 0
        st.dnsQueries = try db.scalar("SELECT count(*) FROM dns WHERE query = 1") ?? 0
        st.dnsResponses = try db.scalar("SELECT count(*) FROM dns WHERE response = 1") ?? 0
        let sni = try db.prepare("SELECT DISTINCT server_name FROM tls WHERE server_name IS NOT NULL ORDER BY 1")
        while try sni.step() { if let t = sni.text(0) { st.tlsSNI.append(t) } }
        let hosts = try db.prepare("SELECT DISTINCT host FROM http WHERE host IS NOT NULL ORDER BY 1")
        while try hosts.step() { if let t = hosts.text(0) { st.httpHosts.append(t) } }
        st.internalScope = try meta("internal_scope")
        st.internalInferred = try meta("internal_inferred") == "1"
        st.withheld = try meta(Self.withheldKey).flatMap { try? JSONParser.parse($0) }
        return st
    }

    public struct FlowRow: Sendable {
        public var id: Int64
        public var ts: Int64
        public var lastTs: Int64
        public var proto: Int64
        public var origH: String, origP: Int64, respH: String, respP: Int64
        public var connState: String, history: String
        public var origPkts: Int64, origBytes: Int64, origIPBytes: Int64
        public var respPkts: Int64, respBytes: Int64, respIPBytes: Int64
        public var tunnelParent: Int64?
        public var tunnel: String?
        public var service: String?
        /// Every exported column as `flows --json` shows it (FlowColumns).
        public var json: JSON
    }

    public func flowRows(limit: Int?) throws -> [FlowRow] { try flowRows(limit: limit, ofAlert: nil) }

    /// The connections an alert names (the first `limit` in time), as `flows --json` shows them.
    public func flowRows(ofAlert id: Int64, limit: Int) throws -> [FlowRow] { try flowRows(limit: limit, ofAlert: id) }

    private func flowRows(limit: Int?, ofAlert alert: Int64?) throws -> [FlowRow] {
        let only = alert.map { " WHERE id IN (SELECT flow_id FROM alert_flow WHERE alert_id = \($0))" } ?? ""
        let s = try FlowColumns.select(db, where: only, limit: limit)
        var out: [FlowRow] = []
        while try s.step() {
            out.append(
                FlowRow(
                    id: s.int("id"), ts: s.int("first_ts"), lastTs: s.int("last_ts"), proto: s.int("proto"),
                    origH: s.text("orig_h") ?? "", origP: s.int("orig_p"), respH: s.text("resp_h") ?? "",
                    respP: s.int("resp_p"), connState: s.text("conn_state") ?? "", history: s.text("history") ?? "",
                    origPkts: s.int("orig_pkts"), origBytes: s.int("orig_bytes"), origIPBytes: s.int("orig_ip_bytes"),
                    respPkts: s.int("resp_pkts"), respBytes: s.int("resp_bytes"), respIPBytes: s.int("resp_ip_bytes"),
                    tunnelParent: s.optionalInt("tunnel_parent"), tunnel: s.text("tunnel"), service: s.text("service"),
                    json: .object(FlowColumns.all.flatMap { $0.export(s) })))
        }
        return out
    }
}

/// A value read back from SQL.
public enum SQLValue: Sendable {
    case int(Int64)
    case double(Double)
    case text(String)
    case null
    public var int: Int64 { if case .int(let v) = self { return v }; if case .double(let d) = self { return Int64(d) }; return 0 }
    public var double: Double { if case .double(let d) = self { return d }; if case .int(let v) = self { return Double(v) }; return 0 }
    public var text: String {
        switch self {
        case .text(let s): return s
        case .int(let v): return String(v)
        case .double(let d): return String(d)
        case .null: return ""
        }
    }
    public var isNull: Bool { if case .null = self { return true }; return false }
}

extension Store {
    /// Rows of a read query (tests).
    func rows(_ sql: String) throws -> [[SQLValue]] {
        let s = try db.prepare(sql)
        var out: [[SQLValue]] = []
        while try s.step() {
            out.append(
                (0..<s.columnCount).map { i in
                    switch s.value(i) {
                    case let v as Int64: return .int(v)
                    case let d as Double: return .double(d)
                    case let t as String: return .text(t)
                    default: return .null
                    }
                })
        }
        return out
    }

    static let withheldKey = "withheld_from_detectors"

    /// Adds packets kept from the detectors (by reason) to the store's counts; nothing is
    /// written while there were none, so stores without any keep no such key.
    public func addWithheld(badChecksum: UInt64, unassigned: UInt64) throws {
        if badChecksum == 0 && unassigned == 0 { return }
        let prior = try meta(Self.withheldKey).flatMap { try? JSONParser.parse($0) }
        let bad = Int64(badChecksum) + (prior?["bad_ip_checksum"]?.int ?? 0)
        let odd = Int64(unassigned) + (prior?["unassigned_address"]?.int ?? 0)
        try setMeta(Self.withheldKey, JSON.object([("bad_ip_checksum", .int(bad)), ("unassigned_address", .int(odd))]).render(pretty: false))
    }

    public func setMeta(_ key: String, _ value: String) throws {
        let s = try db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)")
        s.bind(1, key); s.bind(2, value)
        try s.run()
    }

    public func meta(_ key: String) throws -> String? {
        let s = try db.prepare("SELECT value FROM meta WHERE key = ?")
        s.bind(1, key)
        return try s.step() ? s.text(0) : nil
    }
}

extension StoreStats {
    /// `aether stats --json`, and the numbers a report embeds: one encoder for both.
    public var json: JSON {
        let s = self
        var fields: [(String, JSON)] = [
            ("packets", .int(s.packets)),
            ("bytes", .int(s.bytes)),
            ("wire_bytes", .int(s.wireBytes)),
            ("flows", .int(s.flows)),
            ("connections", .int(s.connections)),
            ("protocols", .object(s.protocols.map { ($0.0, .int($0.1)) })),
            ("ipv6_packets", .int(s.ipv6Packets)),
            ("vlan_packets", .int(s.vlanPackets)),
            ("truncated_packets", .int(s.truncatedPackets)),
            ("undecoded", .int(s.undecoded)),
            ("undecoded_reasons", .object(s.undecodedReasons.map { ($0.0, .int($0.1)) })),
            ("out_of_order", .int(s.outOfOrder)),
            ("captures", .int(Int64(s.captures))),
            ("incomplete_captures", .int(Int64(s.incomplete))),
            ("start", s.first.map { .string(Timestamp(nanoseconds: $0).decimalString) } ?? .null),
            ("end", s.last.map { .string(Timestamp(nanoseconds: $0).decimalString) } ?? .null),
            ("store_packet_bytes", .int(s.chunkBytes)),
            ("dns_queries", .int(s.dnsQueries)),
            ("dns_responses", .int(s.dnsResponses)),
            ("tls_sni", .array(s.tlsSNI.map { .string($0) })),
            ("http_hosts", .array(s.httpHosts.map { .string($0) })),
            (
                "internal_networks",
                .object([
                    ("inferred", .bool(s.internalInferred)),
                    ("assumption", s.internalScope.map { .string($0) } ?? .null),
                ])
            ),
        ]
        if let w = s.withheld { fields.append(("withheld_from_detectors", w)) }
        return .object(fields)
    }
}
