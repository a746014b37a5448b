import AetherCore

extension AppProtocol {
    /// FTP: a server's 220 greeting that does not name a mail server; 530 refuses a login, 230
    /// accepts it.
    public static let ftp = AppProtocol(
        "ftp", .ftp, ports: [21],
        probe: { p, server in server && p.begins(with: "220") && (AppProtocol.namesFTP(p) || !AppProtocol.namesSMTP(p)) },
        outcome: { p in p.replyLines(failed: "530", succeeded: "230") })

    static func namesFTP(_ p: UnsafeRawBufferPointer) -> Bool { p.mentions("FTP") || p.mentions("ftp") || p.mentions("FileZilla") }
}

/// FTP's control channel (RFC 959, RFC 2428), as far as files need it: a client's command, a
/// server's reply, and the data connection's endpoint that PASV/EPSV replies and PORT/EPRT
/// commands give. One line of a segment is read; a line longer than `maxLine` is not.
public enum FTPControl {
    public static let maxLine = 1024

    /// The first line of `p`, without its CR LF; nil when it is not ended or too long.
    static func firstLine(_ p: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = min(p.count, maxLine)
        for i in 0..<n where p[i] == 0x0A {
            var end = i
            if end > 0 && p[end - 1] == 0x0D { end -= 1 }
            return Array(p[0..<end])
        }
        return nil
    }

    /// A command: its verb in capitals (3 or 4 letters) and its argument as sent.
    public static func command(_ p: UnsafeRawBufferPointer) -> (verb: String, argument: String)? {
        guard let line = firstLine(p) else { return nil }
        var i = 0
        while i < line.count, i < 5, (line[i] | 0x20) >= 0x61 && (line[i] | 0x20) <= 0x7A { i += 1 }
        guard i >= 3 && i <= 4, i == line.count || line[i] == 0x20 else { return nil }
        let verb = String(decoding: line[0..<i].map { $0 & ~0x20 }, as: UTF8.self)
        let argument = i < line.count ? String(decoding: line[(i + 1)...], as: UTF8.self) : ""
        return (verb, argument)
    }

    /// A reply's code and text (the first line of a multi-line reply).
    public static func reply(_ p: UnsafeRawBufferPointer) -> (code: Int, text: String)? {
        guard let line = firstLine(p), line.count >= 3 else { return nil }
        var code = 0
        for b in line[0..<3] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            code = code * 10 + Int(b - 0x30)
        }
        guard line.count == 3 || line[3] == 0x20 || line[3] == 0x2D else { return nil }
        return (code, line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
    }

    /// `h1,h2,h3,h4,p1,p2` (PORT's argument, and inside a 227 reply's text).
    public static func hostPort(_ s: Substring) -> (IPAddress, UInt16)? {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var v: [UInt8] = []
        for p in parts {
            guard let b = UInt8(p.trimmingSpaces) else { return nil }
            v.append(b)
        }
        let a = IPAddress(v4: UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3]))
        return (a, UInt16(v[4]) << 8 | UInt16(v[5]))
    }

    /// The data endpoint of a 227 reply (`(h1,h2,h3,h4,p1,p2)`) or a 229 reply (`(|||port|)`,
    /// on the control connection's server address).
    public static func passive(code: Int, text: String, server: IPAddress) -> (IPAddress, UInt16)? {
        guard let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") else {
            // Some servers give 227's numbers without parentheses.
            if code == 227, let start = text.firstIndex(where: \.isNumber) { return hostPort(text[start...].prefix { $0 != " " && $0 != "." }) }
            return nil
        }
        let inner = text[text.index(after: open)..<close]
        if code == 227 { return hostPort(inner) }
        guard code == 229, let d = inner.first, inner.count >= 5 else { return nil }
        let parts = inner.split(separator: d, omittingEmptySubsequences: false)
        guard parts.count == 5, let port = UInt16(parts[3]), port != 0 else { return nil }
        return (server, port)
    }

    /// The endpoint of a PORT (`h1,…,p2`) or EPRT (`|1|addr|port|`) command.
    public static func active(verb: String, argument: String) -> (IPAddress, UInt16)? {
        if verb == "PORT" { return hostPort(Substring(argument)) }
        guard verb == "EPRT", let d = argument.first else { return nil }
        let parts = argument.split(separator: d, omittingEmptySubsequences: false)
        guard parts.count == 5, let a = IPAddress(String(parts[2])), let port = UInt16(parts[3]), port != 0 else { return nil }
        return (a, port)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
