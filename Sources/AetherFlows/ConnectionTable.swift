import AetherCore
import AetherDecode

/// What the last tracked packet did to its connection; read by the detectors right after `track`.
/// The connection itself is `ConnectionTable.current`, read only when an event needs it.
public struct ConnectionUpdate: Sendable {
    /// The connection's id (0: the packet belongs to none).
    public var id: Int64 = 0
    public var timestamp: Int64 = 0
    /// The packet opened this connection.
    public var isNew = false
    public var fromOriginator = true
    /// The responder sent its first packet (SYN-ACK, a UDP reply, an echo reply).
    public var answered = false
    /// The responder refused before any answer: RST to a SYN.
    public var refused = false
    /// The originator sent payload after a second or more of silence (a burst; TCP and UDP).
    public var burst = false
    public init() {}
}

/// Zeek-style connection tracking over event time: originator and role flipping as Zeek
/// decides them, per-endpoint TCP state and history, idle timeouts that split a reused key,
/// tunnels' inner connections. Finished connections collect in `finished` for the store to
/// take; memory is bounded by the connections alive within the timeouts.
public final class ConnectionTable {
    public struct Timeouts: Sendable {
        public var tcp: Int64 = 300_000_000_000
        public var udp: Int64 = 60_000_000_000
        public var other: Int64 = 60_000_000_000
        /// Zeek's tcp_close_delay and tcp_reset_delay: a finished TCP connection lingers this long.
        public var closed: Int64 = 5_000_000_000
        public init() {}
    }

    public let timeouts: Timeouts
    public private(set) var finished: [Connection] = []
    /// `finished.count` without touching the array (read once per packet).
    public private(set) var finishedCount = 0
    public private(set) var update = ConnectionUpdate()
    private var currentSlot: Int32 = -1
    private var refusedSlot: Int32 = -1

    /// The connection the last packet belongs to, as the packet left it.
    public var current: Connection? { currentSlot >= 0 ? connection(at: currentSlot) : nil }
    /// The connection whose packet the last packet (an ICMP error) quoted: it was refused.
    public var refusedByICMP: Connection? { refusedSlot >= 0 ? connection(at: refusedSlot) : nil }
    /// Whether the last packet quoted a connection: asked per packet before `refusedByICMP`, whose
    /// optional copies a whole `Connection` even when there is none.
    public var hasRefusedByICMP: Bool { refusedSlot >= 0 }

    @inline(__always) private func connection(at s: Int32) -> Connection {
        s & Attempt.tag != 0 ? attempts[Int(s & ~Attempt.tag)].connection : slots[Int(s)]
    }
    public private(set) var nextID: Int64 = 1
    public private(set) var created: Int64 = 0
    public var active: Int { index.count }
    /// The latest event time seen; timeouts are measured against it, never the wall clock.
    public private(set) var clock: Int64 = Int64.min

    private let slots: Slab<Connection>
    private var free: [Int32] = []
    /// Connection attempts (pure SYNs, unanswered) in their compact form; their slots carry
    /// `Attempt.tag`. A SYN flood of a million sources is a million of these at 112 bytes.
    let attempts: Slab<Attempt>
    private var freeAttempts: [Int32] = []
    var attemptHead: Int32 = -1
    var attemptTail: Int32 = -1
    private let index: SlotIndex
    // Heads and tails of the idle lists, one per timeout class (oldest at head).
    private var heads: [Int32] = [-1, -1, -1, -1]
    private var tails: [Int32] = [-1, -1, -1, -1]

    public init(timeouts: Timeouts = Timeouts(), startID: Int64 = 1) {
        self.timeouts = timeouts
        self.nextID = startID
        let keys = SlotKeys()
        slots = keys.connections
        attempts = keys.attempts
        index = SlotIndex(keys: keys, capacity: 1 << 14)
    }

    public func drainFinished() -> [Connection] {
        defer { finished.removeAll(keepingCapacity: true); finishedCount = 0 }
        return finished
    }

    /// Ends every connection (end of input).
    public func flushAll() {
        for c in 0..<4 {
            while heads[c] >= 0 { evict(heads[c]) }
        }
        while attemptHead >= 0 { evict(attemptHead | Attempt.tag) }
    }

    /// Ends up to `limit` connections; false once none is left. The caller drains `finished`
    /// between calls, so ending a million connections never holds a million copies at once.
    public func flush(limit: Int) -> Bool {
        var n = 0
        for c in 0..<4 {
            while heads[c] >= 0 {
                if n == limit { return true }
                evict(heads[c])
                n += 1
            }
        }
        while attemptHead >= 0 {
            if n == limit { return true }
            evict(attemptHead | Attempt.tag)
            n += 1
        }
        return false
    }

    /// Expires connections idle past their timeout at event time `now`.
    @inline(__always) public func advance(to now: Int64) {
        if now <= clock { return }
        clock = now
        expire(0, timeouts.tcp)
        expire(1, timeouts.udp)
        expire(2, timeouts.other)
        expire(3, timeouts.closed)
        while attemptHead >= 0 {
            if attempts[Int(attemptHead)].lastTime &+ timeouts.closed >= clock { return }
            evict(attemptHead | Attempt.tag)
        }
    }

    @inline(__always) private func expire(_ c: Int, _ timeout: Int64) {
        while heads[c] >= 0 {
            let s = heads[c]
            if slots[Int(s)].lastTime &+ timeout >= clock { return }
            evict(s)
        }
    }

    /// Tracks one packet; returns the id of the connection it belongs to (0 for none).
    /// `sequence` is the pipeline-wide packet number.
    @inline(__always) public func track(_ m: PacketMeta, sequence: UInt64, captureID: Int64) -> Int64 {
        advance(to: m.timestamp)
        update.isNew = false; update.answered = false; update.refused = false; update.burst = false
        update.id = 0
        currentSlot = -1
        refusedSlot = -1
        guard m.network == .ipv4 || m.network == .ipv6 else { return 0 }
        let outer = m.outer
        if outer.src == .zero && outer.dst == .zero && outer.proto == 0 { return 0 }
        if m.hasQuoted && m.quoted.hasTransport { noteRefusal(m.quoted) }
        if m.hasInner {
            // A UDP tunnel's outer datagram is itself a connection in Zeek; GRE, IP-in-IP and 6in4 are not.
            var parent: Int64 = 0
            if outer.proto == IPProto.udp && Tunnel.overUDP(m.tunnel) {
                parent = observe(outer, m, sequence: sequence, captureID: captureID, tunnelParent: 0, tunnelKind: 0)
            }
            return observe(m.inner, m, sequence: sequence, captureID: captureID, tunnelParent: parent, tunnelKind: m.tunnel)
        }
        return observe(outer, m, sequence: sequence, captureID: captureID, tunnelParent: 0, tunnelKind: 0)
    }

    /// An ICMP error quotes a packet we sent: the connection it belongs to was refused.
    private func noteRefusal(_ q: IPLayer) {
        var sp = q.srcPort, dp = q.dstPort
        if q.proto == IPProto.icmp || q.proto == IPProto.icmpv6 { sp = UInt16(q.icmpType); dp = Self.icmpCounterpart(q) }
        guard let slot = index.find(ConnectionKey(q.src, sp, q.dst, dp, q.proto)) else { return }
        refusedSlot = slot
    }

    static func icmpCounterpart(_ l: IPLayer) -> UInt16 {
        ICMPPair.counterpart(of: UInt16(l.icmpType), proto: l.proto) ?? UInt16(l.icmpCode)
    }

    @inline(__always) private func observe(
        _ l: IPLayer, _ m: PacketMeta, sequence: UInt64, captureID: Int64,
        tunnelParent: Int64, tunnelKind: UInt8
    ) -> Int64 {
        var sp = l.srcPort, dp = l.dstPort
        let isICMP = l.proto == IPProto.icmp || l.proto == IPProto.icmpv6
        if isICMP { sp = UInt16(l.icmpType); dp = Self.icmpCounterpart(l) }
        let key = ConnectionKey(l.src, sp, l.dst, dp, l.proto)
        var slot = index.find(key) ?? -1
        let tcp = l.proto == IPProto.tcp
        let pureSYN =
            tcp && l.hasTransport && l.payloadLength == 0
            && l.tcpFlags & (TCPFlag.syn | TCPFlag.ack | TCPFlag.fin | TCPFlag.rst) == TCPFlag.syn
        if slot >= 0 && slot & Attempt.tag != 0 {
            let a = attempts.pointer(Int(slot & ~Attempt.tag))
            if pureSYN && l.src == a.pointee.origAddress && l.srcPort == a.pointee.origPort && a.pointee.packets < Attempt.packetLimit {
                // A retransmitted SYN: the attempt stays compact.
                a.pointee.packets += 1
                a.pointee.ipBytes &+= UInt32(l.ipLength)
                a.pointee.lastTime = max(a.pointee.lastTime, m.timestamp)
                a.pointee.lastPacket = sequence
                unlinkAttempt(slot & ~Attempt.tag)
                linkAttempt(slot & ~Attempt.tag)
                return reportAttempt(slot, m)
            }
            slot = promote(slot, key)
        }
        if slot >= 0 && tcp && l.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn {
            // A fresh SYN on a finished connection starts a new one (Zeek's connection reuse).
            let c = slots[Int(slot)]
            let ended: (EndpointState) -> Bool = { $0 == .closed || $0 == .reset }
            if ended(c.origState) || ended(c.respState) {
                evict(slot)
                slot = -1
            }
        }
        if slot < 0 && pureSYN && tunnelParent == 0 && tunnelKind == 0 {
            let a = Attempt(
                id: nextID, firstTime: m.timestamp, lastTime: m.timestamp, firstPacket: sequence, lastPacket: sequence,
                firstFrame: m.frame, captureID: captureID, origAddress: l.src, respAddress: l.dst,
                ipBytes: UInt32(l.ipLength), packets: 1, origPort: sp, respPort: dp, vlan: m.vlanID)
            nextID += 1; created += 1
            let s = allocateAttempt(a, key)
            update.isNew = true
            return reportAttempt(s, m)
        }
        if slot < 0 {
            var c = Connection()
            c.id = nextID; nextID += 1; created += 1
            c.proto = l.proto
            c.firstTime = m.timestamp
            c.firstPacket = sequence
            c.captureID = captureID
            c.firstFrame = m.frame
            c.tunnelParent = tunnelParent
            c.tunnelKind = tunnelKind
            c.vlan = m.vlanID
            var flip = false
            if tcp {
                let f = l.tcpFlags
                if f & TCPFlag.syn == 0 || f & TCPFlag.ack != 0 {
                    if AppProtocols.isServerPort(sp) {
                        flip = AppProtocols.isServerPort(dp) ? (f & TCPFlag.syn == 0 && sp < dp) : true
                    }
                }
            } else if l.proto == IPProto.udp {
                flip = AppProtocols.isServerPort(sp) && !AppProtocols.isServerPort(dp)
            } else if isICMP {
                // Zeek makes the sender of a request the originator even if the reply came first.
                flip =
                    (l.proto == IPProto.icmp && (l.icmpType == 0 || l.icmpType == 14 || l.icmpType == 16 || l.icmpType == 18))
                    || (l.proto == IPProto.icmpv6 && (l.icmpType == 129 || l.icmpType == 134 || l.icmpType == 136))
            }
            if flip {
                c.origAddress = l.dst; c.origPort = dp; c.respAddress = l.src; c.respPort = sp
                c.history.add(UInt8(ascii: "^"))
            } else {
                c.origAddress = l.src; c.origPort = sp; c.respAddress = l.dst; c.respPort = dp
            }
            if isICMP {
                // Zeek logs the request type as orig_p and the code as resp_p.
                c.origPort = flip ? dp : sp
                c.respPort = UInt16(l.icmpCode)
            }
            // An unanswered SYN lives only Zeek's attempt delay (class 3, 5 s) until answered: a
            // scan of a million closed or silent ports must not hold a million connections.
            let attempt = tcp && l.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
            c.timeoutClass = tcp ? (attempt ? 3 : 0) : (l.proto == IPProto.udp ? 1 : 2)
            slot = allocate(c, key)
            update.isNew = true
        } else {
            unlink(slot)
            link(slot)
        }
        let hadResponse = slots[Int(slot)].respPackets > 0
        let fromOrig = update(slot, l, m, sequence: sequence)
        let i = Int(slot)
        let id = slots[i].id
        let respPackets = slots[i].respPackets
        let os = slots[i].origState, rs = slots[i].respState
        update.id = id
        currentSlot = slot
        update.timestamp = m.timestamp
        update.fromOriginator = fromOrig
        if !hadResponse && respPackets > 0 {
            if tcp && rs == .reset && os != .established { update.refused = true } else { update.answered = true }
        }
        if tcp {
            let bothClosed = (os == .closed || os == .reset) && (rs == .closed || rs == .reset)
            let ending = bothClosed || os == .reset || rs == .reset
            let want: UInt8 = ending || (respPackets == 0 && os == .synSent) ? 3 : 0
            if want != slots[i].timeoutClass {
                unlink(slot)
                slots[i].timeoutClass = want
                link(slot)
            }
        }
        return id
    }

    @inline(__always) private func reportAttempt(_ slot: Int32, _ m: PacketMeta) -> Int64 {
        let id = attempts[Int(slot & ~Attempt.tag)].id
        update.id = id
        currentSlot = slot
        update.timestamp = m.timestamp
        update.fromOriginator = true
        return id
    }

    @inline(__always) @discardableResult
    private func update(_ s: Int32, _ l: IPLayer, _ m: PacketMeta, sequence: UInt64) -> Bool {
        do {
            let c = slots.pointer(Int(s))
            let isOrig: Bool
            if c.pointee.origAddress != c.pointee.respAddress {
                isOrig = l.src == c.pointee.origAddress
            } else if l.proto == IPProto.icmp || l.proto == IPProto.icmpv6 {
                isOrig = UInt16(l.icmpType) == c.pointee.origPort
            } else {
                isOrig = l.srcPort == c.pointee.origPort
            }
            c.pointee.lastTime = max(c.pointee.lastTime, m.timestamp)
            c.pointee.lastPacket = sequence
            let payload = UInt64(l.payloadLength)
            if isOrig {
                if payload > 0 && (l.proto == IPProto.tcp || l.proto == IPProto.udp) {
                    let last = c.pointee.lastOrigPayload
                    if last != 0 && m.timestamp &- last >= 1_000_000_000 {
                        update.burst = true
                    }
                    c.pointee.lastOrigPayload = m.timestamp
                }
                c.pointee.origPackets += 1
                c.pointee.origIPBytes += UInt64(l.ipLength)
                c.pointee.origBytes += payload
            } else {
                c.pointee.respPackets += 1
                c.pointee.respIPBytes += UInt64(l.ipLength)
                c.pointee.respBytes += payload
            }
            switch l.proto {
            case IPProto.tcp:
                if l.hasTransport { c.pointee.step(isOrig: isOrig, flags: l.tcpFlags, payload: payload) }
            case IPProto.udp:
                c.pointee.history.add(isOrig ? UInt8(ascii: "D") : UInt8(ascii: "d"))
            default:
                break
            }
            return isOrig
        }
    }

    // MARK: what the application layer learned about the current connection

    /// Payload segments already inspected on the current connection, and its service so far.
    @inline(__always) public var currentInspection: (service: Service, inspected: UInt8, appState: UInt32) {
        guard currentSlot >= 0 && currentSlot & Attempt.tag == 0 else { return (.unknown, 255, 0) }
        return (slots[Int(currentSlot)].service, slots[Int(currentSlot)].inspected, slots[Int(currentSlot)].appState)
    }

    public func noteInspected(service: Service, outcome: UInt8, appState: UInt32) {
        guard currentSlot >= 0 && currentSlot & Attempt.tag == 0 else { return }
        let i = Int(currentSlot)
        if slots[i].inspected < 255 { slots[i].inspected += 1 }
        slots[i].appState = appState
        if slots[i].service == .unknown && service != .unknown { slots[i].service = service }
        if outcome == 1 && slots[i].loginFailures < UInt16.max { slots[i].loginFailures += 1 }
        if outcome == 2 && slots[i].loginSuccesses < UInt16.max { slots[i].loginSuccesses += 1 }
    }

    // MARK: slab and idle lists

    private func store(_ c: Connection) -> Int32 {
        if let f = free.popLast() {
            slots[Int(f)] = c
            return f
        }
        slots.append(c)
        return Int32(slots.count - 1)
    }

    private func allocate(_ c: Connection, _ key: ConnectionKey) -> Int32 {
        let s = store(c)
        index.insert(key, slot: s)
        link(s)
        return s
    }

    private func allocateAttempt(_ a: Attempt, _ key: ConnectionKey) -> Int32 {
        let s: Int32
        if let f = freeAttempts.popLast() {
            s = f
            attempts[Int(s)] = a
        } else {
            s = Int32(attempts.count)
            attempts.append(a)
        }
        index.insert(key, slot: s | Attempt.tag)
        linkAttempt(s)
        return s | Attempt.tag
    }

    /// Makes an attempt a full connection in place of it (same id, same index cell).
    private func promote(_ tagged: Int32, _ key: ConnectionKey) -> Int32 {
        let a = tagged & ~Attempt.tag
        unlinkAttempt(a)
        let s = store(attempts[Int(a)].connection)
        freeAttempts.append(a)
        index.move(key, from: tagged, to: s)
        link(s)
        return s
    }

    private func evict(_ s: Int32) {
        if s & Attempt.tag != 0 {
            let a = s & ~Attempt.tag
            unlinkAttempt(a)
            index.remove(attempts[Int(a)].key, slot: s)
            finished.append(attempts[Int(a)].connection)
            finishedCount += 1
            freeAttempts.append(a)
            return
        }
        unlink(s)
        index.remove(slots[Int(s)].key, slot: s)
        finished.append(slots[Int(s)])
        finishedCount += 1
        free.append(s)
    }

    @inline(__always) private func link(_ s: Int32) {
        let c = Int(slots[Int(s)].timeoutClass)
        slots[Int(s)].prev = tails[c]
        slots[Int(s)].next = -1
        if tails[c] >= 0 { slots[Int(tails[c])].next = s } else { heads[c] = s }
        tails[c] = s
    }

    @inline(__always) private func unlink(_ s: Int32) {
        let c = Int(slots[Int(s)].timeoutClass)
        let p = slots[Int(s)].prev, n = slots[Int(s)].next
        if p >= 0 { slots[Int(p)].next = n } else { heads[c] = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tails[c] = p }
        slots[Int(s)].prev = -1
        slots[Int(s)].next = -1
    }
}
