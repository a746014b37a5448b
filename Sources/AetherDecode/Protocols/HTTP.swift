import AetherCore

extension AppProtocol {
    /// HTTP/1.x: a request line from the client, a status line from the server. A 401 is a
    /// refused login; a 2xx or 3xx after one is a challenge met (Basic, Digest, NTLM).
    public static let http = AppProtocol(
        "http", .http, ports: [80], probe: { p, server in server ? p.begins(with: "HTTP/1.") : HTTPParser.startsWithMethod(p) },
        outcome: { p in
            guard p.begins(with: "HTTP/1.") && p.count >= 12 else { return .none }
            if p[9] == UInt8(ascii: "4") && p[10] == UInt8(ascii: "0") && p[11] == UInt8(ascii: "1") { return .failed }
            return p[9] == UInt8(ascii: "2") || p[9] == UInt8(ascii: "3") ? .succeeded : .none
        })
}

/// An HTTP/1.x request line and the headers we keep.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var uri: String
    public var version: String
    public var host: String?
    public var userAgent: String?
}

public enum HTTPParser {
    // HTTP's methods and UPnP's (which tshark also dissects as HTTP).
    static let methods = [
        "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
        "SUBSCRIBE", "UNSUBSCRIBE", "NOTIFY", "M-SEARCH",
    ]
    static let maxHeader = 8192

    /// A method name and a space at the start: checked on bytes before anything is parsed, so
    /// arbitrary data segments that happen to start with a capital letter cost a few compares.
    public static func startsWithMethod(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 4 else { return false }
        for m in methodBytes where b.count > m.count {
            var match = true
            for i in 0..<m.count where b[i] != m[i] { match = false; break }
            if match && b[m.count] == UInt8(ascii: " ") { return true }
        }
        return false
    }

    static let methodBytes: [[UInt8]] = methods.map { Array($0.utf8) }

    /// Cheap test on the first byte before any parsing.
    @inline(__always) public static func mayBeRequest(_ first: UInt8) -> Bool {
        first == UInt8(ascii: "G") || first == UInt8(ascii: "P") || first == UInt8(ascii: "H") || first == UInt8(ascii: "D")
            || first == UInt8(ascii: "O") || first == UInt8(ascii: "C") || first == UInt8(ascii: "T")
            || first == UInt8(ascii: "S") || first == UInt8(ascii: "U") || first == UInt8(ascii: "N") || first == UInt8(ascii: "M")
    }

    public static func parseRequest(_ b: UnsafeRawBufferPointer) -> HTTPRequest? {
        guard let base = b.baseAddress, startsWithMethod(b) else { return nil }
        let f = Frame(base: base, count: min(b.count, maxHeader))
        var lines: [(Int, Int)] = []
        var start = 0, i = 0
        while i < f.count && lines.count < 64 {
            if f.u8(i) == 10 {
                var e = i
                if e > start && f.u8(e - 1) == 13 { e -= 1 }
                if e == start { break }
                lines.append((start, e - start))
                start = i + 1
            }
            i += 1
        }
        if lines.isEmpty && f.count > 0 { lines.append((0, f.count)) }
        guard let first = lines.first else { return nil }
        let parts = TLSParser.text(f, first.0, first.1).split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count == 3, methods.contains(parts[0]), parts[2].hasPrefix("HTTP/1.") else { return nil }
        var req = HTTPRequest(method: parts[0], uri: parts[1], version: parts[2])
        for (o, n) in lines.dropFirst() {
            let line = TLSParser.text(f, o, n)
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            if name == "host" { req.host = String(value) } else if name == "user-agent" { req.userAgent = String(value) }
        }
        return req
    }

    /// The status code of an HTTP/1.x response's first line.
    public static func parseStatus(_ b: UnsafeRawBufferPointer) -> Int? {
        guard b.count >= 12, b[0] == UInt8(ascii: "H"), b[1] == UInt8(ascii: "T"), b[2] == UInt8(ascii: "T"),
            b[3] == UInt8(ascii: "P"), b[4] == UInt8(ascii: "/"), b[8] == UInt8(ascii: " ")
        else { return nil }
        var v = 0
        for k in 9..<12 {
            let d = Int(b[k]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }
}
