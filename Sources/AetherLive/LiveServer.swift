import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWSCompression
import HummingbirdWebSocket
import AetherCore
import AetherStore
import Logging
import NIOCore
import NIOWebSocket

/// The live view's server: `/` the page, `/ws` the stream, `/api/snapshot`, `/healthz`.
package struct LiveServer: Sendable {
    package let host: String
    package let port: Int
    package let token: String?
    package let broadcaster: Broadcaster
    /// Names a browser may use for this server besides its listen address (`--allow-host`).
    package let allowedHosts: [String]
    /// The session's store, read (never written) for an alert's connections.
    package let storePath: String?

    /// The shortest time between two messages to one client (a live capture makes one summary
    /// a second; only a fast replay is slowed, and then coalesced).
    static let summaryInterval = Duration.milliseconds(100)

    /// Live clients at most; past it an upgrade is answered 503.
    package let maxClients: Int

    package init(
        host: String, port: Int, token: String?, broadcaster: Broadcaster, allowedHosts: [String] = [], maxClients: Int = 256,
        storePath: String? = nil
    ) {
        self.host = host; self.port = port; self.token = token; self.broadcaster = broadcaster
        self.allowedHosts = allowedHosts
        self.storePath = storePath
        self.maxClients = maxClients
    }

    /// Loopback needs no token; any other address does. The address is parsed, not matched
    /// by prefix: `127.evil.invalid` is a name, not loopback.
    package static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard let a = IPAddress(bare) else { return false }
        return a.isV4 ? a.v4Value >> 24 == 127 : a == IPAddress(hi: 0, lo: 1)
    }

    /// The Host header must name this server: its listen address (loopback names when it
    /// listens on loopback) or a name given with `--allow-host`. A page on another site that
    /// rebinds its name to this address sends its own name and is refused.
    func hostAllowed(_ request: HTTPRequest) -> Bool {
        guard let authority = request.authority else { return false }
        return Self.authorityAllowed(authority, host: host, port: port, allowedHosts: allowedHosts)
    }

    /// The rule for a Host header or an HTTP/2 `:authority` (the gRPC port applies it too):
    /// `authority` names a server listening on `host:port`.
    package static func authorityAllowed(_ authority: String, host: String, port: Int, allowedHosts: [String]) -> Bool {
        var name = authority.lowercased()
        if let close = name.lastIndex(of: "]") {
            name = String(name[...close])
        } else if let colon = name.lastIndex(of: ":"), name.filter({ $0 == ":" }).count == 1 {
            guard Int(name[name.index(after: colon)...]) == port else { return false }
            name = String(name[..<colon])
        }
        let bare = name.hasPrefix("[") ? String(name.dropFirst().dropLast()) : name
        if bare == host.lowercased() || allowedHosts.contains(where: { $0.lowercased() == bare }) { return true }
        if isLoopback(host) { return isLoopback(bare) }
        if host == "0.0.0.0" || host == "::" { return IPAddress(bare) != nil }
        return false
    }

    /// Equal in time whatever the first difference: the comparison takes no early exit.
    package static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0 && x.count == y.count
    }

    static func query(_ path: String, _ name: String) -> String? {
        guard let q = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 && kv[0] == name { return String(kv[1]).removingPercentEncoding }
        }
        return nil
    }

    func authorized(_ request: HTTPRequest) -> Bool {
        guard let token else { return true }
        if let given = Self.query(request.path ?? "", "token"), Self.sameSecret(given, token) { return true }
        if let auth = request.headerFields[.authorization], Self.sameSecret(auth, "Bearer \(token)") { return true }
        return false
    }

    /// A browser's Origin must be this server; tools that send none are let through.
    func originAllowed(_ request: HTTPRequest) -> Bool {
        guard let origin = request.headerFields[.origin] else { return true }
        guard let hostHeader = request.authority else { return false }
        return origin == "http://\(hostHeader)" || origin == "https://\(hostHeader)"
    }

    package func run() async throws {
        let router = Router()
        let server = self
        router.add(middleware: HostCheck(server: server))
        let page = LivePage.html
        let broadcaster = self.broadcaster
        router.get("/") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/metrics") { request, _ -> Response in
            guard server.authorized(request.head) else { return Response(status: .unauthorized) }
            let text = broadcaster.metrics.render(clients: broadcaster.clientCount, queueDepths: broadcaster.queueDepths)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        // An alert's connections from the store (the session commits it every couple of seconds).
        router.get("/api/alert") { request, _ -> Response in
            guard server.authorized(request.head) else { return Response(status: .unauthorized) }
            guard let id = Self.query(request.head.path ?? "", "id").flatMap({ Int64($0) }) else { return Response(status: .badRequest) }
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: server.alertConnections(id))))
        }
        router.get("/api/snapshot") { request, _ -> Response in
            guard server.authorized(request.head) else { return Response(status: .unauthorized) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: broadcaster.snapshot())))
        }
        // Reached only when the upgrade was refused (full, bad token, foreign Origin, not an upgrade).
        router.get("/ws") { _, _ -> Response in
            if broadcaster.isFull(server.maxClients) {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain", .retryAfter: "5"],
                    body: .init(byteBuffer: ByteBuffer(string: "too many live clients\n")))
            }
            return Response(status: .forbidden, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "forbidden\n")))
        }
        // permessage-deflate for clients that offer it (every browser does): JSON summaries shrink
        // to a fraction. A 4 KB window and a small memory level keep each client's zlib state
        // near 24 KB, so 256 clients stay well inside the memory bound.
        // RFC 6455: a client's frames are masked and its text is UTF-8; a frame that breaks either
        // (or a continuation with no start) closes the connection with 1002 or 1007.
        let ws = WebSocketServerConfiguration(
            maxFrameSize: 4096,
            extensions: [
                .perMessageDeflate(
                    serverMaxWindow: 12, compressionLevel: 6, memoryLevel: 4, maxDecompressedFrameSize: 4096),
                .nonNegotiatedExtension { ClientMasking() },
            ],
            validateUTF8: true)
        // A request that stalls (half-open, slowloris) is closed after 20 s of silence; headers
        // are bounded well below the decoder's defaults.
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: .seconds(20),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024,
                maxHeaderFieldCount: 100))
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                GuardedChannel(
                    inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(http1: http1, ws: ws)) { request, _, _ in
                        guard (request.path ?? "").split(separator: "?").first == "/ws", server.hostAllowed(request), server.authorized(request),
                            server.originAllowed(request), broadcaster.admit(limit: server.maxClients)
                        else {
                            return .dontUpgrade
                        }
                        return .upgrade([:]) { inbound, outbound, _ in
                            let (id, mailbox) = broadcaster.subscribe()
                            defer { broadcaster.unsubscribe(id); broadcaster.release() }
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                // Read (and ignore) what the client sends, so a close is noticed; read
                                // as messages, so that a broken one is refused, not skipped.
                                group.addTask { for try await _ in inbound.messages(maxSize: 4096) {} }
                                // A write waits while the socket cannot take more; meanwhile the mailbox
                                // coalesces, so what goes out next is the newest state.
                                // Summaries go out at most every `summaryInterval`: a replay at full speed
                                // makes thousands a second, which no page can draw and which would keep
                                // every client's task busy; the newest one is always among those sent.
                                group.addTask {
                                    let metrics = broadcaster.metrics
                                    while let batch = await mailbox.next() {
                                        for message in batch { try await outbound.write(.text(message)) }
                                        metrics.framesSent.add(UInt64(batch.count), ordering: .relaxed)
                                        if let readAt = mailbox.takeSummaryReadAt() { metrics.observeLatency(seconds: wallSeconds() - readAt) }
                                        try await Task.sleep(for: LiveServer.summaryInterval)
                                    }
                                }
                                _ = try await group.next()
                                group.cancelAll()
                            }
                        }
                    })
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "aether", backlog: 1024),
            logger: Logger(label: "aether.live", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await app.runService()
    }
}

extension LiveServer {
    /// `{"id": N, "connections": [...]}`: up to 50 of the alert's connections as `flows --json`
    /// shows them; empty until the session has committed them.
    func alertConnections(_ id: Int64) -> String {
        var rows: [JSON] = []
        if let storePath, let store = try? Store(path: storePath, readOnly: true) {
            rows = ((try? store.flowRows(ofAlert: id, limit: 50)) ?? []).map(\.json)
        }
        return JSON.object([("id", .int(id)), ("connections", .array(rows))]).render(pretty: false)
    }
}

/// Refuses (421) a request whose Host header names another site (DNS rebinding).
struct HostCheck<Context: RequestContext>: RouterMiddleware {
    let server: LiveServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard server.hostAllowed(request.head) else {
            return Response(
                status: .misdirectedRequest, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "this server does not answer to that Host\n")))
        }
        return try await next(request, context)
    }
}

/// RFC 6455 §5.1: a server closes the connection on a frame from the client that is not
/// masked. The library leaves this to the application; as an extension it sees each data frame
/// as it arrived, before the deflate extension. The error is one the library maps to 1002
/// (its own close error is not public).
struct ClientMasking: WebSocketExtension {
    var name: String { "client-masking" }

    func processReceivedFrame(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame {
        guard frame.maskKey != nil else { throw NIOWebSocketError.fragmentedControlFrame }
        return frame
    }

    func processFrameToSend(_ frame: WebSocketFrame, context: WebSocketExtensionContext) async throws -> WebSocketFrame { frame }

    func shutdown() async {}
}

/// Puts a `RequestGuard` in front of the HTTP decoder of every connection.
struct GuardedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestGuard(), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}
