/// A minimal JSON value for command output: ordered keys, exact integers, escaped strings.
public indirect enum JSON: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])
    /// Already-rendered JSON text, inserted as is (it came from our own renderer).
    case raw(String)

    public func render(pretty: Bool = true, indent: Int = 0) -> String {
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let end = pretty ? String(repeating: "  ", count: indent) : ""
        let nl = pretty ? "\n" : ""
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return JSON.quote(s)
        case .raw(let t): return t
        case .array(let a):
            if a.isEmpty { return "[]" }
            return "[" + nl + a.map { pad + $0.render(pretty: pretty, indent: indent + 1) }.joined(separator: "," + nl) + nl + end + "]"
        case .object(let o):
            if o.isEmpty { return "{}" }
            let sep = pretty ? ": " : ":"
            return "{" + nl
                + o.map { pad + JSON.quote($0.0) + sep + $0.1.render(pretty: pretty, indent: indent + 1) }
                .joined(separator: "," + nl) + nl + end + "}"
        }
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"  // safe to embed in HTML script blocks
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            default:
                // Controls, C1 and bidi controls as \u escapes: JSON that is printed or embedded
                // shows them, never acts on them.
                if u.value < 0x20 || VisibleText.isHidden(u) {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
