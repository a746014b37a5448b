import AetherCore

/// ARP for IPv4 over Ethernet (RFC 826): the only form whose addresses we read.
struct ARPView: WireView {
    enum Field {
        static let hardwareType = 0
        static let protocolType = 2
        static let hardwareLength = 4
        static let protocolLength = 5
        static let operation = 6
        static let senderHardware = 8
        static let senderProtocol = 14
        static let targetHardware = 18
        static let targetProtocol = 24
    }
    static let length = 28
    static var minLength: Int { length }

    let frame: Frame
    let offset: Int

    /// Accepted only when the whole header is there and it is Ethernet/IPv4 ARP.
    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool {
        frame.u16(offset + Field.hardwareType) == 1 && frame.u16(offset + Field.protocolType) == EtherType.ipv4 && frame.u8(offset + Field.hardwareLength) == 6
            && frame.u8(offset + Field.protocolLength) == 4
    }

    @inline(__always) var operation: UInt16 { frame.u16(offset + Field.operation) }
    @inline(__always) var senderAddress: IPAddress { frame.v4(offset + Field.senderProtocol) }
    @inline(__always) var targetAddress: IPAddress { frame.v4(offset + Field.targetProtocol) }
}
