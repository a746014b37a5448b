import AetherCore

/// A capture row as the report's evidence table shows it.
public struct CaptureSummary: Sendable {
    public var path: String, sha256: String, size: Int64, format: String, compressed: Bool, linkTypes: String
    public var first: Int64?, last: Int64?
    public var packets: Int64, bytes: Int64, wireBytes: Int64, outOfOrder: Int64, truncatedPackets: Int64
    public var status: String, error: String
}

public struct SeriesPoint: Sendable { public var second: Int64, proto: String, packets: Int64, bytes: Int64 }
public struct HostTotal: Sendable { public var host: String, bytes: Int64, packets: Int64, connections: Int64 }
public struct PairTotal: Sendable { public var orig: String, resp: String, connections: Int64, packets: Int64, bytes: Int64 }
public struct ServerPort: Sendable { public var proto: String, port: Int64, connections: Int64, clients: Int64, servers: Int64, bytes: Int64 }
/// `nxdomain` is nil when no answer to the name was seen (no rcode to count).
public struct NameLookups: Sendable { public var name: String, lookups: Int64, nxdomain: Int64?, qtypes: String }
public struct TLSServerName: Sendable { public var name: String, hellos: Int64, versions: String, alpn: String, ja4: String }
public struct HTTPHostCount: Sendable { public var host: String, requests: Int64, methods: String, sampleURI: String, statuses: String }
/// A certificate a server presented (its own, depth 0), with what a responder flags in it.
public struct ServerCertificate: Sendable {
    public var server: String, port: Int64, subject: String, issuer: String, serial: String
    public var notBefore: Int64, notAfter: Int64, keyType: String, keyBits: Int64, san: String, selfSigned: Bool
    /// Connections that showed it, and when it was first seen (seconds).
    public var connections: Int64, firstSeen: Int64

    /// Days the certificate is valid for, start to end.
    public var validDays: Double { Double(notAfter - notBefore) / 86_400 }

    /// What makes it evidence: self-signed, valid a week or less, expired or not yet valid when seen.
    public var flags: [String] {
        var f: [String] = []
        if selfSigned { f.append("self-signed") }
        if notAfter - notBefore <= 7 * 86_400 { f.append("valid \(Int(validDays.rounded())) days") }
        if firstSeen > notAfter { f.append("expired when seen") }
        if firstSeen < notBefore { f.append("not yet valid when seen") }
        return f
    }
}

public struct UserAgentCount: Sendable { public var agent: String, requests: Int64 }

/// An alert as stored: the episode's keys, its connections and its evidence as JSON text.
public struct StoredAlert: Sendable {
    public var alert: Alert
    /// How many connections the alert names (`alert.flows` is filled only when asked for).
    public var flowCount: Int64
    public var evidence: String
    public var technique: String?
    public var why: String?
}

/// The reads of the report, `alerts`, `stats` and `carve`; nothing outside this module writes SQL.
extension Store {
    public func captureSummaries() throws -> [CaptureSummary] {
        let s = try db.prepare(
            """
            SELECT path, sha256, size, format, compressed, link_types, first_ts, last_ts, packets, bytes, wire_bytes,
              out_of_order, truncated_packets, status, coalesce(error, '') AS error FROM capture ORDER BY id
            """)
        var out: [CaptureSummary] = []
        while try s.step() {
            out.append(
                CaptureSummary(
                    path: s.text("path") ?? "", sha256: s.text("sha256") ?? "", size: s.int("size"),
                    format: s.text("format") ?? "", compressed: s.int("compressed") == 1,
                    linkTypes: s.text("link_types") ?? "", first: s.optionalInt("first_ts"), last: s.optionalInt("last_ts"),
                    packets: s.int("packets"), bytes: s.int("bytes"), wireBytes: s.int("wire_bytes"),
                    outOfOrder: s.int("out_of_order"), truncatedPackets: s.int("truncated_packets"),
                    status: s.text("status") ?? "", error: s.text("error") ?? ""))
        }
        return out
    }

    public func series() throws -> [SeriesPoint] {
        let s = try db.prepare("SELECT second, proto, packets, bytes FROM series ORDER BY second")
        var out: [SeriesPoint] = []
        while try s.step() {
            out.append(SeriesPoint(second: s.int("second"), proto: s.text("proto") ?? "", packets: s.int("packets"), bytes: s.int("bytes")))
        }
        return out
    }

    /// Hosts by bytes of the connections they took part in, either side.
    public func topHosts(limit: Int) throws -> [HostTotal] {
        let s = try db.prepare(
            """
            SELECT host, sum(b) AS bytes, sum(p) AS packets, count(*) AS connections FROM (
              SELECT orig_h AS host, orig_ip_bytes + resp_ip_bytes AS b, orig_pkts + resp_pkts AS p FROM flow
              UNION ALL SELECT resp_h, orig_ip_bytes + resp_ip_bytes, orig_pkts + resp_pkts FROM flow)
            GROUP BY host ORDER BY bytes DESC LIMIT ?
            """)
        s.bind(1, limit)
        var out: [HostTotal] = []
        while try s.step() {
            out.append(HostTotal(host: s.text("host") ?? "", bytes: s.int("bytes"), packets: s.int("packets"), connections: s.int("connections")))
        }
        return out
    }

    public func topPairs(limit: Int) throws -> [PairTotal] {
        let s = try db.prepare(
            """
            SELECT orig_h, resp_h, count(*) AS connections, sum(orig_pkts + resp_pkts) AS packets,
              sum(orig_ip_bytes + resp_ip_bytes) AS bytes FROM flow
            GROUP BY orig_h, resp_h ORDER BY bytes DESC LIMIT ?
            """)
        s.bind(1, limit)
        var out: [PairTotal] = []
        while try s.step() {
            out.append(
                PairTotal(
                    orig: s.text("orig_h") ?? "", resp: s.text("resp_h") ?? "", connections: s.int("connections"),
                    packets: s.int("packets"), bytes: s.int("bytes")))
        }
        return out
    }

    /// TCP and UDP responder ports by connections.
    public func topServerPorts(limit: Int) throws -> [ServerPort] {
        let s = try db.prepare(
            """
            SELECT proto, resp_p, count(*) AS connections, count(DISTINCT orig_h) AS clients, count(DISTINCT resp_h) AS servers,
              sum(orig_ip_bytes + resp_ip_bytes) AS bytes FROM flow WHERE proto IN (6, 17)
            GROUP BY proto, resp_p ORDER BY connections DESC LIMIT ?
            """)
        s.bind(1, limit)
        var out: [ServerPort] = []
        while try s.step() {
            out.append(
                ServerPort(
                    proto: IPProto.name(UInt8(truncatingIfNeeded: s.int("proto"))), port: s.int("resp_p"),
                    connections: s.int("connections"), clients: s.int("clients"), servers: s.int("servers"), bytes: s.int("bytes")))
        }
        return out
    }

    public func topDNSNames(limit: Int) throws -> [NameLookups] {
        let s = try db.prepare(
            """
            SELECT qname, count(*) AS lookups, sum(rcode = 3) AS nxdomain, group_concat(DISTINCT qtype) AS qtypes
            FROM dns WHERE qname IS NOT NULL GROUP BY qname ORDER BY lookups DESC, qname LIMIT ?
            """)
        s.bind(1, limit)
        var out: [NameLookups] = []
        while try s.step() {
            out.append(NameLookups(name: s.text("qname") ?? "", lookups: s.int("lookups"), nxdomain: s.optionalInt("nxdomain"), qtypes: s.text("qtypes") ?? ""))
        }
        return out
    }

    public func distinctDNSNames() throws -> Int64 { try db.scalar("SELECT count(DISTINCT qname) FROM dns") ?? 0 }

    public func topTLSServerNames(limit: Int) throws -> [TLSServerName] {
        let s = try db.prepare(
            """
            SELECT coalesce(server_name, '(no SNI)') AS name, count(*) AS hellos, group_concat(DISTINCT version) AS versions,
              group_concat(DISTINCT coalesce(alpn, '')) AS alpn, group_concat(DISTINCT ja4) AS ja4
            FROM tls_v GROUP BY name ORDER BY hellos DESC, name LIMIT ?
            """)
        s.bind(1, limit)
        var out: [TLSServerName] = []
        while try s.step() {
            out.append(
                TLSServerName(
                    name: s.text("name") ?? "", hellos: s.int("hellos"), versions: s.text("versions") ?? "",
                    alpn: s.text("alpn") ?? "", ja4: s.text("ja4") ?? ""))
        }
        return out
    }

    /// The servers' own certificates (depth 0), flagged ones first; `server` limits them to one
    /// address. Empty for a store made before certificates were kept.
    public func serverCertificates(server: String? = nil, limit: Int) throws -> [ServerCertificate] {
        guard try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'x509'") ?? 0 > 0 else { return [] }
        let s = try db.prepare(
            """
            SELECT f.resp_h AS server, f.resp_p AS port, x.subject, x.issuer, x.serial, x.not_before, x.not_after, x.key_type,
              x.key_bits, x.san, x.self_signed, count(*) AS connections, min(x.ts) AS first_ts
            FROM x509 x JOIN flow f ON f.id = x.flow_id
            WHERE x.depth = 0 AND (?1 IS NULL OR f.resp_h = ?1)
            GROUP BY f.resp_h, f.resp_p, x.serial, x.subject, x.issuer
            ORDER BY (x.self_signed OR x.not_after - x.not_before <= 604800 OR min(x.ts) / 1000000000 > x.not_after
              OR min(x.ts) / 1000000000 < x.not_before) DESC, connections DESC, server, port LIMIT ?2
            """)
        s.bind(1, server)
        s.bind(2, limit)
        var out: [ServerCertificate] = []
        while try s.step() {
            out.append(
                ServerCertificate(
                    server: s.text("server") ?? "", port: s.int("port"), subject: s.text("subject") ?? "", issuer: s.text("issuer") ?? "",
                    serial: s.text("serial") ?? "", notBefore: s.int("not_before"), notAfter: s.int("not_after"),
                    keyType: s.text("key_type") ?? "", keyBits: s.int("key_bits"), san: s.text("san") ?? "", selfSigned: s.int("self_signed") != 0,
                    connections: s.int("connections"), firstSeen: s.int("first_ts") / 1_000_000_000))
        }
        return out
    }

    public func topHTTPHosts(limit: Int) throws -> [HTTPHostCount] {
        let s = try db.prepare(
            """
            SELECT coalesce(host, '(no Host)') AS name, count(*) AS requests, group_concat(DISTINCT method) AS methods,
              min(uri) AS uri, group_concat(DISTINCT status) AS statuses
            FROM http GROUP BY name ORDER BY requests DESC, name LIMIT ?
            """)
        s.bind(1, limit)
        var out: [HTTPHostCount] = []
        while try s.step() {
            out.append(
                HTTPHostCount(
                    host: s.text("name") ?? "", requests: s.int("requests"), methods: s.text("methods") ?? "",
                    sampleURI: s.text("uri") ?? "", statuses: s.text("statuses") ?? ""))
        }
        return out
    }

    public func topUserAgents(limit: Int) throws -> [UserAgentCount] {
        let s = try db.prepare(
            """
            SELECT user_agent, count(*) AS requests FROM http_v WHERE user_agent IS NOT NULL
            GROUP BY user_agent ORDER BY requests DESC LIMIT ?
            """)
        s.bind(1, limit)
        var out: [UserAgentCount] = []
        while try s.step() { out.append(UserAgentCount(agent: s.text("user_agent") ?? "", requests: s.int("requests"))) }
        return out
    }

    /// Every alert, oldest first; with `withFlows` each carries the ids of its connections.
    public func storedAlerts(withFlows: Bool = false) throws -> [StoredAlert] {
        let s = try db.prepare(
            """
            SELECT id, kind, severity, src, dst, dsts, ports, proto, start_ts, end_ts, evidence,
              (SELECT count(*) FROM alert_flow WHERE alert_id = alert.id) AS flow_count,
              json_extract(evidence, '$.technique') AS technique, json_extract(evidence, '$.why') AS why
            FROM alert ORDER BY start_ts, id
            """)
        var out: [StoredAlert] = []
        while try s.step() {
            var a = Alert(
                kind: s.text("kind") ?? "", severity: s.text("severity") ?? "", src: IPAddress(s.text("src") ?? "") ?? .zero,
                dst: s.text("dst").flatMap(IPAddress.init), proto: s.text("proto") ?? "", start: s.int("start_ts"))
            a.id = s.int("id")
            a.end = s.int("end_ts")
            a.dsts = JSONText.strings(s.text("dsts") ?? "[]").compactMap(IPAddress.init)
            a.dstCount = a.dsts.count
            a.ports = JSONText.integers(s.text("ports") ?? "[]").map { UInt16(truncatingIfNeeded: $0) }
            a.portCount = a.ports.count
            out.append(
                StoredAlert(
                    alert: a, flowCount: s.int("flow_count"), evidence: s.text("evidence") ?? "{}",
                    technique: s.text("technique"), why: s.text("why")))
        }
        if withFlows {
            for i in out.indices { out[i].alert.flows = try flowIDs(ofAlert: out[i].alert.id) }
        }
        return out
    }

    /// Alerts as `aether alerts --json` prints them.
    public func alerts() throws -> [JSON] {
        try storedAlerts().map { r in
            let a = r.alert
            var o: [(String, JSON)] = [
                ("id", .int(a.id)), ("kind", .string(a.kind)), ("severity", .string(a.severity)),
                ("src", .string(a.src.description)),
            ]
            if let d = a.dst {
                o.append(("dst", .string(d.description)))
            } else {
                o.append(("dsts", .array(a.dsts.map { .string($0.description) })))
            }
            o.append(("ports", .array(a.ports.map { .int(Int64($0)) })))
            o.append(("proto", .string(a.proto)))
            o.append(("start", .double(Double(a.start) / 1e9)))
            o.append(("end", .double(Double(a.end) / 1e9)))
            o.append(("flows", .int(r.flowCount)))
            if let t = r.technique { o.append(("technique", .string(t))) }
            if let w = r.why { o.append(("why", .raw(w))) }
            o.append(("evidence", .raw(r.evidence)))
            return .object(o)
        }
    }
}

/// The two flat shapes the alert table keeps as JSON text (written by `save(alerts:)`).
enum JSONText {
    static func strings(_ t: String) -> [String] {
        let inner = t.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        return inner.split(separator: ",").map { String($0.dropFirst().dropLast()) }
    }

    static func integers(_ t: String) -> [Int64] {
        let inner = t.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        return inner.split(separator: ",").compactMap { Int64($0) }
    }
}
