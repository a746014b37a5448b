import AetherCore

#if canImport(Glibc)
    import Glibc
#endif

/// The store's bulk writes of an ingest (connections, conversations, application rows, packet
/// chunks and the commits between them) as a queue that whichever thread has time works off:
/// the reader thread while it is ahead of the parser (`CaptureReader.idleWork`), the decoder
/// when the queue is full, and anyone at a barrier. On two cores the decoder's thread is then
/// left with decoding, connections and detectors, and the reader's time beside the digest goes
/// to SQLite instead of waiting (the pipeline's third stage: encoding, compression and SQLite
/// writes).
///
/// Jobs run one at a time and in the order they were queued, so the store's rows, ids and
/// transactions are those of the inline path. Every other use of the connection waits for the
/// queue first (`Store.db` is the barrier), so SQLite is never used by two threads at once. A
/// job that fails (a full disk) keeps its error; the queue drops what follows, and the next
/// `enqueue` or `finish` throws it.
final class DeferredWrites: @unchecked Sendable {
    /// Jobs waiting at most; the decoder helps beyond it. A job holds at most `part` rows or one
    /// flush's packet chunks, so memory stays bounded.
    static let limit = 16
    /// Rows per job: about half a millisecond of SQLite.
    static let part = 256

    private let monitor = Monitor()
    private var jobs: [() throws -> Void] = []
    private var head = 0
    private var busy = false
    private var runner = pthread_t()
    private var failure: Error?
    /// Set and cleared by the thread that owns the store (the decoder's); only it reads it.
    private(set) var active = false

    func start() { active = true }

    /// Jobs held, run or not (for the test that the queue's memory stays bounded).
    var held: Int { monitor.withLock { jobs.count } }

    /// Runs what is queued and stops queueing; the error of a job that failed, if one did.
    func finish() throws {
        active = false
        try drain()
    }

    /// Whether the calling thread is running a job (it then uses the connection directly).
    var onRunner: Bool {
        monitor.withLock { busy && pthread_equal(runner, pthread_self()) != 0 }
    }

    func enqueue(_ job: @escaping () throws -> Void) throws {
        monitor.lock()
        if let f = failure {
            monitor.unlock()
            throw f
        }
        jobs.append(job)
        while jobs.count - head > Self.limit && failure == nil { helpOrWait() }
        monitor.unlock()
    }

    /// Runs the next job if there is one and nobody else is at it; whether it did. Any thread.
    func helpOnce() -> Bool {
        monitor.lock()
        if busy || head == jobs.count || failure != nil {
            monitor.unlock()
            return false
        }
        busy = true
        runner = pthread_self()
        let job = jobs[head]
        // The slot lets go of the job's rows now; the front is dropped once it is long, so the
        // queue's memory stays that of the jobs waiting even when it never runs empty.
        jobs[head] = {}
        head += 1
        if head == jobs.count || head >= 2 * Self.limit {
            jobs.removeFirst(head)
            head = 0
        }
        monitor.unlock()
        var error: Error?
        do { try job() } catch let e { error = e }
        monitor.lock()
        if let error, failure == nil {
            failure = error
            jobs.removeAll()
            head = 0
        }
        busy = false
        monitor.broadcast()
        monitor.unlock()
        return true
    }

    /// Until every queued job has run (helping); throws the error of one that failed.
    func drain() throws {
        monitor.lock()
        while busy || (head < jobs.count && failure == nil) { helpOrWait() }
        let f = failure
        monitor.unlock()
        if let f { throw f }
    }

    /// With the lock held: runs the next job if nobody is at one, else waits for the one running.
    private func helpOrWait() {
        if busy {
            monitor.wait()
        } else {
            monitor.unlock()
            _ = helpOnce()
            monitor.lock()
        }
    }
}
