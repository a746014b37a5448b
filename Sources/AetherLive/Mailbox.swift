import Synchronization

/// What one live client has yet to receive. Never a queue of summaries: a newer summary replaces
/// the one not yet sent, an alert that grew replaces its older text, so a slow client gets the
/// newest state whenever its socket can take more, and holds at most one summary, one `end` and
/// `alertLimit` alerts however fast the replay runs.
final class Mailbox: Sendable {
    struct Pending {
        var summary: String?
        var summaryReadAt: Double?
        /// When the first packet of the summary last taken was read, for the latency histogram.
        var takenReadAt: Double?
        var alertOrder: [Int64] = []
        var alerts: [Int64: String] = [:]
        var end: String?
        var waiter: CheckedContinuation<[String]?, Never>?
        var closed = false
        /// Summaries replaced before they could be sent (coalesced for a slow client).
        var coalesced = 0

        var isEmpty: Bool { summary == nil && alerts.isEmpty && end == nil }

        /// Alerts first (in the order they came), then the newest summary, then `end`.
        mutating func take() -> [String] {
            var out = alertOrder.compactMap { alerts[$0] }
            if let summary { out.append(summary) }
            if let end { out.append(end) }
            if summary != nil { takenReadAt = summaryReadAt }
            summary = nil; end = nil; summaryReadAt = nil
            alerts.removeAll(keepingCapacity: true); alertOrder.removeAll(keepingCapacity: true)
            return out
        }
    }

    static let alertLimit = 1024
    private let state = Mutex(Pending())

    var coalesced: Int { state.withLock { $0.coalesced } }

    /// Messages waiting (at most one summary and one `end`, and the pending alerts).
    var depth: Int { state.withLock { p in p.alerts.count + (p.summary == nil ? 0 : 1) + (p.end == nil ? 0 : 1) } }

    /// The read time of the summary handed out by the last `next()`, once.
    func takeSummaryReadAt() -> Double? {
        state.withLock { p in
            defer { p.takenReadAt = nil }; return p.takenReadAt
        }
    }

    func post(summary: String, readAt: Double? = nil) {
        deliver { p in
            if p.summary != nil { p.coalesced += 1 }
            p.summary = summary
            p.summaryReadAt = readAt
        }
    }

    func post(alert id: Int64, _ text: String) {
        deliver { p in
            if p.alerts.updateValue(text, forKey: id) == nil {
                p.alertOrder.append(id)
                // Past the limit the oldest pending alert is dropped; /api/snapshot still has it.
                if p.alertOrder.count > Self.alertLimit { p.alerts.removeValue(forKey: p.alertOrder.removeFirst()) }
            }
        }
    }

    func post(end: String) { deliver { $0.end = end } }

    private func deliver(_ change: (inout Pending) -> Void) {
        let (waiter, batch) = state.withLock { p -> (CheckedContinuation<[String]?, Never>?, [String]) in
            guard !p.closed else { return (nil, []) }
            change(&p)
            guard let w = p.waiter else { return (nil, []) }
            p.waiter = nil
            return (w, p.take())
        }
        waiter?.resume(returning: batch)
    }

    /// Everything pending, waiting until there is something; nil once closed.
    func next() async -> [String]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<[String]?, Never>) in
                let ready = state.withLock { p -> [String]?? in
                    if p.closed { return .some(nil) }
                    if !p.isEmpty { return .some(p.take()) }
                    p.waiter = c
                    return .none
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    func close() {
        let w = state.withLock { p -> CheckedContinuation<[String]?, Never>? in
            p.closed = true
            defer { p.waiter = nil }
            return p.waiter
        }
        w?.resume(returning: nil)
    }
}
