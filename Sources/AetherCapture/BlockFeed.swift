import AetherCore
import CCrypto
#if canImport(Glibc)
    import Glibc
#endif

/// The one read of a capture file: large blocks read in order, each hashed (SHA-256 of the file
/// as stored) on the way and handed to the parser without a copy. Threaded, a reader thread stays
/// up to `slots` blocks ahead so that the digest, the one sequential step of an ingest, runs on its
/// own core; inline, the caller's thread reads a block when it needs one.
///
/// Blocks are taken and given back in order. Each has `headroom` bytes in front of its data, where
/// the parser copies the unread end of the previous block so that a record crossing the boundary
/// is contiguous without copying the block itself.
final class BlockFeed: @unchecked Sendable {
    static let blockSize = 1 << 20
    static let headroom = 256 << 10
    /// 8 MB ahead. The decoder's thread used to work in bursts (a checkpoint's inserts every
    /// 65,536 packets), and with 4 slots the digest stalled behind each one (1.37 s with 4 slots,
    /// 1.26 s with 12 on the 2 M-packet bench file). Its bulk writes are now queued for whichever
    /// thread would wait, and 6, 8 or 12 slots give the same time there (1.12–1.13 s, 4
    /// interleaved rounds); 8 keeps a margin for the 8 M-packet file (4.42 s with 12, 4.48 s
    /// with 8) at peak RSS 61 MB (bound 64; 65 with 12).
    static let slots = 8

    private let fd: Int32
    private let hashing: Bool
    private let memory: UnsafeMutableRawPointer
    private var counts = [Int](repeating: 0, count: BlockFeed.slots)
    // Blocks filled, taken by the parser, and given back; all only grow.
    private var filled = 0
    private var taken = 0
    private var released = 0
    private var atEnd = false
    private var readError: Int32 = 0
    /// The parser is done: the reader hashes what is left of the file without queueing it.
    private var closed = false
    /// Nobody wants the digest either: the reader stops.
    private var abandoned = false
    private var digest = ""
    private var digestDone = false
    private let monitor = Monitor()
    private var thread: StageThread?
    /// Work the reader thread does while the parser has every block it can hold, and the parser
    /// while it waits for the reader; true when it did some (read and set under the lock).
    private var idleWork: (() -> Bool)?
    /// Bumped with every broadcast (under the lock): a side that did idle work with the lock free
    /// sees whether the other moved meanwhile, whose broadcast then reached no waiter.
    private var changes = 0
    private let ctx: OpaquePointer?

    init(fd: Int32, hashing: Bool, threaded: Bool) {
        self.fd = fd
        self.hashing = hashing
        memory = UnsafeMutableRawPointer.allocate(
            byteCount: BlockFeed.slots * (BlockFeed.headroom + BlockFeed.blockSize), alignment: 64)
        ctx = hashing ? EVP_MD_CTX_new() : nil
        if let ctx { EVP_DigestInit_ex(ctx, EVP_sha256(), nil) }
        if threaded {
            // The thread holds the feed until it ends; `stop` or `finish` joins it.
            thread = StageThread(name: "aether-read") { [self] in produce() }
        }
    }

    /// No reader thread (none asked for, or the system refused one): the parser's thread reads.
    private var inline: Bool { thread == nil }

    deinit {
        memory.deallocate()
        if let ctx { EVP_MD_CTX_free(ctx) }
    }

    func setIdleWork(_ work: (() -> Bool)?) { monitor.withLock { idleWork = work } }

    /// With the lock held: one unit of the idle work if there is some, else a wait for the other
    /// side. The caller checks its condition again either way.
    private func workOrWait() {
        if let work = idleWork {
            let seen = changes
            monitor.unlock()
            let did = work()
            monitor.lock()
            // Waiting after the other side's broadcast went unheard would wait for ever: both
            // sides did, once, with the reader 8 blocks ahead and the parser waiting for a block.
            if did || changes != seen { return }
        }
        monitor.wait()
    }

    /// Wakes the other side (with the lock held).
    private func signal() {
        changes &+= 1
        monitor.broadcast()
    }

    /// Stops the reader thread (the parser and the digest are both done with the file).
    func stop() {
        guard let t = thread else { return }
        monitor.lock()
        abandoned = true
        closed = true
        signal()
        monitor.unlock()
        t.join()
    }

    @inline(__always) private func slotData(_ i: Int) -> UnsafeMutableRawPointer {
        memory + (i % BlockFeed.slots) * (BlockFeed.headroom + BlockFeed.blockSize) + BlockFeed.headroom
    }

    /// Reads one block into slot `i`; the byte count, 0 at the end, -errno on a failure.
    private func readBlock(_ i: Int) -> Int {
        let p = slotData(i)
        var got = 0
        while got < BlockFeed.blockSize {
            let r = read(fd, p + got, BlockFeed.blockSize - got)
            if r < 0 {
                if errno == EINTR { continue }
                return got > 0 ? got : -Int(errno)
            }
            if r == 0 { break }
            got += r
        }
        if got > 0, let ctx { EVP_DigestUpdate(ctx, p, got) }
        return got
    }

    private func finishDigest() {
        guard let ctx else { return }
        var md = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &md, &len)
        digest = hexString(md)
    }

    /// The reader thread: fills free slots in order until the end of the file, then finishes
    /// the digest. After `close` it keeps hashing into one slot without handing blocks over.
    private func produce() {
        while true {
            monitor.lock()
            // Ahead of the parser: the time goes to another stage's work, if it has some.
            while filled - released >= BlockFeed.slots && !closed { workOrWait() }
            if abandoned {
                monitor.unlock()
                return
            }
            let discard = closed
            let slot = discard ? released : filled
            monitor.unlock()
            let n = readBlock(slot)
            monitor.lock()
            if n <= 0 {
                if n < 0 { readError = Int32(-n) }
                atEnd = true
                monitor.unlock()
                break
            }
            if !closed && !discard {
                counts[slot % BlockFeed.slots] = n
                filled += 1
            }
            signal()
            monitor.unlock()
        }
        finishDigest()
        monitor.lock()
        digestDone = true
        signal()
        monitor.unlock()
    }

    /// The next block in file order (its data and byte count), or nil at the end of the file.
    /// The block stays valid until it is given back with `release`.
    func take() throws -> (UnsafeMutableRawPointer, Int)? {
        if inline {
            if atEnd { return nil }
            let n = readBlock(taken)
            if n <= 0 {
                atEnd = true
                if n < 0 { throw ReadFailure(errno: Int32(-n)) }
                return nil
            }
            taken += 1
            return (slotData(taken - 1), n)
        }
        monitor.lock()
        // The reader is behind (packets the parser reads faster than they are hashed): the
        // parser does the last stage's work meanwhile, so the reader has none of it to do.
        while filled == taken && !atEnd { workOrWait() }
        if filled == taken {
            let e = readError
            monitor.unlock()
            if e != 0 { throw ReadFailure(errno: e) }
            return nil
        }
        let i = taken
        taken += 1
        let n = counts[i % BlockFeed.slots]
        monitor.unlock()
        return (slotData(i), n)
    }

    /// Gives the oldest taken block back to the reader.
    func release() {
        if inline {
            released += 1
            return
        }
        monitor.lock()
        released += 1
        signal()
        monitor.unlock()
    }

    /// The parser will take no more blocks; the digest of the whole file follows (waits for the
    /// reader to reach the end of the file).
    func finish() -> String {
        guard hashing else { return "" }
        if inline {
            if !digestDone {
                // Hash what the parser did not read.
                while !atEnd && readBlock(taken) > 0 {}
                atEnd = true
                finishDigest()
                digestDone = true
            }
            return digest
        }
        monitor.lock()
        closed = true
        signal()
        while !digestDone { monitor.wait() }
        let d = digest
        monitor.unlock()
        thread?.join()
        return d
    }

    struct ReadFailure: Error {
        var errno: Int32
    }
}

public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
