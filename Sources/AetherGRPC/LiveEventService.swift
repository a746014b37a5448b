#if GRPC
    import AetherLive
    import GRPCCore
    import GRPCNIOTransportHTTP2
    import NIOCore

    /// `aether.Live/Subscribe` (proto/aether.proto): a server-streaming RPC over the session's
    /// `EventStream`. The events arrive encoded (`ProtoWire`), so the serializer passes bytes
    /// through; the request is decoded by hand. A subscriber whose queue fills is cut off with
    /// RESOURCE_EXHAUSTED; a server with a token wants "authorization: Bearer TOKEN".
    package struct LiveEventService: RegistrableRPCService {
        package static let method = MethodDescriptor(fullyQualifiedService: "aether.Live", method: "Subscribe")
        let stream: EventStream
        let token: String?
        /// Subscribers at most (`tail --max-clients`); more are refused with RESOURCE_EXHAUSTED.
        let maxSubscribers: Int
        /// Where the server listens and the names it also answers to (`--allow-host`): the
        /// `:authority` of a request must name it, by the Host rule of the WebSocket side (a page
        /// that rebinds its own name to this address is refused).
        let host: String
        let port: Int
        let allowedHosts: [String]
        let limits: ConnectionLimits
        let threads: FanOutThreads

        init(
            stream: EventStream, token: String?, maxSubscribers: Int, host: String, port: Int, allowedHosts: [String], limits: ConnectionLimits,
            threads: FanOutThreads
        ) {
            self.limits = limits
            self.threads = threads
            self.stream = stream
            self.token = token
            self.maxSubscribers = maxSubscribers
            self.host = host
            self.port = port
            self.allowedHosts = allowedHosts
        }

        /// Streams one HTTP/2 connection may carry, advertised (SETTINGS_MAX_CONCURRENT_STREAMS) so
        /// that a client queues more instead of losing the connection.
        package static let maxStreamsPerConnection = 256

        package func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            let stream = self.stream
            let token = self.token
            let maxSubscribers = self.maxSubscribers
            let (host, port, allowedHosts, limits, threads) = (self.host, self.port, self.allowedHosts, self.limits, self.threads)
            router.registerHandler(forMethod: Self.method, deserializer: RequestDeserializer(), serializer: PassThrough()) {
                request, context in
                let authority = request.metadata[":authority"].first { _ in true }
                guard case .string(let named)? = authority, LiveServer.authorityAllowed(named, host: host, port: port, allowedHosts: allowedHosts) else {
                    return StreamingServerResponse(error: RPCError(code: .permissionDenied, message: "this server does not answer to that authority"))
                }
                if let token {
                    let given = request.metadata["authorization"].first { _ in true }
                    guard case .string(let value)? = given, LiveServer.sameSecret(value, "Bearer \(token)") else {
                        return StreamingServerResponse(error: RPCError(code: .unauthenticated, message: "a token is required"))
                    }
                }
                if stream.subscriberCount >= maxSubscribers {
                    return StreamingServerResponse(error: RPCError(code: .resourceExhausted, message: "\(maxSubscribers) subscribers already"))
                }
                var subscription: SubscribeRequest?
                for try await message in request.messages {
                    subscription = message
                    break
                }
                guard let subscription else {
                    return StreamingServerResponse(error: RPCError(code: .invalidArgument, message: "no SubscribeRequest"))
                }
                let filter: EventFilter
                do { filter = try EventFilter.parse(subscription.filter) } catch {
                    return StreamingServerResponse(error: RPCError(code: .invalidArgument, message: "filter: \(error)"))
                }
                return StreamingServerResponse { writer in
                    let s = stream.subscribe(subscription, filter: filter)
                    defer { stream.unsubscribe(s) }
                    // The writes run in a task of their own, so that a cut can stop one blocked
                    // behind a peer that stopped reading; on the fan-out threads, behind the
                    // packet path.
                    let writes = Task(executorPreference: threads) {
                        while let batch = await s.next() {
                            try await writer.write(contentsOf: batch)
                            // A trickle of events would wake this task once per packet; a short
                            // pause lets them gather (at most 2 ms of delay).
                            if batch.count < 256 { try await Task.sleep(for: .milliseconds(2)) }
                        }
                    }
                    let peer = context.remotePeer
                    s.whenCut {
                        writes.cancel()
                        limits.cut(peer: peer)
                    }
                    do {
                        try await withTaskCancellationHandler {
                            try await writes.value
                        } onCancel: {
                            writes.cancel()
                        }
                    } catch  where s.overflowed {}
                    if s.overflowed {
                        throw RPCError(code: .resourceExhausted, message: "subscriber too slow: more than \(stream.queueLimit) events waited; cut off")
                    }
                    return [:]
                }
            }
        }

        /// Serves until the task is cancelled or the server is shut down.
        package static func serve(
            host: String, port: Int, stream: EventStream, token: String?, maxSubscribers: Int = 256, allowedHosts: [String] = []
        ) async throws {
            // As many connections as subscribers: 101 subscribers may share one connection, but a
            // peer with more connections than that wants something else.
            let limits = ConnectionLimits(maxConnections: maxSubscribers)
            let threads = FanOutThreads()
            // Idle connections (a bare connect, a client gone quiet) are closed; peers are pinged;
            // a request is a few bytes, so its size is bounded far below the 4 MB default.
            let config = HTTP2ServerTransport.Posix.Config.defaults { c in
                c.connection.maxIdleTime = .seconds(60)
                c.connection.keepalive.time = .seconds(60)
                c.connection.keepalive.timeout = .seconds(20)
                c.http2.maxConcurrentStreams = maxStreamsPerConnection
                c.rpc.maxRequestPayloadSize = 64 * 1024
                c.channelDebuggingCallbacks.onAcceptTCPConnection = { limits.accepted($0) }
                c.channelDebuggingCallbacks.onAcceptHTTP2Stream = { limits.stream($0) }
            }
            let server = GRPCServer(
                transport: .http2NIOPosix(
                    address: .ipv4(host: host, port: port), transportSecurity: .plaintext, config: config, eventLoopGroup: threads.group),
                services: [
                    LiveEventService(
                        stream: stream, token: token, maxSubscribers: maxSubscribers, host: host, port: port, allowedHosts: allowedHosts, limits: limits,
                        threads: threads)
                ])
            do {
                try await withTaskCancellationHandler {
                    try await server.serve()
                } onCancel: {
                    server.beginGracefulShutdown()
                }
            } catch {
                await threads.shutdown()
                throw error
            }
            await threads.shutdown()
        }
    }

    struct PassThrough: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    }

    struct RequestDeserializer: MessageDeserializer {
        func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> SubscribeRequest {
            let raw = bytes.withUnsafeBytes { Array($0) }
            guard let r = SubscribeRequest.decode(raw) else {
                throw RPCError(code: .invalidArgument, message: "malformed SubscribeRequest")
            }
            return r
        }
    }
#endif
