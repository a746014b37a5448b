/// A page's HTML, CSS or JavaScript, kept as a file under its target's `Resources` (formatted,
/// checked with `node --check`) and embedded in the binary at build time (SwiftPM's
/// `.embedInCode`): no file is read at run time, and a report stays one self-contained file.
public enum Asset {
    /// The file's text, without the newline that ends it.
    public static func text(_ bytes: [UInt8]) -> String {
        let end = bytes.last == 0x0A ? bytes.count - 1 : bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

extension String {
    /// Each marker (a comment such as `/*@css*/`, valid where it stands) replaced by its value.
    public func filled(_ values: [String: String]) -> String {
        var s = self
        for (marker, value) in values { s = s.replacing(marker, with: value) }
        return s
    }
}
