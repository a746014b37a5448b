/// The store's schema. Bump `version` with every change and add a migration step.
public enum Schema {
    public static let version = 2

    /// The connection table's indexes. A new store gets them when its first writer is done
    /// (`Store.ensureIndexes`): built once from sorted keys instead of kept up to date row by row,
    /// whose random inserts rewrote about 300 MB of index pages on the 8 M-packet bench file. A
    /// store opened for writing again gets them at once, if it lacks them.
    static let flowIndexes = """
        CREATE INDEX IF NOT EXISTS flow_orig ON flow(orig_h);
        CREATE INDEX IF NOT EXISTS flow_resp ON flow(resp_h, resp_p);
        """

    static let tables = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS capture(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            sha256 TEXT,
            size INTEGER,
            format TEXT,
            compressed INTEGER DEFAULT 0,
            link_types TEXT,
            first_ts INTEGER,
            last_ts INTEGER,
            packets INTEGER DEFAULT 0,
            bytes INTEGER DEFAULT 0,
            wire_bytes INTEGER DEFAULT 0,
            truncated_packets INTEGER DEFAULT 0,
            out_of_order INTEGER DEFAULT 0,
            filtered_out INTEGER DEFAULT 0,
            filter TEXT,
            tcp INTEGER DEFAULT 0, udp INTEGER DEFAULT 0, icmp INTEGER DEFAULT 0, icmpv6 INTEGER DEFAULT 0,
            other_ip INTEGER DEFAULT 0, arp INTEGER DEFAULT 0, other INTEGER DEFAULT 0,
            ipv6_packets INTEGER DEFAULT 0,
            vlan_packets INTEGER DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('ingesting','complete','truncated','failed')),
            error TEXT,
            started_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            finished_at TEXT
        );
        CREATE INDEX IF NOT EXISTS capture_sha ON capture(sha256);
        -- Packets in fixed-count chunks; each column one zlib-compressed BLOB (see ChunkCodec).
        CREATE TABLE IF NOT EXISTS packet_chunk(
            id INTEGER PRIMARY KEY,
            capture_id INTEGER NOT NULL REFERENCES capture(id),
            first_seq INTEGER NOT NULL,
            count INTEGER NOT NULL,
            ts_min INTEGER NOT NULL,
            ts_max INTEGER NOT NULL,
            encoding INTEGER NOT NULL,
            ts BLOB, frame BLOB, file_offset BLOB, caplen BLOB, wirelen BLOB,
            addr_dict BLOB, src BLOB, dst BLOB, sport BLOB, dport BLOB,
            proto BLOB, tcp_flags BLOB, flow_id BLOB, link BLOB
        );
        CREATE INDEX IF NOT EXISTS packet_chunk_time ON packet_chunk(ts_min, ts_max);
        CREATE INDEX IF NOT EXISTS packet_chunk_capture ON packet_chunk(capture_id);
        -- Zeek's connection model, one row per connection (columns: FlowColumns).
        \(FlowColumns.createTable)
        -- Distinct conversations by the ground truth's rule; the key is a 64-bit digest. Writers
        -- keep each key once (they hold the store's keys in memory), so rows are only appended: a
        -- key as the primary key put each commit's new keys all over the table's pages, and on
        -- the 8 M-packet bench file rewrote 465 MB of them. Stores made before keep that form.
        CREATE TABLE IF NOT EXISTS conversation(key INTEGER NOT NULL);
        -- Certificates servers presented in clear (TLS 1.2 and earlier), depth 0 the server's own;
        -- times in seconds, san comma-separated.
        CREATE TABLE IF NOT EXISTS x509(ts INTEGER NOT NULL, flow_id INTEGER NOT NULL, depth INTEGER NOT NULL,
            subject TEXT NOT NULL, issuer TEXT NOT NULL, serial TEXT NOT NULL, not_before INTEGER NOT NULL,
            not_after INTEGER NOT NULL, key_type TEXT NOT NULL, key_bits INTEGER NOT NULL, san TEXT NOT NULL,
            self_signed INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS x509_flow ON x509(flow_id);
        -- Files that crossed the wire (HTTP bodies); hashes empty when the file is not whole
        -- (problem says why). Content kept for extraction is in file_content.
        CREATE TABLE IF NOT EXISTS file(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, flow_id INTEGER NOT NULL,
            source TEXT NOT NULL, is_orig INTEGER NOT NULL, name TEXT, mime_type TEXT NOT NULL, size INTEGER NOT NULL,
            total_bytes INTEGER, missing_bytes INTEGER NOT NULL, md5 TEXT NOT NULL, sha1 TEXT NOT NULL, sha256 TEXT NOT NULL,
            problem TEXT, extracted INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS file_flow ON file(flow_id);
        CREATE TABLE IF NOT EXISTS file_content(file_id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
        -- Packets of a capture whose network layer was not reached, by reason (link type, EtherType…).
        CREATE TABLE IF NOT EXISTS undecoded(capture_id INTEGER NOT NULL, reason TEXT NOT NULL, packets INTEGER NOT NULL,
            PRIMARY KEY(capture_id, reason)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS series(
            second INTEGER NOT NULL, proto TEXT NOT NULL, packets INTEGER NOT NULL, bytes INTEGER NOT NULL,
            PRIMARY KEY(second, proto)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS alert(
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, severity TEXT NOT NULL,
            src TEXT, dst TEXT, dsts TEXT, ports TEXT, proto TEXT,
            start_ts INTEGER, end_ts INTEGER, evidence TEXT);
        CREATE TABLE IF NOT EXISTS alert_flow(alert_id INTEGER NOT NULL, flow_id INTEGER NOT NULL,
            PRIMARY KEY(alert_id, flow_id)) WITHOUT ROWID;
        -- One row per DNS transaction (query and its response), as Zeek's dns.log; addresses come from the flow.
        CREATE TABLE IF NOT EXISTS dns(id INTEGER PRIMARY KEY, ts INTEGER, flow_id INTEGER,
            query INTEGER NOT NULL, response INTEGER NOT NULL, query_id INTEGER, qname TEXT, qtype INTEGER,
            rcode INTEGER, answers TEXT);
        -- JA4 fingerprints and User-Agents repeat across thousands of rows: stored once each.
        CREATE TABLE IF NOT EXISTS ja4(id INTEGER PRIMARY KEY, value TEXT UNIQUE NOT NULL);
        CREATE TABLE IF NOT EXISTS user_agent(id INTEGER PRIMARY KEY, value TEXT UNIQUE NOT NULL);
        CREATE TABLE IF NOT EXISTS tls(id INTEGER PRIMARY KEY, ts INTEGER, flow_id INTEGER,
            server_name TEXT, version TEXT, alpn TEXT, ja4_id INTEGER, server_version TEXT);
        CREATE TABLE IF NOT EXISTS http(id INTEGER PRIMARY KEY, ts INTEGER, flow_id INTEGER,
            method TEXT, host TEXT, uri TEXT, user_agent_id INTEGER, status INTEGER);
        """

    /// Steps from each older version to the next, in order; each runs in its own transaction.
    /// A column added to `FlowColumns` needs no step (the store adds what it lacks, and views
    /// are recreated on every writable open); a change that is not an addition does.
    static let migrations: [(from: Int, sql: String)] = []

    /// The views this schema creates (and only those are replaced when a store is opened).
    static var viewNames: [Substring] {
        views.split(separator: "CREATE VIEW IF NOT EXISTS ").dropFirst().compactMap { $0.split(separator: " ").first }
    }

    /// Views for the plain sqlite3 shell: text times and protocol names.
    static let views = """
        CREATE VIEW IF NOT EXISTS flows_v AS
          SELECT id,
            strftime('%Y-%m-%dT%H:%M:%fZ', first_ts / 1e9, 'unixepoch') AS ts,
            CASE proto WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' WHEN 58 THEN 'icmp'
              ELSE 'ip' || proto END AS proto,
            orig_h, orig_p, resp_h, resp_p,
            round((last_ts - first_ts) / 1e9, 6) AS duration,
            service, conn_state, history, orig_pkts, orig_bytes, resp_pkts, resp_bytes, orig_ip_bytes, resp_ip_bytes, tunnel
          FROM flow;
        CREATE VIEW IF NOT EXISTS alerts_v AS
          SELECT id, kind, severity, src, coalesce(dst, dsts) AS target, ports, proto,
            strftime('%Y-%m-%dT%H:%M:%fZ', start_ts / 1e9, 'unixepoch') AS start,
            strftime('%Y-%m-%dT%H:%M:%fZ', end_ts / 1e9, 'unixepoch') AS end,
            (SELECT count(*) FROM alert_flow WHERE alert_id = alert.id) AS flows, evidence
          FROM alert;
        CREATE VIEW IF NOT EXISTS dns_v AS
          SELECT d.id, strftime('%Y-%m-%dT%H:%M:%fZ', d.ts / 1e9, 'unixepoch') AS ts, f.orig_h AS client, f.resp_h AS server,
            d.query, d.response, d.qname,
            CASE d.qtype WHEN 1 THEN 'A' WHEN 28 THEN 'AAAA' WHEN 5 THEN 'CNAME' WHEN 16 THEN 'TXT' WHEN 12 THEN 'PTR'
              WHEN 15 THEN 'MX' WHEN 2 THEN 'NS' WHEN 33 THEN 'SRV' WHEN 65 THEN 'HTTPS' ELSE d.qtype END AS qtype,
            CASE d.rcode WHEN 0 THEN 'NOERROR' WHEN 2 THEN 'SERVFAIL' WHEN 3 THEN 'NXDOMAIN' WHEN 5 THEN 'REFUSED' ELSE d.rcode END AS rcode,
            d.answers
          FROM dns d LEFT JOIN flow f ON f.id = d.flow_id;
        CREATE VIEW IF NOT EXISTS tls_v AS
          SELECT t.id, strftime('%Y-%m-%dT%H:%M:%fZ', t.ts / 1e9, 'unixepoch') AS ts, f.orig_h AS client, f.resp_h AS server,
            f.resp_p AS port, t.server_name, t.version, t.server_version, t.alpn, j.value AS ja4
          FROM tls t LEFT JOIN flow f ON f.id = t.flow_id LEFT JOIN ja4 j ON j.id = t.ja4_id;
        CREATE VIEW IF NOT EXISTS http_v AS
          SELECT h.id, strftime('%Y-%m-%dT%H:%M:%fZ', h.ts / 1e9, 'unixepoch') AS ts, f.orig_h AS client, f.resp_h AS server,
            f.resp_p AS port, h.method, h.host, h.uri, u.value AS user_agent, h.status
          FROM http h LEFT JOIN flow f ON f.id = h.flow_id LEFT JOIN user_agent u ON u.id = h.user_agent_id;
        CREATE VIEW IF NOT EXISTS captures_v AS
          SELECT id, path, sha256, size, format, link_types,
            strftime('%Y-%m-%dT%H:%M:%fZ', first_ts / 1e9, 'unixepoch') AS first,
            strftime('%Y-%m-%dT%H:%M:%fZ', last_ts / 1e9, 'unixepoch') AS last,
            packets, bytes, wire_bytes, status, error
          FROM capture;
        CREATE VIEW IF NOT EXISTS series_v AS
          SELECT strftime('%Y-%m-%dT%H:%M:%SZ', second, 'unixepoch') AS time, proto, packets, bytes FROM series;
        CREATE VIEW IF NOT EXISTS chunks_v AS
          SELECT id, capture_id, first_seq, count,
            strftime('%Y-%m-%dT%H:%M:%fZ', ts_min / 1e9, 'unixepoch') AS first,
            strftime('%Y-%m-%dT%H:%M:%fZ', ts_max / 1e9, 'unixepoch') AS last,
            length(ts) + length(frame) + length(file_offset) + length(caplen) + length(wirelen) + length(addr_dict)
              + length(src) + length(dst) + length(sport) + length(dport) + length(proto) + length(tcp_flags)
              + length(flow_id) + length(link) AS bytes
          FROM packet_chunk;
        """
}
