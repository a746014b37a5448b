import AetherCapture
import AetherDecode
import AetherStore
import CZlib

/// Bounds on what file reassembly holds, per file and in all.
package struct FileLimits: Sendable {
    /// A file's content kept for `aether extract` at most (0, the default: none is kept); a
    /// larger one is hashed in a stream and marked as not extracted. Keeping is asked for
    /// (`--keep-files`): a capture of downloads would otherwise copy them all into the store.
    package var extractBytes = 0
    package static let keptFileBytes = 64 << 20
    /// Content kept at once by all files under way: beyond it, new bytes are not kept.
    package var keptBytes = 512 << 20
    /// Decoded bytes of one compressed body at most, and at most this many times its encoded
    /// size once past 16 MB: a decompression bomb stops there, marked, without hashes.
    package var decodedBytes: Int64 = 1 << 30
    package var decodedRatio: Int64 = 200
    /// Which digests each whole file gets (`--file-hashes`).
    package var hashes = FileHashes.all
    package init() {}
}

/// The digests of files that cross the wire. Three digests over clear bodies cost more CPU than
/// the rest of the decoder (1.9 CPU-s for the 797 MB of bodies in the 2 M-packet bench file, MD5
/// alone about 1), so a bulk ingest may keep only SHA-256, or none: files are still logged with
/// their names, sizes and types.
package enum FileHashes: String, CaseIterable, Sendable {
    /// MD5, SHA-1 and SHA-256, as Zeek's files.log has them and intel lists them.
    case all
    case sha256
    case none

    var md5: Bool { self == .all }
    var sha1: Bool { self == .all }
    var sha256: Bool { self != .none }
}

/// One file crossing the wire: its bytes hashed as they come (`FileDigest`), its first
/// bytes kept for its type by content, and its content kept for extraction up to the limit.
/// Content-coded bodies (gzip, deflate) are decoded first, as the receiver would see them.
final class FileTransfer {
    /// What is known when the file begins (time, connection, protocol, direction, name, declared
    /// length); `row(whole:)` fills in the rest.
    private var known: FileRow
    private(set) var size: Int64 = 0
    private var encoded: Int64 = 0
    private var head: [UInt8] = []
    private var content: [UInt8] = []
    private var keeping: Bool
    private let digest: FileDigest
    /// On the heap: zlib's state points back at its stream, which must not move.
    private var inflater: UnsafeMutablePointer<z_stream>?
    /// Why the file is not whole (missing bytes, a bound reached), nil when it is.
    private(set) var problem: String?
    private(set) var missingBytes: Int64 = 0
    private let limits: FileLimits
    private unowned let budget: FileBudget

    init(_ known: FileRow, coding: String, limits: FileLimits, budget: FileBudget, digests: DigestQueue?) {
        self.known = known
        self.limits = limits
        self.budget = budget
        keeping = limits.extractBytes > 0
        digest = FileDigest(queue: digests, hashes: limits.hashes)
        if coding == "gzip" || coding == "x-gzip" || coding == "deflate" {
            let zs = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            zs.initialize(to: z_stream())
            if aether_inflate_init_gzip(zs) == Z_OK {
                inflater = zs
            } else {
                zs.deallocate()
                problem = "its content coding could not be decoded"
            }
        }
        // Other codings (brotli…) are kept and hashed as sent.
    }

    deinit {
        if let zs = inflater {
            inflateEnd(zs)
            zs.deallocate()
        }
        budget.release(content.count)
    }

    /// Body bytes as sent (content-coded, if it is).
    func add(_ bytes: UnsafeRawBufferPointer) {
        guard problem == nil || missingBytes > 0, !bytes.isEmpty else { return }
        encoded += Int64(bytes.count)
        guard let zs = inflater else {
            take(bytes)
            return
        }
        var out = [UInt8](repeating: 0, count: 64 * 1024)
        let base = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        zs.pointee.next_in = base
        zs.pointee.avail_in = UInt32(bytes.count)
        while zs.pointee.avail_in > 0 {
            let (rc, produced): (Int32, Int) = out.withUnsafeMutableBytes { o in
                zs.pointee.next_out = o.baseAddress!.assumingMemoryBound(to: UInt8.self)
                zs.pointee.avail_out = UInt32(o.count)
                let rc = inflate(zs, Z_NO_FLUSH)
                return (rc, o.count - Int(zs.pointee.avail_out))
            }
            if produced > 0 { out.withUnsafeBytes { take(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if size > limits.decodedBytes || (size > 16 << 20 && size > encoded * limits.decodedRatio) {
                stop("decompressed size over the bound (\(size) bytes from \(encoded)): a decompression bomb")
                return
            }
            if rc == Z_STREAM_END { break }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                stop("its gzip/deflate coding is corrupt")
                return
            }
            if rc == Z_BUF_ERROR && produced == 0 { break }
        }
        zs.pointee.next_in = nil
    }

    private func take(_ b: UnsafeRawBufferPointer) {
        size += Int64(b.count)
        if head.count < FileMagic.prefix { head.append(contentsOf: b.prefix(FileMagic.prefix - head.count)) }
        digest.update(b)
        guard keeping else { return }
        if content.count + b.count > limits.extractBytes || !budget.reserve(b.count) {
            keeping = false
            budget.release(content.count)
            content = []
            return
        }
        content.append(contentsOf: b)
    }

    /// Stops reading the file: what is known of it stays, its hashes do not.
    private func stop(_ why: String) {
        problem = why
        digest.abandon()
        keeping = false
        budget.release(content.count)
        content = []
    }

    /// Bytes of the body the capture lacks (a gap in the TCP stream): its hashes would be wrong.
    func lose(_ bytes: Int64, why: String) {
        missingBytes += bytes
        if problem == nil { problem = why }
        digest.abandon()
        keeping = false
        budget.release(content.count)
        content = []
    }

    /// The file's row, without its hashes, and the digest that gives them when the file is whole.
    /// `whole` is false when its message ended early (the connection closed first, or the
    /// capture did).
    func row(whole: Bool) -> (FileRow, FileDigest?) {
        var why = problem
        if why == nil && !whole { why = "the transfer ended before the file was complete" }
        if why == nil, let d = known.totalBytes, inflater == nil, d != size { why = "\(size) of \(d) bytes seen" }
        if why != nil { digest.abandon() } else { digest.close() }
        var r = known
        r.mimeType = FileMagic.mimeType(head)
        r.size = size
        r.missingBytes = missingBytes
        r.problem = why
        r.content = why == nil && keeping ? content : nil
        return (r, why == nil ? digest : nil)
    }
}

/// The content kept by all files under way, against `FileLimits.keptBytes`.
final class FileBudget {
    private(set) var used = 0
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func reserve(_ n: Int) -> Bool {
        guard used + n <= limit else { return false }
        used += n
        return true
    }
    func release(_ n: Int) { used -= n }
}
