#if canImport(Glibc)
    import Glibc
#endif

/// A refusal to read or write a path, with the one line that says why.
public struct FileRefusal: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// How AetherLens touches files: inputs must be regular files or folders; outputs are written
/// to a fresh temporary file (mkstemp, in the target's folder, so never through a planted link)
/// and then linked (or, with `force`, renamed) into place. A target that is a link, a device, a
/// folder, a registered capture or the store itself is refused; an existing file needs `force`.
public enum EvidenceFiles {
    /// Identity of a file on disk.
    struct Identity: Equatable { var dev: UInt64; var ino: UInt64 }

    static func identity(_ path: String, follow: Bool = true) -> Identity? {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        return rc == 0 ? Identity(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)) : nil
    }

    /// A capture input: a regular file or a folder. Devices, FIFOs and sockets never end.
    public static func checkInput(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw FileRefusal("\(path): \(errno == ENOENT ? "no such file or folder" : String(cString: strerror(errno)))")
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFDIR else {
            throw FileRefusal("\(path): not a regular file or folder (a device, FIFO or socket never ends; use tail -i for interfaces)")
        }
    }

    /// Refuses a target that must not be written. `protected` are paths (captures, the store)
    /// that may be reached under another name: compared by device and inode.
    public static func checkTarget(_ path: String, force: Bool, protected: [String]) throws {
        var st = stat()
        if lstat(path, &st) == 0 {
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK { throw FileRefusal("\(path): is a symbolic link; refusing to write through it") }
            guard type == S_IFREG else { throw FileRefusal("\(path): not a regular file; refusing to write over it") }
            let target = Identity(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            for p in protected where identity(p) == target {
                throw FileRefusal("\(path): is \(p), evidence this store holds; refusing to write over it")
            }
            if !force { throw FileRefusal("\(path): exists; refusing to replace it (use --force)") }
        }
    }

    /// A new file for writing, for output written as it is made: never an existing file, never
    /// through a planted link (O_EXCL, O_NOFOLLOW).
    public static func create(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileRefusal("\(path): \(String(cString: strerror(errno))); refusing to write it") }
        return fd
    }

    /// All of `bytes` to `fd`, through short writes; false on an error (errno says which).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Writes `bytes` to `path` as described above; nothing is left behind on failure.
    public static func write(_ bytes: [UInt8], to path: String, force: Bool, protected: [String] = []) throws {
        try checkTarget(path, force: force, protected: protected)
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var template = Array((dir + "/.aether-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw FileRefusal("\(path): cannot write in \(dir): \(String(cString: strerror(errno)))") }
        let tmp = String(cString: template)
        var ok = fchmod(fd, 0o644) == 0 && bytes.withUnsafeBytes { writeAll(fd, $0) }
        let err = errno
        ok = ok && fsync(fd) == 0
        ok = close(fd) == 0 && ok
        guard ok else {
            unlink(tmp)
            throw FileRefusal("\(path): write failed: \(String(cString: strerror(err != 0 ? err : errno)))")
        }
        // link() never replaces: a file that appeared meanwhile is not clobbered.
        let placed = force ? rename(tmp, path) == 0 : link(tmp, path) == 0
        let placeErr = errno
        if !force || !placed { unlink(tmp) }
        guard placed else { throw FileRefusal("\(path): cannot write: \(String(cString: strerror(placeErr)))") }
    }
}
