#if canImport(Glibc)
    import Glibc
#endif

/// A records input that cannot be read as records: one line naming the file (and the line).
public struct RecordInputError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The longest records line read: a record is a few hundred bytes; an alert with its lists a
/// few hundred KB. Longer is not a record, and reading it would hold memory without bound.
public let maxRecordLine = 16 << 20

/// The records reader (`import`, `detect`, `join-cuts`, `shard --stream`).
public enum RecordLines {
    /// Calls `body` with each non-empty line of `path` (- for standard input), without the newline.
    /// Records go through the capture path's input check: a regular file (a link to one is
    /// followed), never a device, FIFO or socket, which may never end; and no line is longer than
    /// `maxRecordLine`.
    public static func read(_ path: String, _ body: (String) throws -> Void) throws {
        let fd: Int32
        if path == "-" {
            fd = 0
        } else {
            // Non-blocking, so that opening a FIFO without a writer returns at once; fstat decides.
            fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            guard fd >= 0 else { throw RecordInputError("\(path): cannot read: \(String(cString: strerror(errno)))") }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                _ = Glibc.close(fd)
                throw RecordInputError("\(path): not a regular file (a device, FIFO or socket may never end); records are files")
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        }
        defer { if fd != 0 { _ = Glibc.close(fd) } }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var line: [UInt8] = []
        var number = 0
        func emit() throws {
            number += 1
            var len = line.count
            while len > 0 && (line[len - 1] == 0x0A || line[len - 1] == 0x0D) { len -= 1 }
            if len > 0 { try body(String(decoding: line[..<len], as: UTF8.self)) }
            line.removeAll(keepingCapacity: line.count <= 1 << 20)
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordInputError("\(path): line \(number + 1): read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where chunk[i] == 0x0A {
                try append(chunk[start...i])
                try emit()
                start = i + 1
            }
            if start < n { try append(chunk[start..<n]) }
        }
        if !line.isEmpty { try emit() }

        func append(_ bytes: ArraySlice<UInt8>) throws {
            guard line.count + bytes.count <= maxRecordLine + 2 else {
                throw RecordInputError("\(path): line \(number + 1): longer than \(maxRecordLine >> 20) MB; not a record")
            }
            line.append(contentsOf: bytes)
        }
    }
}
