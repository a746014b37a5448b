import AetherCore
#if canImport(Glibc)
    import Glibc
#endif

/// Distinct keys seen within a sliding window of event time, exact up to `cap` keys.
/// Each entry carries a payload (the flow that made it) so an episode opening late can
/// still claim the flows of the probes that led up to it.
struct WindowedDistinct<K: Hashable> {
    let window: Int64
    let cap: Int
    private(set) var last: [K: Int64] = [:]
    private var queue: [(key: K, time: Int64, flow: Int64)] = []
    private var head = 0
    /// Keys refused because the set was full: the window is summarised, not unbounded.
    private(set) var overflow = 0

    init(window: Int64, cap: Int = 4096) { self.window = window; self.cap = cap }

    var count: Int { last.count }

    mutating func add(_ k: K, at t: Int64, flow: Int64) {
        prune(t)
        if last[k] == nil && last.count >= cap { overflow += 1; return }
        last[k] = t
        queue.append((k, t, flow))
    }

    mutating func remove(_ k: K) { last[k] = nil }

    mutating func prune(_ now: Int64) {
        let limit = now &- window
        while head < queue.count && queue[head].time < limit {
            let e = queue[head]
            if last[e.key] == e.time { last[e.key] = nil }
            head += 1
        }
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    /// Flows of entries still in the window whose key is still counted.
    var flows: [Int64] {
        var out: [Int64] = []
        for i in head..<queue.count where last[queue[i].key] != nil && queue[i].flow != 0 { out.append(queue[i].flow) }
        return out
    }

    var keys: [K] { Array(last.keys) }
}

/// A sum of counts over a sliding event-time window, with the flows that gave them.
struct WindowedSum {
    let window: Int64
    private var queue: [(time: Int64, count: Int, flow: Int64)] = []
    private var head = 0
    private(set) var total = 0

    init(window: Int64) { self.window = window }

    mutating func add(_ n: Int, at t: Int64, flow: Int64) {
        prune(t)
        queue.append((t, n, flow))
        total += n
    }

    mutating func prune(_ now: Int64) {
        let limit = now &- window
        while head < queue.count && queue[head].time < limit {
            total -= queue[head].count
            head += 1
        }
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    var earliest: Int64? { head < queue.count ? queue[head].time : nil }
    var flows: [Int64] { queue[head...].map(\.flow) }
}

/// HyperLogLog (2^12 registers, ~1.6 % error): distinct counts past the exact caps in 4 KB.
struct DistinctSketch {
    private var registers = [UInt8](repeating: 0, count: 4096)

    mutating func add(_ h: UInt64) {
        let x = mix64(h)
        let idx = Int(x >> 52)
        let rest = (x << 12) | (1 << 11)
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        if rank > registers[idx] { registers[idx] = rank }
    }

    var estimate: Int {
        let m = 4096.0
        var sum = 0.0, zeros = 0
        for r in registers { sum += 1.0 / Double(1 << Int(r)); if r == 0 { zeros += 1 } }
        let alpha = 0.7213 / (1 + 1.079 / m)
        var e = alpha * m * m / sum
        if e <= 2.5 * m && zeros > 0 { e = m * log(m / Double(zeros)) }
        return Int(e.rounded())
    }
}

/// A capped exact set with a sketch behind it for the total.
struct EvidenceSet<K: Hashable> {
    private(set) var items: [K] = []
    private var hashes: [UInt64] = []
    private var seen = Set<K>()
    private var sketch: DistinctSketch?
    private var exactCount = 0
    let cap: Int

    init(cap: Int = Alert.listLimit) { self.cap = cap }

    mutating func insert(_ k: K, hash: UInt64) {
        if seen.contains(k) { return }
        if seen.count < cap {
            seen.insert(k)
            items.append(k)
            hashes.append(hash)
            exactCount += 1
            return
        }
        if sketch == nil {
            // Built from our own hashes (not hashValue, which is seeded per process) so counts repeat.
            var s = DistinctSketch()
            for h in hashes { s.add(h) }
            sketch = s
        }
        sketch!.add(hash)
    }

    func contains(_ k: K) -> Bool { seen.contains(k) }

    var count: Int { sketch.map { max($0.estimate, exactCount) } ?? exactCount }
}
