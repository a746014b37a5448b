/// The TCP header (RFC 9293); options are skipped by the data offset.
struct TCPView: WireView {
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let sequence = 4
        static let acknowledgment = 8
        static let dataOffset = 12
        static let flags = 13
        static let window = 14
    }
    static let minLength = 20

    let frame: Frame
    let offset: Int

    @inline(__always) var sourcePort: UInt16 { frame.u16(offset + Field.sourcePort) }
    @inline(__always) var destinationPort: UInt16 { frame.u16(offset + Field.destinationPort) }
    @inline(__always) var sequence: UInt32 { frame.u32(offset + Field.sequence) }
    @inline(__always) var flags: UInt8 { frame.u8(offset + Field.flags) }
    /// Header bytes, never less than the fixed 20 (a bogus data offset is read as 20).
    @inline(__always) var headerLength: Int { max(Self.minLength, Int(frame.u8(offset + Field.dataOffset) >> 4) * 4) }
}

/// The UDP header (RFC 768).
struct UDPView: WireView {
    enum Field {
        static let sourcePort = 0
        static let destinationPort = 2
        static let length = 4
        static let checksum = 6
    }
    static let length = 8
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var sourcePort: UInt16 { frame.u16(offset + Field.sourcePort) }
    @inline(__always) var destinationPort: UInt16 { frame.u16(offset + Field.destinationPort) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// ICMP and ICMPv6: type and code are all the first 4 bytes promise; the identifier of an echo
/// (bytes 4-5) is read only when there.
struct ICMPView: WireView {
    enum Field {
        static let type = 0
        static let code = 1
        static let checksum = 2
        static let identifier = 4
        static let sequence = 6
    }
    static let minLength = 4
    static let length = 8

    let frame: Frame
    let offset: Int

    @inline(__always) var type: UInt8 { frame.u8(offset + Field.type) }
    @inline(__always) var code: UInt8 { frame.u8(offset + Field.code) }
    @inline(__always) var identifier: UInt16? { frame.has(offset + Field.identifier, 2) ? frame.u16(offset + Field.identifier) : nil }
}
