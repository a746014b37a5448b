/// PPP (RFC 1661) as it appears in captures: link types 9 and 50, inside PPPoE, GRE (PPTP) and
/// L2TP. The address and control bytes (0xFF 0x03) are optional, and the protocol field is one
/// byte when its low bit is set (protocol-field compression).
struct PPPView: WireView {
    enum Field {
        static let address = 0
        static let control = 1
    }
    static let allStations: UInt8 = 0xFF
    static let unnumbered: UInt8 = 0x03
    static let minLength = 2

    let frame: Frame
    let offset: Int

    /// The protocol number and where its payload starts; nil when the frame ends inside the field.
    @inline(__always) var protocolAndPayload: (UInt16, Int)? {
        var q = offset
        if frame.u8(q + Field.address) == Self.allStations && frame.u8(q + Field.control) == Self.unnumbered { q += 2 }
        guard frame.has(q, 1) else { return nil }
        if frame.u8(q) & 1 == 1 { return (UInt16(frame.u8(q)), q + 1) }
        guard frame.has(q, 2) else { return nil }
        return (frame.u16(q), q + 2)
    }
}

/// PPP protocol numbers (RFC 1661 and the IANA registry).
enum PPPProtocol {
    static let ipv4: UInt16 = 0x0021
    static let ipv6: UInt16 = 0x0057
    static let mplsUnicast: UInt16 = 0x0281
    static let mplsMulticast: UInt16 = 0x0283
    static let compressed: UInt16 = 0x00FD
    static let compressedLink: UInt16 = 0x00FB

    /// The EtherType of what a PPP protocol carries, 0 when it carries no network packet we read.
    static func etherType(_ p: UInt16) -> UInt16 {
        switch p {
        case ipv4: return EtherType.ipv4
        case ipv6: return EtherType.ipv6
        case mplsUnicast: return EtherType.mpls
        case mplsMulticast: return EtherType.mplsMulticast
        default: return 0
        }
    }

    /// Link and network control protocols (LCP, PAP, CHAP, IPCP, IPV6CP, CCP…): known, and not
    /// network packets (0x8000–0xFFFF).
    static func isControl(_ p: UInt16) -> Bool { p >= 0x8000 }
}

/// Cisco HDLC (link type 104, and what some "NULL" or PPP captures really carry): address 0x0F
/// (unicast) or 0x8F (broadcast), control 0, then an EtherType.
struct CiscoHDLCView: WireView {
    enum Field {
        static let address = 0
        static let control = 1
        static let protocolType = 2
    }
    static let length = 4
    static var minLength: Int { length }
    static let slarp: UInt16 = 0x8035

    let frame: Frame
    let offset: Int

    /// The address byte Cisco HDLC uses, which tells it from PPP on links that may carry either.
    @inline(__always) static func hasCiscoAddress(_ frame: Frame, at offset: Int) -> Bool {
        let a = frame.u8(offset + Field.address)
        return a == 0x0F || a == 0x8F
    }

    @inline(__always) var protocolType: UInt16 { frame.u16(offset + Field.protocolType) }
    @inline(__always) var payload: Int { offset + Self.length }
}
