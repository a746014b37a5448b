import AetherCore

/// What the packet columns keep of one packet: everything `ChunkBuilder` encodes, as plain
/// values, so that the encoding can run on another thread than the decoder.
public struct PacketRow {
    public var timestamp: Int64
    public var frame: UInt64
    public var fileOffset: UInt64
    public var capturedLength: UInt32
    public var wireLength: UInt32
    public var link: UInt64
    public var src: IPAddress
    public var dst: IPAddress
    public var flowID: Int64
    public var sequence: UInt64
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var proto: UInt8
    public var tcpFlags: UInt8
    public var isIP: Bool

    @inline(__always) public init(_ m: PacketMeta, flowID: Int64, sequence: UInt64) {
        timestamp = m.timestamp
        frame = m.frame
        fileOffset = m.fileOffset
        capturedLength = m.capturedLength
        wireLength = m.wireLength
        link = UInt64(m.interface) << 5 | (m.truncated ? 16 : 0) | (m.vlanTags > 0 ? 8 : 0) | UInt64(m.network.rawValue)
        isIP = m.network == .ipv4 || m.network == .ipv6
        src = m.outer.src
        dst = m.outer.dst
        srcPort = m.outer.srcPort
        dstPort = m.outer.dstPort
        proto = isIP ? m.outer.proto : 0
        tcpFlags = m.outer.tcpFlags
        self.flowID = flowID
        self.sequence = sequence
    }
}

/// One packet chunk encoded and compressed, waiting for its INSERT.
struct EncodedChunk {
    var captureID: Int64
    var firstSequence: UInt64
    var count: Int
    var tsMin: Int64
    var tsMax: Int64
    var columns: [[UInt8]]
}

/// Column encoding and compression off the decoder's path (the pipeline's last stage). The
/// decoder's thread fills batches of `PacketRow`s; whoever has time encodes the next batch into
/// the `ChunkBuilder` and compresses each full chunk: the reader thread while the decoder has all
/// the blocks it can hold (`helpOnce`, through `CaptureReader.idleWork`), the decoder itself when
/// every batch is in flight, or a thread of this stage's own (`ownThread`, for more cores than
/// the reader and the decoder keep busy). On two cores a third busy thread only takes time from
/// the two that set the pace. Batches are encoded one at a time and in order; the decoder's
/// thread inserts the finished chunks, so SQLite is only ever called from one thread. Chunks are
/// cut where the inline path cuts them: at `Store.chunkSize` packets and at every flush.
final class ChunkStage: @unchecked Sendable {
    static let batchSize = 4096
    static let batches = 4

    private let monitor = Monitor()
    private let rows: UnsafeMutablePointer<PacketRow>
    private var counts = [Int](repeating: 0, count: ChunkStage.batches)
    private var captures = [Int64](repeating: 0, count: ChunkStage.batches)
    private var flushes = [Bool](repeating: false, count: ChunkStage.batches)
    // Batches submitted and encoded; both only grow. `busy`: one is being encoded.
    private var submitted = 0
    private var completed = 0
    private var busy = false
    private var stopping = false
    private var done: [EncodedChunk] = []
    private var thread: StageThread?

    // The batch being filled (the decoder's thread only).
    private var fill: UnsafeMutablePointer<PacketRow>
    private var filled = 0
    private var fillCapture: Int64 = 0

    // The encoder's state: used by one thread at a time (under `busy`).
    private var builder = ChunkBuilder()
    private let deflater = Deflater(level: 1)
    /// Rows of the batch being encoded that are already in the builder.
    private var row = 0
    /// A full chunk's columns compressed so far, one per unit of work; nil while none is sealed.
    private var sealed: [[UInt8]]?

    init(ownThread: Bool) {
        rows = UnsafeMutablePointer<PacketRow>.allocate(capacity: ChunkStage.batchSize * ChunkStage.batches)
        fill = rows
        if ownThread { thread = StageThread(name: "aether-encode", { [unowned(unsafe) self] in self.work() }) }
    }

    deinit {
        stop()
        rows.deallocate()
    }

    func stop() {
        monitor.update { stopping = true }
        thread?.join()
        thread = nil
    }

    /// Adds one packet's row; the chunks finished meanwhile when a batch was handed over.
    @inline(__always) func append(_ row: PacketRow, captureID: Int64) -> [EncodedChunk]? {
        if filled == 0 { fillCapture = captureID }
        (fill + filled).initialize(to: row)
        filled += 1
        return filled == ChunkStage.batchSize ? submit(flush: false, wait: false) : nil
    }

    /// Ends the current chunk: everything given so far encoded; every chunk not yet inserted,
    /// in order.
    func flush() -> [EncodedChunk] { submit(flush: true, wait: true) }

    /// Hands the batch being filled over (then, while every batch is in flight, or with `wait`
    /// until all are encoded, encodes or waits); the chunks finished meanwhile.
    private func submit(flush: Bool, wait: Bool) -> [EncodedChunk] {
        monitor.lock()
        let slot = submitted % ChunkStage.batches
        counts[slot] = filled
        captures[slot] = fillCapture
        flushes[slot] = flush
        submitted += 1
        monitor.broadcast()
        while submitted - completed >= (wait ? 1 : ChunkStage.batches) {
            if !busy {
                monitor.unlock()
                _ = helpOnce()
                monitor.lock()
            } else {
                monitor.wait()
            }
        }
        let out = done
        done.removeAll(keepingCapacity: true)
        monitor.unlock()
        fill = rows + (submitted % ChunkStage.batches) * ChunkStage.batchSize
        filled = 0
        return out
    }

    /// Does one unit of the stage's work if there is some and nobody else is at it: the rest of
    /// the next batch's rows up to a chunk's end, or one column of a full chunk compressed.
    /// Units stay short (about a millisecond) because the reader thread takes them while it is
    /// ahead of the parser, and it must be back before the parser has used up its blocks; a whole
    /// chunk's compression at once left the parser waiting. Whether it did some. Any thread may
    /// call it.
    func helpOnce() -> Bool {
        monitor.lock()
        if busy || completed == submitted {
            monitor.unlock()
            return false
        }
        busy = true
        let slot = completed % ChunkStage.batches
        let n = counts[slot], capture = captures[slot], flush = flushes[slot]
        monitor.unlock()
        var finished: EncodedChunk?
        var batchDone = false
        if var columns = sealed {
            let col = builder.columns[columns.count].pointee
            let z = deflater.compress(col.base, col.count)
            columns.append(Array(z.bindMemory(to: UInt8.self)))
            if columns.count == builder.columns.count {
                finished = EncodedChunk(
                    captureID: capture, firstSequence: builder.firstSequence, count: builder.count, tsMin: builder.tsMin,
                    tsMax: builder.tsMax, columns: columns)
                builder.reset()
                sealed = nil
                batchDone = row == n
            } else {
                sealed = columns
            }
        } else {
            let batch = rows + slot * ChunkStage.batchSize
            while row < n && builder.count < Store.chunkSize {
                builder.append(batch[row])
                row += 1
            }
            if builder.count >= Store.chunkSize || (row == n && flush && builder.count > 0) {
                sealed = []
                sealed!.reserveCapacity(builder.columns.count)
            } else {
                batchDone = row == n
            }
        }
        if batchDone { row = 0 }
        monitor.lock()
        if let finished { done.append(finished) }
        if batchDone { completed += 1 }
        busy = false
        monitor.broadcast()
        monitor.unlock()
        return true
    }

    /// The stage's own thread: encodes whenever there is a batch.
    private func work() {
        while true {
            monitor.lock()
            while (busy || completed == submitted) && !stopping { monitor.wait() }
            let stop = stopping
            monitor.unlock()
            if stop { return }
            _ = helpOnce()
        }
    }
}
