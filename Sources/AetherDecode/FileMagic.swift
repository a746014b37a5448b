/// A file's type by its first bytes (magic numbers, as libmagic and Zeek's file signatures read
/// them), never by its name or by what the sender declared: a renamed executable is still one.
public enum FileMagic {
    /// Bytes of a file's start that `mimeType` looks at.
    public static let prefix = 512

    private static let signatures: [(offset: Int, bytes: [UInt8], mime: String)] = [
        (0, Array("%PDF-".utf8), "application/pdf"),
        (0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "image/png"),
        (0, [0xFF, 0xD8, 0xFF], "image/jpeg"),
        (0, Array("GIF87a".utf8), "image/gif"),
        (0, Array("GIF89a".utf8), "image/gif"),
        (0, [0x50, 0x4B, 0x03, 0x04], "application/zip"),
        (0, [0x50, 0x4B, 0x05, 0x06], "application/zip"),
        (0, [0x1F, 0x8B], "application/gzip"),
        (0, Array("BZh".utf8), "application/x-bzip2"),
        (0, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "application/x-xz"),
        (0, [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], "application/x-7z-compressed"),
        (0, Array("Rar!\u{1A}\u{07}".utf8), "application/vnd.rar"),
        (257, Array("ustar".utf8), "application/x-tar"),
        (0, [0x7F, 0x45, 0x4C, 0x46], "application/x-executable"),
        (0, Array("MZ".utf8), "application/x-dosexec"),
        (0, [0xCA, 0xFE, 0xBA, 0xBE], "application/java-vm"),
        (0, [0xCF, 0xFA, 0xED, 0xFE], "application/x-mach-binary"),
        (0, [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], "application/x-ole-storage"),
        (0, Array("{\\rtf".utf8), "text/rtf"),
        (0, Array("%!PS".utf8), "application/postscript"),
        (0, [0x00, 0x00, 0x01, 0x00], "image/vnd.microsoft.icon"),
        (0, Array("RIFF".utf8), "application/x-riff"),
        (4, Array("ftyp".utf8), "video/mp4"),
        (0, Array("ID3".utf8), "audio/mpeg"),
        (0, Array("OggS".utf8), "audio/ogg"),
        (0, Array("SQLite format 3\u{0}".utf8), "application/vnd.sqlite3"),
        (0, [0xD4, 0xC3, 0xB2, 0xA1], "application/vnd.tcpdump.pcap"),
        (0, [0xA1, 0xB2, 0xC3, 0xD4], "application/vnd.tcpdump.pcap"),
        (0, [0x0A, 0x0D, 0x0D, 0x0A], "application/x-pcapng"),
        (0, Array("-----BEGIN ".utf8), "application/x-pem-file"),
        (0, Array("#!".utf8), "text/x-shellscript"),
    ]

    /// The MIME type of a file that starts with `head` (at most `prefix` bytes of it).
    public static func mimeType(_ head: [UInt8]) -> String {
        if head.isEmpty { return "application/x-empty" }
        for s in signatures where head.count >= s.offset + s.bytes.count {
            if head[s.offset..<s.offset + s.bytes.count].elementsEqual(s.bytes) { return s.mime }
        }
        // Markup and text: what a browser would sniff.
        let lead = head.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
        let start = String(decoding: lead.prefix(15), as: UTF8.self).lowercased()
        if start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || start.hasPrefix("<head") || start.hasPrefix("<body") {
            return "text/html"
        }
        if start.hasPrefix("<?xml") { return "application/xml" }
        if start.hasPrefix("<svg") { return "image/svg+xml" }
        if let f = lead.first, f == UInt8(ascii: "{") || f == UInt8(ascii: "[") { return isText(head) ? "application/json" : "application/octet-stream" }
        return isText(head) ? "text/plain" : "application/octet-stream"
    }

    /// Printable ASCII or UTF-8 with the usual whitespace, no control bytes.
    static func isText(_ b: [UInt8]) -> Bool {
        for c in b where c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D && c != 0x0C && c != 0x1B { return false }
        // A cut at the prefix's end may split a multi-byte character: only the whole ones count.
        var trimmed = b[...]
        while let l = trimmed.last, l >= 0x80, trimmed.count > b.count - 4 { trimmed = trimmed.dropLast() }
        return String(validating: trimmed, as: UTF8.self) != nil || trimmed.isEmpty
    }
}
