import AetherCore

/// Connection starts and sizes between one internal host and one external service.
struct BeaconSeries {
    static let limit = 4096
    private(set) var starts: [Int64] = []
    private(set) var bytes: [Int64] = []
    private(set) var flows: [Int64] = []

    mutating func add(start: Int64, bytes b: Int64, flow: Int64) {
        if starts.count >= Self.limit { starts.removeFirst(); bytes.removeFirst(); flows.removeFirst() }
        starts.append(start); bytes.append(b); flows.append(flow)
    }

    /// The last three gaps agree within `jitter` of their mean: cheap, and false for almost
    /// every pair that is not beaconing, so the full score runs rarely.
    func recentGapsRegular(jitter: Double) -> Bool {
        let n = starts.count
        guard n >= 4 else { return false }
        let g1 = Double(starts[n - 1] - starts[n - 2]), g2 = Double(starts[n - 2] - starts[n - 3]), g3 = Double(starts[n - 3] - starts[n - 4])
        let mean = (g1 + g2 + g3) / 3
        guard mean > 0 else { return false }
        let tolerance = mean * jitter * 3
        return abs(g1 - mean) <= tolerance && abs(g2 - mean) <= tolerance && abs(g3 - mean) <= tolerance
    }

    /// RITA-style scoring (v5's parts): regularity of the gaps between connections (Bowley
    /// skew and median absolute deviation), regularity of their sizes (skew, MAD, smallness),
    /// and how much of the observed time the connections cover.
    func score(spanStart: Int64, now: Int64, minInterval: Double) -> BeaconScore? {
        let t = starts.sorted()
        guard t.count >= 4 else { return nil }
        var gaps: [Double] = []
        for i in 1..<t.count { gaps.append(Double(t[i] - t[i - 1]) / 1e9) }
        let g = gaps.sorted()
        let median = quantile(g, 0.5)
        guard median >= minInterval else { return nil }
        // Gaps equal to within 1 % have no meaningful skew: milliseconds of scheduling noise
        // would otherwise make a perfectly regular beacon look skewed.
        let tsSkew = 1 - abs(bowley(g, minSpread: max(median * 0.01, 0.005)))
        let tsMAD = max(0, 1 - mad(g, median) / median)
        let observed = Double(max(now - spanStart, 1)) / 1e9
        let covered = Double(t.last! - t.first!) / 1e9
        let coverage = min(1, covered / max(observed * 0.9, median))
        let b = bytes.map(Double.init).sorted()
        let bMedian = quantile(b, 0.5)
        let dsSkew = 1 - abs(bowley(b))
        let dsMAD = max(0, 1 - mad(b, bMedian) / 32)
        let dsSmall = max(0, 1 - mode(b) / 65535)
        return BeaconScore(
            interval: median, tsSkew: tsSkew, tsMAD: tsMAD, coverage: coverage,
            dsSkew: dsSkew, dsMAD: dsMAD, dsSmall: dsSmall, histogram: histogram(gaps, median))
    }

    func quantile(_ s: [Double], _ q: Double) -> Double {
        if s.isEmpty { return 0 }
        let pos = q * Double(s.count - 1)
        let lo = Int(pos), hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    func bowley(_ s: [Double], minSpread: Double = 0) -> Double {
        let q1 = quantile(s, 0.25), q2 = quantile(s, 0.5), q3 = quantile(s, 0.75)
        guard q3 - q1 > minSpread, q2 != q1, q2 != q3 else { return 0 }
        return (q1 + q3 - 2 * q2) / (q3 - q1)
    }

    func mad(_ s: [Double], _ median: Double) -> Double {
        quantile(s.map { abs($0 - median) }.sorted(), 0.5)
    }

    func mode(_ s: [Double]) -> Double {
        var counts: [Double: Int] = [:]
        for v in s { counts[v, default: 0] += 1 }
        return counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? 0
    }

    /// Gaps in 12 bins from 0 to twice the median: the report's interval histogram.
    func histogram(_ gaps: [Double], _ median: Double) -> [Int] {
        var bins = [Int](repeating: 0, count: 12)
        for g in gaps {
            let i = min(11, max(0, Int(g / (2 * median) * 12)))
            bins[i] += 1
        }
        return bins
    }
}

struct BeaconScore {
    var interval, tsSkew, tsMAD, coverage, dsSkew, dsMAD, dsSmall: Double
    var histogram: [Int]

    var timing: Double { (tsSkew + tsMAD + coverage) / 3 }
    var size: Double { (dsSkew + dsMAD + dsSmall) / 3 }
    var total: Double { (timing * 2 + size) / 3 }

    func evidence(connections: Int) -> [(String, JSON)] {
        func r(_ v: Double) -> JSON { .double((v * 1000).rounded() / 1000) }
        return [
            ("score", r(total)), ("connections", .int(Int64(connections))), ("median_interval_s", r(interval)),
            ("timing_score", r(timing)), ("size_score", r(size)), ("interval_skew_score", r(tsSkew)),
            ("interval_mad_score", r(tsMAD)), ("coverage_score", r(coverage)), ("size_skew_score", r(dsSkew)),
            ("size_mad_score", r(dsMAD)), ("size_smallness_score", r(dsSmall)),
            ("interval_histogram", .array(histogram.map { .int(Int64($0)) })),
        ]
    }
}
