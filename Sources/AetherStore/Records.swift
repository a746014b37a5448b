import AetherCore
import AetherFlows

/// What a store learned, as records other programs read (issue 14's "records out"): one JSON
/// object per line, with Zeek's field names where Zeek has the field (conn.log, dns.log,
/// ssl.log, http.log), plus the per-second series. Read row by row: memory does not grow with
/// the store.
public enum RecordTable: String, CaseIterable, Sendable {
    case conn, dns, ssl, http, series
}

extension Store {
    /// Calls `emit` with each record of `table`, in time order.
    public func records(_ table: RecordTable, _ emit: (JSON) throws -> Void) throws {
        switch table {
        case .conn:
            let s = try db.prepare(
                """
                SELECT id, first_ts, last_ts, proto, orig_h, orig_p, resp_h, resp_p, service, conn_state, history,
                  orig_pkts, orig_bytes, orig_ip_bytes, resp_pkts, resp_bytes, resp_ip_bytes, tunnel_parent, tunnel, capture_id
                FROM flow ORDER BY first_ts, id
                """)
            while try s.step() {
                var o = Self.endpoints(s, ts: "first_ts", uid: "id")
                o += [
                    ("proto", .string(IPProto.zeekName(UInt8(truncatingIfNeeded: s.int("proto"))))),
                    ("service", s.text("service").map { .string($0) } ?? .null),
                    ("duration", .double(Double(s.int("last_ts") - s.int("first_ts")) / 1e9)),
                    ("orig_bytes", .int(s.int("orig_bytes"))), ("resp_bytes", .int(s.int("resp_bytes"))),
                    ("conn_state", .string(s.text("conn_state") ?? "")), ("history", .string(s.text("history") ?? "")),
                    ("orig_pkts", .int(s.int("orig_pkts"))), ("orig_ip_bytes", .int(s.int("orig_ip_bytes"))),
                    ("resp_pkts", .int(s.int("resp_pkts"))), ("resp_ip_bytes", .int(s.int("resp_ip_bytes"))),
                    ("tunnel_parents", s.isNull("tunnel_parent") ? .array([]) : .array([.string(connectionUID(s.int("tunnel_parent")))])),
                    ("ip_proto", .int(s.int("proto"))),
                    ("tunnel", s.text("tunnel").map { .string($0) } ?? .null),
                    ("capture_id", .int(s.int("capture_id"))),
                ]
                try emit(.object(o))
            }
        case .dns:
            let s = try db.prepare(
                """
                SELECT d.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, d.query_id, d.qname, d.qtype, d.rcode,
                  d.answers, d.query, d.response
                FROM dns d JOIN flow f ON f.id = d.flow_id ORDER BY d.ts, d.id
                """)
            while try s.step() {
                var o = Self.endpoints(s, ts: "ts", uid: "id")
                o += [
                    ("proto", .string(IPProto.zeekName(UInt8(truncatingIfNeeded: s.int("proto"))))),
                    ("trans_id", .int(s.int("query_id"))), ("query", .string(s.text("qname") ?? "")),
                    ("qtype", .int(s.int("qtype"))),
                    ("rcode", s.int("response") == 1 ? .int(s.int("rcode")) : .null),
                    ("answers", .array((s.text("answers") ?? "").split(separator: ",").map { .string(String($0)) })),
                    // Not Zeek's: whether the query and the response were seen (a transaction
                    // cut by a file boundary is two halves that a Spark job joins again).
                    ("query_seen", .bool(s.int("query") == 1)), ("response_seen", .bool(s.int("response") == 1)),
                ]
                try emit(.object(o))
            }
        case .ssl:
            let s = try db.prepare(
                """
                SELECT t.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, t.server_name, t.version, t.server_version, t.alpn, j.value AS ja4
                FROM tls t JOIN flow f ON f.id = t.flow_id LEFT JOIN ja4 j ON j.id = t.ja4_id ORDER BY t.ts, t.id
                """)
            while try s.step() {
                var o = Self.endpoints(s, ts: "ts", uid: "id")
                o += [
                    ("version", .string(s.text("server_version") ?? s.text("version") ?? "")),
                    ("server_name", s.text("server_name").map { .string($0) } ?? .null),
                    ("next_protocol", s.text("alpn").map { .string($0) } ?? .null),
                    ("ja4", s.text("ja4").map { .string($0) } ?? .null),
                ]
                try emit(.object(o))
            }
        case .http:
            let s = try db.prepare(
                """
                SELECT h.ts, f.id, f.orig_h, f.orig_p, f.resp_h, f.resp_p, h.method, h.host, h.uri, u.value AS user_agent, h.status
                FROM http h JOIN flow f ON f.id = h.flow_id LEFT JOIN user_agent u ON u.id = h.user_agent_id ORDER BY h.ts, h.id
                """)
            while try s.step() {
                var o = Self.endpoints(s, ts: "ts", uid: "id")
                o += [
                    ("method", s.text("method").map { .string($0) } ?? .null), ("host", s.text("host").map { .string($0) } ?? .null),
                    ("uri", s.text("uri").map { .string($0) } ?? .null),
                    ("user_agent", s.text("user_agent").map { .string($0) } ?? .null),
                    ("status_code", s.isNull("status") ? .null : .int(s.int("status"))),
                ]
                try emit(.object(o))
            }
        case .series:
            let s = try db.prepare("SELECT second, proto, packets, bytes FROM series ORDER BY second, proto")
            while try s.step() {
                try emit(
                    .object([
                        ("second", .int(s.int("second"))), ("proto", .string(s.text("proto") ?? "")),
                        ("packets", .int(s.int("packets"))), ("bytes", .int(s.int("bytes"))),
                    ]))
            }
        }
    }

    /// Zeek's first fields: ts (seconds), uid and the connection's endpoints (`id.*`).
    private static func endpoints(_ s: Statement, ts: String, uid: String) -> [(String, JSON)] {
        [
            ("ts", .double(Double(s.int(ts)) / 1e9)), ("uid", .string(connectionUID(s.int(uid)))),
            ("id.orig_h", .string(s.text("orig_h") ?? "")), ("id.orig_p", .int(s.int("orig_p"))),
            ("id.resp_h", .string(s.text("resp_h") ?? "")), ("id.resp_p", .int(s.int("resp_p"))),
        ]
    }
}

extension Connection {
    /// The conn record of a connection, with the keys `export` gives the flow table's rows
    /// (what `aether detect` writes for the connections it saw finish).
    public var connRecord: JSON {
        .object([
            ("ts", .double(Double(firstTime) / 1e9)), ("uid", .string(connectionUID(id))),
            ("id.orig_h", .string(origAddress.description)), ("id.orig_p", .int(Int64(origPort))),
            ("id.resp_h", .string(respAddress.description)), ("id.resp_p", .int(Int64(respPort))),
            ("proto", .string(IPProto.zeekName(proto))),
            ("service", service == .unknown ? .null : .string(service.name)),
            ("duration", .double(Double(lastTime - firstTime) / 1e9)),
            ("orig_bytes", .int(Int64(origBytes))), ("resp_bytes", .int(Int64(respBytes))),
            ("conn_state", .string(state)), ("history", .string(history.description)),
            ("orig_pkts", .int(Int64(origPackets))), ("orig_ip_bytes", .int(Int64(origIPBytes))),
            ("resp_pkts", .int(Int64(respPackets))), ("resp_ip_bytes", .int(Int64(respIPBytes))),
            ("tunnel_parents", tunnelParent == 0 ? .array([]) : .array([.string(connectionUID(tunnelParent))])),
            ("ip_proto", .int(Int64(proto))),
            ("tunnel", tunnelKind == 0 ? .null : .string(Tunnel.name(tunnelKind))),
            ("capture_id", .int(captureID)),
        ])
    }
}
