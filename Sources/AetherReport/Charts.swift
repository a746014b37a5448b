import AetherCore

/// Inline SVG charts drawn from numbers. Labels pass through `escape`; nothing is fetched.
enum Chart {

    static func fmt(_ v: Double) -> String {
        if v >= 1e9 { return trim(v / 1e9) + "G" }
        if v >= 1e6 { return trim(v / 1e6) + "M" }
        if v >= 1e3 { return trim(v / 1e3) + "k" }
        return trim(v)
    }

    static func trim(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }

    static func num(_ v: Double) -> String { String((v * 10).rounded() / 10) }

    /// The next 1, 2 or 5 times a power of ten at or above v, so four ticks read cleanly.
    static func niceCeiling(_ v: Double) -> Double {
        var p = 1.0
        while p * 10 <= v { p *= 10 }
        for m in [1.0, 2.0, 4.0, 5.0, 8.0, 10.0] where m * p >= v { return m * p }
        return 10 * p
    }

    /// Time-axis ticks in UTC, with labels like 22:13:20.
    static func timeTicks(_ t0: Double, _ t1: Double, count: Int = 6) -> [(Double, String)] {
        let span = max(t1 - t0, 1)
        let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
        let step = steps.first { span / $0 <= Double(count) } ?? 86400 * 30
        var out: [(Double, String)] = []
        var t = (t0 / step).rounded(.up) * step
        while t <= t1 && out.count < 20 {
            let iso = Timestamp(nanoseconds: Int64(t * 1e9)).iso8601
            let label = span > 172800 ? String(iso.prefix(10)) : String(iso.dropFirst(11).prefix(8))
            out.append((t, label))
            t += step
        }
        return out
    }

    /// Stacked areas of per-second values by protocol, time on x (UTC), with a unit on y.
    static func stacked(title: String, unit: String, seconds: [Int64], series: [(String, [Double])], width: Double = 900, height: Double = 220) -> Node {
        guard let first = seconds.first, let last = seconds.last, !series.isEmpty else { return .text("No traffic.") }
        let left = 56.0, bottom = 28.0, top = 22.0, right = 10.0
        let w = width - left - right, h = height - top - bottom
        let t0 = Double(first), t1 = Double(max(last, first + 1))
        var totals = [Double](repeating: 0, count: seconds.count)
        for (_, v) in series { for i in v.indices { totals[i] += v[i] } }
        let maxY = niceCeiling(max(totals.max() ?? 1, 1))
        func x(_ t: Double) -> Double { left + (t - t0) / (t1 - t0) * w }
        func y(_ v: Double) -> Double { top + h - v / maxY * h }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        // axes and grid
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            svg += "<line x1=\"\(num(left))\" x2=\"\(num(left + w))\" y1=\"\(num(y(v)))\" y2=\"\(num(y(v)))\" class=\"grid\"/>"
            svg += "<text x=\"\(num(left - 4))\" y=\"\(num(y(v) + 4))\" class=\"ylab\">\(fmt(v))</text>"
        }
        for (t, label) in timeTicks(t0, t1) {
            svg += "<line x1=\"\(num(x(t)))\" x2=\"\(num(x(t)))\" y1=\"\(num(top))\" y2=\"\(num(top + h))\" class=\"grid\"/>"
            svg += "<text x=\"\(num(x(t)))\" y=\"\(num(height - 8))\" class=\"xlab\">\(escape(label))</text>"
        }
        svg += "<text x=\"4\" y=\"12\" class=\"unit\">\(escape(unit))</text>"
        svg += "<text x=\"\(num(left + w))\" y=\"\(num(height - 8))\" class=\"unit end\">UTC</text>"
        var base = [Double](repeating: 0, count: seconds.count)
        for (name, values) in series {
            var top: [String] = [], bottomPts: [String] = []
            for i in seconds.indices {
                let tx = num(x(Double(seconds[i])))
                top.append("\(tx),\(num(y(base[i] + values[i])))")
                bottomPts.append("\(tx),\(num(y(base[i])))")
            }
            for i in seconds.indices { base[i] += values[i] }
            let color = Palette.color(ofProtocol: name)
            svg +=
                "<polygon points=\"\(top.joined(separator: " ")) \(bottomPts.reversed().joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.75\"><title>\(escape(name))</title></polygon>"
        }
        svg += "</svg>"
        let legend = series.map { "<span class=\"key\"><i style=\"background:\(Palette.color(ofProtocol: $0.0))\"></i>\(escape($0.0))</span>" }.joined()
        return .trusted("<figure><figcaption>\(escape(title))</figcaption>\(svg)<div class=\"legend\">\(legend)</div></figure>")
    }

    /// Horizontal bars: label, value.
    static func bars(_ items: [(String, Double)], unit: String, color: String = Palette.color(ofProtocol: "tcp"), width: Double = 560) -> Node {
        guard let maxV = items.map(\.1).max(), maxV > 0 else { return .text("Nothing to show.") }
        let row = 20.0, labelW = 190.0
        let height = Double(items.count) * row + 6
        var svg = "<svg class=\"chart bars\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        for (i, item) in items.enumerated() {
            let y = Double(i) * row + 3
            let bw = max(1, (width - labelW - 70) * item.1 / maxV)
            let label = item.0.count > 30 ? String(item.0.prefix(29)) + "…" : item.0
            svg += "<text x=\"\(num(labelW - 6))\" y=\"\(num(y + 13))\" class=\"ylab\">\(escape(label))</text>"
            svg +=
                "<rect x=\"\(num(labelW))\" y=\"\(num(y))\" width=\"\(num(bw))\" height=\"\(num(row - 6))\" fill=\"\(color)\"><title>\(escape(item.0)): \(fmt(item.1)) \(escape(unit))</title></rect>"
            svg += "<text x=\"\(num(labelW + bw + 4))\" y=\"\(num(y + 13))\" class=\"val\">\(fmt(item.1)) \(escape(unit))</text>"
        }
        return .trusted(svg + "</svg>")
    }

    /// One row per alert from start to end, coloured by severity, over the capture's span.
    static func timeline(_ alerts: [Alert], t0: Double, t1: Double, width: Double = 900) -> Node {
        guard !alerts.isEmpty else { return .text("No alerts.") }
        let left = 190.0, right = 10.0, row = 18.0, top = 6.0, bottom = 28.0
        let height = top + Double(alerts.count) * row + bottom
        let w = width - left - right
        let span = max(t1 - t0, 1)
        func x(_ t: Double) -> Double { left + max(0, min(1, (t - t0) / span)) * w }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"alert timeline\">"
        for (t, label) in timeTicks(t0, t1) {
            svg += "<line x1=\"\(num(x(t)))\" x2=\"\(num(x(t)))\" y1=\"\(num(top))\" y2=\"\(num(height - bottom))\" class=\"grid\"/>"
            svg += "<text x=\"\(num(x(t)))\" y=\"\(num(height - 8))\" class=\"xlab\">\(escape(label))</text>"
        }
        svg += "<text x=\"\(num(left + w))\" y=\"\(num(height - 8))\" class=\"unit end\">UTC</text>"
        for (i, a) in alerts.enumerated() {
            let y = top + Double(i) * row
            let s = Double(a.start) / 1e9, e = Double(a.end) / 1e9
            let x0 = x(s), x1 = max(x(e), x0 + 3)
            let color = Palette.color(ofSeverity: a.severity)
            let label = "#\(a.id) \(a.kind) \(a.src)"
            svg += "<text x=\"\(num(left - 6))\" y=\"\(num(y + 12))\" class=\"ylab\">\(escape(label))</text>"
            svg +=
                "<a href=\"#alert-\(a.id)\"><rect x=\"\(num(x0))\" y=\"\(num(y + 2))\" width=\"\(num(x1 - x0))\" height=\"\(num(row - 5))\" rx=\"2\" fill=\"\(color)\"><title>\(escape(label)): \(escape(Timestamp(nanoseconds: a.start).iso8601)) to \(escape(Timestamp(nanoseconds: a.end).iso8601))</title></rect></a>"
        }
        return .trusted(svg + "</svg>")
    }

    /// Which of ports 0–1023 were probed (and which answered), one cell per port, plus a count above.
    static func portCoverage(_ ports: [UInt16], open: Set<UInt16>) -> Node {
        let cols = 64, cell = 9.0
        let probed = Set(ports)
        var svg =
            "<svg class=\"chart coverage\" viewBox=\"0 0 \(Int(Double(cols) * cell + 60)) \(Int(16 * cell + 4))\" role=\"img\" aria-label=\"port coverage 0-1023\">"
        for r in 0..<16 {
            svg += "<text x=\"56\" y=\"\(num(Double(r) * cell + 8))\" class=\"ylab small\">\(r * cols)</text>"
            for c in 0..<cols {
                let p = UInt16(r * cols + c)
                let fill = open.contains(p) ? "#3a9a5b" : (probed.contains(p) ? "#c0392b" : "#eee")
                svg +=
                    "<rect x=\"\(num(60 + Double(c) * cell))\" y=\"\(num(Double(r) * cell))\" width=\"\(num(cell - 1))\" height=\"\(num(cell - 1))\" fill=\"\(fill)\"><title>port \(p)</title></rect>"
            }
        }
        let above = ports.filter { $0 >= 1024 }.count
        return .trusted(
            svg + "</svg><p class=\"note\">Red: probed without an answer or refused; green: answered. Ports 0–1023 shown; \(above) probed ports above 1023.</p>"
        )
    }

    /// A beacon's gaps between connections, 12 bins from 0 to twice the median.
    static func histogram(_ bins: [Int], median: Double) -> Node {
        guard let maxV = bins.max(), maxV > 0 else { return .text("") }
        let width = 420.0, height = 140.0, left = 36.0, bottom = 26.0
        let bw = (width - left - 10) / Double(bins.count)
        var svg = "<svg class=\"chart hist\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"interval histogram\">"
        for (i, v) in bins.enumerated() {
            let h = (height - bottom - 8) * Double(v) / Double(maxV)
            let x = left + Double(i) * bw
            svg +=
                "<rect x=\"\(num(x))\" y=\"\(num(height - bottom - h))\" width=\"\(num(bw - 2))\" height=\"\(num(h))\" fill=\"#3b6fb6\"><title>\(v) gaps</title></rect>"
        }
        for k in [0, 6, 12] {
            let x = left + Double(k) * bw
            svg += "<text x=\"\(num(x))\" y=\"\(num(height - 10))\" class=\"xlab\">\(trim(2 * median * Double(k) / 12)) s</text>"
        }
        svg += "<text x=\"4\" y=\"12\" class=\"unit\">gaps</text>"
        return .trusted(svg + "</svg>")
    }
}
