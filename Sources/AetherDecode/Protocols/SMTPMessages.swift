import AetherCore

extension AppProtocol {
    /// SMTP: a server's 220 greeting that names a mail server; 535 refuses AUTH, 235 accepts it.
    public static let smtp = AppProtocol(
        "smtp", .smtp, ports: [25, 587],
        probe: { p, server in server && p.begins(with: "220") && !AppProtocol.namesFTP(p) && AppProtocol.namesSMTP(p) },
        outcome: { p in p.replyLines(failed: "535", succeeded: "235") })

    static func namesSMTP(_ p: UnsafeRawBufferPointer) -> Bool {
        p.mentions("SMTP") || p.mentions("smtp") || p.mentions("Postfix") || p.mentions("ESMTP")
    }
}

/// The client side of an SMTP connection (RFC 5321), fed its bytes in order: the commands, and
/// after each DATA the message up to its lone "." line, dot-stuffing removed. The message is
/// read as MIME (RFC 2045–2046): nested multiparts by their boundaries, and each entity that
/// names a file (Content-Disposition's filename, or Content-Type's name) given as a file, its
/// transfer encoding (base64, quoted-printable) taken off. Lines are read to `maxLine` bytes
/// (a longer one in a body is content in pieces; in headers it is cut), a header block to
/// `maxHeader` bytes, multiparts to `maxDepth` levels. BDAT (CHUNKING) is not read, nor what
/// follows STARTTLS: the stream is lost from there.
public struct SMTPMessageStream {
    public enum Piece {
        /// An attached file begins, with the name the message gives it.
        case file(name: String)
        case data(UnsafeRawBufferPointer)
        /// The file is complete (its entity ended at a boundary or with the message).
        case end
    }

    public static let maxLine = 8 * 1024
    public static let maxHeader = 16 * 1024
    public static let maxDepth = 8

    private enum Encoding { case identity, base64, quotedPrintable }
    private enum Part { case headers, preamble, skip, file }

    private var inMessage = false
    private var line: [UInt8] = []
    private var lineCut = false
    private var part = Part.headers
    private var header: [UInt8] = []
    private var boundaries: [[UInt8]] = []
    private var encoding = Encoding.identity
    /// An identity or quoted-printable line break not yet given: it belongs to the content only
    /// if another content line follows (the last one before a boundary is the delimiter's).
    private var pendingBreak = false
    private var quad: [UInt8] = []
    public private(set) var isLost = false

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Piece) -> Void) {
        guard !isLost else { return }
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            append(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), emit)
            var l = line
            if l.last == 0x0D { l.removeLast() }
            take(l, ended: true, emit)
            line.removeAll(keepingCapacity: true)
            lineCut = false
            start = i + 1
            if isLost { return }
        }
        append(UnsafeRawBufferPointer(rebasing: bytes[start...]), emit)
    }

    /// Adds to the line under way, to `maxLine` bytes. Past it, a raw file's content is given
    /// as it is (the line goes on); anything else is cut.
    private mutating func append(_ b: UnsafeRawBufferPointer, _ emit: (Piece) -> Void) {
        var rest = b[...]
        while !rest.isEmpty {
            let room = Self.maxLine - line.count
            if room > 0 {
                line.append(contentsOf: rest.prefix(room))
                rest = rest.dropFirst(room)
                continue
            }
            guard inMessage && part == .file && encoding == .identity else {
                lineCut = true
                return
            }
            // Not the line's end: a CR here is content, not half of a CR LF.
            take(line, ended: false, emit)
            line.removeAll(keepingCapacity: true)
            lineCut = true
        }
    }

    /// The message ended with the connection: a file under way is not known to be whole.
    public mutating func close(_ emit: (Piece) -> Void) { inMessage = false }

    private mutating func take(_ l: [UInt8], ended: Bool, _ emit: (Piece) -> Void) {
        guard inMessage else {
            let verb = l.prefix(4).map { $0 & ~0x20 }
            if verb == Array("DATA".utf8) && (l.count == 4 || l[4] == 0x20) { beginMessage() }
            // What follows BDAT, or STARTTLS's handshake, is not read.
            if verb == Array("BDAT".utf8) || l.prefix(8).map({ $0 & ~0x20 }) == Array("STARTTLS".utf8) { isLost = true }
            return
        }
        if !lineCut && l == [0x2E] {
            endEntity(emit)
            inMessage = false
            return
        }
        var l = l
        if !lineCut && l.first == 0x2E { l.removeFirst() }
        if !lineCut, !boundaries.isEmpty, let (depth, last) = boundary(l) {
            endEntity(emit)
            boundaries.removeLast(boundaries.count - 1 - depth)
            if last {
                boundaries.removeLast()
                part = .preamble
            } else {
                part = .headers
                header.removeAll(keepingCapacity: true)
            }
            return
        }
        switch part {
        case .headers:
            if l.isEmpty {
                beginEntity(emit)
            } else if header.count + l.count < Self.maxHeader {
                // A folded line continues the one before.
                if l.first != 0x20 && l.first != 0x09 && !header.isEmpty { header.append(0x0A) }
                header.append(contentsOf: l)
            }
        case .preamble, .skip:
            return
        case .file:
            content(l, ended: ended, emit)
        }
    }

    private mutating func beginMessage() {
        inMessage = true
        part = .headers
        header.removeAll(keepingCapacity: true)
        boundaries.removeAll()
        pendingBreak = false
        quad.removeAll()
    }

    /// Which open multipart a line delimits (its depth), and whether it closes it.
    private func boundary(_ l: [UInt8]) -> (Int, Bool)? {
        guard l.count >= 3, l[0] == 0x2D, l[1] == 0x2D else { return nil }
        var t = l[2...]
        while t.last == 0x20 || t.last == 0x09 { t = t.dropLast() }
        for (depth, b) in boundaries.enumerated().reversed() {
            if t.elementsEqual(b) { return (depth, false) }
            if t.count == b.count + 2, t.prefix(b.count).elementsEqual(b), t.suffix(2).elementsEqual([0x2D, 0x2D]) { return (depth, true) }
        }
        return nil
    }

    private mutating func beginEntity(_ emit: (Piece) -> Void) {
        let fields = MIMEHeaders(header)
        header.removeAll(keepingCapacity: true)
        let type = fields.value("content-type")
        if type.map({ $0.lowercased().hasPrefix("multipart/") }) ?? false, let b = MIMEHeaders.parameter("boundary", in: type!),
            !b.isEmpty, b.utf8.count <= 70, boundaries.count < Self.maxDepth
        {
            boundaries.append(Array(b.utf8))
            part = .preamble
            return
        }
        let name =
            fields.value("content-disposition").flatMap { MIMEHeaders.parameter("filename", in: $0) }
            ?? type.flatMap { MIMEHeaders.parameter("name", in: $0) }
        guard let name, !name.isEmpty else {
            part = .skip
            return
        }
        switch fields.value("content-transfer-encoding")?.lowercased().trimmingCharacters(in: " \t") {
        case "base64": encoding = .base64
        case "quoted-printable": encoding = .quotedPrintable
        default: encoding = .identity
        }
        pendingBreak = false
        quad.removeAll()
        part = .file
        emit(.file(name: name))
    }

    private mutating func endEntity(_ emit: (Piece) -> Void) {
        if part == .file { emit(.end) }
        part = .skip
    }

    private mutating func content(_ l: [UInt8], ended: Bool, _ emit: (Piece) -> Void) {
        switch encoding {
        case .identity:
            if pendingBreak { give([0x0D, 0x0A], emit) }
            give(l, emit)
            pendingBreak = ended
        case .quotedPrintable:
            if pendingBreak { give([0x0D, 0x0A], emit) }
            var out: [UInt8] = []
            out.reserveCapacity(l.count)
            var t = l[...]
            while t.last == 0x20 || t.last == 0x09 { t = t.dropLast() }
            var soft = false
            var i = t.startIndex
            while i < t.endIndex {
                if t[i] == 0x3D {
                    if i + 1 == t.endIndex {
                        soft = true
                        break
                    }
                    if i + 2 < t.endIndex, let h = Self.hex(t[i + 1]), let lo = Self.hex(t[i + 2]) {
                        out.append(h << 4 | lo)
                        i += 3
                        continue
                    }
                }
                out.append(t[i])
                i += 1
            }
            give(out, emit)
            pendingBreak = ended && !soft
        case .base64:
            var out: [UInt8] = []
            out.reserveCapacity(l.count * 3 / 4 + 3)
            for c in l {
                guard let v = Self.base64(c) else { continue }
                quad.append(v)
                if quad.count == 4 {
                    out.append(quad[0] << 2 | quad[1] >> 4)
                    if quad[2] != 64 { out.append(quad[1] << 4 | quad[2] >> 2) }
                    if quad[2] != 64 && quad[3] != 64 { out.append(quad[2] << 6 | quad[3]) }
                    quad.removeAll(keepingCapacity: true)
                }
            }
            give(out, emit)
        }
    }

    private func give(_ b: [UInt8], _ emit: (Piece) -> Void) {
        if !b.isEmpty { b.withUnsafeBytes { emit(.data($0)) } }
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }

    /// A base64 character's value; `=` is 64; others (line breaks, junk) are skipped.
    private static func base64(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x41...0x5A: return c - 0x41
        case 0x61...0x7A: return c - 0x61 + 26
        case 0x30...0x39: return c - 0x30 + 52
        case 0x2B: return 62
        case 0x2F: return 63
        case 0x3D: return 64
        default: return nil
        }
    }
}

/// A MIME header block's fields (unfolded, names compared without case) and their parameters.
struct MIMEHeaders {
    private var fields: [(name: String, value: String)] = []

    init(_ block: [UInt8]) {
        for raw in block.split(separator: 0x0A) {
            guard let colon = raw.firstIndex(of: 0x3A) else { continue }
            let name = String(decoding: raw[raw.startIndex..<colon], as: UTF8.self).lowercased().trimmingCharacters(in: " \t")
            fields.append((name, String(decoding: raw[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: " \t")))
        }
    }

    func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// A parameter's value (`name=value` or `name="value"`, without case in its name).
    static func parameter(_ name: String, in value: String) -> String? {
        for item in value.split(separator: ";").dropFirst() {
            guard let eq = item.firstIndex(of: "=") else { continue }
            guard item[..<eq].trimmingCharacters(in: " \t\r\n").lowercased() == name else { continue }
            var v = item[item.index(after: eq)...].trimmingCharacters(in: " \t\r\n")
            if v.count >= 2 && v.hasPrefix("\"") && v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
            return String(v.prefix(1024))
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
