import AetherCore

#if canImport(Glibc)
    import Glibc
#endif

/// Several streams of event records, each in time order (one shard's records of one partition),
/// merged into one: by time, then the file's rank, then the sequence, as a sort of them all would
/// give. A line may carry the stream columns (`aether shard --partitions`) before its record.
struct EventMerge {
    private struct Head {
        var key: (Int64, Int, Int64)
        var record: JSON
        var line: Int
        var stream: Int
    }
    private var readers: [RecordLines.Reader] = []
    private var heap: [Head] = []
    private let rank: [Int64: Int]
    private var pending: Error?

    init(paths: [String], rank: [Int64: Int]) throws {
        self.rank = rank
        raiseOpenFileLimit(paths.count + 64)
        for path in paths {
            do { readers.append(try RecordLines.Reader(path)) } catch let e as RecordInputError { throw BadInput(message: e.message) }
            if let h = try read(readers.count - 1) { push(h) }
        }
    }

    /// The next record, its stream's path and its line number.
    mutating func next() throws -> (JSON, String, Int)? {
        if let e = pending { throw e }
        guard let top = heap.first else { return nil }
        // The line after it is read now; an error there waits until this record has been taken,
        // so that errors come in line order.
        let after: Head?
        do { after = try read(top.stream) } catch {
            pending = error
            after = nil
        }
        if let h = after {
            heap[0] = h
            siftDown(0)
        } else {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
        return (top.record, readers[top.stream].path, top.line)
    }

    private func read(_ i: Int) throws -> Head? {
        let reader = readers[i]
        let line: [UInt8]?
        do { line = try reader.nextBytes() } catch let e as RecordInputError { throw BadInput(message: e.message) }
        guard let bytes = line else { return nil }
        // The stream columns before the record are skipped: the record repeats what they say.
        let r = try parseRecord(bytes: bytes, from: bytes.firstIndex(of: UInt8(ascii: "{")) ?? 0, reader.path, reader.lineNumber)
        // Records without a time or sequence (hand-made) keep their place in their stream.
        let t = r["t"]?.int ?? Int64.min
        let f = r["f"]?.int ?? 0
        return Head(key: (t, rank[f] ?? Int(clamping: f), r["q"]?.int ?? Int64(reader.lineNumber)), record: r, line: reader.lineNumber, stream: i)
    }

    private static func less(_ a: Head, _ b: Head) -> Bool { (a.key.0, a.key.1, a.key.2, a.stream) < (b.key.0, b.key.1, b.key.2, b.stream) }

    private mutating func push(_ h: Head) {
        heap.append(h)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && Self.less(heap[l], heap[m]) { m = l }
            if r < heap.count && Self.less(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}

/// Lets a process hold `n` files open at once where the hard limit allows it.
private func raiseOpenFileLimit(_ n: Int) {
    var l = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0, l.rlim_cur < rlim_t(n) else { return }
    l.rlim_cur = min(rlim_t(n), l.rlim_max)
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
}
