import AetherCapture
import AetherCore
import CCrypto

/// One file's MD5, SHA-1 and SHA-256, computed in a stream. Without a queue the decoder hashes
/// each piece as it comes. With one (`DigestQueue`), pieces are gathered into units of 256 KB
/// that another thread hashes (`DigestQueue`): three digests
/// over a capture's clear bodies cost more than the rest of the decoder's work (797 MB of bodies
/// in the 2 M-packet bench file, 1.9 CPU-s).
final class FileDigest {
    /// MD5, SHA-1, SHA-256: touched by one thread at a time (the queue hashes one unit at a time,
    /// in order), and by the decoder only once none of this file's units is left.
    fileprivate let contexts: [OpaquePointer?]
    /// Units queued and not yet hashed (under the queue's lock).
    fileprivate var outstanding = 0
    /// No hashes are wanted any more (the file is not whole): queued units are dropped unhashed.
    fileprivate var abandoned = false
    private var gathered: [UInt8] = []
    private let queue: DigestQueue?

    /// Which of MD5, SHA-1, SHA-256 are computed (nil contexts are not).
    private let wanted: FileHashes

    init(queue: DigestQueue?, hashes: FileHashes = .all) {
        wanted = hashes
        // Nothing to hash: no bytes are gathered or queued at all.
        self.queue = hashes == .none ? nil : queue
        contexts = [(hashes.md5, EVP_md5()), (hashes.sha1, EVP_sha1()), (hashes.sha256, EVP_sha256())].map { want, md in
            guard want else { return nil }
            let ctx = EVP_MD_CTX_new()
            EVP_DigestInit_ex(ctx, md, nil)
            return ctx
        }
    }

    deinit { for c in contexts { EVP_MD_CTX_free(c) } }

    fileprivate func hash(_ b: UnsafeRawBufferPointer) {
        for c in contexts where c != nil { EVP_DigestUpdate(c, b.baseAddress, b.count) }
    }

    func update(_ b: UnsafeRawBufferPointer) {
        if wanted == .none { return }
        guard let queue else { return hash(b) }
        var rest = b
        while !rest.isEmpty {
            let n = min(rest.count, DigestQueue.unitBytes - gathered.count)
            gathered.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            queue.gathered += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            // A unit is full, or the files under way gather too much between them (thousands of
            // slow transfers at once): handed over as it is.
            if gathered.count == DigestQueue.unitBytes || queue.gathered > DigestQueue.maxGathered { handOver(queue) }
        }
    }

    private func handOver(_ queue: DigestQueue) {
        let unit = gathered
        queue.gathered -= unit.count
        gathered = []
        queue.add(self, unit)
    }

    /// The file's last bytes are in: they go to be hashed now, not when its hashes are asked for.
    func close() {
        if let queue, !gathered.isEmpty { handOver(queue) }
    }

    /// Hashes are no longer wanted: nothing more is hashed for this file.
    func abandon() {
        queue?.gathered -= gathered.count
        gathered = []
        queue?.abandon(self)
    }

    /// The three hashes in hex, once every byte given is hashed (the decoder does what no other
    /// thread has done yet).
    func finish() -> (md5: String, sha1: String, sha256: String) {
        if let queue {
            if !gathered.isEmpty { handOver(queue) }
            queue.settle(self)
        }
        var hex: [String] = []
        for c in contexts {
            guard c != nil else {
                hex.append("")
                continue
            }
            var md = [UInt8](repeating: 0, count: 64)
            var len: UInt32 = 0
            EVP_DigestFinal_ex(c, &md, &len)
            hex.append(hexString(Array(md.prefix(Int(len)))))
        }
        return (hex[0], hex[1], hex[2])
    }
}

/// Units of file bytes waiting to be hashed, in the order given, hashed one at a time by any
/// thread: its own (`aether-hash`, started with the first unit), a helper with nothing else to do
/// (`helpOnce`, the pipeline's idle work), or the decoder when 16 units wait (the memory held
/// stays bounded: 4 MB queued, and 4 MB gathered by all files under way) or when it needs a
/// file's hashes.
final class DigestQueue: @unchecked Sendable {
    static let unitBytes = 256 << 10
    static let maxQueued = 16
    /// Bytes gathered by all files not yet handed over (the decoder's alone: no lock).
    static let maxGathered = 4 << 20
    fileprivate var gathered = 0

    private let monitor = Monitor()
    private var units: [(digest: FileDigest, bytes: [UInt8])] = []
    private var head = 0
    /// A unit is being hashed (by any thread): the next waits, so each file's are in order.
    private var busy = false

    private var thread: StageThread?
    private var stopping = false

    fileprivate func add(_ digest: FileDigest, _ bytes: [UInt8]) {
        if thread == nil { thread = StageThread(name: "aether-hash") { [self] in work() } }
        monitor.lock()
        digest.outstanding += 1
        units.append((digest, bytes))
        monitor.broadcast()
        while units.count - head > Self.maxQueued { hashNext() }
        monitor.unlock()
    }

    fileprivate func abandon(_ digest: FileDigest) { monitor.withLock { digest.abandoned = true } }

    /// Returns once none of `digest`'s units is left.
    fileprivate func settle(_ digest: FileDigest) {
        monitor.lock()
        while digest.outstanding > 0 { hashNext() }
        monitor.unlock()
    }

    /// The hashing thread: units as they come, until `stop`.
    private func work() {
        monitor.lock()
        while true {
            while (busy || head == units.count) && !stopping { monitor.wait() }
            if head == units.count { break }
            hashNext()
        }
        monitor.unlock()
    }

    /// Ends the hashing thread once the queue is empty (a later unit starts another).
    func stop() {
        guard let t = thread else { return }
        monitor.update { stopping = true }
        t.join()
        thread = nil
        stopping = false
    }

    /// One unit hashed, if one waits and none is being hashed. For the pipeline's idle work.
    func helpOnce() -> Bool {
        monitor.lock()
        defer { monitor.unlock() }
        guard !busy && head < units.count else { return false }
        hashNext()
        return true
    }

    /// With the lock held: hashes the next unit (the lock free meanwhile), or waits for the one
    /// being hashed.
    private func hashNext() {
        guard !busy, head < units.count else { return monitor.wait() }
        let unit = units[head]
        units[head].bytes = []
        head += 1
        if head == units.count {
            units.removeAll(keepingCapacity: true)
            head = 0
        }
        busy = true
        let skip = unit.digest.abandoned
        monitor.unlock()
        if !skip { unit.bytes.withUnsafeBytes { unit.digest.hash($0) } }
        monitor.lock()
        busy = false
        unit.digest.outstanding -= 1
        monitor.broadcast()
    }
}
