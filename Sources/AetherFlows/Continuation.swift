import AetherCore

/// A connection cut where one capture file ends and the next begins is two fragments when the
/// files are read apart (a Spark job's tasks). `absorb` joins them as one table reading both
/// files would have: counts add up, the history goes on, the endpoint states move on.
extension History {
    /// The history spelled by `text` (as `description` gives it).
    public init(_ text: String) {
        self.init()
        for c in text.utf8 { add(c) }
    }

    /// Goes on with `later`'s letters; `flipped` when `later` took the roles the other way round.
    public mutating func append(_ later: History, flipped: Bool) {
        for c in later.description.utf8 {
            if c == UInt8(ascii: "^") { continue }
            let isLetter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            add(flipped && isLetter ? c ^ 0x20 : c)
        }
    }
}

extension Connection {
    /// Which idle list the table keeps this connection on: 0 TCP, 1 UDP, 2 other, 3 closed or
    /// an unanswered attempt.
    public var idleClass: UInt8 { timeoutClass }

    /// When the originator last sent payload (0: never).
    public var lastOriginatorPayload: Int64 { lastOrigPayload }

    /// Sets what a record carries of the table's own bookkeeping.
    public mutating func restore(idleClass: UInt8, lastOriginatorPayload: Int64) {
        timeoutClass = idleClass
        lastOrigPayload = lastOriginatorPayload
    }

    /// Whether `later` is the same 5-tuple with the roles the other way round.
    public func isFlipped(_ later: Connection) -> Bool {
        later.origAddress == respAddress && later.origPort == respPort
            && !(later.origAddress == origAddress && later.origPort == origPort)
    }

    /// Joins the fragment `later` (the same 5-tuple, next file) onto this one.
    public mutating func absorb(_ later: Connection) {
        var b = later
        let flipped = isFlipped(later)
        if flipped {
            swap(&b.origPackets, &b.respPackets)
            swap(&b.origBytes, &b.respBytes)
            swap(&b.origIPBytes, &b.respIPBytes)
            swap(&b.origState, &b.respState)
        }
        origPackets += b.origPackets; respPackets += b.respPackets
        origBytes += b.origBytes; respBytes += b.respBytes
        origIPBytes += b.origIPBytes; respIPBytes += b.respIPBytes
        lastTime = max(lastTime, b.lastTime)
        lastPacket = max(lastPacket, b.lastPacket)
        history.append(b.history, flipped: flipped)
        origState = Self.moved(origState, by: b.origState)
        respState = Self.moved(respState, by: b.respState)
        if service == .unknown { service = b.service }
        loginFailures = UInt16(min(Int(UInt16.max), Int(loginFailures) + Int(b.loginFailures)))
        loginSuccesses = UInt16(min(Int(UInt16.max), Int(loginSuccesses) + Int(b.loginSuccesses)))
        inspected = max(inspected, b.inspected)
        if appState == 0 { appState = b.appState }
        if !flipped && b.lastOrigPayload != 0 { lastOrigPayload = b.lastOrigPayload }
        if b.timeoutClass == 3 || timeoutClass == 3 { timeoutClass = b.timeoutClass }
    }

    /// An endpoint's state after the next file's packets: a fragment that began mid-stream
    /// starts from inactive, so only the states its packets reached beyond that count.
    static func moved(_ before: EndpointState, by after: EndpointState) -> EndpointState {
        switch after {
        case .inactive: return before
        case .partial: return before == .inactive ? .partial : before
        default: return before == .reset ? .reset : after
        }
    }
}
