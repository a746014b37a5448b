/// Trivial values in fixed chunks of 65,536: growing allocates one more chunk and never copies,
/// so a table of a million connections has no moment when two copies of it exist (an array
/// doubling its capacity does). An index is a chunk and an offset; reads and writes are in place.
final class Slab<T> {
    static var shift: Int { 16 }
    static var chunkSize: Int { 1 << shift }
    private var chunks: [UnsafeMutablePointer<T>] = []
    private(set) var count = 0

    init() {}

    deinit {
        var left = count
        for c in chunks {
            c.deinitialize(count: min(left, Self.chunkSize))
            left -= Self.chunkSize
            c.deallocate()
        }
    }

    @inline(__always) func pointer(_ i: Int) -> UnsafeMutablePointer<T> {
        chunks[i &>> Self.shift] + (i & (Self.chunkSize - 1))
    }

    @inline(__always) subscript(i: Int) -> T {
        unsafeAddress { UnsafePointer(pointer(i)) }
        unsafeMutableAddress { pointer(i) }
    }

    func append(_ v: T) {
        if count == chunks.count << Self.shift { chunks.append(.allocate(capacity: Self.chunkSize)) }
        pointer(count).initialize(to: v)
        count += 1
    }
}
