import CZlib

/// A growable byte buffer that is reused chunk after chunk: after the first chunk it
/// never allocates. Varint writers for the column encodings. A value on purpose: a class here
/// cost a retain and a release on every write, 14 % of ingest (4bdd452). Its memory belongs
/// to the `ColumnSet` that holds it, which frees it.
public struct ColumnBuffer {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    public mutating func clear() { count = 0 }

    @inline(__always) mutating func reserve(_ n: Int) {
        if count + n <= capacity { return }
        var c = capacity * 2
        while c < count + n { c *= 2 }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = c
    }

    @inline(__always) public mutating func byte(_ v: UInt8) {
        reserve(1)
        base[count] = v
        count += 1
    }

    @inline(__always) public mutating func varint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            base[count] = UInt8(truncatingIfNeeded: v) | 0x80
            count += 1
            v >>= 7
        }
        base[count] = UInt8(v)
        count += 1
    }

    @inline(__always) public mutating func zigzag(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    public mutating func bytes(_ p: UnsafeRawPointer, _ n: Int) {
        reserve(n)
        (UnsafeMutableRawPointer(base) + count).copyMemory(from: p, byteCount: n)
        count += n
    }
}

/// A fixed number of `ColumnBuffer`s in one block of memory: it owns their bytes and frees
/// them in `deinit`, so no copy of a buffer can outlive or double-free them. Writers reach a
/// buffer through `subscript` (a pointer: no reference counting per write).
public final class ColumnSet {
    public let count: Int
    private let buffers: UnsafeMutablePointer<ColumnBuffer>

    public init(count: Int) {
        self.count = count
        buffers = UnsafeMutablePointer<ColumnBuffer>.allocate(capacity: count)
        for i in 0..<count { (buffers + i).initialize(to: ColumnBuffer()) }
    }

    deinit {
        for i in 0..<count { buffers[i].base.deallocate() }
        buffers.deinitialize(count: count)
        buffers.deallocate()
    }

    @inline(__always) public subscript(_ i: Int) -> UnsafeMutablePointer<ColumnBuffer> { buffers + i }

    public func clear() { for i in 0..<count { buffers[i].clear() } }

    /// Each column's bytes, for tests and readers.
    public var arrays: [[UInt8]] { (0..<count).map { Array(UnsafeBufferPointer(start: buffers[$0].base, count: buffers[$0].count)) } }
}

/// Reads what ColumnBuffer wrote.
public struct ColumnReader {
    let bytes: [UInt8]
    public private(set) var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var atEnd: Bool { position >= bytes.count }

    public mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw StoreError("column ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try byte()
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
            if shift > 63 { throw StoreError("varint too long") }
        }
    }

    public mutating func zigzag() throws -> Int64 {
        let u = try varint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    public mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard position + n <= bytes.count else { throw StoreError("column ends early") }
        defer { position += n }
        return bytes[position..<position + n]
    }
}

/// zlib in both directions with a reusable output buffer (owned, freed in `deinit`).
public final class Deflater {
    private var out: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    public let level: Int32

    public init(level: Int32 = 6) {
        self.level = level
        capacity = 1 << 20
        out = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit { out.deallocate() }

    /// Compresses `n` bytes; the result is valid until the next call.
    public func compress(_ p: UnsafePointer<UInt8>, _ n: Int) -> UnsafeRawBufferPointer {
        let bound = Int(compressBound(uLong(n)))
        if bound > capacity {
            out.deallocate()
            capacity = bound
            out = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        }
        var destLen = uLongf(capacity)
        compress2(out, &destLen, p, uLong(n), level)
        return UnsafeRawBufferPointer(start: out, count: Int(destLen))
    }

    public static func inflate(_ data: [UInt8], expected: Int = 0) throws -> [UInt8] {
        if data.isEmpty { return [] }
        var size = max(expected, data.count * 4, 256)
        while true {
            var out = [UInt8](repeating: 0, count: size)
            var destLen = uLongf(size)
            let rc = out.withUnsafeMutableBufferPointer { o in
                data.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &destLen, i.baseAddress, uLong(i.count)) }
            }
            if rc == Z_OK { out.removeSubrange(Int(destLen)...); return out }
            if rc == Z_BUF_ERROR && size < 1 << 30 { size *= 4; continue }
            throw StoreError("corrupt column (zlib \(rc))")
        }
    }
}
