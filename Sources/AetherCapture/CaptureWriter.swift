/// One packet to be written: its bytes as captured and what the capture said of it.
public struct CapturedPacket: Sendable {
    public var linkType: UInt32
    public var timestamp: Int64
    public var wireLength: UInt32
    public var bytes: [UInt8]

    public init(linkType: UInt32, timestamp: Int64, wireLength: UInt32, bytes: [UInt8]) {
        self.linkType = linkType; self.timestamp = timestamp; self.wireLength = wireLength; self.bytes = bytes
    }
}

/// The writer beside `CaptureReader`: packets to a capture file's bytes, at nanosecond
/// resolution (as precise as the store). One link type gives classic pcap (magic 0xA1B23C4D),
/// several give pcapng with one interface per link type. Writing the bytes to disk is
/// `EvidenceFiles.write`'s job (exclusive, never through a link).
public enum CaptureWriter {
    public static let snapLength: UInt32 = 262_144

    public static func encode(_ packets: [CapturedPacket]) -> [UInt8] {
        let linkTypes = packets.reduce(into: [UInt32]()) { if !$0.contains($1.linkType) { $0.append($1.linkType) } }
        var out: [UInt8] = []
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        if linkTypes.count <= 1 {
            u32(0xA1B2_3C4D); u16(2); u16(4); u32(0); u32(0); u32(snapLength); u32(linkTypes.first ?? 1)
            for p in packets {
                u32(UInt32(truncatingIfNeeded: p.timestamp / 1_000_000_000)); u32(UInt32(truncatingIfNeeded: p.timestamp % 1_000_000_000))
                u32(UInt32(p.bytes.count)); u32(p.wireLength); out += p.bytes
            }
            return out
        }
        func block(_ type: UInt32, _ body: [UInt8]) {
            var b = body
            while b.count % 4 != 0 { b.append(0) }
            let total = UInt32(12 + b.count)
            u32(type); u32(total); out += b; u32(total)
        }
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        // Section header: byte-order magic, version 1.0, section length unknown.
        block(0x0A0D_0D0A, le(UInt32(0x1A2B_3C4D)) + le(UInt16(1)) + le(UInt16(0)) + le(UInt64.max))
        for lt in linkTypes {
            // Interface description: link type, reserved, snap length, if_tsresol = 9 (ns), end of options.
            block(1, le(UInt16(lt)) + [0, 0] + le(snapLength) + [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0])
        }
        for p in packets {
            let iface = UInt32(linkTypes.firstIndex(of: p.linkType)!)
            let ticks = UInt64(bitPattern: p.timestamp)
            let header = [iface, UInt32(ticks >> 32), UInt32(ticks & 0xFFFF_FFFF), UInt32(p.bytes.count), p.wireLength].flatMap(le)
            block(6, header + p.bytes)
        }
        return out
    }
}
