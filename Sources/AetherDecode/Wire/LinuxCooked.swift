/// Linux "cooked" capture headers (`-i any`): SLL (link type 113) and SLL2 (276).
struct LinuxSLLView: WireView {
    enum Field {
        static let packetType = 0
        static let addressType = 2
        static let addressLength = 4
        static let address = 6
        static let protocolType = 14
    }
    static let length = 16
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var protocolType: UInt16 { frame.u16(offset + Field.protocolType) }
    @inline(__always) var payload: Int { offset + Self.length }
}

struct LinuxSLL2View: WireView {
    enum Field {
        static let protocolType = 0
        static let interfaceIndex = 4
        static let addressType = 8
        static let packetType = 10
        static let addressLength = 11
        static let address = 12
    }
    static let length = 20
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var protocolType: UInt16 { frame.u16(offset + Field.protocolType) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// BSD loopback (link types 0 and 108): a 4-byte address family, in the capturing host's byte
/// order for NULL and network order for LOOP; both are accepted.
struct LoopbackView: WireView {
    static let length = 4
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    @inline(__always) var family: UInt32 {
        let raw = frame.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return raw > 0xFFFF ? raw.byteSwapped : raw
    }

    @inline(__always) var payload: Int { offset + Self.length }
}
