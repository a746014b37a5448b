import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The live view's server: `/` the page, `/ws` the stream, `/api/snapshot`, `/healthz`.
public struct LiveServer: Sendable {
    public let host: String
    public let port: Int
    public let token: String?
    public let broadcaster: Broadcaster

    public init(host: String, port: Int, token: String?, broadcaster: Broadcaster) {
        self.host = host; self.port = port; self.token = token; self.broadcaster = broadcaster
    }

    /// Loopback needs no token; any other address does.
    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
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
        if Self.query(request.path ?? "", "token") == token { return true }
        if let auth = request.headerFields[.authorization], auth == "Bearer \(token)" { return true }
        return false
    }

    /// A browser's Origin must be this server; tools that send none are let through.
    func originAllowed(_ request: HTTPRequest) -> Bool {
        guard let origin = request.headerFields[.origin] else { return true }
        guard let hostHeader = request.authority else { return false }
        return origin == "http://\(hostHeader)" || origin == "https://\(hostHeader)"
    }

    public func run() async throws {
        let router = Router()
        let page = LivePage.html
        let broadcaster = self.broadcaster
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        let server = self
        router.get("/api/snapshot") { request, _ -> Response in
            guard server.authorized(request.head) else { return Response(status: .unauthorized) }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: broadcaster.snapshot())))
        }
        // Reached only when the upgrade was refused (bad token, foreign Origin, not an upgrade).
        router.get("/ws") { _, _ -> Response in
            Response(status: .forbidden, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "forbidden\n")))
        }
        let ws = WebSocketServerConfiguration(maxFrameSize: 4096)
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: ws)) { request, _, _ in
                guard (request.path ?? "").split(separator: "?").first == "/ws", server.authorized(request), server.originAllowed(request) else {
                    return .dontUpgrade
                }
                return .upgrade([:]) { inbound, outbound, _ in
                    let (id, stream) = broadcaster.subscribe()
                    defer { broadcaster.unsubscribe(id) }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        // Read (and ignore) what the client sends, so a close is noticed.
                        group.addTask { for try await _ in inbound {} }
                        group.addTask { for await message in stream { try await outbound.write(.text(message)) } }
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "aether"),
            logger: Logger(label: "aether.live", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await app.runService()
    }
}
