import AetherCore

/// A TCP endpoint's state as Zeek tracks it.
public enum EndpointState: UInt8, Sendable {
    case inactive, synSent, synAckSent, partial, established, closed, reset
}

/// Zeek's connection history: one letter per event kind and direction, in order of
/// first appearance (upper case from the originator). Fixed size: no allocation.
public struct History: Sendable, Equatable {
    var letters: (UInt64, UInt64, UInt64) = (0, 0, 0)
    var seen: UInt64 = 0
    var count: UInt8 = 0

    public init() {}

    public static func == (a: History, b: History) -> Bool {
        a.letters.0 == b.letters.0 && a.letters.1 == b.letters.1 && a.letters.2 == b.letters.2 && a.count == b.count
    }

    @inline(__always) public mutating func add(_ c: UInt8) {
        let bit = UInt64(1) << UInt64(c & 63)
        if seen & bit != 0 { return }
        seen |= bit
        guard count < 24 else { return }
        let i = Int(count)
        let shift = UInt64((i % 8) * 8)
        switch i / 8 {
        case 0: letters.0 |= UInt64(c) << shift
        case 1: letters.1 |= UInt64(c) << shift
        default: letters.2 |= UInt64(c) << shift
        }
        count += 1
    }

    public func contains(_ c: Character) -> Bool { description.contains(c) }

    /// The first letter (after a role flip's ^) is S or H: the connection opened in the capture.
    public var startsWithSYN: Bool {
        var w = letters.0
        if UInt8(truncatingIfNeeded: w) == UInt8(ascii: "^") { w >>= 8 }
        let c = UInt8(truncatingIfNeeded: w)
        return c == UInt8(ascii: "S") || c == UInt8(ascii: "H") || c == UInt8(ascii: "s") || c == UInt8(ascii: "h")
    }

    public var description: String {
        var bytes: [UInt8] = []
        for i in 0..<Int(count) {
            let w = i / 8 == 0 ? letters.0 : (i / 8 == 1 ? letters.1 : letters.2)
            bytes.append(UInt8(truncatingIfNeeded: w >> UInt64((i % 8) * 8)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One connection in Zeek's model: the row of the `flow` table.
public struct Connection: Sendable {
    // Fields in falling order of alignment: a million live connections (a SYN flood) are a
    // million of these, and padding between mixed sizes would cost tens of megabytes.
    public var id: Int64 = 0
    public var firstTime: Int64 = 0
    public var lastTime: Int64 = 0
    /// Pipeline-wide packet sequence numbers of the first and last packet.
    public var firstPacket: UInt64 = 0
    public var lastPacket: UInt64 = 0
    public var captureID: Int64 = 0
    public var firstFrame: UInt64 = 0
    public var origPackets: UInt64 = 0
    public var respPackets: UInt64 = 0
    public var origBytes: UInt64 = 0
    public var respBytes: UInt64 = 0
    public var origIPBytes: UInt64 = 0
    public var respIPBytes: UInt64 = 0
    /// The outer connection (VXLAN) or tunnel this one was carried in.
    public var tunnelParent: Int64 = 0
    var lastOrigPayload: Int64 = 0
    public var origAddress = IPAddress.zero
    public var respAddress = IPAddress.zero
    public var history = History()
    /// A protocol analyzer's small state (SSH: server NEWKEYS seen, first encrypted size).
    public var appState: UInt32 = 0
    // Intrusive idle list.
    var prev: Int32 = -1
    var next: Int32 = -1
    public var origPort: UInt16 = 0
    public var respPort: UInt16 = 0
    public var vlan: UInt16 = 0
    public var proto: UInt8 = 0
    public var origState = EndpointState.inactive
    public var respState = EndpointState.inactive
    public var tunnelKind: UInt8 = 0
    /// The application protocol, from content (`Service.byPort` fills in when no payload said).
    public var service = Service.unknown
    /// Login outcomes the responder showed in clear (FTP 530, LDAP bind result…).
    /// Login outcomes the server stated in clear (saturating): many may share one connection.
    public var loginFailures: UInt16 = 0
    public var loginSuccesses: UInt16 = 0
    /// Payload segments looked at for the service and login outcomes (bounded).
    public var inspected: UInt8 = 0
    var timeoutClass: UInt8 = 0

    /// The first packet carried no SYN: the capture joined an existing connection, or an idle
    /// timeout split one (Zeek's history does not start with S).
    public var joinedMidStream: Bool { proto == IPProto.tcp && !history.startsWithSYN }

    public init() {}

    /// Zeek's conn_state, from base/protocols/conn/main.zeek.
    public var state: String {
        switch proto {
        case IPProto.tcp:
            let os = origState, rs = respState
            let oInactive = os == .inactive || os == .partial
            let rInactive = rs == .inactive || rs == .partial
            if rs == .reset {
                if os == .synSent || os == .synAckSent || (os == .reset && origBytes == 0 && respBytes == 0) { return "REJ" }
                return oInactive ? "RSTRH" : "RSTR"
            }
            if os == .reset {
                if rInactive {
                    return Self.matchesRSTOS0(history.description) ? "RSTOS0" : "OTH"
                }
                return "RSTO"
            }
            if rs == .closed && os == .closed { return "SF" }
            if os == .closed { return rInactive ? "SH" : "S2" }
            if rs == .closed { return oInactive ? "SHR" : "S3" }
            if os == .synSent && rs == .inactive { return "S0" }
            if os == .established && rs == .established { return "S1" }
            return "OTH"
        case IPProto.udp:
            let oa = origPackets > 0, ra = respPackets > 0
            if oa { return ra ? "SF" : "S0" }
            return ra ? "SHR" : "OTH"
        default:
            return "OTH"
        }
    }

    /// /^\^?S[^HAFGIQ]*R.*/
    static func matchesRSTOS0(_ h: String) -> Bool {
        var s = Substring(h)
        if s.first == "^" { s = s.dropFirst() }
        guard s.first == "S" else { return false }
        for c in s.dropFirst() {
            if c == "R" { return true }
            if "HAFGIQ".contains(c) { return false }
        }
        return false
    }
}

extension Connection {
    /// One TCP segment's effect on the endpoint states and the history, as Zeek's TCP analyzer
    /// records it.
    @inline(__always) mutating func step(isOrig: Bool, flags f: UInt8, payload: UInt64) {
        // History letters as ASCII bytes: upper case for the originator, lower for the responder.
        @inline(__always) func letter(_ v: UInt8) -> UInt8 { isOrig ? v : v | 0x20 }
        var me = isOrig ? origState : respState
        var peer = isOrig ? respState : origState
        let syn = f & TCPFlag.syn != 0, ack = f & TCPFlag.ack != 0
        let fin = f & TCPFlag.fin != 0, rst = f & TCPFlag.rst != 0
        if syn {
            history.add(letter(ack ? UInt8(ascii: "H") : UInt8(ascii: "S")))
            if ack {
                if me == .inactive || me == .synSent || me == .partial { me = .synAckSent }
            } else if me == .inactive || me == .partial {
                me = .synSent
            }
        }
        if fin { history.add(letter(UInt8(ascii: "F"))) }
        if rst { history.add(letter(UInt8(ascii: "R"))) }
        if payload > 0 { history.add(letter(UInt8(ascii: "D"))) } else if ack && !syn && !fin && !rst { history.add(letter(UInt8(ascii: "A"))) }

        if rst {
            me = .reset
        } else if fin {
            if me != .reset { me = .closed }
        } else if !syn {
            switch me {
            case .inactive:
                me = .partial
            case .synSent, .synAckSent:
                if ack {
                    me = .established
                    if peer == .synAckSent || peer == .synSent { peer = .established }
                }
            default:
                break
            }
        }
        if isOrig { origState = me; respState = peer } else { respState = me; origState = peer }
    }
}

/// The identity of a connection, with the two endpoints in a canonical order.
public struct ConnectionKey: Hashable, Sendable, FlatKey {
    public var a: IPAddress
    public var b: IPAddress
    public var ports: UInt32
    public var proto: UInt8

    @inline(__always) public init(_ x: IPAddress, _ xp: UInt16, _ y: IPAddress, _ yp: UInt16, _ proto: UInt8) {
        if x < y || (x == y && xp <= yp) {
            a = x; b = y; ports = UInt32(xp) << 16 | UInt32(yp)
        } else {
            a = y; b = x; ports = UInt32(yp) << 16 | UInt32(xp)
        }
        self.proto = proto
    }

    @inline(__always) public var hash64: UInt64 {
        var x = a.lo &* 0x9E37_79B9_7F4A_7C15 ^ b.lo &* 0xC2B2_AE3D_27D4_EB4F
        x ^= (a.hi ^ b.hi.byteSwapped) &* 0x1656_67B1_9E37_79F9
        x ^= UInt64(ports) << 8 | UInt64(proto)
        return mix64(x)
    }
}

extension ConnectionSnapshot {
    /// Every field of a connection that records carry (`c`), in the order of a snapshot's
    /// values: a field added to `Connection` that `aether detect` must see after a shard
    /// boundary is one entry here, added at the end (records written in this order are read
    /// by position), or every side is rebuilt together.
    public static let fields: [ConnectionSnapshot] = [
        .int("id", { $0.id }, { $0.id = $1 }), .time("ts", { $0.firstTime }, { $0.firstTime = $1 }), .time("lt", { $0.lastTime }, { $0.lastTime = $1 }),
        .address("oh", { $0.origAddress }, { $0.origAddress = $1 }), .uint("op", { $0.origPort }, { $0.origPort = $1 }),
        .address("rh", { $0.respAddress }, { $0.respAddress = $1 }), .uint("rp", { $0.respPort }, { $0.respPort = $1 }),
        .uint("pr", { $0.proto }, { $0.proto = $1 }), .uint("vl", { $0.vlan }, { $0.vlan = $1 }),
        Self(
            key: "sv", get: { .int(Int64($0.service.rawValue)) },
            set: { c, r, v in c.service = Service(rawValue: try r.uint("sv", value: v)) ?? .unknown }),
        .count("opk", { $0.origPackets }, { $0.origPackets = $1 }), .count("rpk", { $0.respPackets }, { $0.respPackets = $1 }),
        .count("ob", { $0.origBytes }, { $0.origBytes = $1 }), .count("rb", { $0.respBytes }, { $0.respBytes = $1 }),
        .count("oib", { $0.origIPBytes }, { $0.origIPBytes = $1 }), .count("rib", { $0.respIPBytes }, { $0.respIPBytes = $1 }),
        Self(
            key: "hi", get: { .string($0.history.description) },
            set: { c, r, v in
                guard let h = v?.string else { throw r.fail("missing 'hi'") }
                c.history = History(h)
            }),
        Self(
            key: "os", get: { .int(Int64($0.origState.rawValue)) },
            set: { c, r, v in c.origState = EndpointState(rawValue: try r.uint("os", value: v)) ?? .inactive }),
        Self(
            key: "rs", get: { .int(Int64($0.respState.rawValue)) },
            set: { c, r, v in c.respState = EndpointState(rawValue: try r.uint("rs", value: v)) ?? .inactive }),
        .uint("lf", { $0.loginFailures }, { $0.loginFailures = $1 }), .uint("ls", { $0.loginSuccesses }, { $0.loginSuccesses = $1 }),
        .uint("in", { $0.inspected }, { $0.inspected = $1 }), .uint("as", { $0.appState }, { $0.appState = $1 }),
        .uint("tk", { $0.tunnelKind }, { $0.tunnelKind = $1 }), .int("tp", { $0.tunnelParent }, { $0.tunnelParent = $1 }),
        Self(
            key: "ic", get: { .int(Int64($0.idleClass)) },
            set: { c, r, v in c.restore(idleClass: try r.uint("ic", value: v), lastOriginatorPayload: c.lastOriginatorPayload) }),
        Self(
            key: "lop", get: { .int($0.lastOriginatorPayload) },
            set: { c, r, v in c.restore(idleClass: c.idleClass, lastOriginatorPayload: try r.time("lop", value: v)) }),
        .bits("fp", { $0.firstPacket }, { $0.firstPacket = $1 }), .bits("lp", { $0.lastPacket }, { $0.lastPacket = $1 }),
        .bits("fr", { $0.firstFrame }, { $0.firstFrame = $1 }), .int("cap", { $0.captureID }, { $0.captureID = $1 }),
    ]
}
