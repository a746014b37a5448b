import AetherCore
import AetherFlows
#if canImport(Glibc)
    import Glibc
#endif

/// Whether a file is ours to open for writing (evidence: a foreign file is never changed).
extension Store {
    /// Decides, reading only, whether an existing file may be opened for writing: it must be a
    /// regular file (not a link or device) and, unless empty, an AetherLens store. A foreign
    /// SQLite file is refused before any PRAGMA could change it.
    static func checkOurs(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK { throw StoreError("store \(path) is a symbolic link; refusing to follow it") }
        guard type == S_IFREG else { throw StoreError("store \(path) is not a regular file") }
        guard st.st_size > 0 else { return }
        var head = [UInt8](repeating: 0, count: 20)
        let fd = open(path, O_RDONLY | O_NOFOLLOW)
        guard fd >= 0 else { throw StoreError("cannot open store \(path): \(String(cString: strerror(errno)))") }
        let n = read(fd, &head, 20)
        close(fd)
        guard n == 20, Array(head[0..<16]) == Array("SQLite format 3".utf8) + [0] else {
            throw StoreError("\(path) is not an SQLite file, not an AetherLens store; refusing to touch it")
        }
        // A file already in WAL mode (ours, perhaps after a crash) is read with its log; any
        // other is read as it is, without a lock or a side file.
        let probe = try Database(path: path, readOnly: true, immutable: head[18] != 2)
        let hasMeta = (try? probe.scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'")) ?? 0
        let version = hasMeta > 0 ? ((try? probe.scalar("SELECT count(*) FROM meta WHERE key='schema_version'")) ?? 0) : 0
        if version == 0 { throw StoreError("\(path) is an SQLite file but not an AetherLens store; refusing to touch it") }
    }
}
