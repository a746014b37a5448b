import AetherCore
import Synchronization

/// The gRPC event stream's subscribers: each has its filter, sampling rate and a bounded queue of
/// encoded `Event` messages. The session publishes into the queues; a subscriber's writer drains
/// its own. A queue that fills (its reader stopped or is too slow) cuts that subscriber off: the
/// server never buffers without bound, and the other subscribers and the session go on. A cut
/// subscriber leaves the fan-out at once, whether or not its writer is still blocked, so it
/// costs the packet path nothing more.
package final class EventStream: Sendable {
    /// Events a subscriber may have waiting before it is cut off (`tail --grpc-queue`).
    package let queueLimit: Int
    /// An array, not a dictionary: reading it per packet is a retain, not a fresh allocation.
    private let subscribers = Mutex<[Subscription]>([])
    /// Every alert's newest event, so that a late subscriber first gets the alerts so far (as a
    /// late WebSocket client does).
    private let alerts = Mutex<[Int64: [UInt8]]>([:])
    private let nextID = Atomic<Int>(0)
    /// Read on the packet path: nothing is encoded while nobody listens.
    private let count = Atomic<Int>(0)
    /// The replay's `End`, once it is over: a subscriber that comes later gets the alerts so far
    /// and `End`, and its stream closes (it does not wait for events that will never come).
    private let ended = Mutex<[UInt8]?>(nil)

    package init(queueLimit: Int = 65_536) { self.queueLimit = queueLimit }

    package var hasSubscribers: Bool { count.load(ordering: .relaxed) > 0 }
    package var subscriberCount: Int { count.load(ordering: .relaxed) }

    package func subscribe(_ request: SubscribeRequest, filter: EventFilter) -> Subscription {
        let s = Subscription(id: nextID.add(1, ordering: .relaxed).newValue, request: request, filter: filter, limit: queueLimit)
        // Under the alerts' lock (taken before the subscribers' one, as `alert` does): no alert
        // can slip between the ones handed over and the subscription.
        let over = alerts.withLock { known -> [UInt8]? in
            if request.wants(.alert) { for id in known.keys.sorted() { s.push(known[id]!) } }
            if let end = ended.withLock({ $0 }) { return end }
            subscribers.withLock { $0.append(s) }
            return nil
        }
        if let over {
            s.push(over)
            s.finish()
            return s
        }
        count.add(1, ordering: .relaxed)
        return s
    }

    package func unsubscribe(_ s: Subscription) {
        let removed = subscribers.withLock { list -> Bool in
            guard let i = list.firstIndex(where: { $0 === s }) else { return false }
            list.remove(at: i)
            return true
        }
        if removed { count.subtract(1, ordering: .relaxed) }
        s.close()
    }

    private var all: [Subscription] { subscribers.withLock { $0 } }

    /// One packet (called by the session for every packet while anyone listens).
    func packet(_ p: EventFilter.Packet, timestamp: Int64, length: UInt32, protocolName: String, tcpFlags: UInt8, connection: Int64, sequence: UInt64) {
        var encoded: [UInt8]?
        for s in all where s.request.wants(.packet) && s.filter.matches(p) && s.takesSample() {
            if encoded == nil {
                var m = ProtoWriter()
                m.int(1, timestamp)
                m.string(2, p.src.description); m.string(3, p.dst.description)
                m.uint(4, UInt64(p.srcPort)); m.uint(5, UInt64(p.dstPort))
                m.string(6, protocolName)
                m.uint(7, UInt64(length)); m.uint(8, UInt64(tcpFlags))
                m.int(9, connection); m.uint(10, sequence)
                var e = ProtoWriter(capacity: m.bytes.count + 4)
                e.message(1, m)
                encoded = e.bytes
            }
            if !s.push(encoded!) { unsubscribe(s) }
        }
    }

    func alert(_ a: Alert, state: String) {
        var m = ProtoWriter(capacity: 256)
        m.int(1, a.id); m.string(2, a.kind); m.string(3, a.severity); m.string(4, a.src.description)
        for d in (a.dst.map { [$0] } ?? a.dsts) { m.string(5, d.description) }
        m.uint(6, UInt64(a.dst == nil ? a.dstCount : 1))
        m.packed(7, a.ports.map { UInt32($0) })
        m.string(8, a.proto); m.int(9, a.start); m.int(10, a.end)
        m.uint(11, UInt64(a.flows.count)); m.string(12, state); m.string(13, a.technique)
        m.string(14, JSON.object(a.evidence).render(pretty: false))
        var e = ProtoWriter(capacity: m.bytes.count + 4)
        e.message(2, m)
        let targets = alerts.withLock { known -> [Subscription] in
            known[a.id] = e.bytes
            return all.filter { $0.request.wants(.alert) }
        }
        for s in targets where !s.push(e.bytes) { unsubscribe(s) }
    }

    func summary(
        second: Int64, packets: UInt64, bytes: UInt64, totalPackets: UInt64, totalBytes: UInt64, protocols: [(String, UInt64)], drops: UInt64,
        connections: UInt64
    ) {
        let targets = all.filter { $0.request.wants(.summary) }
        guard !targets.isEmpty else { return }
        var m = ProtoWriter(capacity: 160)
        m.int(1, second); m.uint(2, packets); m.uint(3, bytes); m.uint(4, totalPackets); m.uint(5, totalBytes)
        for (name, n) in protocols {
            var entry = ProtoWriter()
            entry.string(1, name); entry.uint(2, n)
            m.message(6, entry)
        }
        m.uint(7, drops); m.uint(8, connections)
        var e = ProtoWriter(capacity: m.bytes.count + 4)
        e.message(3, m)
        for s in targets where !s.push(e.bytes) { unsubscribe(s) }
    }

    /// The replay is over: every subscriber gets `End`, then its stream closes.
    func end(totalPackets: UInt64) {
        var m = ProtoWriter()
        m.uint(1, totalPackets)
        var e = ProtoWriter()
        e.message(4, m)
        alerts.withLock { _ in ended.withLock { $0 = e.bytes } }
        for s in all {
            if !s.push(e.bytes) { unsubscribe(s) }
            s.finish()
        }
    }

    /// Closes every stream (the server is stopping).
    package func finishAll() { for s in all { s.finish() } }
}

/// One subscriber's queue. `next()` hands the writer everything waiting; `push` refuses and
/// marks the subscriber overflowed once `limit` events wait.
package final class Subscription: Sendable {
    package let id: Int
    package let request: SubscribeRequest
    let filter: EventFilter
    let limit: Int
    private let sampleCounter = Atomic<UInt64>(0)

    struct State {
        var queue: [[UInt8]] = []
        var waiter: CheckedContinuation<[[UInt8]]?, Never>?
        var finished = false
        var closed = false
        var overflowed = false
    }
    private let state = Mutex(State())
    /// Called once when the subscriber is cut off: its writer may be blocked in a write that
    /// only the peer could finish, and must be stopped from outside.
    private let onCut = Mutex<(@Sendable () -> Void)?>(nil)

    init(id: Int, request: SubscribeRequest, filter: EventFilter, limit: Int) {
        self.id = id; self.request = request; self.filter = filter; self.limit = limit
    }

    /// 1 in `sample` packets; every packet when `sample` is 0 or 1.
    func takesSample() -> Bool {
        let n = UInt64(request.sample)
        if n <= 1 { return true }
        return sampleCounter.add(1, ordering: .relaxed).newValue % n == 1 % n
    }

    /// False when the subscriber is cut off now (its queue was full).
    @discardableResult func push(_ bytes: [UInt8]) -> Bool {
        let (waiter, batch, cut) = state.withLock { s -> (CheckedContinuation<[[UInt8]]?, Never>?, [[UInt8]]?, Bool) in
            if s.closed || s.overflowed || s.finished { return (nil, nil, false) }
            if s.queue.count >= limit {
                s.overflowed = true
                s.queue.removeAll()
                let w = s.waiter
                s.waiter = nil
                return (w, nil, true)
            }
            s.queue.append(bytes)
            guard let w = s.waiter else { return (nil, nil, false) }
            s.waiter = nil
            defer { s.queue.removeAll(keepingCapacity: true) }
            return (w, s.queue, false)
        }
        if let waiter { waiter.resume(returning: batch) }
        if cut,
            let f = onCut.withLock({ f -> (@Sendable () -> Void)? in
                defer { f = nil }; return f
            })
        {
            f()
        }
        return !cut
    }

    /// Runs `f` when the subscriber is cut off (at once if it already was).
    package func whenCut(_ f: @escaping @Sendable () -> Void) {
        let now = state.withLock { s in
            onCut.withLock { h -> Bool in
                if s.overflowed { return true }
                h = f
                return false
            }
        }
        if now { f() }
    }

    /// The writer's side: whatever waits, or nil at the end (finished, closed or cut off).
    package func next() async -> [[UInt8]]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<[[UInt8]]?, Never>) in
                let ready = state.withLock { s -> [[UInt8]]?? in
                    if !s.queue.isEmpty {
                        defer { s.queue.removeAll(keepingCapacity: true) }
                        return .some(s.queue)
                    }
                    if s.closed || s.overflowed || s.finished { return .some(nil) }
                    s.waiter = c
                    return .none
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    /// Whether the stream ended because the subscriber fell `limit` events behind.
    package var overflowed: Bool { state.withLock { $0.overflowed } }

    func finish() { end { $0.finished = true } }
    func close() { end { $0.closed = true } }

    private func end(_ mark: (inout State) -> Void) {
        let w = state.withLock { s -> CheckedContinuation<[[UInt8]]?, Never>? in
            mark(&s)
            // What is queued is still handed out (a finished replay's last events and `End`).
            guard s.queue.isEmpty else { return nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
    }
}
