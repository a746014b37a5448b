import CCrypto
import CZlib
#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256 of a file read on its own (the "already ingested" check before an ingest).
enum FileHasher {
    static func hash(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return "" }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        let feed = BlockFeed(fd: fd, hashing: true, threaded: false)
        return feed.finish()
    }
}

/// Sequential bytes of one file, gunzipped on the fly when it is gzip. Callers ask for `n`
/// contiguous bytes and get a pointer valid until the next `ensure`. The file is read once, in
/// large blocks, by a `BlockFeed` that computes its SHA-256 on the way (on another core when
/// hashing). A plain file is parsed in place in the feed's blocks: only the unread end of a
/// block is copied, in front of the next; a record longer than that, and gzip's output, go
/// through one reusable buffer. Never the whole file in memory or on disk.
final class ByteInput {
    let path: String
    private let fd: Int32
    let isGzip: Bool
    private(set) var fileSize: UInt64 = 0
    private let feed: BlockFeed

    /// The bytes being parsed: `base[start..<end]`, in a feed block or in `buf`.
    private var base: UnsafeRawPointer
    private var start = 0
    private var end = 0
    /// A feed block is held (taken, not yet given back).
    private var holding = false
    /// Stream offset of `base[start]`.
    private(set) var offset: UInt64 = 0
    private var streamEnded = false

    /// The reusable buffer: gzip's output, and records longer than a block's headroom allows.
    private var buf: UnsafeMutableRawPointer
    private var capacity: Int

    // gzip state: input straight from the feed's blocks
    private var zs = z_stream()
    private var zinitialized = false
    private var zholding = false

    static let maxBuffer = 64 << 20

    init(path: String, hash: Bool = true) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) != 0 {
            throw CaptureError(.notFound, path: path, "no such file")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw CaptureError(.unreadable, path: path, "is a directory")
        }
        fd = open(path, O_RDONLY)
        if fd < 0 {
            let e = errno
            throw CaptureError(
                e == ENOENT ? .notFound : .unreadable, path: path,
                "cannot open: \(String(cString: strerror(e)))")
        }
        fileSize = UInt64(st.st_size)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        capacity = 4 << 20
        buf = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        base = UnsafeRawPointer(buf)

        // Sniff gzip from the first two bytes of the file itself.
        var magic: (UInt8, UInt8) = (0, 0)
        let fileDescriptor = fd
        let n = withUnsafeMutableBytes(of: &magic) { pread(fileDescriptor, $0.baseAddress, 2, 0) }
        isGzip = n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
        // Only a digest is worth a thread: a quick look at the first packet reads inline.
        feed = BlockFeed(fd: fd, hashing: hash, threaded: hash)
        if isGzip {
            guard aether_inflate_init_gzip(&zs) == Z_OK else {
                feed.stop()
                throw CaptureError(.unreadable, path: path, "zlib init failed")
            }
            zinitialized = true
        }
    }

    deinit {
        feed.stop()
        buf.deallocate()
        if zinitialized { inflateEnd(&zs) }
        close(fd)
    }

    @inline(__always) var available: Int { end - start }
    @inline(__always) var pointer: UnsafeRawPointer { base + start }

    @inline(__always) func advance(_ n: Int) {
        start += n
        offset += UInt64(n)
    }

    /// Makes `n` bytes available at `pointer`; false if the stream ends first.
    @inline(__always) func ensure(_ n: Int) throws -> Bool {
        if end - start >= n { return true }
        return isGzip ? try fillInflated(n) : try fillPlain(n)
    }

    private func take() throws -> (UnsafeMutableRawPointer, Int)? {
        do { return try feed.take() } catch let e as BlockFeed.ReadFailure {
            throw CaptureError(.unreadable, path: path, offset: offset + UInt64(end - start), "read failed: \(String(cString: strerror(e.errno)))")
        }
    }

    /// A plain file: the next block, with what is left of the current one copied in front of it;
    /// through `buf` only when that does not fit the headroom or one block is not enough.
    private func fillPlain(_ n: Int) throws -> Bool {
        guard n <= ByteInput.maxBuffer else { return false }
        while end - start < n {
            guard let (data, count) = try take() else { return false }
            let live = end - start
            let inBuf = base == UnsafeRawPointer(buf)
            if live <= BlockFeed.headroom && live + count >= n {
                (data - live).copyMemory(from: base + start, byteCount: live)
                if holding { feed.release() }
                base = UnsafeRawPointer(data - live)
                start = 0
                end = live + count
                holding = true
                return true
            }
            // Gather in buf: what is live, then the whole block.
            reserve(live + count, keeping: inBuf)
            if !inBuf { buf.copyMemory(from: base + start, byteCount: live) }
            (buf + live).copyMemory(from: data, byteCount: count)
            if holding { feed.release() }
            feed.release()
            holding = false
            base = UnsafeRawPointer(buf)
            start = 0
            end = live + count
        }
        return true
    }

    /// Room for `n` bytes at the front of `buf`; `keeping`: the live bytes are in `buf` and move
    /// to its front.
    private func reserve(_ n: Int, keeping: Bool) {
        let live = end - start
        if n > capacity {
            var newCap = capacity
            while newCap < n { newCap *= 2 }
            let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
            if keeping { nb.copyMemory(from: buf + start, byteCount: live) }
            buf.deallocate()
            buf = nb
            capacity = newCap
        } else if keeping && start > 0 && live > 0 {
            buf.copyMemory(from: buf + start, byteCount: live)
        }
        if keeping {
            base = UnsafeRawPointer(buf)
            end = live
            start = 0
        }
    }

    private func fillInflated(_ n: Int) throws -> Bool {
        guard n <= ByteInput.maxBuffer else { return false }
        reserve(max(n, capacity), keeping: true)
        while end - start < n {
            let got = try inflateMore()
            if got == 0 { return false }
            end += got
        }
        return true
    }

    /// Feeds zlib the next block when it has used the last one; false at the end of the file.
    private func refillCompressed() throws -> Bool {
        if zholding {
            feed.release()
            zholding = false
        }
        guard let (data, count) = try take() else { return false }
        zs.next_in = data.assumingMemoryBound(to: UInt8.self)
        zs.avail_in = UInt32(count)
        zholding = true
        return true
    }

    private func inflateMore() throws -> Int {
        while true {
            if streamEnded { return 0 }
            if zs.avail_in == 0 {
                guard try refillCompressed() else {
                    throw CaptureError(
                        .truncated, path: path, offset: offset + UInt64(end - start),
                        "gzip stream cut short")
                }
            }
            let room = capacity - end
            zs.next_out = (buf + end).assumingMemoryBound(to: UInt8.self)
            zs.avail_out = UInt32(room)
            let rc = inflate(&zs, Z_NO_FLUSH)
            let produced = room - Int(zs.avail_out)
            if rc == Z_STREAM_END {
                // Concatenated gzip members are one stream (as gunzip treats them).
                if zs.avail_in == 0 { _ = try refillCompressed() }
                if zs.avail_in >= 2 && zs.next_in[0] == 0x1F && zs.next_in[1] == 0x8B {
                    inflateReset(&zs)
                } else {
                    streamEnded = true
                }
                if produced > 0 { return produced }
                continue
            }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                throw CaptureError(
                    .corrupt, path: path, offset: offset + UInt64(end - start + produced),
                    "gzip data corrupt (zlib error \(rc))")
            }
            if produced > 0 { return produced }
        }
    }

    /// What the reader thread does while it is ahead of the parser (`BlockFeed`).
    func setIdleWork(_ work: (() -> Bool)?) { feed.setIdleWork(work) }

    /// The SHA-256 of the whole file as stored (read to its end if parsing stopped early).
    func finishHash() -> String { feed.finish() }
}

/// SHA-256 of a file without parsing it (for the "already ingested" check).
public func sha256OfFile(_ path: String) throws -> String {
    _ = try ByteInput(path: path, hash: false)  // same existence and permission errors as reading
    return FileHasher.hash(path)
}

/// SHA-1 of bytes as lower-case hex (a certificate's hash, as Zeek's intel names it).
public func sha1Hex(_ bytes: [UInt8]) -> String { digestHex(bytes, EVP_sha1()) }

/// SHA-256 of bytes as lower-case hex (a file's, checked again before it is written out).
public func sha256Hex(bytes: [UInt8]) -> String { digestHex(bytes, EVP_sha256()) }

/// MD5 of a string as lower-case hex (JA3, which is defined as an MD5).
public func md5Hex(_ s: String) -> String { digestHex(Array(s.utf8), EVP_md5()) }

private func digestHex(_ bytes: [UInt8], _ kind: OpaquePointer?) -> String {
    var md = [UInt8](repeating: 0, count: 64)
    var len: UInt32 = 0
    let ctx = EVP_MD_CTX_new()
    EVP_DigestInit_ex(ctx, kind, nil)
    EVP_DigestUpdate(ctx, bytes, bytes.count)
    EVP_DigestFinal_ex(ctx, &md, &len)
    EVP_MD_CTX_free(ctx)
    return hexString(Array(md.prefix(Int(len))))
}

/// SHA-256 of a string as lower-case hex (JA4's hashed parts).
public func sha256Hex(_ s: String) -> String {
    var md = [UInt8](repeating: 0, count: 32)
    var len: UInt32 = 0
    let bytes = Array(s.utf8)
    let ctx = EVP_MD_CTX_new()
    EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    EVP_DigestUpdate(ctx, bytes, bytes.count)
    EVP_DigestFinal_ex(ctx, &md, &len)
    EVP_MD_CTX_free(ctx)
    return hexString(md)
}
