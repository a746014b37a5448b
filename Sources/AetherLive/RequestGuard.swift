import NIOCore

/// The first handler on every live-server connection, in front of the HTTP decoder. It reads the
/// raw bytes of each request head and closes, with a 400 and a reason, what a lenient decoder
/// would leave hanging: a bare LF, a head or request line past its bound, Content-Length with
/// Transfer-Encoding (request smuggling), a chunked body (no endpoint takes one). It also times
/// the head and the body: a request that trickles (slowloris) or never finishes is answered
/// 408 and closed. After a WebSocket upgrade it steps aside.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits {
        var head = 16 * 1024
        var requestLine = 8 * 1024
        var body = 64 * 1024
        var headTimeout = TimeAmount.seconds(10)
        var bodyTimeout = TimeAmount.seconds(10)
        /// A request whose response never starts (the HTTP decoder refused what this guard let
        /// through, or a handler hangs) is closed after this: nothing waits on it forever.
        var responseTimeout = TimeAmount.seconds(30)
        /// A kept-alive connection that sends no next request is closed after this.
        var idleTimeout = TimeAmount.seconds(30)
        /// Header fields of one request at most (what the HTTP decoder accepts).
        var headerFields = 100
    }

    private enum Phase {
        case head
        case body(left: Int)
        /// The request is complete; its response has not started.
        case awaiting
        case idle, passthrough, closed
    }

    private let limits: Limits
    private var phase = Phase.head
    /// The current head's bytes (bounded by `limits.head`).
    private var head: [UInt8] = []
    private var lineLength = 0
    private var previous: UInt8 = 0
    private var timer: Scheduled<Void>?

    init(limits: Limits = Limits()) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        // A connection that never sends a byte is a request that never finishes its head.
        arm(context, limits.headTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        phase = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .passthrough = phase { return context.fireChannelRead(data) }
        if case .closed = phase { return }
        let buffer = unwrapInboundIn(data)
        var verdict: String?
        buffer.withUnsafeReadableBytes { bytes in
            for b in bytes {
                if let v = step(context, b) {
                    verdict = v
                    return
                }
            }
        }
        if let verdict { return reject(context, verdict) }
        context.fireChannelRead(data)
    }

    /// One byte of the stream; a reason when the request must be refused.
    private func step(_ context: ChannelHandlerContext, _ b: UInt8) -> String? {
        switch phase {
        case .idle, .awaiting:
            phase = .head
            arm(context, limits.headTimeout)
            return step(context, b)
        case .body(let left):
            if left <= 1 {
                phase = .awaiting
                arm(context, limits.responseTimeout)
            } else {
                phase = .body(left: left - 1)
            }
            return nil
        case .passthrough, .closed:
            return nil
        case .head:
            break
        }
        // Empty lines before a request line are allowed (RFC 9112 §2.2), bare LFs are not.
        if head.isEmpty && (b == 13 || b == 10) {
            defer { previous = b == 13 ? 13 : 0 }
            return b == 10 && previous != 13 ? "bare LF in the request head" : nil
        }
        if b == 10 && previous != 13 { return "bare LF in the request head" }
        // The decoder refuses controls in a head; refused here, the client gets its 400.
        if (b < 0x20 && b != 13 && b != 10 && b != 9) || b == 0x7F { return "control byte in the request head" }
        head.append(b)
        previous = b
        if head.count > limits.head { return "request head over \(limits.head) bytes" }
        if b == 10 {
            lineLength = 0
            if head.count >= 4 && head[head.count - 4] == 13 && head[head.count - 3] == 10 && head[head.count - 2] == 13 {
                return headComplete(context)
            }
        } else {
            lineLength += 1
            if lineLength > limits.requestLine { return "request line or header over \(limits.requestLine) bytes" }
        }
        return nil
    }

    /// Reads the framing headers of a complete head and decides what follows it.
    private func headComplete(_ context: ChannelHandlerContext) -> String? {
        var contentLength: Int?
        var transferEncoding = false
        let all = head.split(separator: 10, omittingEmptySubsequences: true)
        if let requestLine = all.first, let space = requestLine.firstIndex(of: 32) {
            if space == requestLine.startIndex || !requestLine[..<space].allSatisfy(Self.isTokenByte) { return "bad method" }
        }
        if all.count - 2 > limits.headerFields { return "more than \(limits.headerFields) header fields" }
        var hosts: [String] = []
        var lines = all.dropFirst().makeIterator()
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: 58) else {
                if line.count <= 1 { continue }
                return "header line without a colon"
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            if name.last == " " || name.last == "\t" { return "space before a header's colon" }
            let value = String(decoding: line[line.index(after: colon)...], as: UTF8.self).trimmedOfSpace()
            if name == "host" { hosts.append(value.lowercased()) }
            if name == "content-length" {
                guard let n = Int(value), n >= 0, contentLength == nil || contentLength == n else { return "bad Content-Length" }
                contentLength = n
            } else if name == "transfer-encoding" {
                transferEncoding = true
            }
        }
        if transferEncoding && contentLength != nil { return "both Content-Length and Transfer-Encoding" }
        // One Host, and an absolute-form target only for that same authority: the Host check
        // (DNS rebinding) must judge the authority the request is really for.
        if hosts.count > 1 { return "more than one Host header" }
        if let requestLine = all.first, let authority = Self.absoluteAuthority(requestLine), authority != hosts.first {
            return "absolute-form target for another authority than Host"
        }
        if transferEncoding { return "Transfer-Encoding on a request (no endpoint takes a body)" }
        head.removeAll(keepingCapacity: true)
        lineLength = 0
        previous = 0
        timer?.cancel()
        let length = contentLength ?? 0
        if length > limits.body { return "request body over \(limits.body) bytes" }
        if length > 0 {
            phase = .body(left: length)
            arm(context, limits.bodyTimeout)
        } else {
            phase = .awaiting
            arm(context, limits.responseTimeout)
        }
        return nil
    }

    /// The authority of an absolute-form request target (`GET http://host:port/path HTTP/1.1`), lower case.
    static func absoluteAuthority(_ requestLine: ArraySlice<UInt8>) -> String? {
        let parts = requestLine.split(separator: 32, maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        let target = String(decoding: parts[1], as: UTF8.self).lowercased()
        guard let scheme = target.range(of: "://"), !target.hasPrefix("/") else { return nil }
        let rest = target[scheme.upperBound...]
        return String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
    }

    /// RFC 9110 tchar: what a method may be made of.
    static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .passthrough = phase {
        } else {
            // The server agreed to switch protocols: what follows is WebSocket frames.
            let out = unwrapOutboundIn(data)
            if out.readableBytes >= 12, out.getString(at: out.readerIndex, length: 12) == "HTTP/1.1 101" {
                phase = .passthrough
                timer?.cancel()
            } else if case .awaiting = phase {
                // The response started: the connection now waits for the next request.
                phase = .idle
                arm(context, limits.idleTimeout)
            } else if case .idle = phase {
                arm(context, limits.idleTimeout)  // a response still being written is not idle
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: after) {
            let (guardHandler, context) = loopBound.value
            switch guardHandler.phase {
            case .head, .body: guardHandler.answer(context, status: "408 Request Timeout", reason: "request not completed in time")
            case .awaiting, .idle:
                guardHandler.phase = .closed
                context.close(promise: nil)
            default: break
            }
        }
    }

    private func reject(_ context: ChannelHandlerContext, _ reason: String) {
        answer(context, status: "400 Bad Request", reason: reason)
    }

    private func answer(_ context: ChannelHandlerContext, status: String, reason: String) {
        guard case .closed = phase else {
            phase = .closed
            timer?.cancel()
            let body = "\(reason)\n"
            var out = context.channel.allocator.buffer(capacity: 160 + body.utf8.count)
            out.writeString("HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            context.writeAndFlush(NIOAny(out)).whenComplete { _ in context.close(promise: nil) }
            return
        }
    }
}

private extension String {
    func trimmedOfSpace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
