import AetherCapture
import AetherCore

#if canImport(Glibc)
    import Glibc
#endif

// The records files the record commands read and write: lines in, lines out, with one-line
// bad-input errors.

func parseRecord(_ line: String, _ path: String, _ n: Int) throws -> JSON {
    do { return try JSONParser.parse(line) } catch let e as JSONParser.Failure { throw BadInput(message: "\(path): line \(n): \(e)") }
}

func parseRecord(bytes: [UInt8], from start: Int, _ path: String, _ n: Int) throws -> JSON {
    do { return try JSONParser.parse(bytes: bytes, from: start) } catch let e as JSONParser.Failure {
        throw BadInput(message: "\(path): line \(n): \(e)")
    }
}

extension ClosedRange where Bound == Int64 {
    func clamped(_ v: Int64) -> Int64 { Swift.min(Swift.max(v, lowerBound), upperBound) }
}

/// Calls `body` with each non-empty line of `path` (- for standard input), without the newline
/// (`RecordLines`, whose errors become one-line bad-input errors here).
func readLines(_ path: String, _ body: (String) throws -> Void) throws {
    do { try RecordLines.read(path, body) } catch let e as RecordInputError { throw BadInput(message: e.message) }
}

/// A created file written line by line, 64 KB at a time.
final class LineWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    init(_ path: String) throws {
        self.path = path
        do { fd = try EvidenceFiles.create(path) } catch let e as FileRefusal { throw BadInput(message: e.message) }
    }

    func write(_ line: String) throws { try write(bytes: line.utf8) }

    func write<Bytes: Collection>(bytes line: Bytes) throws where Bytes.Element == UInt8 {
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard buffer.isEmpty || buffer.withUnsafeBytes({ EvidenceFiles.writeAll(fd, $0) }) else {
            throw BadInput(message: "\(path): write failed: \(String(cString: strerror(errno)))")
        }
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        try flush()
        _ = Glibc.close(fd)
    }

    deinit { if !closed { _ = Glibc.close(fd) } }
}
