import AetherCore
/// A small HTML and SVG builder. Text and attribute values are escaped by `escape`, the one
/// function everything taken from a packet passes through; there is no unescaped case (the
/// report's own CSS and script are written by `Report.render` around the tree).
package indirect enum Node {
    case element(String, [(String, String)], [Node])
    case text(String)
    case group([Node])

    package func render(into out: inout String) {
        switch self {
        case .text(let s): out += escape(s)
        case .group(let nodes): for n in nodes { n.render(into: &out) }
        case .element(let name, let attrs, let children):
            out += "<" + name
            for (k, v) in attrs { out += " " + k + "=\"" + escape(v) + "\"" }
            out += ">"
            if HTML.void.contains(name) { return }
            for c in children { c.render(into: &out) }
            out += "</" + name + ">"
        }
    }

    package var html: String {
        var s = ""
        render(into: &s)
        return s
    }
}

/// Escapes text for HTML element content and attribute values alike.
package func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            if VisibleText.isHidden(c) {
                out += VisibleText.of(String(c))  // shown, not obeyed (a bidi override would reorder the page)
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out
}

package enum HTML {
    static let void: Set<String> = ["br", "meta", "input", "hr", "img", "link"]

    package static func el(_ name: String, _ attrs: [(String, String)] = [], _ children: [Node] = []) -> Node {
        .element(name, attrs, children)
    }
    package static func el(_ name: String, _ attrs: [(String, String)] = [], text: String) -> Node {
        .element(name, attrs, [.text(text)])
    }
    /// `numeric` columns align right; `keep` columns (ids, badges, timestamps) never wrap.
    package static func table(id: String, headers: [String], rows: [[Node]], numeric: Set<Int> = [], keep: Set<Int> = [], filter: Bool = true) -> Node {
        var parts: [Node] = []
        if filter && rows.count > 8 {
            parts.append(el("input", [("class", "filter"), ("type", "search"), ("placeholder", "filter rows"), ("data-table", id)]))
        }
        let head = el(
            "thead", [],
            [
                el(
                    "tr", [],
                    headers.enumerated().map { i, h in
                        el("th", numeric.contains(i) ? [("class", "num")] : [], text: h)
                    })
            ])
        let body = el(
            "tbody", [],
            rows.map { r in
                el(
                    "tr", [],
                    r.enumerated().map { i, cell in el("td", numeric.contains(i) ? [("class", "num")] : (keep.contains(i) ? [("class", "keep")] : []), [cell]) }
                )
            })
        // A wide table scrolls inside its own box instead of widening the page.
        parts.append(el("div", [("class", "table-box")], [el("table", [("id", id), ("class", "sortable")], [head, body])]))
        return .group(parts)
    }
}
