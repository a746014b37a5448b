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
        let reader = try Reader(path)
        while let line = try reader.next() { try body(line) }
    }

    /// The same lines, one at a time on request: `detect` merges several sorted streams.
    public final class Reader {
        public let path: String
        private let fd: Int32
        private var chunk = [UInt8](repeating: 0, count: 1 << 16)
        private var filled = 0
        private var offset = 0
        private var line: [UInt8] = []
        private var number = 0
        private var ended = false

        public init(_ path: String) throws {
            self.path = path
            if path == "-" {
                fd = 0
                return
            }
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

        deinit { if fd != 0 { _ = Glibc.close(fd) } }

        /// The next non-empty line, or nil at the end.
        public func next() throws -> String? {
            guard let bytes = try nextBytes() else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// The same line as bytes (`JSONParser.parse(bytes:)` reads them as they are).
        public func nextBytes() throws -> [UInt8]? {
            while true {
                guard let raw = try nextRaw() else { return nil }
                if let s = raw { return s }
            }
        }

        /// The next line (nil inside for an empty one), or nil at the end.
        private func nextRaw() throws -> [UInt8]?? {
            while !ended {
                if offset == filled {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw RecordInputError("\(path): line \(number + 1): read failed: \(String(cString: strerror(errno)))")
                    }
                    if n == 0 {
                        ended = true
                        break
                    }
                    filled = n
                    offset = 0
                }
                let start = offset
                while offset < filled && chunk[offset] != 0x0A { offset += 1 }
                if offset < filled {
                    offset += 1
                    try append(chunk[start..<offset])
                    return .some(emit())
                }
                try append(chunk[start..<filled])
            }
            return line.isEmpty ? nil : .some(emit())
        }

        private func emit() -> [UInt8]? {
            number += 1
            defer { line.removeAll(keepingCapacity: line.count <= 1 << 20) }
            var len = line.count
            while len > 0 && (line[len - 1] == 0x0A || line[len - 1] == 0x0D) { len -= 1 }
            return len > 0 ? Array(line[..<len]) : nil
        }

        private func append(_ bytes: ArraySlice<UInt8>) throws {
            guard line.count + bytes.count <= maxRecordLine + 2 else {
                throw RecordInputError("\(path): line \(number + 1): longer than \(maxRecordLine >> 20) MB; not a record")
            }
            line.append(contentsOf: bytes)
        }

        /// The number of the line `next` returned last.
        public var lineNumber: Int { number }
    }
}
