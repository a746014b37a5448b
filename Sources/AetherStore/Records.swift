import AetherCore
import AetherFlows

/// What a store learned, as records other programs read ("records out"): one JSON
/// object per line, with Zeek's field names where Zeek has the field (conn.log, dns.log,
/// ssl.log, http.log), plus the per-second series. Read row by row: memory does not grow with
/// the store.
public enum RecordTable: String, CaseIterable, Sendable {
    case conn, dns, ssl, http, x509, files, series
}
