#if GRPC
    import NIOCore
    import NIOHTTP2
    import Synchronization

    /// What one peer can hold on the gRPC port, enforced below gRPC (the transport has no such
    /// settings; its debugging callbacks hand over each connection and stream channel):
    /// - at most `maxConnections` TCP connections at once; more are closed as they arrive;
    /// - the HTTP/2 client preface (24 bytes) within `prefaceTimeout`, or the connection is closed.
    ///   The transport's idle timer starts only after the preface, so bare connects would otherwise
    ///   stay until the process runs out of descriptors (the WebSocket side shares them);
    /// - a subscriber cut off for falling behind (`cut(peer:)`) has its stream reset with
    ///   ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED, once its stream has
    ///   delivered nothing for `stallTimeout`. Its trailers cannot pass the data queued in front of
    ///   them, so a reset is the only way to end it. The handler does not know its stream, only
    ///   its connection (`ServerContext.remotePeer`); the stream that has stopped moving on that
    ///   connection is the cut one, as every other stream's writer keeps writing.
    final class ConnectionLimits: Sendable {
        let maxConnections: Int
        let prefaceTimeout: TimeAmount
        let stallTimeout: TimeAmount
        private let open = Atomic<Int>(0)
        /// Cut subscribers whose stream is not reset yet, by connection (`ipv4:host:port`).
        private let cuts = Mutex<[String: Int]>([:])

        init(maxConnections: Int, prefaceTimeout: TimeAmount = .seconds(10), stallTimeout: TimeAmount = .seconds(10)) {
            self.maxConnections = maxConnections
            self.prefaceTimeout = prefaceTimeout
            self.stallTimeout = stallTimeout
        }

        var openConnections: Int { open.load(ordering: .relaxed) }

        func accepted(_ channel: any Channel) -> EventLoopFuture<Void> {
            channel.pipeline.addHandler(PrefaceGuard(limits: self), position: .first)
        }

        func stream(_ channel: any Channel) -> EventLoopFuture<Void> {
            channel.pipeline.addHandler(StallGuard(limits: self, peer: Self.peer(channel.parent?.remoteAddress)), position: .first)
        }

        /// A subscriber on the connection from `peer` was cut off.
        func cut(peer: String) { cuts.withLock { $0[peer, default: 0] += 1 } }

        /// Takes one cut of the connection from `peer`, if it has one.
        fileprivate func takeCut(peer: String) -> Bool {
            cuts.withLock { c in
                guard let n = c[peer] else { return false }
                c[peer] = n > 1 ? n - 1 : nil
                return true
            }
        }

        /// The transport's name for a peer (`remotePeer`): `ipv4:127.0.0.1:54321` (the port is
        /// bound on IPv4 only).
        static func peer(_ address: SocketAddress?) -> String {
            guard let address, let ip = address.ipAddress, let port = address.port else { return "" }
            return "ipv4:\(ip):\(port)"
        }

        /// False when the connection is one too many (it is counted either way; `left` uncounts it).
        fileprivate func arrived() -> Bool { open.add(1, ordering: .relaxed).newValue <= maxConnections }
        fileprivate func left() { open.subtract(1, ordering: .relaxed) }
    }

    /// Counts the connection and closes it when over the cap or when its preface is late.
    private final class PrefaceGuard: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        static let prefaceLength = 24

        let limits: ConnectionLimits
        private var received = 0
        private var timer: Scheduled<Void>?

        init(limits: ConnectionLimits) { self.limits = limits }

        func handlerAdded(context: ChannelHandlerContext) {
            guard limits.arrived() else {
                context.close(promise: nil)
                return
            }
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: limits.prefaceTimeout) {
                bound.value.close(promise: nil)
            }
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            timer?.cancel()
            limits.left()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if received < Self.prefaceLength {
                received += unwrapInboundIn(data).readableBytes
                if received >= Self.prefaceLength {
                    timer?.cancel()
                    timer = nil
                }
            }
            context.fireChannelRead(data)
        }
    }

    /// Resets a cut subscriber's stream that delivers nothing for the stall timeout while data waits
    /// for its peer's window. Progress is a write leaving for the connection, not a writability
    /// change: a slow reader sharing a connection with many others is not a stopped one.
    private final class StallGuard: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias InboundOut = HTTP2Frame.FramePayload
        typealias OutboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload

        let limits: ConnectionLimits
        let peer: String
        var timeout: TimeAmount { limits.stallTimeout }
        private var timer: Scheduled<Void>?
        private var lastProgress = NIODeadline.now()

        init(limits: ConnectionLimits, peer: String) {
            self.limits = limits
            self.peer = peer
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let sent = promise ?? context.eventLoop.makePromise()
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            sent.futureResult.whenSuccess { bound.value.lastProgress = .now() }
            context.write(data, promise: sent)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable {
                timer?.cancel()
                timer = nil
            } else if timer == nil {
                lastProgress = .now()
                check(context, after: timeout)
            }
            context.fireChannelWritabilityChanged()
        }

        private func check(_ context: ChannelHandlerContext, after delay: TimeAmount) {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: delay) {
                let (guard_, context) = bound.value
                guard !context.channel.isWritable else {
                    guard_.timer = nil
                    return
                }
                let quiet = NIODeadline.now() - guard_.lastProgress
                if quiet < guard_.timeout || !guard_.limits.takeCut(peer: guard_.peer) {
                    guard_.check(context, after: max(guard_.timeout - quiet, .seconds(1)))
                    return
                }
                context.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(.enhanceYourCalm)), promise: nil)
                context.close(promise: nil)
            }
        }

        func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }
    }
#endif
