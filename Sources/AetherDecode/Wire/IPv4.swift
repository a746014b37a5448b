import AetherCore

/// The IPv4 header (RFC 791). The fixed 20 bytes are checked once; options are skipped by IHL.
struct IPv4View: WireView {
    enum Field {
        static let versionIHL = 0
        static let totalLength = 2
        static let identification = 4
        static let flagsFragment = 6
        static let ttl = 8
        static let proto = 9
        static let checksum = 10
        static let source = 12
        static let destination = 16
    }
    static let minLength = 20

    let frame: Frame
    let offset: Int

    /// Accepted only when 20 bytes are there and the version nibble says 4.
    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u8(offset) >> 4 == 4
    }

    @inline(__always) var headerLength: Int { Int(frame.u8(offset + Field.versionIHL) & 0x0F) * 4 }
    @inline(__always) var totalLength: Int { Int(frame.u16(offset + Field.totalLength)) }
    @inline(__always) var identification: UInt16 { frame.u16(offset + Field.identification) }
    @inline(__always) var fragmentOffset: UInt32 { UInt32(frame.u16(offset + Field.flagsFragment) & 0x1FFF) * 8 }
    @inline(__always) var moreFragments: Bool { frame.u16(offset + Field.flagsFragment) & 0x2000 != 0 }
    @inline(__always) var proto: UInt8 { frame.u8(offset + Field.proto) }
    @inline(__always) var source: IPAddress { frame.v4(offset + Field.source) }
    @inline(__always) var destination: IPAddress { frame.v4(offset + Field.destination) }
    /// The whole header (options too) is in the capture.
    @inline(__always) var headerCaptured: Bool { headerLength >= Self.minLength && frame.has(offset, headerLength) }

    /// The header checksum is set and wrong. Zero means the sender's NIC was to fill it in
    /// (checksum offload, as Windows captures show), not a corrupt header. Needs `headerCaptured`.
    @inline(__always) var checksumFails: Bool {
        if frame.u16(offset + Field.checksum) == 0 { return false }
        var sum: UInt32 = 0
        var i = 0
        let n = headerLength
        while i < n { sum &+= UInt32(frame.u16(offset + i)); i += 2 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        return sum != 0xFFFF
    }
}
