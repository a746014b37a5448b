import AetherCore

/// Ethernet II (IEEE 802.3 with an EtherType): destination, source, type.
struct EthernetView: WireView {
    enum Field {
        static let destination = 0
        static let source = 6
        static let etherType = 12
    }
    static let length = 14
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var etherType: UInt16 { frame.u16(offset + Field.etherType) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// One 802.1Q / 802.1ad tag: priority, DEI and VLAN id, then the next EtherType.
struct VLANTagView: WireView {
    enum Field {
        static let tci = 0
        static let etherType = 2
    }
    static let length = 4
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var vlanID: UInt16 { frame.u16(offset + Field.tci) & 0x0FFF }
    @inline(__always) var etherType: UInt16 { frame.u16(offset + Field.etherType) }
}

/// A PPPoE session header (RFC 2516) and the PPP protocol number after it.
struct PPPoESessionView: WireView {
    enum Field {
        static let versionType = 0
        static let code = 1
        static let sessionID = 2
        static let length = 4
        static let pppProtocol = 6
    }
    static let length = 8
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var pppProtocol: UInt16 { frame.u16(offset + Field.pppProtocol) }
    @inline(__always) var payload: Int { offset + Self.length }
}
