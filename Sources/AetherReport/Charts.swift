import AetherCore

/// Inline SVG charts drawn from numbers, built as `Node`s like the rest of the report, so every
/// label is escaped by construction; nothing is fetched.
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
            let iso = Timestamp(nanoseconds: Timestamp.nanoseconds(fromSeconds: t) ?? 0).iso8601
            let label = span > 172800 ? String(iso.prefix(10)) : String(iso.dropFirst(11).prefix(8))
            out.append((t, label))
            t += step
        }
        return out
    }

    typealias Attributes = [(String, String)]
    typealias E = HTML

    static func svg(_ cls: String, width: Double, height: Double, label: String?, _ children: [Node]) -> Node {
        var attrs: Attributes = [("class", cls), ("viewBox", "0 0 \(Int(width)) \(Int(height))"), ("role", "img")]
        if let label { attrs.append(("aria-label", label)) }
        return E.el("svg", attrs, children)
    }

    static func line(_ x1: Double, _ x2: Double, _ y1: Double, _ y2: Double) -> Node {
        E.el("line", [("x1", num(x1)), ("x2", num(x2)), ("y1", num(y1)), ("y2", num(y2)), ("class", "grid")])
    }

    static func label(_ text: String, x: Double, y: Double, _ cls: String) -> Node {
        E.el("text", [("x", num(x)), ("y", num(y)), ("class", cls)], text: text)
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, fill: String, rx: Double? = nil, title: String) -> Node {
        var attrs: Attributes = [("x", num(x)), ("y", num(y)), ("width", num(width)), ("height", num(height))]
        if let rx { attrs.append(("rx", num(rx))) }
        attrs.append(("fill", fill))
        return E.el("rect", attrs, [E.el("title", text: title)])
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
        var parts: [Node] = []
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            parts.append(line(left, left + w, y(v), y(v)))
            parts.append(label(fmt(v), x: left - 4, y: y(v) + 4, "ylab"))
        }
        for (t, text) in timeTicks(t0, t1) {
            parts.append(line(x(t), x(t), top, top + h))
            parts.append(label(text, x: x(t), y: height - 8, "xlab"))
        }
        parts.append(label(unit, x: 4, y: 12, "unit"))
        parts.append(label("UTC", x: left + w, y: height - 8, "unit end"))
        var base = [Double](repeating: 0, count: seconds.count)
        for (name, values) in series {
            var upper: [String] = [], lower: [String] = []
            for i in seconds.indices {
                let tx = num(x(Double(seconds[i])))
                upper.append("\(tx),\(num(y(base[i] + values[i])))")
                lower.append("\(tx),\(num(y(base[i])))")
            }
            for i in seconds.indices { base[i] += values[i] }
            let points = upper.joined(separator: " ") + " " + lower.reversed().joined(separator: " ")
            parts.append(
                E.el(
                    "polygon", [("points", points), ("fill", Palette.color(ofProtocol: name)), ("fill-opacity", "0.75")],
                    [E.el("title", text: name)]))
        }
        let legend = series.map { E.el("span", [("class", "key")], [E.el("i", [("style", "background:\(Palette.color(ofProtocol: $0.0))")]), .text($0.0)]) }
        return E.el(
            "figure", [],
            [E.el("figcaption", text: title), svg("chart", width: width, height: height, label: title, parts), E.el("div", [("class", "legend")], legend)])
    }

    /// Horizontal bars: label, value.
    static func bars(_ items: [(String, Double)], unit: String, color: String = Palette.color(ofProtocol: "tcp"), width: Double = 560) -> Node {
        guard let maxV = items.map(\.1).max(), maxV > 0 else { return .text("Nothing to show.") }
        let row = 20.0, labelW = 190.0
        let height = Double(items.count) * row + 6
        var parts: [Node] = []
        for (i, item) in items.enumerated() {
            let y = Double(i) * row + 3
            let bw = max(1, (width - labelW - 70) * item.1 / maxV)
            let text = item.0.count > 30 ? String(item.0.prefix(29)) + "…" : item.0
            parts.append(label(text, x: labelW - 6, y: y + 13, "ylab"))
            parts.append(rect(x: labelW, y: y, width: bw, height: row - 6, fill: color, title: "\(item.0): \(fmt(item.1)) \(unit)"))
            parts.append(label("\(fmt(item.1)) \(unit)", x: labelW + bw + 4, y: y + 13, "val"))
        }
        return svg("chart bars", width: width, height: height, label: nil, parts)
    }

    /// One row per alert from start to end, coloured by severity, over the capture's span.
    static func timeline(_ alerts: [Alert], t0: Double, t1: Double, width: Double = 900) -> Node {
        guard !alerts.isEmpty else { return .text("No alerts.") }
        let left = 190.0, right = 10.0, row = 18.0, top = 6.0, bottom = 28.0
        let height = top + Double(alerts.count) * row + bottom
        let w = width - left - right
        let span = max(t1 - t0, 1)
        func x(_ t: Double) -> Double { left + max(0, min(1, (t - t0) / span)) * w }
        var parts: [Node] = []
        for (t, text) in timeTicks(t0, t1) {
            parts.append(line(x(t), x(t), top, height - bottom))
            parts.append(label(text, x: x(t), y: height - 8, "xlab"))
        }
        parts.append(label("UTC", x: left + w, y: height - 8, "unit end"))
        for (i, a) in alerts.enumerated() {
            let y = top + Double(i) * row
            let s = Double(a.start) / 1e9, e = Double(a.end) / 1e9
            let x0 = x(s), x1 = max(x(e), x0 + 3)
            let text = "#\(a.id) \(a.kind) \(a.src)"
            parts.append(label(text, x: left - 6, y: y + 12, "ylab"))
            let title = "\(text): \(Timestamp(nanoseconds: a.start).iso8601) to \(Timestamp(nanoseconds: a.end).iso8601)"
            parts.append(
                E.el(
                    "a", [("href", "#alert-\(a.id)")],
                    [rect(x: x0, y: y + 2, width: x1 - x0, height: row - 5, fill: Palette.color(ofSeverity: a.severity), rx: 2, title: title)]))
        }
        return svg("chart", width: width, height: height, label: "alert timeline", parts)
    }

    /// Which of ports 0–1023 were probed (and which answered), one cell per port, plus a count above.
    static func portCoverage(_ ports: [UInt16], open: Set<UInt16>) -> Node {
        let cols = 64, cell = 9.0
        let probed = Set(ports)
        var parts: [Node] = []
        for r in 0..<16 {
            parts.append(label("\(r * cols)", x: 56, y: Double(r) * cell + 8, "ylab small"))
            for c in 0..<cols {
                let p = UInt16(r * cols + c)
                let fill = open.contains(p) ? Palette.portOpen : (probed.contains(p) ? Palette.portProbed : Palette.portUnprobed)
                parts.append(rect(x: 60 + Double(c) * cell, y: Double(r) * cell, width: cell - 1, height: cell - 1, fill: fill, title: "port \(p)"))
            }
        }
        let above = ports.filter { $0 >= 1024 }.count
        return .group([
            svg("chart coverage", width: Double(cols) * cell + 60, height: 16 * cell + 4, label: "port coverage 0-1023", parts),
            E.el(
                "p", [("class", "note")],
                text: "Red: probed without an answer or refused; green: answered. Ports 0–1023 shown; \(above) probed ports above 1023."),
        ])
    }

    /// A beacon's gaps between connections, 12 bins from 0 to twice the median.
    static func histogram(_ bins: [Int], median: Double) -> Node {
        guard let maxV = bins.max(), maxV > 0 else { return .text("") }
        let width = 420.0, height = 140.0, left = 36.0, bottom = 26.0
        let bw = (width - left - 10) / Double(bins.count)
        var parts: [Node] = []
        for (i, v) in bins.enumerated() {
            let h = (height - bottom - 8) * Double(v) / Double(maxV)
            let x = left + Double(i) * bw
            parts.append(rect(x: x, y: height - bottom - h, width: bw - 2, height: h, fill: Palette.color(ofProtocol: "tcp"), title: "\(v) gaps"))
        }
        for k in [0, 6, 12] {
            parts.append(label("\(trim(2 * median * Double(k) / 12)) s", x: left + Double(k) * bw, y: height - 10, "xlab"))
        }
        parts.append(label("gaps", x: 4, y: 12, "unit"))
        return svg("chart hist", width: width, height: height, label: "interval histogram", parts)
    }
}
