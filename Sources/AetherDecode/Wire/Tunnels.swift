/// GRE (RFC 2784/2890) and enhanced GRE for PPTP (RFC 2637, version 1).
struct GREView: WireView {
    enum Field {
        static let flags = 0
        static let protocolType = 2
    }
    enum Flag {
        static let checksum: UInt16 = 0x8000
        static let routing: UInt16 = 0x4000
        static let key: UInt16 = 0x2000
        static let sequence: UInt16 = 0x1000
        static let acknowledgment: UInt16 = 0x0080
    }
    static let minLength = 4

    let frame: Frame
    let offset: Int

    @inline(__always) var flags: UInt16 { frame.u16(offset + Field.flags) }
    @inline(__always) var version: UInt16 { flags & 0x7 }
    @inline(__always) var protocolType: UInt16 { frame.u16(offset + Field.protocolType) }

    /// Where the payload starts after the optional fields; nil for a version we do not know.
    @inline(__always) var payload: Int? {
        let f = flags
        var p = offset + Self.minLength
        switch version {
        case 0:
            if f & Flag.checksum != 0 || f & Flag.routing != 0 { p += 4 }
            if f & Flag.key != 0 { p += 4 }
            if f & Flag.sequence != 0 { p += 4 }
        case 1:
            p += 4  // key: payload length and call id
            if f & Flag.sequence != 0 { p += 4 }
            if f & Flag.acknowledgment != 0 { p += 4 }
        default:
            return nil
        }
        return p
    }
}

/// PPP inside GRE (PPTP): optional address/control bytes, a 1- or 2-byte protocol.
struct PPPView: WireView {
    static let minLength = 4

    let frame: Frame
    let offset: Int

    /// The protocol number and where its payload starts.
    @inline(__always) var protocolAndPayload: (UInt16, Int) {
        var q = offset
        if frame.u8(q) == 0xFF && frame.u8(q + 1) == 0x03 { q += 2 }
        let compressed = frame.u8(q) & 1 == 1
        let p = compressed ? UInt16(frame.u8(q)) : frame.u16(q)
        return (p, q + (compressed ? 1 : 2))
    }
}

/// VXLAN (RFC 7348): flags with the I bit, a 24-bit VNI, then an Ethernet frame.
struct VXLANView: WireView {
    enum Field {
        static let flags = 0
        static let vni = 4
    }
    static let length = 8
    static var minLength: Int { length }
    static let port: UInt16 = 4789

    let frame: Frame
    let offset: Int

    /// Accepted only when 8 bytes are there and the I (valid VNI) flag is set.
    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u8(offset + Field.flags) & 0x08 != 0
    }

    @inline(__always) var payload: Int { offset + Self.length }
}
