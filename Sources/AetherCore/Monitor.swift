#if canImport(Glibc)
    import Glibc
#endif

/// A mutex with one condition, for the pipeline's bounded hand-offs between threads (a block of
/// the file, a batch of packet rows). Hand-offs are per batch, never per packet, so a plain lock
/// costs nothing measurable. The pthread objects live in allocated memory: they must not move.
public final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a `broadcast` (call with the lock held; re-check the condition after).
    @inline(__always) public func wait() { pthread_cond_wait(cond, mutex) }
    @inline(__always) public func broadcast() { pthread_cond_broadcast(cond) }

    /// Changes what waiters wait for, and wakes them.
    @inline(__always) public func update(_ body: () -> Void) {
        lock()
        body()
        broadcast()
        unlock()
    }

    @inline(__always) public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A joinable thread running `body` (a pipeline stage). Nil when the system refuses one; the
/// caller then does the work inline.
public final class StageThread: @unchecked Sendable {
    private var handle = pthread_t()
    private var joined = false

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// `name` (at most 15 bytes) is what `top -H` and `perf report --sort comm` show.
    public init?(name: String, _ body: @escaping () -> Void) {
        let label = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let box = Unmanaged.passRetained(
            Box {
                Self.nameThisThread(label)
                body()
            }
        ).toOpaque()
        let rc = pthread_create(
            &handle, nil,
            { arg in
                let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }

    }

    /// Names the calling thread (pthread_setname_np is not visible to Swift here).
    private static func nameThisThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        _ = name.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Waits for the thread to end (once).
    public func join() {
        if joined { return }
        joined = true
        pthread_join(handle, nil)
    }
}
