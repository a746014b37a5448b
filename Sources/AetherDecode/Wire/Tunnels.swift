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

/// VXLAN-GPE (UDP 4790): like VXLAN, with a next-protocol byte.
struct VXLANGPEView: WireView {
    enum Field {
        static let flags = 0
        static let nextProtocol = 3
    }
    static let length = 8
    static var minLength: Int { length }
    static let port: UInt16 = 4790

    let frame: Frame
    let offset: Int

    /// The EtherType of the payload: 1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS; 0 for others.
    @inline(__always) var etherType: UInt16 {
        switch frame.u8(offset + Field.nextProtocol) {
        case 1: return EtherType.ipv4
        case 2: return EtherType.ipv6
        case 3: return EtherType.transparentEthernet
        case 5: return EtherType.mpls
        default: return 0
        }
    }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// Geneve (RFC 8926, UDP 6081): version, option length in 4-byte words, flags, the payload's
/// EtherType and a 24-bit VNI, then the options.
struct GeneveView: WireView {
    enum Field {
        static let versionAndOptions = 0
        static let flags = 1
        static let protocolType = 2
        static let vni = 4
    }
    static let length = 8
    static var minLength: Int { length }
    static let port: UInt16 = 6081

    let frame: Frame
    let offset: Int

    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u8(offset + Field.versionAndOptions) >> 6 == 0
    }

    @inline(__always) var protocolType: UInt16 { frame.u16(offset + Field.protocolType) }
    @inline(__always) var payload: Int {
        offset + Self.length + Int(frame.u8(offset + Field.versionAndOptions) & 0x3F) * 4
    }
}

/// GTP-U (3GPP TS 29.281, UDP 2152): version 1 with the protocol-type bit, a message type (0xFF,
/// G-PDU, carries a user packet), length and TEID; sequence, N-PDU and extension fields when any
/// of their flags is set; then extension headers, each a length in 4-byte words.
struct GTPUView: WireView {
    enum Field {
        static let flags = 0
        static let messageType = 1
        static let length = 2
        static let teid = 4
        static let nextExtension = 11
    }
    static let length = 8
    static var minLength: Int { length }
    static let port: UInt16 = 2152
    static let userPacket: UInt8 = 0xFF
    static let maxExtensions = 8

    let frame: Frame
    let offset: Int

    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u8(offset + Field.flags) & 0xF0 == 0x30
    }

    @inline(__always) var carriesUserPacket: Bool { frame.u8(offset + Field.messageType) == Self.userPacket }

    /// Where the user packet starts, nil when the extension chain runs past the frame.
    var payload: Int? {
        let flags = frame.u8(offset + Field.flags)
        var p = offset + Self.length
        guard flags & 0x07 != 0 else { return p }
        guard frame.has(p, 4) else { return nil }
        var next = flags & 0x04 != 0 ? frame.u8(offset + Field.nextExtension) : 0
        p += 4
        var steps = 0
        while next != 0 {
            guard steps < Self.maxExtensions, frame.has(p, 1) else { return nil }
            let words = Int(frame.u8(p))
            guard words > 0, frame.has(p, words * 4) else { return nil }
            next = frame.u8(p + words * 4 - 1)
            p += words * 4
            steps += 1
        }
        return p
    }
}

/// Teredo (RFC 4380, UDP 3544): IPv6 in UDP, optionally after an authentication header
/// (0x0001) and an origin indication (0x0000).
struct TeredoView: WireView {
    static let minLength = 1
    static let port: UInt16 = 3544

    let frame: Frame
    let offset: Int

    /// Where the IPv6 packet starts, nil when what follows is not one.
    var payload: Int? {
        var p = offset
        if frame.has(p, 4) && frame.u16(p) == 0x0001 {
            let idLength = Int(frame.u8(p + 2)), authLength = Int(frame.u8(p + 3))
            p += 4 + idLength + authLength + 9
        }
        if frame.has(p, 8) && frame.u16(p) == 0x0000 { p += 8 }
        guard frame.has(p, 1), frame.u8(p) >> 4 == 6 else { return nil }
        return p
    }
}

/// ERSPAN (GRE protocol 0x88BE types I and II, 0x22EB type III): a mirrored Ethernet frame.
/// Type I has no header (GRE without a sequence number); type II has 8 bytes; type III 12, plus
/// an 8-byte platform subheader when its O bit is set.
struct ERSPANView: WireView {
    enum Field {
        static let version = 0
        static let typeIIIFlags = 11
    }
    static let minLength = 8
    static let typeII: UInt16 = 0x88BE
    static let typeIII: UInt16 = 0x22EB

    let frame: Frame
    let offset: Int

    /// Where the mirrored frame starts for a type II header (version 1) or type III (version 2).
    @inline(__always) var payload: Int? {
        switch frame.u8(offset + Field.version) >> 4 {
        case 1: return offset + 8
        case 2:
            guard frame.has(offset, 12) else { return nil }
            return offset + 12 + (frame.u8(offset + Field.typeIIIFlags) & 0x01 != 0 ? 8 : 0)
        default: return nil
        }
    }
}

/// MPLS in UDP (RFC 7510, UDP 6635): a label stack directly after the UDP header.
enum MPLSInUDP {
    static let port: UInt16 = 6635
}

/// L2TP version 2 (RFC 2661, UDP 1701): data messages carry a PPP frame after a header whose
/// optional fields (length, sequence numbers, offset) are announced in its flags.
struct L2TPView: WireView {
    enum Flag {
        static let control: UInt16 = 0x8000
        static let length: UInt16 = 0x4000
        static let sequence: UInt16 = 0x0800
        static let offset: UInt16 = 0x0200
    }
    static let minLength = 6
    static let port: UInt16 = 1701

    let frame: Frame
    let offset: Int

    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool { frame.u16(offset) & 0x000F == 2 }

    /// Where the PPP frame of a data message starts; nil for a control message or a cut header.
    var payload: Int? {
        let flags = frame.u16(offset)
        guard flags & Flag.control == 0 else { return nil }
        var p = offset + 2 + (flags & Flag.length != 0 ? 2 : 0) + 4
        if flags & Flag.sequence != 0 { p += 4 }
        if flags & Flag.offset != 0 {
            guard frame.has(p, 2) else { return nil }
            p += 2 + Int(frame.u16(p))
        }
        return frame.has(p, 1) ? p : nil
    }
}
