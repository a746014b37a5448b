/// A minimal JSON value for command output: ordered keys, exact integers, escaped strings.
public enum JSON: Sendable {
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
        if !pretty {
            var out: [UInt8] = []
            write(into: &out)
            return String(decoding: out, as: UTF8.self)
        }
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

    /// Appends the compact rendering (as `render(pretty: false)` gives it) to `out`: one buffer
    /// for the whole value, rather than a string per node joined on the way up.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): JSON.writeInt(i, into: &out)
        case .double(let d): out.append(contentsOf: (d.isFinite ? String(d) : "null").utf8)
        case .string(let s): JSON.writeQuoted(s, into: &out)
        case .raw(let t): out.append(contentsOf: t.utf8)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in o.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeQuoted(k, into: &out)
                out.append(UInt8(ascii: ":"))
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `String(i)`, as bytes.
    public static func writeInt(_ i: Int64, into out: inout [UInt8]) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var v = i.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, in 24 bytes
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            while n > 0 {
                n -= 1
                out.append(d[n])
            }
        }
    }

    /// `quote(s)`, as bytes: ASCII without anything to escape is copied as it is.
    public static func writeQuoted(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var plain = true
        for b in s.utf8 where b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x5C || b == 0x3C || b == 0x3E || b == 0x26 {
            plain = false
            break
        }
        if plain {
            out.append(contentsOf: s.utf8)
        } else {
            let q = quote(s).utf8
            out.append(contentsOf: q.dropFirst().dropLast())
        }
        out.append(UInt8(ascii: "\""))
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
