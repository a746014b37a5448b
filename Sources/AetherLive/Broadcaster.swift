import Synchronization

/// Fans messages out to WebSocket clients. Each client has a `Mailbox` that holds the newest
/// state, not a queue: a browser that reads slowly gets coalesced summaries, one that stops
/// reading costs a few kilobytes, and the server never grows for it.
/// A client that connects late first gets the current state (the latest summary, every alert,
/// and `end` if the replay is over).
package final class Broadcaster: Sendable {
    struct State {
        var latestSummary: String?
        var alerts: [Int64: String] = [:]
        var end: String?
        var clients: [Int: Mailbox] = [:]
        var nextClient = 0
        var sent: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Counters for /metrics, added to by the session and the writers without locks.
    package let metrics = LiveMetrics()

    package init() {}

    /// Each client's pending messages, for /metrics.
    package var queueDepths: [(client: Int, depth: Int)] {
        state.withLock { s in s.clients.keys.sorted().map { ($0, s.clients[$0]!.depth) } }
    }

    package var clientCount: Int { state.withLock { $0.clients.count } }

    private let admitted = Mutex(0)
    /// Takes one of `limit` places for a client about to be upgraded; false when all are taken.
    /// Decided before the handshake answer, so clients arriving together cannot all slip in.
    package func admit(limit: Int) -> Bool {
        admitted.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    /// Gives a place back when its client is gone.
    package func release() { admitted.withLock { $0 = max(0, $0 - 1) } }

    package func isFull(_ limit: Int) -> Bool { admitted.withLock { $0 >= limit } }

    /// A new client's mailbox, holding the current state (summary, every alert, `end`).
    func subscribe() -> (id: Int, mailbox: Mailbox) {
        state.withLock { s in
            let box = Mailbox()
            for id in s.alerts.keys.sorted() { box.post(alert: id, s.alerts[id]!) }
            if let summary = s.latestSummary { box.post(summary: summary) }
            if let end = s.end { box.post(end: end) }
            let id = s.nextClient
            s.nextClient += 1
            s.clients[id] = box
            return (id, box)
        }
    }

    package func unsubscribe(_ id: Int) {
        let c = state.withLock { $0.clients.removeValue(forKey: id) }
        c?.close()
    }

    /// `readAt`: when the first packet the summary covers was read (wall clock, seconds).
    package func summary(_ message: String, readAt: Double? = nil) {
        state.withLock { s in
            s.latestSummary = message
            s.sent += 1
            for c in s.clients.values { c.post(summary: message, readAt: readAt) }
        }
    }

    package func alert(id: Int64, _ message: String) {
        state.withLock { s in
            s.alerts[id] = message
            s.sent += 1
            for c in s.clients.values { c.post(alert: id, message) }
        }
    }

    package func end(_ message: String) {
        state.withLock { s in
            s.end = message
            s.sent += 1
            for c in s.clients.values { c.post(end: message) }
        }
    }

    /// The state a late client would get, as one JSON object (for /api/snapshot).
    package func snapshot() -> String {
        state.withLock { s in
            let alerts = s.alerts.keys.sorted().map { s.alerts[$0]! }.joined(separator: ",")
            return "{\"summary\":\(s.latestSummary ?? "null"),\"alerts\":[\(alerts)],\"ended\":\(s.end != nil),\"clients\":\(s.clients.count)}"
        }
    }

    package func finishAll() {
        let all = state.withLock { s -> [Mailbox] in
            let c = Array(s.clients.values)
            s.clients.removeAll()
            return c
        }
        for c in all { c.close() }
    }
}
