/// IEEE 802.2 LLC, with SNAP when both SAPs are 0xAA: what 802.3 length-framed Ethernet, FDDI
/// and 802.11 carry. A SNAP header with OUI 0 (or 0x0000F8, bridge-tunnel) holds an EtherType.
struct LLCView: WireView {
    enum Field {
        static let dsap = 0
        static let ssap = 1
        static let control = 2
        static let oui = 3
        static let snapType = 6
    }
    static let minLength = 3
    static let snapLength = 8
    static let snapSAP: UInt8 = 0xAA
    /// SAP 0x06: IPv4 directly on LLC (RFC 1042 allows it; rare).
    static let ipSAP: UInt8 = 0x06

    let frame: Frame
    let offset: Int

    @inline(__always) var dsap: UInt8 { frame.u8(offset + Field.dsap) }
    @inline(__always) var ssap: UInt8 { frame.u8(offset + Field.ssap) }
    /// U-format control fields are one byte; I and S formats two.
    @inline(__always) var controlLength: Int { frame.u8(offset + Field.control) & 0x3 == 0x3 ? 1 : 2 }
    @inline(__always) var isSNAP: Bool { dsap & 0xFE == Self.snapSAP && ssap & 0xFE == Self.snapSAP }

    /// The EtherType a SNAP header carries (0 for a vendor protocol), and where its payload is;
    /// nil when the SNAP header is cut short.
    @inline(__always) var snap: (oui: UInt32, type: UInt16, payload: Int)? {
        guard frame.has(offset, Self.snapLength) else { return nil }
        let oui = UInt32(frame.u8(offset + Field.oui)) << 16 | UInt32(frame.u16(offset + Field.oui + 1))
        return (oui, frame.u16(offset + Field.snapType), offset + Self.snapLength)
    }

    /// Where the payload of a non-SNAP frame starts.
    @inline(__always) var payload: Int { offset + 2 + controlLength }
}

/// FDDI (link type 10): frame control, destination, source, then LLC.
struct FDDIView: WireView {
    enum Field {
        static let frameControl = 0
        static let destination = 1
        static let source = 7
    }
    static let length = 13
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    /// LLC frames have frame-control bits 0x50 (async LLC); others (SMT, MAC) carry no packet.
    @inline(__always) var carriesLLC: Bool { frame.u8(offset + Field.frameControl) & 0xF0 == 0x50 }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// Linux NFLOG (link type 239): a 4-byte netlink header (address family, version, resource id),
/// then TLVs padded to 4 bytes whose length and type are in the capturing host's byte order. The
/// packet itself is the payload TLV (type 9), starting at its network header.
struct NFLOGView: WireView {
    enum Field {
        static let family = 0
        static let version = 1
        static let resourceID = 2
    }
    static let length = 4
    static var minLength: Int { length }
    static let payloadType: UInt16 = 9
    static let maxAttributes = 64

    let frame: Frame
    let offset: Int

    @inline(__always) var family: UInt8 { frame.u8(offset + Field.family) }

    /// Start and length of the payload TLV's value, nil when there is none.
    var payload: (offset: Int, length: Int)? {
        // The first TLV's length tells the byte order: read little-endian unless that is absurd.
        var p = offset + Self.length
        guard frame.has(p, 4) else { return nil }
        let le = Int(frame.u16le(p))
        let bigEndian = le < 4 || p + le > frame.count
        var steps = 0
        while frame.has(p, 4) && steps < Self.maxAttributes {
            let length = Int(bigEndian ? frame.u16(p) : frame.u16le(p))
            let type = (bigEndian ? frame.u16(p + 2) : frame.u16le(p + 2)) & 0x7FFF
            guard length >= 4 else { return nil }
            if type == Self.payloadType { return (p + 4, min(length - 4, frame.count - p - 4)) }
            p += (length + 3) & ~3
            steps += 1
        }
        return nil
    }
}

/// Token Ring (link type 6): access control, frame control, destination, source (its top bit
/// announces routing information, whose length is in its first byte), then LLC.
struct TokenRingView: WireView {
    enum Field {
        static let accessControl = 0
        static let frameControl = 1
        static let destination = 2
        static let source = 8
        static let routing = 14
    }
    static let minLength = 14

    let frame: Frame
    let offset: Int

    /// LLC frames have frame-control type bits 01; MAC frames carry no packet.
    @inline(__always) var carriesLLC: Bool { frame.u8(offset + Field.frameControl) & 0xC0 == 0x40 }

    /// Where LLC starts, after routing information when the source's top bit says there is some.
    @inline(__always) var payload: Int? {
        guard frame.u8(offset + Field.source) & 0x80 != 0 else { return offset + Self.minLength }
        guard frame.has(offset + Field.routing, 1) else { return nil }
        return offset + Field.routing + Int(frame.u8(offset + Field.routing) & 0x1F)
    }
}

/// OpenBSD's pflog header (link type 117): its length, then the address family of the packet
/// that follows, padded to a 4-byte boundary.
struct PFLogView: WireView {
    enum Field {
        static let length = 0
        static let family = 1
    }
    static let minLength = 4

    let frame: Frame
    let offset: Int

    @inline(__always) var family: UInt8 { frame.u8(offset + Field.family) }
    @inline(__always) var payload: Int { offset + ((Int(frame.u8(offset + Field.length)) + 3) & ~3) }
}
