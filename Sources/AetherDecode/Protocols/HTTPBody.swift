/// The head of an HTTP/1.x message, as far as framing its body and naming its file needs.
public struct HTTPHead: Sendable, Equatable {
    public var isResponse = false
    /// Request method and target (requests), status (responses).
    public var method = ""
    public var uri = ""
    public var status = 0
    public var contentLength: Int64?
    public var chunked = false
    /// `gzip`, `deflate` or another coding (lower case), "" for none.
    public var contentEncoding = ""
    public var contentType = ""
    /// The file name `Content-Disposition` gives, as sent (not yet made safe).
    public var dispositionName: String?
    public var host: String?

    public init() {}
}

/// HTTP/1.x messages of one direction of a connection, fed its bytes in order: each head, then
/// its body's bytes with the transfer coding (chunked) taken off. Heads are read to at most
/// `maxHead` bytes and chunk-size lines to 1 KB; anything else malformed ends the stream
/// (`isLost`), since no later message boundary can be trusted after it.
public struct HTTPMessageStream {
    public enum Piece {
        case head(HTTPHead)
        case body(UnsafeRawBufferPointer)
        /// The current message's body is complete.
        case end
    }

    public static let maxHead = 16 * 1024
    private enum State {
        case head
        case fixed(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkEnd
        case trailer
        case untilClose
        case lost
    }

    private var state = State.head
    private var line: [UInt8] = []
    public let fromServer: Bool
    /// Requests whose responses are still to come (the server side's bodies depend on them:
    /// a HEAD's response has none).
    public var pendingMethods: [String] = []

    public init(fromServer: Bool) { self.fromServer = fromServer }

    public var isLost: Bool { if case .lost = state { return true } else { return false } }

    /// Whether the stream is inside a body that only the connection's end finishes.
    public var readsUntilClose: Bool { if case .untilClose = state { return true } else { return false } }

    /// Feeds bytes; `emit` gets the pieces in order. The body pieces point into `bytes`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Piece) -> Void) {
        var i = 0
        let n = bytes.count
        while i < n {
            switch state {
            case .lost:
                return
            case .head:
                // Until the blank line ending the head (CRLF CRLF, or bare LFs).
                let b = bytes[i]
                i += 1
                line.append(b)
                if b == 0x0A
                    && (line.count >= 2 && line[line.count - 2] == 0x0A || line.count >= 4 && line[line.count - 3] == 0x0A && line[line.count - 2] == 0x0D)
                {
                    let head = line.withUnsafeBytes { HTTPHeadParser.parse($0, response: fromServer) }
                    line.removeAll(keepingCapacity: true)
                    guard let head else { state = .lost; return }
                    beginBody(head, emit)
                } else if line.count > Self.maxHead {
                    state = .lost
                    return
                } else if line.count == 1 && (b == 0x0D || b == 0x0A) {
                    line.removeAll(keepingCapacity: true)  // stray line ends between messages
                }
            case .fixed(let remaining):
                let take = Int(min(Int64(n - i), remaining))
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<i + take])))
                i += take
                if remaining - Int64(take) == 0 {
                    state = .head
                    emit(.end)
                } else {
                    state = .fixed(remaining: remaining - Int64(take))
                }
            case .chunkSize:
                let b = bytes[i]
                i += 1
                if b == 0x0A {
                    guard let size = Self.chunkSize(line) else { state = .lost; return }
                    line.removeAll(keepingCapacity: true)
                    state = size == 0 ? .trailer : .chunkData(remaining: size)
                } else if line.count >= 1024 {
                    state = .lost
                    return
                } else {
                    line.append(b)
                }
            case .chunkData(let remaining):
                let take = Int(min(Int64(n - i), remaining))
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<i + take])))
                i += take
                state = remaining - Int64(take) == 0 ? .chunkEnd : .chunkData(remaining: remaining - Int64(take))
            case .chunkEnd:
                // The CRLF after a chunk's data.
                let b = bytes[i]
                i += 1
                if b == 0x0A { state = .chunkSize } else if b != 0x0D { state = .lost; return }
            case .trailer:
                // Trailer fields, then an empty line.
                let b = bytes[i]
                i += 1
                if b == 0x0A {
                    let empty = line.isEmpty || line == [0x0D]
                    line.removeAll(keepingCapacity: true)
                    if empty {
                        state = .head
                        emit(.end)
                    }
                } else if line.count >= Self.maxHead {
                    state = .lost
                    return
                } else {
                    line.append(b)
                }
            case .untilClose:
                emit(.body(UnsafeRawBufferPointer(rebasing: bytes[i..<n])))
                i = n
            }
        }
    }

    /// Nothing more is read (a gap in the stream: no later boundary can be trusted).
    public mutating func abandon() { state = .lost }

    /// The connection ended: a body read until the close is complete.
    public mutating func close(_ emit: (Piece) -> Void) {
        if case .untilClose = state { emit(.end) }
        state = .lost
    }

    private mutating func beginBody(_ head: HTTPHead, _ emit: (Piece) -> Void) {
        var requestMethod = ""
        if fromServer {
            if head.status >= 100 && head.status < 200 {
                // An interim response (100 Continue): the real one follows for the same request.
                emit(.head(head))
                emit(.end)
                return
            }
            if !pendingMethods.isEmpty { requestMethod = pendingMethods.removeFirst() }
        } else {
            if pendingMethods.count < 64 { pendingMethods.append(head.method) }
        }
        emit(.head(head))
        let noBody = fromServer ? (requestMethod == "HEAD" || head.status == 204 || head.status == 304) : false
        if noBody {
            emit(.end)
        } else if head.chunked {
            state = .chunkSize
        } else if let length = head.contentLength {
            if length == 0 { emit(.end) } else { state = .fixed(remaining: length) }
        } else if fromServer {
            state = .untilClose  // HTTP/1.0 style: the body ends with the connection
        } else {
            emit(.end)  // a request without a length has no body
        }
    }

    /// A chunk-size line: hex digits, then extensions after `;` (ignored).
    static func chunkSize(_ line: [UInt8]) -> Int64? {
        var v: Int64 = 0
        var digits = 0
        for b in line {
            let d: Int64
            switch b {
            case 0x30...0x39: d = Int64(b - 0x30)
            case 0x61...0x66: d = Int64(b - 0x61 + 10)
            case 0x41...0x46: d = Int64(b - 0x41 + 10)
            case 0x3B, 0x0D, 0x20, 0x09:
                return digits > 0 ? v : nil
            default: return nil
            }
            digits += 1
            guard digits <= 15 else { return nil }  // under 2^60: no overflow, and no such chunk is real
            v = v << 4 | d
        }
        return digits > 0 ? v : nil
    }
}

/// An HTTP/1.x head (start line and fields, up to the blank line) read into an `HTTPHead`.
public enum HTTPHeadParser {
    public static func parse(_ b: UnsafeRawBufferPointer, response: Bool) -> HTTPHead? {
        var lines: [Slice<UnsafeRawBufferPointer>] = []
        var start = 0
        for i in 0..<b.count where b[i] == 0x0A {
            var e = i
            if e > start && b[e - 1] == 0x0D { e -= 1 }
            if e > start { lines.append(b[start..<e]) }
            start = i + 1
            if lines.count > 128 { return nil }
        }
        guard let first = lines.first else { return nil }
        let startLine = text(first)
        var head = HTTPHead()
        let parts = startLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        if response {
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status) else { return nil }
            head.isResponse = true
            head.status = status
        } else {
            guard parts.count == 3, HTTPParser.methods.contains(String(parts[0])), parts[2].hasPrefix("HTTP/1.") else { return nil }
            head.method = String(parts[0])
            head.uri = String(parts[1])
        }
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = text(l[l.startIndex..<colon]).lowercased()
            let value = text(l[(colon + 1)..<l.endIndex]).trimmingSpaces
            switch name {
            case "content-length":
                // Conflicting lengths are a smuggling attempt: nothing after them is trusted.
                guard let v = Int64(value), v >= 0, head.contentLength == nil || head.contentLength == v else { return nil }
                head.contentLength = v
            case "transfer-encoding":
                if value.lowercased().split(separator: ",").last.map({ $0.trimmingSpaces == "chunked" }) == true { head.chunked = true }
            case "content-encoding": head.contentEncoding = value.lowercased()
            case "content-type": head.contentType = value
            case "content-disposition": head.dispositionName = dispositionName(value)
            case "host": head.host = value
            default: break
            }
        }
        return head
    }

    /// `filename="…"` (or bare) of a Content-Disposition value.
    static func dispositionName(_ v: String) -> String? {
        for part in v.split(separator: ";") {
            let p = part.trimmingSpaces
            guard p.lowercased().hasPrefix("filename=") else { continue }
            var name = p.dropFirst("filename=".count)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = name.dropFirst().dropLast() }
            return name.isEmpty ? nil : String(name)
        }
        return nil
    }

    private static func text(_ s: Slice<UnsafeRawBufferPointer>) -> String {
        String(decoding: s, as: UTF8.self)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
