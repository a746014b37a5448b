/// An IPv4 or IPv6 address as two 64-bit words, IPv4 mapped into ::ffff:0:0/96,
/// so one fixed-size value serves both families without allocation.
public struct IPAddress: Hashable, Comparable, Sendable {
    public var hi: UInt64
    public var lo: UInt64

    public static let zero = IPAddress(hi: 0, lo: 0)

    @inlinable public init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }

    @inlinable public init(v4 value: UInt32) {
        hi = 0
        lo = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    @inlinable public var isV4: Bool { hi == 0 && (lo >> 32) == 0xFFFF }

    /// The address with all but its first `prefix` bits (of the 128-bit form) cleared.
    @inlinable public func masked(toPrefix prefix: Int) -> IPAddress {
        if prefix <= 0 { return .zero }
        if prefix <= 64 { return IPAddress(hi: hi & (prefix == 64 ? ~0 : ~(UInt64.max >> UInt64(prefix))), lo: 0) }
        return IPAddress(hi: hi, lo: lo & (prefix >= 128 ? ~0 : ~(UInt64.max >> UInt64(prefix - 64))))
    }
    @inlinable public var v4Value: UInt32 { UInt32(truncatingIfNeeded: lo) }

    /// Group, broadcast and link-scoped destinations: traffic to them stays on the local link
    /// (or goes to a group), so it is never "outbound", a probe target or a beacon peer.
    /// Directed broadcasts (x.x.x.255) are treated as broadcast, as most LANs are /24 or wider.
    @inlinable public var isLinkScopedOrGroup: Bool {
        if isV4 {
            let v = v4Value
            return v >> 28 == 0xE || v == 0xFFFF_FFFF || v & 0xFF == 0xFF || v >> 16 == 0xA9FE || v == 0
        }
        let top = hi >> 48
        return hi >> 56 == 0xFF || top & 0xFFC0 == 0xFE80 || (hi == 0 && lo <= 1)
    }

    /// In space a real host can have or talk to. IPv6: global unicast (2000::/3), unique local,
    /// link- and site-local, multicast, the IPv4-compatible and -mapped forms, NAT64 and the
    /// discard prefix; IPv4: all but 240.0.0.0/4 (reserved) apart from the broadcast address.
    /// IPv6 has no header checksum, so a corrupted header or a wrongly guessed encapsulation
    /// shows as addresses outside this space.
    @inlinable public var isInAssignedSpace: Bool {
        if isV4 { return v4Value >> 28 != 0xF || v4Value == 0xFFFF_FFFF }
        if hi == 0 { return true }
        if hi >> 61 == 1 || hi >> 57 == 0x7E || hi >> 56 == 0xFF { return true }
        let top10 = hi >> 54
        if top10 == 0x3FA || top10 == 0x3FB { return true }
        return hi == 0x0064_FF9B_0000_0000 || hi >> 16 == 0x0064_FF9B_0001 || hi == 0x0100_0000_0000_0000
    }

    /// 127.0.0.0/8 and ::1: a host talking to itself.
    @inlinable public var isLoopback: Bool {
        isV4 ? v4Value >> 24 == 127 : hi == 0 && lo == 1
    }

    @inlinable public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo
    }

    /// Reads 16 network-order bytes.
    @inlinable public init(v6 p: UnsafeRawPointer) {
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(p.load(fromByteOffset: i, as: UInt8.self)) }
        for i in 8..<16 { l = l << 8 | UInt64(p.load(fromByteOffset: i, as: UInt8.self)) }
        hi = h; lo = l
    }

    /// The 16 bytes in network order (IPv4 as its mapped form).
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i))) }
        for i in 0..<8 { out[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i))) }
        return out
    }

    public init?(bytes b: [UInt8]) {
        guard b.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
        hi = h; lo = l
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text.
    public init?(_ text: String) {
        // Records carry many addresses: dotted quads are read in one pass over the bytes.
        if let v = Self.dottedQuad(text.utf8) {
            self.init(v4: v)
            return
        }
        if text.contains(":") {
            var groups: [UInt16] = []
            var tail: [UInt16] = []
            var seenGap = false
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            var i = 0
            while i < parts.count {
                let p = parts[i]
                if p.isEmpty {
                    if !seenGap && i + 1 < parts.count && parts[i + 1].isEmpty { seenGap = true; i += 2; continue }
                    if i == 0 || i == parts.count - 1 { i += 1; continue }
                    if !seenGap { seenGap = true; i += 1; continue }
                    return nil
                }
                if p.contains("."), let v4 = IPAddress(String(p)), v4.isV4 {
                    let v = v4.v4Value
                    let hiW = UInt16(v >> 16), loW = UInt16(v & 0xFFFF)
                    if seenGap { tail += [hiW, loW] } else { groups += [hiW, loW] }
                } else {
                    guard p.count <= 4, let v = UInt16(p, radix: 16) else { return nil }
                    if seenGap { tail.append(v) } else { groups.append(v) }
                }
                i += 1
            }
            let missing = 8 - groups.count - tail.count
            guard missing >= 0, seenGap || missing == 0 else { return nil }
            let all = groups + [UInt16](repeating: 0, count: missing) + tail
            var h: UInt64 = 0, l: UInt64 = 0
            for k in 0..<4 { h = h << 16 | UInt64(all[k]) }
            for k in 4..<8 { l = l << 16 | UInt64(all[k]) }
            self.init(hi: h, lo: l)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                guard let o = UInt8(p) else { return nil }
                v = v << 8 | UInt32(o)
            }
            self.init(v4: v)
        }
    }
}

extension IPAddress {
    /// Four decimal octets separated by dots, or nil (the general parser decides then).
    static func dottedQuad(_ text: String.UTF8View) -> UInt32? {
        var v: UInt32 = 0, octet: UInt32 = 0, digits = 0, dots = 0
        for b in text {
            if b >= 0x30 && b <= 0x39 {
                octet = octet * 10 + UInt32(b - 0x30)
                digits += 1
                if octet > 255 { return nil }
            } else if b == UInt8(ascii: ".") && digits > 0 && dots < 3 {
                v = v << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3 && digits > 0 else { return nil }
        return v << 8 | octet
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        if isV4 {
            // At most 15 bytes: a small string, built without an allocation.
            let v = v4Value
            return String(unsafeUninitializedCapacity: 15) { out in
                var n = 0
                for shift in stride(from: 24, through: 0, by: -8) {
                    let o = Int((v >> UInt32(shift)) & 0xFF)
                    if o >= 100 { out[n] = UInt8(0x30 + o / 100); n += 1 }
                    if o >= 10 { out[n] = UInt8(0x30 + (o / 10) % 10); n += 1 }
                    out[n] = UInt8(0x30 + o % 10)
                    n += 1
                    if shift > 0 { out[n] = UInt8(ascii: "."); n += 1 }
                }
                return n
            }
        }
        var words = [UInt16](repeating: 0, count: 8)
        for k in 0..<4 { words[k] = UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(k))) }
        for k in 0..<4 { words[4 + k] = UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(k))) }
        // RFC 5952: compress the longest run of two or more zero words.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if words[i] == 0 {
                var j = i
                while j < 8 && words[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        var out = ""
        var k = 0
        while k < 8 {
            if k == bestStart {
                out += "::"
                k += bestLen
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(words[k], radix: 16)
            k += 1
        }
        return out
    }
}

/// An IP network in CIDR form, for the internal-network list.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public var base: IPAddress
    public var prefix: Int  // over the 128-bit form

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let a = IPAddress(String(parts[0])), let p = Int(parts[1]) else { return nil }
        let full = a.isV4 ? p + 96 : p
        guard full >= 0 && full <= 128 && (a.isV4 ? p <= 32 : true) else { return nil }
        base = a
        prefix = full
    }

    public func contains(_ a: IPAddress) -> Bool { a.masked(toPrefix: prefix) == base.masked(toPrefix: prefix) }

    public var description: String { "\(base)/\(base.isV4 ? prefix - 96 : prefix)" }
}
