import AetherCore

/// A TCP connection that has so far seen only its originator's SYNs (no payload, no answer,
/// not inside a tunnel): Zeek's "attempt". Its state is implied (history `S`, originator
/// SYN_SENT, responder inactive), so it keeps only what a full `Connection` cannot derive:
/// 112 bytes instead of 224. The first packet that is anything else promotes it.
struct Attempt {
    /// Set on the slot numbers of attempts, so one index holds both kinds.
    static let tag: Int32 = 0x4000_0000

    var id: Int64
    var firstTime: Int64
    var lastTime: Int64
    var firstPacket: UInt64
    var lastPacket: UInt64
    var firstFrame: UInt64
    var captureID: Int64
    var origAddress: IPAddress
    var respAddress: IPAddress
    var ipBytes: UInt32
    var packets: UInt32
    var prev: Int32 = -1
    var next: Int32 = -1
    var origPort: UInt16
    var respPort: UInt16
    var vlan: UInt16

    /// Retransmissions past this promote the attempt, so its narrow counters never wrap.
    static let packetLimit: UInt32 = 1 << 20

    var key: ConnectionKey { ConnectionKey(origAddress, origPort, respAddress, respPort, IPProto.tcp) }

    /// The connection as a full record: what the store, the detectors and the report read.
    var connection: Connection {
        var c = Connection()
        c.id = id
        c.proto = IPProto.tcp
        c.firstTime = firstTime
        c.lastTime = lastTime
        c.firstPacket = firstPacket
        c.lastPacket = lastPacket
        c.firstFrame = firstFrame
        c.captureID = captureID
        c.origAddress = origAddress
        c.respAddress = respAddress
        c.origPort = origPort
        c.respPort = respPort
        c.vlan = vlan
        c.origPackets = UInt64(packets)
        c.origIPBytes = UInt64(ipBytes)
        c.history.add(UInt8(ascii: "S"))
        c.origState = .synSent
        c.timeoutClass = 3
        return c
    }
}

/// The attempts' idle list: oldest first, so expiry looks only at its head (Zeek's attempt timeout).
extension ConnectionTable {
    @inline(__always) func linkAttempt(_ s: Int32) {
        attempts[Int(s)].prev = attemptTail
        attempts[Int(s)].next = -1
        if attemptTail >= 0 { attempts[Int(attemptTail)].next = s } else { attemptHead = s }
        attemptTail = s
    }

    @inline(__always) func unlinkAttempt(_ s: Int32) {
        let p = attempts[Int(s)].prev, n = attempts[Int(s)].next
        if p >= 0 { attempts[Int(p)].next = n } else { attemptHead = n }
        if n >= 0 { attempts[Int(n)].prev = p } else { attemptTail = p }
        attempts[Int(s)].prev = -1
        attempts[Int(s)].next = -1
    }
}

/// ICMP request and reply types that pair up into one connection (echo, timestamp, address
/// mask, router and neighbour discovery…); the connection key holds the pair.
enum ICMPPair {
    @inline(__always) static func counterpart(of type: UInt16, proto: UInt8) -> UInt16? {
        if proto == IPProto.icmp {
            switch type {
            case 8: return 0
            case 0: return 8
            case 13: return 14
            case 14: return 13
            case 15: return 16
            case 16: return 15
            case 10: return 9
            case 9: return 10
            case 17: return 18
            case 18: return 17
            default: return nil
            }
        }
        switch type {
        case 128: return 129
        case 129: return 128
        case 133: return 134
        case 134: return 133
        case 135: return 136
        case 136: return 135
        case 130: return 131
        case 131: return 130
        case 139: return 140
        case 140: return 139
        case 144: return 145
        case 145: return 144
        case 146: return 147
        case 147: return 146
        default: return nil
        }
    }
}

extension Connection {
    /// The index key, derived from the endpoints so the table keeps no copy of it. For ICMP
    /// `origPort` is the request type and the key's other port is its pair (or, for an
    /// unpaired type, the code kept in `respPort`).
    @inline(__always) var key: ConnectionKey {
        if proto == IPProto.icmp || proto == IPProto.icmpv6 {
            let other = ICMPPair.counterpart(of: origPort, proto: proto) ?? respPort
            return ConnectionKey(origAddress, origPort, respAddress, other, proto)
        }
        return ConnectionKey(origAddress, origPort, respAddress, respPort, proto)
    }
}

/// The two slabs an index slot may point into; the index reads keys through it.
final class SlotKeys {
    let connections = Slab<Connection>()
    let attempts = Slab<Attempt>()

    @inline(__always) func key(_ slot: Int32) -> ConnectionKey {
        slot & Attempt.tag != 0 ? attempts[Int(slot & ~Attempt.tag)].key : connections[Int(slot)].key
    }
}
