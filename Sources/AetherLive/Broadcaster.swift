import Synchronization

/// Fans messages out to WebSocket clients. Each client has a bounded buffer that keeps the
/// newest frames: a browser that stops reading loses frames, the server never grows for it.
/// A client that connects late first gets the current state (the latest summary, every alert,
/// and `end` if the replay is over).
public final class Broadcaster: Sendable {
    struct State {
        var latestSummary: String?
        var alerts: [Int64: String] = [:]
        var end: String?
        var clients: [Int: AsyncStream<String>.Continuation] = [:]
        var nextClient = 0
        var sent: UInt64 = 0
    }

    public static let clientBuffer = 256
    private let state = Mutex(State())

    public init() {}

    public var clientCount: Int { state.withLock { $0.clients.count } }

    private let admitted = Mutex(0)
    /// Takes one of `limit` places for a client about to be upgraded; false when all are taken.
    /// Decided before the handshake answer, so clients arriving together cannot all slip in.
    public func admit(limit: Int) -> Bool {
        admitted.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    /// Gives a place back when its client is gone.
    public func release() { admitted.withLock { $0 = max(0, $0 - 1) } }

    public func isFull(_ limit: Int) -> Bool { admitted.withLock { $0 >= limit } }

    public func subscribe() -> (id: Int, stream: AsyncStream<String>) {
        state.withLock { s in
            let backlog = (s.latestSummary == nil ? 0 : 1) + s.alerts.count + (s.end == nil ? 0 : 1)
            let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(max(Self.clientBuffer, backlog + 16)))
            if let summary = s.latestSummary { continuation.yield(summary) }
            for id in s.alerts.keys.sorted() { continuation.yield(s.alerts[id]!) }
            if let end = s.end { continuation.yield(end) }
            let id = s.nextClient
            s.nextClient += 1
            s.clients[id] = continuation
            return (id, stream)
        }
    }

    public func unsubscribe(_ id: Int) {
        let c = state.withLock { $0.clients.removeValue(forKey: id) }
        c?.finish()
    }

    public func summary(_ message: String) { publish(message) { $0.latestSummary = message } }
    public func alert(id: Int64, _ message: String) { publish(message) { $0.alerts[id] = message } }
    public func end(_ message: String) { publish(message) { $0.end = message } }

    private func publish(_ message: String, remember: (inout State) -> Void) {
        state.withLock { s in
            remember(&s)
            s.sent += 1
            for c in s.clients.values { c.yield(message) }
        }
    }

    /// The state a late client would get, as one JSON object (for /api/snapshot).
    public func snapshot() -> String {
        state.withLock { s in
            let alerts = s.alerts.keys.sorted().map { s.alerts[$0]! }.joined(separator: ",")
            return "{\"summary\":\(s.latestSummary ?? "null"),\"alerts\":[\(alerts)],\"ended\":\(s.end != nil),\"clients\":\(s.clients.count)}"
        }
    }

    public func finishAll() {
        let all = state.withLock { s -> [AsyncStream<String>.Continuation] in
            let c = Array(s.clients.values)
            s.clients.removeAll()
            return c
        }
        for c in all { c.finish() }
    }
}
