import CCrypto
import CZlib
import Dispatch
#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256 of a file as stored, computed on another core from its own file descriptor so the
/// parser's core never pays for it (it was a third of ingest time inline).
final class FileHasher: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var digest = ""

    init(path: String, background: Bool = true) {
        if background {
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                digest = Self.hash(path)
                done.signal()
            }
        } else {
            digest = Self.hash(path)
            done.signal()
        }
    }

    /// Waits for the digest; callable more than once.
    func result() -> String {
        done.wait()
        done.signal()
        return digest
    }

    static func hash(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return "" }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        let ctx = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        let size = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let r = read(fd, buf, size)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            EVP_DigestUpdate(ctx, buf, r)
        }
        var md = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &md, &len)
        return md.map {
            let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s
        }.joined()
    }
}

/// Sequential bytes of one file, gunzipped on the fly when it is gzip, with the
/// SHA-256 of the file as stored computed on the way. Callers ask for `n` contiguous
/// bytes and get a pointer into one reusable buffer: no copy per record beyond the
/// occasional compaction, and never the whole file in memory or on disk.
final class ByteInput {
    let path: String
    private let fd: Int32
    let isGzip: Bool
    private(set) var fileSize: UInt64 = 0

    private var buf: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    /// Stream offset of `buf[start]`.
    private(set) var offset: UInt64 = 0
    private var rawEOF = false
    private var streamEnded = false

    // gzip state
    private var zs = z_stream()
    private var zin: UnsafeMutablePointer<UInt8>?
    private let zinCapacity = 1 << 20
    private var zinAvail = 0
    private var zinitialized = false

    private var hasher: FileHasher?

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
        if hash { hasher = FileHasher(path: path) }

        // Sniff gzip from the first two bytes of the file itself.
        var magic: (UInt8, UInt8) = (0, 0)
        let fileDescriptor = fd
        let n = withUnsafeMutableBytes(of: &magic) { pread(fileDescriptor, $0.baseAddress, 2, 0) }
        isGzip = n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
        if isGzip {
            zin = UnsafeMutablePointer<UInt8>.allocate(capacity: zinCapacity)
            guard aether_inflate_init_gzip(&zs) == Z_OK else {
                throw CaptureError(.unreadable, path: path, "zlib init failed")
            }
            zinitialized = true
        }
    }

    deinit {
        buf.deallocate()
        zin?.deallocate()
        if zinitialized { inflateEnd(&zs) }
        close(fd)
    }

    @inline(__always) var available: Int { end - start }
    @inline(__always) var pointer: UnsafeRawPointer { UnsafeRawPointer(buf + start) }

    @inline(__always) func advance(_ n: Int) {
        start += n
        offset += UInt64(n)
    }

    /// Makes `n` bytes available at `pointer`; false if the stream ends first.
    @inline(__always) func ensure(_ n: Int) throws -> Bool {
        if end - start >= n { return true }
        return try fill(n)
    }

    private func fill(_ n: Int) throws -> Bool {
        if n > capacity {
            guard n <= ByteInput.maxBuffer else { return false }
            var newCap = capacity
            while newCap < n { newCap *= 2 }
            let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
            nb.copyMemory(from: buf + start, byteCount: end - start)
            buf.deallocate()
            buf = nb
            capacity = newCap
            end -= start
            start = 0
        } else if start > 0 {
            let live = end - start
            if live > 0 { (buf).copyMemory(from: buf + start, byteCount: live) }
            start = 0
            end = live
        }
        while end - start < n {
            let got = isGzip ? try inflateMore() : readRaw(into: buf + end, max: capacity - end)
            if got == 0 { return false }
            end += got
        }
        return true
    }

    private func readRaw(into p: UnsafeMutableRawPointer, max: Int) -> Int {
        if rawEOF || max == 0 { return 0 }
        while true {
            let r = read(fd, p, max)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { rawEOF = true; return 0 }
            return r
        }
    }

    private func inflateMore() throws -> Int {
        guard let zin else { return 0 }
        while true {
            if streamEnded { return 0 }
            if zs.avail_in == 0 {
                let r = readRaw(into: UnsafeMutableRawPointer(zin), max: zinCapacity)
                if r == 0 {
                    throw CaptureError(
                        .truncated, path: path, offset: offset + UInt64(end - start),
                        "gzip stream cut short")
                }
                zs.next_in = zin
                zs.avail_in = UInt32(r)
            }
            let room = capacity - end
            zs.next_out = (buf + end).assumingMemoryBound(to: UInt8.self)
            zs.avail_out = UInt32(room)
            let rc = inflate(&zs, Z_NO_FLUSH)
            let produced = room - Int(zs.avail_out)
            if rc == Z_STREAM_END {
                // Concatenated gzip members are one stream (as gunzip treats them).
                if zs.avail_in == 0 {
                    let r = readRaw(into: UnsafeMutableRawPointer(zin), max: zinCapacity)
                    zs.next_in = zin
                    zs.avail_in = UInt32(r)
                }
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

    /// The SHA-256 of the whole file as stored.
    func finishHash() -> String { hasher?.result() ?? "" }
}

/// SHA-256 of a file without parsing it (for the "already ingested" check).
public func sha256OfFile(_ path: String) throws -> String {
    _ = try ByteInput(path: path, hash: false)  // same existence and permission errors as reading
    return FileHasher.hash(path)
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
    return md.map {
        let h = String($0, radix: 16); return h.count == 1 ? "0" + h : h
    }.joined()
}
