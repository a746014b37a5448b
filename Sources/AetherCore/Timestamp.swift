/// Event time: nanoseconds since the Unix epoch, saturating rather than trapping on
/// the absurd values corrupt captures carry.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64
    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

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
