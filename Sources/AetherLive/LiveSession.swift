import AetherCapture
import AetherCore
import AetherEngine
import AetherStore
import CPcap
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

public enum LiveSource: Sendable {
    case interface(name: String, bufferMB: Int)
    /// speed: 0 for as fast as possible, else a multiple of real time.
    case replay(path: String, speed: Double)
}

public struct LiveError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Runs a source through the pipeline on its own thread and turns it into the messages of
/// DESIGN.md: one `summary` per second of event time, `alert` when an episode opens or grows,
/// `end` when a replay is over.
public final class LiveSession: @unchecked Sendable {
    public let broadcaster: Broadcaster
    let pipeline: Pipeline
    let source: LiveSource
    let filter: String?
    private let stopFlag = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    public private(set) var error: String?

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
    private var totalPackets: UInt64 = 0
    private var totalBytes: UInt64 = 0
    private var drops: UInt64 = 0
    private var lastCheckpoint = 0.0

    public init(pipeline: Pipeline, source: LiveSource, filter: String?, broadcaster: Broadcaster) {
        self.pipeline = pipeline
        self.source = source
        self.filter = filter
        self.broadcaster = broadcaster
    }

    public func stop() { stopFlag.store(true, ordering: .relaxed) }
    public var isFinished: Bool { finished.load(ordering: .relaxed) }

    /// Runs until the replay ends or `stop()`; then closes the session so the store is complete.
    public func run() {
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
        let reader = try CaptureReader(path: path)
        _ = try pipeline.beginSession(label: "replay:\(path)", linkTypes: reader.linkTypes)
        let startWall = wallSeconds()
        var firstTs: Int64?
        do {
            while !stopFlag.load(ordering: .relaxed), try reader.next() {
                let p = reader.packet
                if speed > 0 {
                    if firstTs == nil { firstTs = p.timestamp }
                    let due = Double(p.timestamp - firstTs!) / 1e9 / speed
                    while !stopFlag.load(ordering: .relaxed) {
                        let wait = due - (wallSeconds() - startWall)
                        if wait <= 0 { break }
                        usleep(UInt32(min(wait, 0.2) * 1e6))
                    }
                }
                try handle(p)
            }
        } catch let e as CaptureError {
            error = e.description
        }
        flushSecond()
        publishAlerts()
        broadcaster.end(JSON.object([("type", .string("end")), ("total_packets", .int(Int64(totalPackets)))]).render(pretty: false))
    }

    private func capture(_ name: String, bufferMB: Int) throws {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let h = pcap_create(name, &errbuf) else { throw LiveError(message: "\(name): \(String(cString: errbuf))") }
        defer { pcap_close(h) }
        pcap_set_snaplen(h, 262_144)
        pcap_set_immediate_mode(h, 1)
        pcap_set_timeout(h, 100)
        pcap_set_buffer_size(h, Int32(bufferMB) << 20)
        _ = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let rc = pcap_activate(h)
        if rc < 0 { throw LiveError(message: "\(name): cannot capture: \(String(cString: pcap_geterr(h)))") }
        if let filter {
            var prog = bpf_program()
            guard pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                throw LiveError(message: "--filter: \(String(cString: pcap_geterr(h)))")
            }
            defer { pcap_freecode(&prog) }
            guard pcap_setfilter(h, &prog) == 0 else { throw LiveError(message: "--filter: \(String(cString: pcap_geterr(h)))") }
        }
        let linkType = UInt32(pcap_datalink(h))
        let nanos = pcap_get_tstamp_precision(h) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        _ = try pipeline.beginSession(label: "live:\(name)", linkTypes: [linkType])
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var raw = RawPacket()
        // In immediate mode Linux libpcap ignores the read timeout and blocks; read without
        // blocking and wait in poll() instead, so quiet seconds still tick and Ctrl-C is seen.
        guard pcap_setnonblock(h, 1, &errbuf) == 0 else { throw LiveError(message: "\(name): \(String(cString: errbuf))") }
        let fd = pcap_get_selectable_fd(h)
        while !stopFlag.load(ordering: .relaxed) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 100)
            var batch = 0
            while batch < 10_000 {
                let r = pcap_next_ex(h, &hdr, &data)
                if r == 1, let hdr, let data {
                    let sec = Int64(hdr.pointee.ts.tv_sec), frac = Int64(hdr.pointee.ts.tv_usec)
                    raw.timestamp = sec * 1_000_000_000 + (nanos ? frac : frac * 1000)
                    raw.capturedLength = hdr.pointee.caplen
                    raw.wireLength = hdr.pointee.len
                    raw.linkType = linkType
                    raw.bytes = UnsafeRawBufferPointer(start: data, count: Int(hdr.pointee.caplen))
                    try handle(raw)
                    batch += 1
                } else if r < 0 {
                    throw LiveError(message: "\(name): \(String(cString: pcap_geterr(h)))")
                } else {
                    break
                }
            }
            // A quiet interface still ticks: the second ends on the wall clock when no packet ends it.
            let now = Int64(wallSeconds())
            if second != Int64.min && now > second { flushSecond(); second = now }
            var st = pcap_stat()
            if pcap_stats(h, &st) == 0 { drops = UInt64(st.ps_drop) + UInt64(st.ps_ifdrop) }
        }
    }

    @inline(__always) private func handle(_ p: RawPacket) throws {
        let s = p.timestamp >= 0 ? p.timestamp / 1_000_000_000 : (p.timestamp - 999_999_999) / 1_000_000_000
        if second == Int64.min { second = s }
        if s > second {
            flushSecond()
            // Event time moved on; a long gap gets a few empty seconds, not thousands.
            var gap = second + 1
            while gap < s && s - gap < 5 { emptySecond(gap); gap += 1 }
            second = s
        }
        try pipeline.feed(p)
        totalPackets += 1
        totalBytes += UInt64(p.wireLength)
        secPackets += 1
        secBytes += UInt64(p.wireLength)
        secProto[pipeline.lastProtocolClass] += 1
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

    private func emptySecond(_ s: Int64) {
        let saved = second
        second = s
        flushSecond()
        second = saved
    }

    private func flushSecond() {
        guard second != Int64.min else { return }
        publishAlerts()
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
        ]).render(pretty: false)
        broadcaster.summary(msg)
        secPackets = 0; secBytes = 0
        for i in secProto.indices { secProto[i] = 0 }
        talkerIndex.removeAll()
        talkerHosts.removeAll(keepingCapacity: true); talkerBytes.removeAll(keepingCapacity: true); talkerPackets.removeAll(keepingCapacity: true)
        // The store is committed every couple of seconds: a crash loses at most that much.
        let now = wallSeconds()
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
            broadcaster.alert(id: alert.id, JSON.object(fields).render(pretty: false))
        }
    }
}

func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
