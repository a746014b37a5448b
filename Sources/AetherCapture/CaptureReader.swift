import AetherCore

public enum CaptureFileFormat: String, Sendable {
    case pcap, pcapng
}

/// How a pcapng interface's timestamp ticks become nanoseconds.
struct TimestampScale {
    /// ticks * multiplier, or ticks / divisor, or (ticks * 1e9) >> shift.
    var multiplier: Int64 = 1000
    var divisor: UInt64 = 0
    var shift: UInt64 = 0
    var offsetNanos: Int64 = 0

    init() {}

    init(resolution r: UInt8, offsetSeconds: Int64) {
        offsetNanos = saturatingMultiply(offsetSeconds, 1_000_000_000)
        if r & 0x80 == 0 {
            let e = Int(r)
            if e <= 9 {
                var m: Int64 = 1
                for _ in 0..<(9 - e) { m *= 10 }
                multiplier = m
            } else {
                multiplier = 0
                var d: UInt64 = 1
                for _ in 0..<min(e - 9, 19) { d = d &* 10 }
                divisor = e - 9 > 19 ? UInt64.max : d
            }
        } else {
            multiplier = 0
            shift = UInt64(r & 0x7F)
            if shift == 0 { multiplier = 1_000_000_000 }
        }
    }

    @inline(__always) func nanoseconds(_ ticks: UInt64) -> Int64 {
        var ns: Int64
        if multiplier != 0 {
            ns = ticks > UInt64(Int64.max) ? Int64.max : saturatingMultiply(Int64(ticks), multiplier)
        } else if divisor != 0 {
            ns = Int64(ticks / divisor)
        } else {
            let wide = ticks.multipliedFullWidth(by: 1_000_000_000)
            if shift >= 64 {
                ns = Int64(wide.high >> (shift - 64))
            } else {
                let high = wide.high, low = wide.low
                if high >> shift != 0 {
                    ns = Int64.max
                } else {
                    let v = (high << (64 - shift)) | (low >> shift)
                    ns = v > UInt64(Int64.max) ? Int64.max : Int64(v)
                }
            }
        }
        return saturatingAdd(ns, offsetNanos)
    }
}

struct InterfaceDescription {
    var linkType: UInt32
    var snapLength: UInt32
    var scale: TimestampScale
}

/// Reads classic pcap (both byte orders, µs and ns) and pcapng (every section, both byte
/// orders, many interfaces and link types, EPB/SPB/obsolete packet blocks), gzip or not.
/// Faults stop reading with a `CaptureError` naming the byte offset; everything before it
/// has been delivered.
public final class CaptureReader {
    public let path: String
    public private(set) var format: CaptureFileFormat = .pcap
    public var isCompressed: Bool { input.isGzip }
    public var fileSize: UInt64 { input.fileSize }
    /// Distinct link types in the order they were first declared.
    public private(set) var linkTypes: [UInt32] = []
    public private(set) var packet = RawPacket()
    public private(set) var packetsRead: UInt64 = 0
    /// Timestamps that went backwards relative to the previous packet of this file.
    public private(set) var outOfOrder: UInt64 = 0
    /// Packets whose time was out of `Timestamp.earliest...latest` (a corrupt clock or offset)
    /// and is kept at that edge.
    public private(set) var clampedTimes: UInt64 = 0

    private let input: ByteInput
    private var swapped = false
    // classic pcap
    private var pcapNanos = false
    private var pcapLinkType: UInt32 = 0
    private var pcapSnap: UInt32 = 0
    /// Before version 2.3 the record header had the two lengths the other way round.
    private var pcapLengthsSwapped = false
    // pcapng
    private var interfaces: [InterfaceDescription] = []
    private var lastTimestamp = Int64.min

    static let maxRecord: UInt32 = 16 << 20
    static let standardMaxPacket: UInt32 = 262_144

    /// `hashing: false` skips the background SHA-256 (for a quick look at the first packet).
    public init(path: String, hashing: Bool = true) throws {
        self.path = path
        input = try ByteInput(path: path, hash: hashing)
        try readFileHeader()
    }

    public func sha256() -> String { input.finishHash() }

    /// Work for whichever of the reader thread and the parser would otherwise wait for the other
    /// (the pipeline gives it the column encoding and the store's queued writes); returns whether
    /// it found some. Called on either thread, one unit at a time.
    public func setIdleWork(_ work: (() -> Bool)?) { input.setIdleWork(work) }

    @inline(__always) private func u16(_ p: UnsafeRawPointer, _ o: Int) -> UInt16 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return swapped ? v.byteSwapped : v
    }
    @inline(__always) private func u32(_ p: UnsafeRawPointer, _ o: Int) -> UInt32 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return swapped ? v.byteSwapped : v
    }

    private func fail(_ kind: CaptureError.Kind, _ message: String, at offset: UInt64? = nil) -> CaptureError {
        CaptureError(kind, path: path, offset: offset ?? input.offset, message)
    }

    private func readFileHeader() throws {
        guard try input.ensure(4) else {
            if input.available == 0 { throw CaptureError(.truncated, path: path, offset: 0, "file is empty") }
            throw CaptureError(.truncated, path: path, offset: 0, "file is too short for a capture header")
        }
        let magic = input.pointer.loadUnaligned(as: UInt32.self)
        switch magic {
        case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1:
            format = .pcap
            swapped = magic == 0xD4C3_B2A1 || magic == 0x4D3C_B2A1
            pcapNanos = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
            guard try input.ensure(24) else { throw fail(.truncated, "file cut short in the pcap header", at: 0) }
            let p = input.pointer
            let major = u16(p, 4), minor = u16(p, 6)
            if major != 2 || minor > 4 {
                throw fail(.unsupportedFormat, "unsupported pcap version \(major).\(minor)", at: 4)
            }
            pcapLengthsSwapped = minor < 3
            pcapSnap = u32(p, 16)
            // The upper bits carry FCS flags; bits 16-25 are reserved and must be zero (libpcap
            // and Wireshark refuse a file that sets them).
            let field = u32(p, 20)
            guard field & 0x03FF_0000 == 0 else {
                throw fail(.corrupt, "pcap header: reserved bits set in the link-type field (0x\(String(field, radix: 16)))", at: 20)
            }
            pcapLinkType = field & 0xFFFF
            linkTypes = [pcapLinkType]
            input.advance(24)
        case 0x0A0D_0D0A:
            format = .pcapng
        default:
            throw CaptureError(.unsupportedFormat, path: path, offset: 0, Self.describeForeign(input.pointer, input.available))
        }
    }

    /// Names the format of a file we do not read, from its first bytes.
    static func describeForeign(_ p: UnsafeRawPointer, _ n: Int) -> String {
        let b = [UInt8](UnsafeRawBufferPointer(start: p, count: min(n, 16)))
        func starts(_ s: [UInt8]) -> Bool { b.count >= s.count && Array(b[0..<s.count]) == s }
        let known: [([UInt8], String)] = [
            (Array("snoop\0\0\0".utf8), "Sun snoop"),
            (Array("btsnoop\0".utf8), "btsnoop"),
            (Array("GMBU".utf8), "Microsoft Network Monitor 2"),
            (Array("XCP\0".utf8), "NetXRay / Sniffer"),
            (Array("BZh".utf8), "bzip2-compressed data"),
            ([0xFD, 0x37, 0x7A, 0x58, 0x5A], "xz-compressed data"),
            ([0x28, 0xB5, 0x2F, 0xFD], "zstd-compressed data"),
            (Array("PK\u{3}\u{4}".utf8), "a zip archive"),
            ([0x34, 0xCD, 0xB2, 0xA1], "a Kuznetzov pcap variant"),
        ]
        var what = "not a pcap or pcapng file"
        if let hit = known.first(where: { starts($0.0) }) {
            what = "not a pcap or pcapng file; it looks like \(hit.1)"
        } else if b.count >= 16, (1...48).contains(b[8]), (Int(b[10]) << 8 | Int(b[11])) >= 16,
            (Int(b[10]) << 8 | Int(b[11])) % 8 == 0
        {
            what = "not a pcap or pcapng file; it looks like Endace ERF"
        }
        let hex = b.prefix(4).map {
            let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
        return "\(what) (first bytes \(hex)); convert it with editcap -F pcapng"
    }

    /// Advances to the next packet; false at a clean end of file.
    @inline(__always) public func next() throws -> Bool {
        let ok = format == .pcap ? try nextPcap() : try nextPcapng()
        if ok {
            packetsRead += 1
            if packet.timestamp < lastTimestamp { outOfOrder += 1 }
            lastTimestamp = packet.timestamp
        }
        return ok
    }

    private func nextPcap() throws -> Bool {
        let recordOffset = input.offset
        guard try input.ensure(16) else {
            if input.available == 0 { return false }
            throw fail(.truncated, "file cut short in a record header (\(input.available) of 16 bytes)", at: recordOffset)
        }
        var p = input.pointer
        let sec = u32(p, 0), frac = u32(p, 4)
        let caplen = u32(p, pcapLengthsSwapped ? 12 : 8), len = u32(p, pcapLengthsSwapped ? 8 : 12)
        if caplen > Self.standardMaxPacket && (caplen > pcapSnap || caplen > Self.maxRecord) {
            throw fail(.corrupt, "record claims \(caplen) captured bytes (snaplen \(pcapSnap))", at: recordOffset)
        }
        guard try input.ensure(16 + Int(caplen)) else {
            throw fail(.truncated, "file cut short inside a packet (\(input.available - 16) of \(caplen) bytes)", at: recordOffset)
        }
        p = input.pointer
        packet.timestamp = Int64(sec) * 1_000_000_000 + (pcapNanos ? Int64(frac) : Int64(frac) * 1000)
        packet.capturedLength = caplen
        packet.wireLength = len
        packet.linkType = pcapLinkType
        packet.interface = 0
        packet.offset = recordOffset
        packet.bytes = UnsafeRawBufferPointer(start: p + 16, count: Int(caplen))
        input.advance(16 + Int(caplen))
        return true
    }

    private func nextPcapng() throws -> Bool {
        while true {
            let blockOffset = input.offset
            guard try input.ensure(12) else {
                if input.available == 0 { return false }
                throw fail(.truncated, "file cut short in a block header", at: blockOffset)
            }
            var p = input.pointer
            let rawType = p.loadUnaligned(as: UInt32.self)
            if rawType == 0x0A0D_0D0A {
                // A section header sets the byte order for everything up to the next one.
                let bom = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                if bom == 0x1A2B_3C4D {
                    swapped = false
                } else if bom == 0x4D3C_2B1A {
                    swapped = true
                } else {
                    throw fail(.corrupt, "section header with a bad byte-order magic", at: blockOffset)
                }
            }
            let type = swapped ? rawType.byteSwapped : rawType
            let total = u32(p, 4)
            if total < 12 || total % 4 != 0 || total > Self.maxRecord {
                throw fail(.corrupt, "block of type 0x\(String(type, radix: 16)) has an invalid length \(total)", at: blockOffset)
            }
            guard try input.ensure(Int(total)) else {
                throw fail(.truncated, "file cut short inside a block (\(input.available) of \(total) bytes)", at: blockOffset)
            }
            p = input.pointer
            if u32(p, Int(total) - 4) != total {
                throw fail(.corrupt, "block length \(total) in the header and \(u32(p, Int(total) - 4)) in the trailer differ", at: blockOffset)
            }
            let body = Int(total) - 4
            switch type {
            case 0x0A0D_0D0A:
                guard total >= 28 else { throw fail(.corrupt, "section header too short", at: blockOffset) }
                let major = u16(p, 12)
                if major != 1 { throw fail(.unsupportedFormat, "unsupported pcapng version \(major).\(u16(p, 14))", at: blockOffset) }
                try checkOptions(p, from: 24, to: body, blockOffset: blockOffset)
                interfaces.removeAll(keepingCapacity: true)
            case 1:
                guard total >= 20 else { throw fail(.corrupt, "interface description too short", at: blockOffset) }
                var desc = InterfaceDescription(linkType: UInt32(u16(p, 8)), snapLength: u32(p, 12), scale: TimestampScale())
                var resolution: UInt8 = 6
                var tsOffset: Int64 = 0
                try walkOptions(p, from: 16, to: body, blockOffset: blockOffset) { code, vo, vl in
                    if code == 9 && vl >= 1 { resolution = p.load(fromByteOffset: vo, as: UInt8.self) }
                    if code == 14 && vl >= 8 {
                        let raw = p.loadUnaligned(fromByteOffset: vo, as: UInt64.self)
                        tsOffset = Int64(bitPattern: self.swapped ? raw.byteSwapped : raw)
                    }
                }
                desc.scale = TimestampScale(resolution: resolution, offsetSeconds: tsOffset)
                interfaces.append(desc)
                if !linkTypes.contains(desc.linkType) { linkTypes.append(desc.linkType) }
            case 6, 2:
                guard total >= 32 else { throw fail(.corrupt, "packet block too short", at: blockOffset) }
                let iface = type == 6 ? u32(p, 8) : UInt32(u16(p, 8))
                let caplen = u32(p, 20), len = u32(p, 24)
                guard Int(iface) < interfaces.count else {
                    throw fail(.corrupt, "packet for undeclared interface \(iface)", at: blockOffset)
                }
                guard 28 + Int(caplen) <= body else {
                    throw fail(.corrupt, "packet block claims \(caplen) captured bytes in a \(total)-byte block", at: blockOffset)
                }
                let d = interfaces[Int(iface)]
                let ticks = UInt64(u32(p, 12)) << 32 | UInt64(u32(p, 16))
                let t = d.scale.nanoseconds(ticks)
                if _fastPath(Timestamp.isKept(t)) {
                    packet.timestamp = t
                } else {
                    packet.timestamp = Timestamp.clamped(t)
                    clampedTimes &+= 1
                }
                packet.capturedLength = caplen
                packet.wireLength = len
                packet.linkType = d.linkType
                packet.interface = iface
                packet.offset = blockOffset
                packet.bytes = UnsafeRawBufferPointer(start: p + 28, count: Int(caplen))
                input.advance(Int(total))
                return true
            case 3:
                guard !interfaces.isEmpty, total >= 16 else {
                    throw fail(.corrupt, "simple packet block without an interface", at: blockOffset)
                }
                let d = interfaces[0]
                let len = u32(p, 8)
                var caplen = min(len, UInt32(body - 12))
                if d.snapLength > 0 { caplen = min(caplen, d.snapLength) }
                // A simple packet block has no timestamp; keep the stream's time.
                packet.timestamp = lastTimestamp == Int64.min ? 0 : lastTimestamp
                packet.capturedLength = caplen
                packet.wireLength = len
                packet.linkType = d.linkType
                packet.interface = 0
                packet.offset = blockOffset
                packet.bytes = UnsafeRawBufferPointer(start: p + 12, count: Int(caplen))
                input.advance(Int(total))
                return true
            default:
                break  // statistics, name resolution, custom and unknown blocks: skipped by length
            }
            input.advance(Int(total))
        }
    }

    private func checkOptions(_ p: UnsafeRawPointer, from: Int, to: Int, blockOffset: UInt64) throws {
        try walkOptions(p, from: from, to: to, blockOffset: blockOffset) { _, _, _ in }
    }

    private func walkOptions(
        _ p: UnsafeRawPointer, from: Int, to: Int, blockOffset: UInt64,
        _ visit: (UInt16, Int, Int) -> Void
    ) throws {
        var o = from
        while o + 4 <= to {
            let code = u16(p, o), len = Int(u16(p, o + 2))
            if code == 0 { return }
            let padded = (len + 3) & ~3
            if o + 4 + padded > to {
                throw fail(.corrupt, "option \(code) of length \(len) runs past its block", at: blockOffset + UInt64(o))
            }
            visit(code, o + 4, len)
            o += 4 + padded
        }
    }
}
