/// A key with its own well-mixed 64-bit hash. Keys must be trivial values (no references).
public protocol FlatKey: Equatable {
    var hash64: UInt64 { get }
}

/// Open addressing with linear probing and backward-shift deletion, mapping a trivial key to
/// an Int32. For per-packet tables: no per-operation allocation and no SipHash (which was the
/// largest user-space cost of ingest with Dictionary and Set).
public final class FlatMap<K: FlatKey> {
    @usableFromInline var keys: UnsafeMutablePointer<K>
    /// -1 marks an empty slot.
    @usableFromInline var values: UnsafeMutablePointer<Int32>
    @usableFromInline var mask: Int
    @usableFromInline var _count = 0
    public var count: Int { _count }

    public init(capacity: Int = 1024) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = UnsafeMutablePointer<K>.allocate(capacity: c)
        values = UnsafeMutablePointer<Int32>.allocate(capacity: c)
        values.initialize(repeating: -1, count: c)
        mask = c - 1
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    @inlinable @inline(__always) func home(_ k: K) -> Int { Int(truncatingIfNeeded: k.hash64) & mask }

    @inlinable @inline(__always) public func find(_ k: K) -> Int32? {
        var i = home(k)
        while true {
            let v = values[i]
            if v < 0 { return nil }
            if keys[i] == k { return v }
            i = (i + 1) & mask
        }
    }

    /// Inserts or replaces.
    @inlinable @inline(__always) public func set(_ k: K, _ value: Int32) {
        precondition(value >= 0)
        var i = home(k)
        while true {
            let v = values[i]
            if v < 0 { break }
            if keys[i] == k { values[i] = value; return }
            i = (i + 1) & mask
        }
        (keys + i).initialize(to: k)
        values[i] = value
        _count += 1
        if _count * 4 > (mask + 1) * 3 { grow() }
    }

    /// Inserts if absent; true when inserted.
    @inlinable @inline(__always) public func insert(_ k: K, _ value: Int32 = 0) -> Bool {
        var i = home(k)
        while true {
            let v = values[i]
            if v < 0 { break }
            if keys[i] == k { return false }
            i = (i + 1) & mask
        }
        (keys + i).initialize(to: k)
        values[i] = value
        _count += 1
        if _count * 4 > (mask + 1) * 3 { grow() }
        return true
    }

    public func remove(_ k: K) {
        var i = home(k)
        while true {
            if values[i] < 0 { return }
            if keys[i] == k { break }
            i = (i + 1) & mask
        }
        // Backward-shift: pull later members of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while values[j] >= 0 {
            let h = home(keys[j])
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        values[hole] = -1
        _count -= 1
    }

    public func removeAll() {
        values.update(repeating: -1, count: mask + 1)
        _count = 0
    }

    @usableFromInline func grow() {
        let oldKeys = keys, oldValues = values, oldCap = mask + 1
        let c = oldCap * 2
        keys = UnsafeMutablePointer<K>.allocate(capacity: c)
        values = UnsafeMutablePointer<Int32>.allocate(capacity: c)
        values.initialize(repeating: -1, count: c)
        mask = c - 1
        _count = 0
        for i in 0..<oldCap where oldValues[i] >= 0 { set(oldKeys[i], oldValues[i]) }
        oldKeys.deallocate()
        oldValues.deallocate()
    }

    /// Every key (not for hot paths).
    public var allKeys: [K] {
        var out: [K] = []
        out.reserveCapacity(count)
        for i in 0...mask where values[i] >= 0 { out.append(keys[i]) }
        return out
    }
}

@inlinable @inline(__always) public func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

extension UInt64: FlatKey {
    /// Used for keys that are already digests.
    @inlinable public var hash64: UInt64 { self ^ (self >> 29) }
}

extension IPAddress: FlatKey {
    @inlinable public var hash64: UInt64 { mix64(hi &* 0x9E37_79B9_7F4A_7C15 ^ lo) }
}
