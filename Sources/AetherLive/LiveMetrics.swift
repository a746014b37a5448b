import AetherCore
import AetherStore
import Synchronization

/// An atomic counter in a box, so that counters can be kept in arrays (an `Atomic` cannot be copied).
final class Counter: Sendable {
    let value = Atomic<UInt64>(0)
}

/// What `GET /metrics` reports, in Prometheus' text format. The packet path (the session's
/// thread) only adds to atomics with relaxed ordering: no lock is taken per packet, and a scrape
/// reads whatever the counters hold at that moment.
package final class LiveMetrics: Sendable {
    let packets = Atomic<UInt64>(0)
    let bytes = Atomic<UInt64>(0)
    let drops = Atomic<UInt64>(0)
    let connections = Atomic<UInt64>(0)
    let undecoded = Atomic<UInt64>(0)
    /// One counter per `CaptureCounts.protocolNames` entry.
    let protocols: [Counter]
    /// Alerts by kind change when an episode opens, not per packet: a lock is fine there.
    let alertsByKind = Mutex([String: UInt64]())
    let summaries = Atomic<UInt64>(0)
    let framesSent = Atomic<UInt64>(0)

    /// Seconds from a packet being read to the summary that covers it leaving the server.
    static let latencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    let latencyBuckets: [Counter]
    let latencyCount = Atomic<UInt64>(0)
    /// The sum in microseconds, so that it can be an integer atomic.
    let latencySumMicros = Atomic<UInt64>(0)

    package init() {
        protocols = (0..<CaptureCounts.protocolNames.count).map { _ in Counter() }
        latencyBuckets = (0..<Self.latencyBounds.count).map { _ in Counter() }
    }

    @inline(__always) func packet(bytes n: UInt32, protocolClass: Int, isNewConnection: Bool, undecoded u: Bool) {
        packets.add(1, ordering: .relaxed)
        bytes.add(UInt64(n), ordering: .relaxed)
        protocols[protocolClass].value.add(1, ordering: .relaxed)
        if isNewConnection { connections.add(1, ordering: .relaxed) }
        if u { undecoded.add(1, ordering: .relaxed) }
    }

    func alertOpened(kind: String) { alertsByKind.withLock { $0[kind, default: 0] += 1 } }

    func observeLatency(seconds: Double) {
        for (i, bound) in Self.latencyBounds.enumerated() where seconds <= bound {
            latencyBuckets[i].value.add(1, ordering: .relaxed)
        }
        latencyCount.add(1, ordering: .relaxed)
        latencySumMicros.add(UInt64(max(0, seconds) * 1e6), ordering: .relaxed)
    }

    /// The exposition text: every family with HELP and TYPE, label values escaped.
    func render(clients: Int, queueDepths: [(client: Int, depth: Int)]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
            let l = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(name)\(l) \(value)\n"
        }
        func counter(_ name: String, _ help: String, _ value: borrowing Atomic<UInt64>) {
            family(name, "counter", help)
            sample(name, [], "\(value.load(ordering: .relaxed))")
        }
        counter("aether_packets_total", "Packets read by the live session.", packets)
        counter("aether_bytes_total", "Bytes on the wire of the packets read.", bytes)
        counter("aether_drops_total", "Packets the capture dropped (libpcap's count; 0 for a replay).", drops)
        counter("aether_undecoded_packets_total", "Packets whose network layer was not reached.", undecoded)
        counter("aether_connections_total", "Connections opened (Zeek's model).", connections)
        family("aether_protocol_packets_total", "counter", "Packets by protocol class.")
        for (i, name) in CaptureCounts.protocolNames.enumerated() {
            sample("aether_protocol_packets_total", [("protocol", name)], "\(protocols[i].value.load(ordering: .relaxed))")
        }
        family("aether_alerts_total", "counter", "Alert episodes opened, by kind.")
        for (kind, n) in alertsByKind.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            sample("aether_alerts_total", [("kind", kind)], "\(n)")
        }
        counter("aether_summaries_total", "Per-second summaries made.", summaries)
        counter("aether_ws_frames_sent_total", "WebSocket messages written to clients.", framesSent)
        family("aether_clients", "gauge", "Connected live clients.")
        sample("aether_clients", [], "\(clients)")
        family("aether_client_queue_depth", "gauge", "Messages waiting for each client (its mailbox; never more than one summary).")
        for q in queueDepths { sample("aether_client_queue_depth", [("client", "\(q.client)")], "\(q.depth)") }
        family(
            "aether_summary_latency_seconds", "histogram",
            "From the first packet a summary covers being read to the summary leaving the server.")
        for (i, bound) in Self.latencyBounds.enumerated() {
            sample("aether_summary_latency_seconds_bucket", [("le", Self.number(bound))], "\(latencyBuckets[i].value.load(ordering: .relaxed))")
        }
        let count = latencyCount.load(ordering: .relaxed)
        sample("aether_summary_latency_seconds_bucket", [("le", "+Inf")], "\(count)")
        sample("aether_summary_latency_seconds_sum", [], Self.number(Double(latencySumMicros.load(ordering: .relaxed)) / 1e6))
        sample("aether_summary_latency_seconds_count", [], "\(count)")
        return out
    }

    /// Label values escape backslash, quote and newline (the text format's rule).
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? "\(Int64(v)).0" : "\(v)"
    }
}
