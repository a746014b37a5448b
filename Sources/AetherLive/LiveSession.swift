import AetherCapture
import AetherCore
import AetherEngine
import AetherFlows
import AetherStore
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

package enum LiveSource: Sendable {
    case interface(name: String, bufferMB: Int)
    /// speed: 0 for as fast as possible, else a multiple of real time.
    case replay(path: String, speed: Double)
}

package struct LiveError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package var description: String { message }
}

/// Runs a source through the pipeline on its own thread and turns it into the messages of
/// The live protocol: one `summary` per second of event time, `alert` when an episode opens or grows,
/// `end` when a replay is over.
package final class LiveSession: @unchecked Sendable {
    package let broadcaster: Broadcaster
    /// The gRPC subscribers' stream, when `tail --grpc` serves one.
    let events: EventStream?
    let pipeline: Pipeline
    let source: LiveSource
    let filter: String?
    private let stopFlag = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    package private(set) var error: String?

    // Per-second accumulation (capture thread only).
    private var second = Int64.min
    private var secPackets: UInt64 = 0
    private var secBytes: UInt64 = 0
    private var secProto = [UInt64](repeating: 0, count: CaptureCounts.protocolNames.count)
    // Top talkers of the current second: a flat map to slots, reset each second.
    private let talkerIndex = FlatMap<IPAddress>(capacity: 1024)
    private var talkerHosts: [IPAddress] = []
    private var talkerBytes: [UInt64] = []
    private var talkerPackets: [UInt64] = []
    // New connections of the current second, by service port; the last few connections seen.
    private var secConnections: UInt64 = 0
    private var secPorts: [UInt32: UInt64] = [:]
    private var recent: [Connection] = []
    private var recentNext = 0
    static let recentLimit = 8
    /// When the first packet of the current second was read (wall clock): the summary's latency.
    private var secFirstRead = 0.0
    private var totalPackets: UInt64 = 0
    private var totalBytes: UInt64 = 0
    private var totalUndecoded: UInt64 = 0
    private var drops: UInt64 = 0 {
        didSet { broadcaster.metrics.drops.store(drops, ordering: .relaxed) }
    }
    private var lastCheckpoint = 0.0

    package init(pipeline: Pipeline, source: LiveSource, filter: String?, broadcaster: Broadcaster, events: EventStream? = nil) {
        self.events = events
        self.pipeline = pipeline
        self.source = source
        self.filter = filter
        self.broadcaster = broadcaster
    }

    package func stop() { stopFlag.store(true, ordering: .relaxed) }
    package var isFinished: Bool { finished.load(ordering: .relaxed) }

    /// Runs until the replay ends or `stop()`; then closes the session so the store is complete.
    package func run() {
        defer { finished.store(true, ordering: .relaxed) }
        do {
            switch source {
            case .replay(let path, let speed): try replay(path, speed: speed)
            case .interface(let name, let bufferMB): try capture(name, bufferMB: bufferMB)
            }
        } catch {
            self.error = "\(error)"
        }
        if case .interface = source { flushSecond() }  // a replay flushed its last second before `end`
        publishAlerts()
        try? pipeline.endSession(error: error)
    }

    private func replay(_ path: String, speed: Double) throws {
        // A replay is the one thing here that can use a whole core for as long as it likes;
        // answering the page, /healthz and the handshakes comes first.
        #if canImport(Glibc)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // on Linux: this thread only
        #endif
        let source = try PacedReplay(path: path, speed: speed) { [unowned self] in self.stopFlag.load(ordering: .relaxed) }
        do {
            try drive(source)
        } catch let e as CaptureError {
            error = e.description
        }
        flushSecond()
        publishAlerts()
        broadcaster.end(JSON.object([("type", .string("end")), ("total_packets", .int(Int64(totalPackets)))]).render(pretty: false))
        events?.end(totalPackets: totalPackets)
    }

    private func capture(_ name: String, bufferMB: Int) throws {
        let source: LiveCapture
        do { source = try LiveCapture(interface: name, bufferMB: bufferMB, filter: filter) } catch let e as LiveCaptureError {
            throw LiveError(message: e.message)
        }
        try drive(source)
    }

    /// Any source through the pipeline's one loop; around each packet the per-second summary is
    /// kept, and a quiet step still ends the second on the wall clock, so an idle interface ticks.
    private func drive(_ source: PacketSource) throws {
        _ = try pipeline.beginSession(label: source.label, linkTypes: source.linkTypes)
        let hooks = Pipeline.RunHooks(
            before: { [unowned self] p in self.beforePacket(p) },
            after: { [unowned self] p in self.afterPacket(p) },
            idle: { [unowned self] in
                let now = Int64(wallSeconds())
                if self.second != Int64.min && now > self.second {
                    self.flushSecond()
                    self.second = now
                }
                self.drops = source.drops
            },
            shouldStop: { [unowned self] in self.stopFlag.load(ordering: .relaxed) })
        try pipeline.run(source, hooks: hooks)
        drops = source.drops
    }

    /// The packet's second: when event time moved on, the finished second is summarised first.
    private func beforePacket(_ p: RawPacket) {
        let s = p.timestamp >= 0 ? p.timestamp / 1_000_000_000 : (p.timestamp - 999_999_999) / 1_000_000_000
        if second == Int64.min { second = s }
        if s > second {
            flushSecond()
            // Event time moved on; a long gap gets a few empty seconds, not thousands.
            var gap = second + 1
            while gap < s && s - gap < 5 { emptySecond(gap); gap += 1 }
            second = s
        }
    }

    /// What the pipeline just made of the packet, into this second's counters.
    private func afterPacket(_ p: RawPacket) {
        if secPackets == 0 { secFirstRead = wallSeconds() }
        totalPackets += 1
        totalBytes += UInt64(p.wireLength)
        secPackets += 1
        secBytes += UInt64(p.wireLength)
        let protocolClass = pipeline.lastProtocolClass
        secProto[protocolClass] += 1
        let isNew = pipeline.connections.update.isNew
        let undecoded = pipeline.lastUndecoded
        if undecoded { totalUndecoded += 1 }
        broadcaster.metrics.packet(bytes: p.wireLength, protocolClass: protocolClass, isNewConnection: isNew, undecoded: undecoded)
        if let c = pipeline.connections.current { noteConnection(c, isNew: isNew) }
        if let events, events.hasSubscribers { publishPacket(p, events) }
        if let src = pipeline.lastSource {
            let slot: Int
            if let s = talkerIndex.find(src) {
                slot = Int(s)
            } else {
                slot = talkerHosts.count
                talkerIndex.set(src, Int32(slot))
                talkerHosts.append(src); talkerBytes.append(0); talkerPackets.append(0)
            }
            talkerBytes[slot] += UInt64(p.wireLength)
            talkerPackets[slot] += 1
        }
    }

    /// Keeps the last few new connections with their newest counts, for the page's sample.
    private func noteConnection(_ c: Connection, isNew: Bool) {
        if isNew {
            secConnections += 1
            secPorts[UInt32(c.proto) << 16 | UInt32(c.respPort), default: 0] += 1
            if recent.count < Self.recentLimit {
                recent.append(c)
            } else {
                recent[recentNext] = c
                recentNext = (recentNext + 1) % Self.recentLimit
            }
        } else if let i = recent.firstIndex(where: { $0.id == c.id }) {
            recent[i] = c
        }
    }

    private func emptySecond(_ s: Int64) {
        let saved = second
        second = s
        flushSecond()
        second = saved
    }

    private func flushSecond() {
        guard second != Int64.min else { return }
        publishAlerts()
        let now = wallSeconds()
        let top = talkerHosts.indices.sorted {
            talkerBytes[$0] != talkerBytes[$1] ? talkerBytes[$0] > talkerBytes[$1] : talkerHosts[$0] < talkerHosts[$1]
        }.prefix(10)
        let msg = JSON.object([
            ("type", .string("summary")), ("t", .int(second + 1)),
            ("packets", .int(Int64(secPackets))), ("bytes", .int(Int64(secBytes))),
            ("total_packets", .int(Int64(totalPackets))), ("total_bytes", .int(Int64(totalBytes))),
            ("protocols", .object(CaptureCounts.protocolNames.enumerated().map { ($0.element, .int(Int64(secProto[$0.offset]))) })),
            (
                "top_talkers",
                .array(
                    top.map {
                        .object([
                            ("host", .string(talkerHosts[$0].description)), ("bytes", .int(Int64(talkerBytes[$0]))),
                            ("packets", .int(Int64(talkerPackets[$0]))),
                        ])
                    })
            ),
            ("drops", .int(Int64(drops))),
            ("connections", .int(Int64(secConnections))),
            ("top_ports", .array(topPorts())),
            ("recent", .array(recentConnections())),
            ("undecoded", .int(Int64(totalUndecoded))),
            ("latency_ms", .double(secPackets == 0 ? 0 : ((now - secFirstRead) * 1e4).rounded() / 10)),
            ("sent_ms", .int(Int64(now * 1000))),
        ]).render(pretty: false)
        broadcaster.summary(msg, readAt: secPackets == 0 ? now : secFirstRead)
        events?.summary(
            second: second + 1, packets: secPackets, bytes: secBytes, totalPackets: totalPackets, totalBytes: totalBytes,
            protocols: CaptureCounts.protocolNames.enumerated().map { ($0.element, secProto[$0.offset]) }, drops: drops,
            connections: secConnections)
        broadcaster.metrics.summaries.add(1, ordering: .relaxed)
        secPackets = 0; secBytes = 0; secConnections = 0
        secPorts.removeAll(keepingCapacity: true)
        for i in secProto.indices { secProto[i] = 0 }
        talkerIndex.removeAll()
        talkerHosts.removeAll(keepingCapacity: true); talkerBytes.removeAll(keepingCapacity: true); talkerPackets.removeAll(keepingCapacity: true)
        // The store is committed every couple of seconds: a crash loses at most that much.
        if now - lastCheckpoint >= 2 {
            lastCheckpoint = now
            try? pipeline.checkpoint()
        }
    }

    private func publishAlerts() {
        guard let d = pipeline.detector else { return }
        for (alert, isNew) in d.drainChanges() {
            guard case .object(var fields) = alert.json(includeEvidence: true) else { continue }
            fields.insert(("type", .string("alert")), at: 0)
            fields.append(("state", .string(isNew ? "open" : "update")))
            if isNew { broadcaster.metrics.alertOpened(kind: alert.kind) }
            events?.alert(alert, state: isNew ? "open" : "update")
            broadcaster.alert(id: alert.id, JSON.object(fields).render(pretty: false))
        }
    }
}

extension LiveSession {
    /// The busiest service ports of the second, by new connections.
    private func topPorts() -> [JSON] {
        secPorts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(6).map {
            .object([
                ("proto", .string(IPProto.name(UInt8($0.key >> 16)))), ("port", .int(Int64($0.key & 0xFFFF))),
                ("connections", .int(Int64($0.value))),
            ])
        }
    }

    /// One packet to the gRPC subscribers: its innermost IP layer, or the ARP addresses.
    private func publishPacket(_ p: RawPacket, _ events: EventStream) {
        let m = pipeline.lastMeta
        let ip = m.network == .ipv4 || m.network == .ipv6
        let l = m.hasInner ? m.inner : m.outer
        let packet = EventFilter.Packet(
            src: ip ? l.src : m.arpSender, dst: ip ? l.dst : m.arpTarget, srcPort: ip ? l.srcPort : 0, dstPort: ip ? l.dstPort : 0,
            proto: ip ? l.proto : 0, hasPorts: ip && l.hasTransport && (l.proto == IPProto.tcp || l.proto == IPProto.udp))
        let name = ip ? IPProto.name(l.proto) : (m.network == .arp ? "arp" : "other")
        events.packet(
            packet, timestamp: p.timestamp, length: p.wireLength, protocolName: name, tcpFlags: ip ? l.tcpFlags : 0,
            connection: pipeline.connections.update.id, sequence: totalPackets)
    }

    /// The sample of recent connections, newest first.
    private func recentConnections() -> [JSON] {
        recent.sorted { $0.id > $1.id }.map { c in
            .object([
                ("src", .string(c.origAddress.description)), ("sport", .int(Int64(c.origPort))),
                ("dst", .string(c.respAddress.description)), ("dport", .int(Int64(c.respPort))),
                ("proto", .string(IPProto.name(c.proto))), ("service", .string(c.service == .unknown ? "" : c.service.name)),
                ("state", .string(c.state)), ("bytes", .int(Int64(c.origBytes + c.respBytes))),
            ])
        }
    }
}

func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
