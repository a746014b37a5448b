import AetherCore

/// One probe target of a source: a host, a port (0 for echo and ARP), a protocol.
struct Probe: Hashable {
    var dst: IPAddress
    var port: UInt16
    var proto: UInt8
}

struct HostKey: Hashable { var dst: IPAddress; var proto: UInt8 }
struct PortKey: Hashable { var port: UInt16; var proto: UInt8 }

/// A source's probes within a sliding window of event time. Failed probes (not answered:
/// silence, RST, ICMP unreachable) are counted per host and per port, answered ones kept apart.
/// At most `cap` distinct probes are held: past that the source is long since reported, and the
/// window is summarised by its counts rather than grown without bound.
struct ProbeWindow {
    struct Entry { var time: Int64; var failed: Bool }
    let window: Int64
    let cap: Int
    private(set) var entries: [Probe: Entry] = [:]
    private var queue: [(probe: Probe, time: Int64, flow: Int64)] = []
    private var head = 0
    private(set) var failedPerHost: [HostKey: Int] = [:]
    private(set) var failedPerPort: [PortKey: Int] = [:]
    private(set) var dropped = 0

    init(window: Int64, cap: Int = 65_536) { self.window = window; self.cap = cap }

    var isEmpty: Bool { entries.isEmpty }

    /// Records a probe as failed until an answer says otherwise.
    mutating func probe(_ p: Probe, at t: Int64, flow: Int64) {
        prune(t)
        if let e = entries[p] {
            entries[p] = Entry(time: t, failed: e.failed)
        } else {
            if entries.count >= cap { dropped += 1; return }
            entries[p] = Entry(time: t, failed: true)
            failedPerHost[HostKey(dst: p.dst, proto: p.proto), default: 0] += 1
            failedPerPort[PortKey(port: p.port, proto: p.proto), default: 0] += 1
        }
        queue.append((p, t, flow))
    }

    mutating func answered(_ p: Probe) {
        guard var e = entries[p], e.failed else { return }
        e.failed = false
        entries[p] = e
        decrement(p)
    }

    private mutating func decrement(_ p: Probe) {
        let hk = HostKey(dst: p.dst, proto: p.proto), pk = PortKey(port: p.port, proto: p.proto)
        if let n = failedPerHost[hk] { if n <= 1 { failedPerHost[hk] = nil } else { failedPerHost[hk] = n - 1 } }
        if let n = failedPerPort[pk] { if n <= 1 { failedPerPort[pk] = nil } else { failedPerPort[pk] = n - 1 } }
    }

    mutating func prune(_ now: Int64) {
        let limit = now &- window
        while head < queue.count && queue[head].time < limit {
            let q = queue[head]
            if let e = entries[q.probe], e.time == q.time {
                entries[q.probe] = nil
                if e.failed { decrement(q.probe) }
            }
            head += 1
        }
        if head > 4096 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    func failedPorts(on dst: IPAddress, proto: UInt8) -> Int { failedPerHost[HostKey(dst: dst, proto: proto)] ?? 0 }
    func failedHosts(on port: UInt16, proto: UInt8) -> Int { failedPerPort[PortKey(port: port, proto: proto)] ?? 0 }

    /// The probes in the window that match, with their flows: what led up to an episode.
    func probes(where match: (Probe) -> Bool) -> [(Probe, Int64, Bool)] {
        var out: [(Probe, Int64, Bool)] = []
        var seen = Set<Int64>()
        for i in head..<queue.count {
            let q = queue[i]
            guard match(q.probe), let e = entries[q.probe] else { continue }
            if q.flow != 0 && !seen.insert(q.flow).inserted { continue }
            out.append((q.probe, q.flow, e.failed))
        }
        return out
    }
}
