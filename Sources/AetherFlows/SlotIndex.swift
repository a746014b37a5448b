import AetherCore

/// The connection table's index: open addressing over 8-byte cells that hold a slot number and
/// 32 bits of the key's hash; the keys are derived from the connections themselves. A million connections take
/// 16 MB here instead of 88 MB with the keys copied into the index.
/// A slot with `Attempt.tag` set points into the attempts' slab.
final class SlotIndex {
    /// 0: empty; otherwise hash tag << 32 | (slot + 1).
    private var cells: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0
    private let keys: SlotKeys

    init(keys: SlotKeys, capacity: Int) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        cells = .allocate(capacity: c)
        cells.initialize(repeating: 0, count: c)
        mask = c - 1
        self.keys = keys
    }

    deinit { cells.deallocate() }

    @inline(__always) private static func tag(_ h: UInt64) -> UInt64 { h & 0xFFFF_FFFF_0000_0000 }

    @inline(__always) func find(_ k: ConnectionKey) -> Int32? {
        let h = k.hash64
        let t = Self.tag(h)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let c = cells[i]
            if c == 0 { return nil }
            if c & 0xFFFF_FFFF_0000_0000 == t {
                let slot = Int32(truncatingIfNeeded: c & 0xFFFF_FFFF) - 1
                if keys.key(slot) == k { return slot }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds a key known to be absent, whose slab slot already holds it.
    @inline(__always) func insert(_ k: ConnectionKey, slot: Int32) {
        let h = k.hash64
        var i = Int(truncatingIfNeeded: h) & mask
        while cells[i] != 0 { i = (i + 1) & mask }
        cells[i] = Self.tag(h) | UInt64(slot + 1)
        count += 1
        if count * 4 > (mask + 1) * 3 { grow() }
    }

    /// Points the cell of `k` at another slot (an attempt promoted to a full connection).
    func move(_ k: ConnectionKey, from old: Int32, to new: Int32) {
        let h = k.hash64
        let want = Self.tag(h) | UInt64(old + 1)
        var i = Int(truncatingIfNeeded: h) & mask
        while cells[i] != 0 {
            if cells[i] == want {
                cells[i] = Self.tag(h) | UInt64(new + 1)
                return
            }
            i = (i + 1) & mask
        }
    }

    func remove(_ k: ConnectionKey, slot: Int32) {
        let h = k.hash64
        let want = Self.tag(h) | UInt64(slot + 1)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            if cells[i] == 0 { return }
            if cells[i] == want { break }
            i = (i + 1) & mask
        }
        // Backward-shift: pull later members of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while cells[j] != 0 {
            let home = Int(truncatingIfNeeded: keys.key(Int32(truncatingIfNeeded: cells[j] & 0xFFFF_FFFF) - 1).hash64) & mask
            let between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !between {
                cells[hole] = cells[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        cells[hole] = 0
        count -= 1
    }

    private func grow() {
        let old = cells, oldCap = mask + 1
        let c = oldCap * 2
        cells = .allocate(capacity: c)
        cells.initialize(repeating: 0, count: c)
        mask = c - 1
        for i in 0..<oldCap where old[i] != 0 {
            let slot = Int32(truncatingIfNeeded: old[i] & 0xFFFF_FFFF) - 1
            var j = Int(truncatingIfNeeded: keys.key(slot).hash64) & mask
            while cells[j] != 0 { j = (j + 1) & mask }
            cells[j] = old[i]
        }
        old.deallocate()
    }
}
