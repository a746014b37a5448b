/// Headers between Ethernet and the network layer that name the next EtherType: 802.1ah
/// provider backbone bridging, VN-Tag, Cisco FabricPath and MPLS.

/// 802.1ah (PBB) I-TAG: priority and flags, a 24-bit service id, then the customer's
/// destination and source addresses and EtherType.
struct PBBView: WireView {
    enum Field {
        static let flags = 0
        static let serviceID = 1
        static let customerDestination = 4
        static let customerSource = 10
        static let etherType = 16
    }
    static let length = 18
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var etherType: UInt16 { frame.u16(offset + Field.etherType) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// VN-Tag (802.1Qbh draft, Cisco FEX): a 4-byte tag of interface ids, then the EtherType.
struct VNTagView: WireView {
    enum Field {
        static let tag = 0
        static let etherType = 4
    }
    static let length = 6
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var etherType: UInt16 { frame.u16(offset + Field.etherType) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// Cisco FabricPath: after the outer addresses and EtherType 0x8903, a forwarding tag and TTL,
/// then the classical Ethernet frame (its own addresses and EtherType).
struct FabricPathView: WireView {
    enum Field {
        static let forwardingTag = 0
        static let innerEthernet = 2
    }
    static let minLength = 2

    let frame: Frame
    let offset: Int

    @inline(__always) var innerEthernet: Int { offset + Field.innerEthernet }
}

/// One MPLS label stack entry (RFC 3032): label, traffic class, bottom-of-stack bit, TTL.
struct MPLSLabelView: WireView {
    static let length = 4
    static var minLength: Int { length }
    static let maxDepth = 16

    let frame: Frame
    let offset: Int

    @inline(__always) var label: UInt32 { frame.u32(offset) >> 12 }
    @inline(__always) var isBottom: Bool { frame.u8(offset + 2) & 0x01 != 0 }
}
