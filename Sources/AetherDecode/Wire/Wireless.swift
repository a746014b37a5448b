/// The radiotap header (link type 127): version 0, a pad byte, then its own length
/// (little-endian) before the 802.11 frame.
struct RadiotapView: WireView {
    enum Field {
        static let version = 0
        static let length = 2
        static let present = 4
    }
    static let minLength = 8

    let frame: Frame
    let offset: Int

    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool { frame.u8(offset + Field.version) == 0 }

    @inline(__always) var headerLength: Int { Int(frame.u16le(offset + Field.length)) }
    @inline(__always) var payload: Int { offset + headerLength }
}

/// The Per-Packet Information header (link type 192): version 0, flags, its length and the link
/// type of the frame after it, little-endian.
struct PPIView: WireView {
    enum Field {
        static let version = 0
        static let flags = 1
        static let length = 2
        static let linkType = 4
    }
    static let minLength = 8

    let frame: Frame
    let offset: Int

    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool { frame.u8(offset + Field.version) == 0 }

    @inline(__always) var headerLength: Int { Int(frame.u16le(offset + Field.length)) }
    @inline(__always) var linkType: UInt32 { frame.u32le(offset + Field.linkType) }
    @inline(__always) var payload: Int { offset + headerLength }
}

/// An IEEE 802.11 MAC header (link type 105 and under radiotap or PPI): frame control, duration,
/// three addresses and sequence control; a fourth address between two access points; QoS control
/// on QoS data; HT control when a QoS frame has the order bit.
struct IEEE80211View: WireView {
    enum Field {
        static let frameControl = 0
        static let flags = 1
        static let duration = 2
        static let address1 = 4
        static let address2 = 10
        static let address3 = 16
        static let sequence = 22
        static let address4 = 24
    }
    enum Flag {
        static let toDS: UInt8 = 0x01
        static let fromDS: UInt8 = 0x02
        static let protected: UInt8 = 0x40
        static let order: UInt8 = 0x80
    }
    static let minLength = 24
    static let dataType: UInt8 = 2

    let frame: Frame
    let offset: Int

    @inline(__always) var type: UInt8 { (frame.u8(offset + Field.frameControl) >> 2) & 0x3 }
    @inline(__always) var subtype: UInt8 { frame.u8(offset + Field.frameControl) >> 4 }
    @inline(__always) var flags: UInt8 { frame.u8(offset + Field.flags) }
    @inline(__always) var isData: Bool { type == Self.dataType }
    @inline(__always) var isQoS: Bool { subtype & 0x8 != 0 }
    /// Null-function frames (subtypes 4 and 12, and the CF-only ones) carry no payload.
    @inline(__always) var hasPayload: Bool { subtype & 0x4 == 0 }
    @inline(__always) var isProtected: Bool { flags & Flag.protected != 0 }

    /// The header's length for a data frame.
    @inline(__always) var headerLength: Int {
        var n = Self.minLength
        if flags & (Flag.toDS | Flag.fromDS) == (Flag.toDS | Flag.fromDS) { n += 6 }
        if isQoS {
            n += 2
            if flags & Flag.order != 0 { n += 4 }
        }
        return n
    }

    /// QoS data whose QoS control has the A-MSDU bit: the payload is a list of subframes.
    @inline(__always) var isAggregate: Bool {
        guard isQoS else { return false }
        let q = offset + headerLength - (flags & Flag.order != 0 ? 6 : 2)
        return frame.has(q, 1) && frame.u8(q) & 0x80 != 0
    }

    @inline(__always) var payload: Int { offset + headerLength }
}
