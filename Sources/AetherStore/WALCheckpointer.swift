import AetherCore
import CSQLite
#if canImport(Glibc)
    import Glibc
#endif

/// WAL checkpoints on a thread and connection of their own. SQLite's automatic checkpoint runs in
/// the writer's COMMIT: it copies the log into the database file and waits for fdatasync, about
/// 0.2 s of the decoder's thread on the 2 M-packet bench file. Here the writer only commits; this
/// thread runs a PASSIVE checkpoint (which never blocks the writer) after each commit it is told
/// of, and syncs the database file after it (the writer never syncs; its close syncs what is
/// left). The content of the store is the same either way.
final class WALCheckpointer: @unchecked Sendable {
    private let db: Database
    private let monitor = Monitor()
    private var pending = false
    private var stopping = false
    private var thread: StageThread?
    /// The database file, for starting its writeback.
    private var file: Int32 = -1

    /// Nil when the store cannot be opened a second time; the writer's own checkpoints stay on.
    init?(path: String) {
        // Without create: the store exists (its writer made or checked it).
        guard let d = try? Database(path: path, mustExist: true) else { return nil }
        db = d
        try? db.execute("PRAGMA synchronous = OFF")
        file = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard let t = StageThread(name: "aether-wal", { [unowned(unsafe) self] in self.work() }) else { return nil }
        thread = t
    }

    deinit {
        stop()
        if file >= 0 { close(file) }
    }

    /// A commit happened: checkpoint when the thread is free (requests meanwhile are one).
    func request() {
        monitor.update { pending = true }
    }

    func stop() {
        monitor.update { stopping = true }
        thread?.join()
        thread = nil
    }

    private func work() {
        while true {
            monitor.lock()
            while !pending && !stopping { monitor.wait() }
            if stopping {
                monitor.unlock()
                return
            }
            pending = false
            monitor.unlock()
            _ = sqlite3_wal_checkpoint_v2(db.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            // What it copied starts on its way to disk now, so that the close's sync finds
            // little left to write (the writeback runs in the kernel; nothing here waits for it).
            if file >= 0 { _ = aether_start_writeback(file) }
        }
    }
}
