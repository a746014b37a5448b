import AetherCore

/// The IPv6 fixed header (RFC 8200).
struct IPv6View: WireView {
    enum Field {
        static let versionClassFlow = 0
        static let payloadLength = 4
        static let nextHeader = 6
        static let hopLimit = 7
        static let source = 8
        static let destination = 24
    }
    static let length = 40
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    /// Accepted only when 40 bytes are there and the version nibble says 6.
    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u8(offset) >> 4 == 6
    }

    @inline(__always) var payloadLength: Int { Int(frame.u16(offset + Field.payloadLength)) }
    @inline(__always) var nextHeader: UInt8 { frame.u8(offset + Field.nextHeader) }
    @inline(__always) var source: IPAddress { frame.v6(offset + Field.source) }
    @inline(__always) var destination: IPAddress { frame.v6(offset + Field.destination) }
    @inline(__always) var payload: Int { offset + Self.length }
}

/// An IPv6 extension header: hop-by-hop (0), routing (43), fragment (44), destination
/// options (60), AH (51), mobility (135), HIP (139), shim6 (140).
struct IPv6ExtensionView {
    enum Field {
        static let nextHeader = 0
        static let length = 1
        static let fragmentOffset = 2
        static let identification = 4
    }
    static let minLength = 8

    let frame: Frame
    let offset: Int
    let kind: UInt8

    @inline(__always) init?(_ frame: Frame, at offset: Int, kind: UInt8) {
        guard frame.has(offset, Self.minLength) else { return nil }
        self.frame = frame
        self.offset = offset
        self.kind = kind
    }

    @inline(__always) static func isExtension(_ next: UInt8) -> Bool {
        switch next {
        case 0, 43, 44, 51, 60, 135, 139, 140: return true
        default: return false
        }
    }

    @inline(__always) var nextHeader: UInt8 { frame.u8(offset + Field.nextHeader) }
    /// Bytes this header takes: AH counts 4-byte units less two, the others 8-byte units less one.
    @inline(__always) var headerLength: Int {
        switch kind {
        case 44: return 8
        case 51: return (Int(frame.u8(offset + Field.length)) + 2) * 4
        default: return (Int(frame.u8(offset + Field.length)) + 1) * 8
        }
    }
    // Fragment header fields (kind 44).
    @inline(__always) var fragmentOffset: UInt32 { UInt32(frame.u16(offset + Field.fragmentOffset) & 0xFFF8) }
    @inline(__always) var moreFragments: Bool { frame.u16(offset + Field.fragmentOffset) & 1 != 0 }
    @inline(__always) var identification: UInt32 { frame.u32(offset + Field.identification) }
}
