/// Event time: nanoseconds since the Unix epoch, saturating rather than trapping on
/// the absurd values corrupt captures carry.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64
    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// The earliest and latest packet time AetherLens keeps: 2^62 ns (about 146 years) either
    /// side of 1970, so that no difference of two packet times overflows. A reader clamps a
    /// corrupt capture's absurd times into it (a classic pcap's 32-bit seconds always fit), and
    /// records are checked against it (`RecordRange.time`), so a capture analyze reads is one a
    /// Spark job reads too.
    @inlinable public static var earliest: Int64 { -(1 << 62) + 1 }
    @inlinable public static var latest: Int64 { (1 << 62) - 1 }

    /// Whether `ns` is within `earliest...latest` (one comparison).
    @inlinable public static func isKept(_ ns: Int64) -> Bool {
        UInt64(bitPattern: ns &- earliest) <= UInt64(bitPattern: latest &- earliest)
    }

    /// `ns` within `earliest...latest`.
    @inlinable public static func clamped(_ ns: Int64) -> Int64 { min(max(ns, earliest), latest) }

    /// Seconds from `a` to `b` (nanoseconds): `Double(b - a) / 1e9`, or the nearest double when
    /// the difference does not fit (a store another build wrote may hold any time).
    public static func seconds(from a: Int64, to b: Int64) -> Double {
        let (d, overflow) = b.subtractingReportingOverflow(a)
        return (overflow ? Double(b) - Double(a) : Double(d)) / 1e9
    }

    /// Nanoseconds of `seconds`, saturating (nil only for NaN).
    public static func nanoseconds(fromSeconds seconds: Double) -> Int64? {
        guard !seconds.isNaN else { return nil }
        let ns = seconds * 1e9
        if ns >= 9.223_372_036_854_775e18 { return Int64.max }
        if ns <= -9.223_372_036_854_775e18 { return Int64.min }
        return Int64(ns)
    }

    /// Seconds with nine decimals, as capinfos and the ground truth print them.
    public var decimalString: String {
        let s = nanoseconds / 1_000_000_000, f = nanoseconds % 1_000_000_000
        let frac = String(f < 0 ? -f : f)
        return "\(s).\(String(repeating: "0", count: 9 - frac.count))\(frac)"
    }

    /// ISO 8601 UTC with microseconds, e.g. 2023-11-14T22:13:20.000000Z.
    public var iso8601: String {
        var secs = nanoseconds / 1_000_000_000
        var frac = nanoseconds % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; secs -= 1 }
        var days = secs / 86400
        var rem = secs % 86400
        if rem < 0 { rem += 86400; days -= 1 }
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func pad(_ v: Int64, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2)).\(pad(frac / 1000, 6))Z"
    }
}

/// Saturating helpers for timestamp arithmetic on untrusted values.
@inlinable public func saturatingMultiply(_ a: Int64, _ b: Int64) -> Int64 {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    return o ? ((a < 0) != (b < 0) ? Int64.min : Int64.max) : r
}

@inlinable public func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? (b < 0 ? Int64.min : Int64.max) : r
}
