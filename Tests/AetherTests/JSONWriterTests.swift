import AetherCore
import XCTest

/// `JSON.write` (the compact renderer every record, export and `--json` output goes through)
/// against the string-by-string renderer it replaced, on values chosen to hit every escape.
final class JSONWriterTests: XCTestCase {
    /// The compact rendering as it was built before: a string per node, joined on the way up.
    func reference(_ j: JSON) -> String {
        switch j {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return JSON.quote(s)
        case .raw(let t): return t
        case .array(let a): return "[" + a.map(reference).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSON.quote($0.0) + ":" + reference($0.1) }.joined(separator: ",") + "}"
        }
    }

    func testSameAsTheStringRenderer() {
        let strings = [
            "", "plain", "with \"quotes\" and \\ backslash", "<script>&amp;</script>", "tab\there\nnew\rline", "\u{01}\u{1F}\u{7F}",
            "c1 \u{85} \u{9F}", "bidi \u{202E}evil\u{202C} \u{2066}x\u{2069} \u{200E}\u{061C}", "sep \u{2028}\u{2029}", "café 東京 🦊",
            String(repeating: "a", count: 5000),
        ]
        var values: [JSON] = strings.map { .string($0) }
        values += [.null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int64.max), .int(Int64.min), .double(0.5), .double(.infinity)]
        values += [.array([]), .object([]), .raw("{\"x\":1}")]
        values.append(.array(values))
        values.append(.object(strings.enumerated().map { ("k\($0.offset)\($0.element.prefix(8))", values[$0.offset]) }))
        for v in values {
            XCTAssertEqual(v.render(pretty: false), reference(v))
            var out: [UInt8] = []
            v.write(into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), reference(v))
        }
    }
}
