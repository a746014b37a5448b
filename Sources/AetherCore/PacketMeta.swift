/// Link-layer header types (LINKTYPE_* values as they appear in capture files).
public enum LinkType {
    public static let null: UInt32 = 0
    public static let ethernet: UInt32 = 1
    public static let rawAlt1: UInt32 = 12
    public static let rawAlt2: UInt32 = 14
    public static let raw: UInt32 = 101
    public static let loop: UInt32 = 108
    public static let linuxSLL: UInt32 = 113
    public static let ipv4: UInt32 = 228
    public static let ipv6: UInt32 = 229
    public static let linuxSLL2: UInt32 = 276
    public static let ppp: UInt32 = 9
    public static let fddi: UInt32 = 10
    public static let pppHDLC: UInt32 = 50
    public static let ciscoHDLC: UInt32 = 104
    public static let ieee80211: UInt32 = 105
    public static let radiotap: UInt32 = 127
    public static let ppi: UInt32 = 192
    public static let nflog: UInt32 = 239
    public static let tokenRing: UInt32 = 6
    public static let atmRFC1483: UInt32 = 11
    public static let pppEther: UInt32 = 51
    public static let pflog: UInt32 = 117

    public static func name(_ t: UInt32) -> String {
        switch t {
        case null: return "NULL"
        case ethernet: return "EN10MB"
        case rawAlt1, rawAlt2, raw: return "RAW"
        case loop: return "LOOP"
        case linuxSLL: return "LINUX_SLL"
        case ipv4: return "IPV4"
        case ipv6: return "IPV6"
        case linuxSLL2: return "LINUX_SLL2"
        case ppp: return "PPP"
        case fddi: return "FDDI"
        case pppHDLC: return "PPP_HDLC"
        case ciscoHDLC: return "C_HDLC"
        case ieee80211: return "IEEE802_11"
        case radiotap: return "IEEE802_11_RADIOTAP"
        case ppi: return "PPI"
        case nflog: return "NFLOG"
        case tokenRing: return "IEEE802"
        case atmRFC1483: return "ATM_RFC1483"
        case pppEther: return "PPP_ETHER"
        case pflog: return "PFLOG"
        default: return "LINKTYPE_\(t)"
        }
    }
}

public enum IPProto {
    public static let icmp: UInt8 = 1
    public static let ipip: UInt8 = 4
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let ipv6: UInt8 = 41
    public static let gre: UInt8 = 47
    public static let esp: UInt8 = 50
    public static let ah: UInt8 = 51
    public static let icmpv6: UInt8 = 58

    /// The one table of protocol names (alerts, the report, the live view, stats).
    public static func name(_ p: UInt8) -> String {
        switch p {
        case tcp: return "tcp"
        case udp: return "udp"
        case icmp: return "icmp"
        case icmpv6: return "icmpv6"
        case gre: return "gre"
        case ipv6: return "ipv6-in-ipv4"
        case ipip: return "ip-in-ip"
        case esp: return "ipsec-esp"
        case ah: return "ipsec-ah"
        default: return "ip\(p)"
        }
    }

    /// Zeek's conn.log `proto` (its transport_proto enum): ICMPv6 is "icmp" there too.
    public static func zeekName(_ p: UInt8) -> String {
        switch p {
        case tcp: return "tcp"
        case udp: return "udp"
        case icmp, icmpv6: return "icmp"
        default: return "unknown_transport"
        }
    }

}

/// What carried an inner packet: the `tunnel` column. IP-protocol tunnels keep their protocol
/// number; tunnels over UDP have codes above the protocols we name.
public enum Tunnel {
    public static let gre = IPProto.gre
    public static let ipip = IPProto.ipip
    public static let sixInFour = IPProto.ipv6
    public static let vxlan: UInt8 = IPProto.udp
    public static let geneve: UInt8 = 200
    public static let gtpU: UInt8 = 201
    public static let teredo: UInt8 = 202
    public static let vxlanGPE: UInt8 = 203
    public static let mplsUDP: UInt8 = 204
    public static let l2tp: UInt8 = 205
    /// GRE carrying ERSPAN: a switch mirroring frames to a collector, not a host's tunnel.
    public static let erspan: UInt8 = 206

    /// Names as Zeek's Tunnel::Type, lower case.
    public static func name(_ t: UInt8) -> String {
        switch t {
        case gre: return "gre"
        case ipip: return "ip-in-ip"
        case sixInFour: return "6in4"
        case vxlan: return "vxlan"
        case geneve: return "geneve"
        case gtpU: return "gtpv1"
        case teredo: return "teredo"
        case vxlanGPE: return "vxlan-gpe"
        case mplsUDP: return "mpls-in-udp"
        case l2tp: return "l2tp"
        case erspan: return "erspan"
        default: return "ip\(t)"
        }
    }

    /// Whether the outer UDP datagram is itself a connection (Zeek logs UDP tunnels' outer flow).
    public static func overUDP(_ t: UInt8) -> Bool { t == vxlan || t >= geneve }
}

/// Why a frame's network layer was not reached: `PacketMeta.undecoded`, 0 when it was (or when
/// the frame is a protocol we know and do not analyse, such as LLDP or spanning tree). The top
/// byte is the kind, the rest its value.
public enum Undecoded {
    public static let linkType: UInt32 = 1 << 24
    public static let etherType: UInt32 = 2 << 24
    public static let pppProtocol: UInt32 = 3 << 24
    public static let encapsulation: UInt32 = 4 << 24

    /// Encapsulations whose payload could not be read.
    public static let mplsPayload: UInt32 = encapsulation | 1
    public static let wifiProtected: UInt32 = encapsulation | 2
    public static let wifiAggregate: UInt32 = encapsulation | 3
    public static let nflogPayload: UInt32 = encapsulation | 4
    public static let llcUnknown: UInt32 = encapsulation | 5
    public static let macsec: UInt32 = encapsulation | 6
    public static let pppCompressed: UInt32 = encapsulation | 7

    public static func describe(_ code: UInt32) -> String {
        let value = code & 0x00FF_FFFF
        switch code & 0xFF00_0000 {
        case linkType: return "link type \(value) (\(LinkType.name(value)))"
        case etherType: return "EtherType 0x\(hex4(value))"
        case pppProtocol: return "PPP protocol 0x\(hex4(value))"
        default:
            switch code {
            case mplsPayload: return "MPLS label stack (payload not recognised)"
            case wifiProtected: return "802.11 protected (encrypted) data"
            case wifiAggregate: return "802.11 A-MSDU"
            case nflogPayload: return "NFLOG without a payload"
            case llcUnknown: return "802.2 LLC (unknown SAP)"
            case macsec: return "MACsec (encrypted)"
            case pppCompressed: return "PPP compressed datagram"
            default: return "encapsulation \(value)"
            }
        }
    }

    static func hex4(_ v: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<4).reversed().map { digits[Int(v >> UInt32($0 * 4)) & 0xF] })
    }
}

public enum TCPFlag {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
}

/// What the network layer of a frame turned out to be.
public enum NetworkKind: UInt8, Sendable {
    case none = 0
    case ipv4, ipv6, arp, other
}

/// One IP header and the transport header above it, as plain values.
/// `ports` hold ICMP type/code for ICMP so that every protocol has a comparable key.
public struct IPLayer: Sendable {
    public var src = IPAddress.zero
    public var dst = IPAddress.zero
    public var proto: UInt8 = 0
    public var isV6 = false
    /// Total length from the IP header (what Zeek counts as ip_bytes).
    public var ipLength: UInt32 = 0
    public var ipID: UInt32 = 0
    /// Fragment offset in bytes; non-zero means no transport header here.
    public var fragmentOffset: UInt32 = 0
    public var moreFragments = false
    /// The IPv4 header checksum is wrong: the packet is stored and counted, but no detector
    /// trusts its protocol number or flags.
    public var badChecksum = false
    /// A transport header was read (not a later fragment, not cut short).
    public var hasTransport = false
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var tcpFlags: UInt8 = 0
    public var tcpSeq: UInt32 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// ICMP echo identifier.
    public var icmpID: UInt16 = 0
    /// Transport payload length according to the headers (not what was captured).
    public var payloadLength: UInt32 = 0
    /// Offset of the transport payload in the frame, and how much of it was captured.
    public var payloadOffset: Int = 0
    public var payloadCaptured: Int = 0

    public init() {}

    @inlinable public var isFragment: Bool { fragmentOffset != 0 || moreFragments }
}

/// Everything the pipeline keeps from one frame. Reused in place for every packet.
public struct PacketMeta: Sendable {
    public var timestamp: Int64 = 0
    public var capturedLength: UInt32 = 0
    public var wireLength: UInt32 = 0
    /// Frame number within its capture file, from 1.
    public var frame: UInt64 = 0
    /// Byte offset of the record in the (uncompressed) capture stream.
    public var fileOffset: UInt64 = 0
    public var linkType: UInt32 = 0
    public var interface: UInt32 = 0

    public var vlanTags: UInt8 = 0
    public var vlanID: UInt16 = 0
    public var network: NetworkKind = .none
    public var etherType: UInt16 = 0
    /// The frame ended before a header it announced.
    public var truncated = false
    /// ARP over Ethernet/IPv4: opcode (1 request, 2 reply), sender and target protocol addresses.
    public var arpOp: UInt16 = 0
    public var arpSender = IPAddress.zero
    public var arpTarget = IPAddress.zero

    public var outer = IPLayer()
    /// The packet an ICMP error quotes.
    public var hasQuoted = false
    public var quoted = IPLayer()
    /// The inner packet of a tunnel (GRE, IP-in-IP, 6in4, VXLAN, Geneve, GTP-U, Teredo…) and
    /// what carried it (`Tunnel`).
    public var hasInner = false
    public var inner = IPLayer()
    public var tunnel: UInt8 = 0
    /// An ARP packet carried in a tunnel (its addresses are in `arp…`; `network` is the outer IP).
    public var innerARP = false
    /// Why the network layer was not reached (`Undecoded`); 0 when it was or needs no decoding.
    public var undecoded: UInt32 = 0

    public init() {}

    public mutating func reset() {
        vlanTags = 0; vlanID = 0; network = .none; etherType = 0; truncated = false; arpOp = 0
        outer = IPLayer(); hasQuoted = false; hasInner = false; tunnel = 0; innerARP = false; undecoded = 0
    }
}

/// One captured frame. `bytes` points into the reader's buffer and is valid until the next `next()`.
public struct RawPacket {
    public var timestamp: Int64 = 0
    public var capturedLength: UInt32 = 0
    public var wireLength: UInt32 = 0
    public var linkType: UInt32 = 0
    public var interface: UInt32 = 0
    /// Byte offset of the record in the uncompressed stream.
    public var offset: UInt64 = 0
    public var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    public init() {}
}

extension IPLayer {
    /// An ICMP or ICMPv6 error (unreachable, redirect, time exceeded, parameter problem, packet too
    /// big): it quotes the packet it answers and opens no conversation of its own.
    @inlinable public var isICMPError: Bool {
        if proto == IPProto.icmp { return icmpType == 3 || icmpType == 4 || icmpType == 5 || icmpType == 11 || icmpType == 12 }
        if proto == IPProto.icmpv6 { return icmpType >= 1 && icmpType <= 4 }
        return false
    }
}
