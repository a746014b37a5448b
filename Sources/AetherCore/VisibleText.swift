/// Text that is safe to show on a terminal or a page: control characters (C0 but tab and
/// newline, DEL, C1) and the characters that reorder or hide text (bidi embeddings, overrides
/// and isolates, the line and paragraph separators) become visible escapes, `\xNN` or
/// `\u{NNNN}`. Strings from packets are stored escaped already; strings from records and other
/// inputs are not, so every text output goes through this once.
public enum VisibleText {
    /// Whether `u` must not reach a terminal or a page as itself.
    @inlinable public static func isHidden(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 { return v != 0x09 && v != 0x0A }
        if v < 0x7F { return false }
        if v <= 0x9F { return true }  // DEL and C1
        return v == 0x061C || v == 0x200E || v == 0x200F || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0x2028 || v == 0x2029
    }

    /// `s` with every hidden character escaped; `s` itself (no copy) when there is none.
    public static func of(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isHidden) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars {
            if !isHidden(u) {
                out.unicodeScalars.append(u)
            } else if u.value < 0x100 {
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count < 2 ? "0" : "") + h
            } else {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            }
        }
        return out
    }
}
