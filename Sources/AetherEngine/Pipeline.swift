import AetherCapture
import AetherCore
import AetherDecode
import AetherDetect
import AetherFlows
import AetherStore
#if canImport(Glibc)
    import Glibc
#endif

package struct IngestOptions: Sendable {
    package var filter: String?
    /// Show a progress line on the terminal (only when stderr is a terminal).
    package var progress = false
    /// Run the detectors (off only to measure what they cost).
    package var detect = true
    package var rules = DetectorConfig()
    /// The first connection id (a Spark shard's ids must not meet another shard's).
    package var firstFlowID: Int64 = 1
    /// Keep the packets' columns (what `carve` reads back). A Spark shard's scratch store is
    /// read only for its records and counts, and skips them.
    package var storePackets = true
    /// Threads for the stages after the read (the digest always has its own): 1 runs decode,
    /// connections, detectors and the store on one thread; 2 takes column encoding and
    /// compression off it (the reader thread does them while it is ahead) and WAL checkpoints
    /// to a thread of their own; 3 or more give the encoding its own thread. Any number gives
    /// the same output.
    package var threads = Pipeline.defaultThreads
    /// What file reassembly keeps (`FileLimits`): content only when asked (`--keep-files`).
    package var files = FileLimits()
    package init(filter: String? = nil, progress: Bool = false, detect: Bool = true, rules: DetectorConfig = DetectorConfig()) {
        self.filter = filter; self.progress = progress; self.detect = detect; self.rules = rules
    }
}

/// Source → decode → flows → store, the same for every mode. One instance carries flow state
/// across all the files it is given, which form one timeline.
package final class Pipeline {
    /// The machine's cores (what `--threads` defaults to).
    package static var defaultThreads: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    package let store: Store
    package let options: IngestOptions
    private let decoder = Decoder()
    private var joiner = FragmentJoiner()
    private var conversations = ConversationCounter()
    package let connections: ConnectionTable
    package let detector: DetectionEngine?
    // The hot path reads these rather than unwrapping the optional per packet.
    private let detecting: Bool
    private let storePackets: Bool
    private unowned(unsafe) let detectorRef: DetectionEngine
    private let idleDetector = DetectionEngine()
    private var finishedSeen = 0
    private var filter: PacketFilter?
    private let application: ApplicationLayer
    var meta = PacketMeta()
    private var sequence: UInt64 = 0
    private var seriesIndex: [Int64: Int] = [:]
    private var seriesSeconds: [Int64] = []
    private var seriesValues: [UInt64] = []
    private var lastSecond = Int64.min
    private var lastSeriesSlot = 0

    package init(store: Store, options: IngestOptions = IngestOptions()) throws {
        self.store = store
        self.options = options
        if let f = options.filter { filter = try PacketFilter(expression: f) }
        if options.threads >= 2 { store.encodeOffThePath(ownThread: options.threads >= 3) }
        connections = ConnectionTable(startID: max(try store.nextFlowID(), options.firstFlowID))
        let d = options.detect ? DetectionEngine(config: options.rules, firstAlertID: try store.nextAlertID()) : nil
        detector = d
        detecting = d != nil
        storePackets = options.storePackets
        detectorRef = d ?? idleDetector
        application = ApplicationLayer(
            connections: connections, detector: d, fileLimits: options.files, digests: options.threads >= 2 ? DigestQueue() : nil)
        conversations.preload(try store.conversationKeys())
        if options.detect {
            // The report shows the thresholds in force.
            try store.setMeta("rules", JSON.array(options.rules.settings.map { .array([.string($0.0), .string($0.1), .string($0.2)]) }).render(pretty: false))
        }
        sequence = try store.nextPacketSequence()
    }

    /// Ingests the given files and folders as one timeline.
    package func ingest(_ inputs: [String]) throws -> [FileOutcome] {
        let files = orderByFirstTimestamp(try expandInputs(inputs))
        var outcomes: [FileOutcome] = []
        for f in files { outcomes.append(try ingestFile(f)) }
        try finish()
        return outcomes
    }

    /// Ends all open connections and writes what remains.
    package func finish() throws {
        // Files under way end first: their events come before the final flush's cut connections.
        application.files.finishAll()
        application.files.settle()
        application.files.digests?.stop()
        detector?.recorder?.beginFinalFlush(connections.timeouts)
        // In batches: a flood leaves a million connections open at the end.
        while connections.flush(limit: 16_384) {
            feedFinished()
            try store.transaction { try store.insert(connections: connections.drainFinished()) }
            finishedSeen = 0
        }
        feedFinished()
        try store.transaction {
            try store.insert(connections: connections.drainFinished())
            finishedSeen = 0
            try store.insert(conversations: conversations.drainNew())
            try writeApplicationRows()
            try writeSeries()
            let withheld = gate.drain()
            try store.addWithheld(badChecksum: withheld.badChecksum, unassigned: withheld.unassigned)
            try saveChangedAlerts()
            if let detector {
                try store.setMeta("internal_scope", detector.scopeStatement)
                try store.setMeta("internal_inferred", detector.internalInferred ? "1" : "0")
            }
        }
        try store.ensureIndexes()
    }

    private var savedVersions: [Int64: Int] = [:]
    private var savedFlows: [Int64: Int] = [:]

    /// Writes alerts opened or grown since they were last written.
    private func saveChangedAlerts() throws {
        guard let detector else { return }
        let changed = detector.alerts.filter { savedVersions[$0.id] != $0.version }.map(\.id)
        if changed.isEmpty { return }
        let ids = Set(changed)
        try store.save(alerts: detector.finalAlerts(ids: ids), savedFlows: savedFlows)
        for a in detector.alerts where ids.contains(a.id) {
            savedVersions[a.id] = a.version
            savedFlows[a.id] = a.flows.count
        }
    }

    /// Hands connections the table has finished to the detectors, once each.
    @inline(__always) private func feedFinished() {
        guard let detector else { return }
        let done = connections.finished
        while finishedSeen < done.count {
            let c = done[finishedSeen]
            if gate.admits(c) { detector.finished(c) }
            finishedSeen += 1
        }
    }

    /// Writes what has finished so far; the pipeline keeps going.
    private func flushFinished() throws {
        feedFinished()
        try store.insert(connections: connections.drainFinished())
        finishedSeen = 0
        try store.insert(conversations: conversations.drainNew())
        try writeApplicationRows()
    }

    private func writeApplicationRows() throws {
        let rows = application.drain()
        if !rows.dns.isEmpty { try store.insert(dns: rows.dns) }
        if !rows.tls.isEmpty { try store.insert(tls: rows.tls) }
        if !rows.http.isEmpty { try store.insert(http: rows.http) }
        if !rows.x509.isEmpty { try store.insert(x509: rows.x509) }
        if !rows.files.isEmpty { try store.insert(files: rows.files) }
    }

    /// One packet through decode, flows, detectors and the store: the path every mode takes.
    @inline(__always) package func process(_ packet: RawPacket, frame: UInt64, captureID: Int64, counts: inout CaptureCounts) throws {
        decoder.decode(packet, into: &meta)
        meta.frame = frame
        if meta.outer.isFragment { joiner.join(&meta.outer) }
        if meta.hasInner && meta.inner.isFragment { joiner.join(&meta.inner) }
        // One local copy: a class property passed to each stage below is copied at every call.
        let m = meta
        counts.count(m)
        let flowID = connections.track(m, sequence: sequence, captureID: captureID)
        // A TCP/UDP packet of a connection already open has a 5-tuple already counted as a
        // conversation; only new connections, ICMP (keyed by echo id) and tunnels need the digest.
        if connections.update.isNew || m.hasInner || (m.outer.proto != IPProto.tcp && m.outer.proto != IPProto.udp)
            || connections.update.id == 0
        {
            conversations.observe(m)
        }
        if detecting {
            if gate.admits(m) { detectorRef.observe(m, connections) }
            if connections.finishedCount > finishedSeen { feedFinished() }
        }
        application.observe(packet, m, m.hasInner ? m.inner : m.outer, flowID: flowID)
        addSeries(m)
        if storePackets { try store.append(m, flowID: flowID, sequence: sequence, captureID: captureID) }
        sequence += 1
    }

    private var gate = DetectorGate()

    private func writeSeries() throws {
        var m: [Int64: [UInt64]] = [:]
        for (i, s) in seriesSeconds.enumerated() {
            m[s] = Array(seriesValues[i * 14..<(i + 1) * 14])
        }
        try store.add(series: m)
        seriesIndex.removeAll(); seriesSeconds.removeAll(); seriesValues.removeAll()
        lastSecond = Int64.min
    }

    @inline(__always) private func addSeries(_ m: PacketMeta) {
        let second = m.timestamp >= 0 ? m.timestamp / 1_000_000_000 : (m.timestamp - 999_999_999) / 1_000_000_000
        if second != lastSecond {
            if let slot = seriesIndex[second] {
                lastSeriesSlot = slot
            } else {
                lastSeriesSlot = seriesSeconds.count
                seriesIndex[second] = lastSeriesSlot
                seriesSeconds.append(second)
                seriesValues.append(contentsOf: repeatElement(0, count: 14))
            }
            lastSecond = second
        }
        let k = lastSeriesSlot * 14 + 2 * CaptureCounts.protocolClass(m)
        seriesValues[k] += 1
        seriesValues[k + 1] += UInt64(m.wireLength)
    }

    // MARK: the one driver: every mode reads a PacketSource through `run`

    /// What a caller may do around each packet (live summaries), on a quiet step, or to stop.
    package struct RunHooks {
        package var before: ((RawPacket) throws -> Void)?
        package var after: ((RawPacket) throws -> Void)?
        package var idle: (() throws -> Void)?
        package var shouldStop: (() -> Bool)?
        package init(
            before: ((RawPacket) throws -> Void)? = nil, after: ((RawPacket) throws -> Void)? = nil, idle: (() throws -> Void)? = nil,
            shouldStop: (() -> Bool)? = nil
        ) {
            self.before = before; self.after = after; self.idle = idle; self.shouldStop = shouldStop
        }
    }

    // The capture row being written (a file, a replay or an interface) and its counters.
    private var openID: Int64 = 0
    private var openCounts = CaptureCounts()
    private var openFrame: UInt64 = 0
    private var openLinkTypes: [UInt32] = []
    private var openIsSession = false
    private var isOpen = false
    private var progressLabel: String?
    private var progressStarted = 0.0
    private var progressLast = 0.0

    private func open(_ id: Int64, linkTypes: [UInt32], session: Bool) throws {
        openID = id; openCounts = CaptureCounts(); openFrame = 0; openLinkTypes = linkTypes; openIsSession = session
        isOpen = true
        try store.begin()
    }

    /// Every packet of `source` through the filter and `process` into the open capture, with a
    /// checkpoint every 65,536 packets; the same loop for files, replays and interfaces. A
    /// source's read error ends the loop and is thrown; everything before it is kept.
    package func run<Source: PacketSource>(_ source: Source, hooks: RunHooks = RunHooks()) throws {
        loop: while !(hooks.shouldStop?() ?? false) {
            switch try source.step() {
            case .packet:
                let p = source.packet
                try hooks.before?(p)
                try feed(p)
                try hooks.after?(p)
            case .idle:
                try hooks.idle?()
            case .end:
                break loop
            }
        }
    }

    /// One packet into the open capture (`run` calls this; tests may too).
    @inline(__always) package func feed(_ packet: RawPacket) throws {
        guard isOpen else { return }
        openFrame += 1
        if openIsSession && !openLinkTypes.contains(packet.linkType) { openLinkTypes.append(packet.linkType) }
        if let filter, try !filter.matches(packet) {
            openCounts.filteredOut += 1
            return
        }
        try process(packet, frame: openFrame, captureID: openID, counts: &openCounts)
        if sequence & 0xFFFF == 0 {
            if openIsSession {
                try checkpoint()
            } else {
                try flushFinished()
                try store.checkpoint()
                reportProgress()
            }
        }
    }

    private func reportProgress() {
        guard let label = progressLabel else { return }
        let now = monotonicSeconds()
        if now - progressLast > 0.5 {
            progressLast = now
            let rate = Double(openCounts.packets) / max(now - progressStarted, 0.001)
            printProgress("\r\(label): \(openCounts.packets) packets, \(Int(rate)) packets/s   ")
        }
    }

    /// Opens a capture row for a live interface or a replay; then `run` (or `feed`) its packets.
    package func beginSession(label: String, linkTypes: [UInt32]) throws -> Int64 {
        // The war room looks connections up by host while the session runs.
        try store.ensureIndexes()
        let id = try store.beginCapture(path: label, size: 0, format: "live", compressed: false, linkTypes: linkTypes, filter: options.filter)
        try open(id, linkTypes: linkTypes, session: true)
        return id
    }

    /// Commits what the session has so far (live mode calls this every second or two).
    package func checkpoint() throws {
        guard isOpen && openIsSession else { return }
        try store.flushChunk(captureID: openID)
        try flushFinished()
        try saveChangedAlerts()
        try store.finishCapture(openID, counts: openCounts, sha256: "", status: "ingesting", error: nil)
        try store.checkpoint()
    }

    /// Closes the session: everything written, the capture row complete.
    package func endSession(error: String? = nil) throws {
        guard isOpen && openIsSession else { return }
        try store.flushChunk(captureID: openID)
        try flushFinished()
        try store.commit()
        try store.updateLinkTypes(openID, openLinkTypes)
        try store.finishCapture(openID, counts: openCounts, sha256: "", status: error == nil ? "complete" : "truncated", error: error)
        isOpen = false
        try finish()
    }

    package var sessionCounts: CaptureCounts? { isOpen && openIsSession ? openCounts : nil }

    /// What live mode's per-second summaries need of the last packet, without copying it.
    package var lastProtocolClass: Int { CaptureCounts.protocolClass(meta) }
    package var lastUndecoded: Bool { meta.undecoded != 0 }
    /// The last packet as decoded (for the live event stream).
    package var lastMeta: PacketMeta { meta }
    package var lastSource: IPAddress? { meta.network == .ipv4 || meta.network == .ipv6 ? meta.outer.src : nil }

    private func ingestFile(_ path: String) throws -> FileOutcome {
        // Open first: a file we cannot read at all is reported before anything is stored.
        let reader: CaptureReader
        do { reader = try CaptureReader(path: path) } catch let e as CaptureError {
            // A file that exists but cannot be read at all is still part of the evidence: record it.
            if e.kind != .notFound && e.kind != .unreadable {
                let sha = (try? sha256OfFile(path))
                if let sha, let prior = try store.capture(withSHA256: sha), prior.status == "failed" {
                    return FileOutcome(path: path, status: .failed, packets: 0, error: e, sha256: sha)
                }
                let id = try store.beginCapture(
                    path: path, size: fileSize(path), format: "unknown", compressed: false,
                    linkTypes: [], filter: options.filter)
                try store.finishCapture(id, counts: CaptureCounts(), sha256: sha ?? "", status: "failed", error: e.description)
            }
            return FileOutcome(path: path, status: .failed, packets: 0, error: e)
        }
        // The same bytes ingested again add nothing. Only files whose size matches a stored
        // capture pay for a separate hashing pass.
        let sizeMatches = try store.finishedCaptureCount(size: reader.fileSize)
        if sizeMatches > 0 {
            let sha = try sha256OfFile(path)
            if let prior = try store.capture(withSHA256: sha), prior.status == "complete" || prior.status == "truncated" {
                return FileOutcome(path: path, status: .alreadyIngested, packets: UInt64(prior.packets), error: nil, sha256: sha)
            }
        }
        // Leftovers of an interrupted ingest of this file are replaced, not double counted.
        // (Another process ingesting the same file at the same time would look the same; one ingest per store at a time.)
        for id in try store.unfinishedCaptures(path: path, size: reader.fileSize) { try store.markInterrupted(id) }

        let captureID = try store.beginCapture(
            path: path, size: reader.fileSize, format: reader.format.rawValue,
            compressed: reader.isCompressed, linkTypes: reader.linkTypes, filter: options.filter)
        var failure: CaptureError?
        let progress = options.progress && isatty(2) != 0
        progressLabel = progress ? path : nil
        progressStarted = monotonicSeconds()
        progressLast = progressStarted
        try open(captureID, linkTypes: reader.linkTypes, session: false)
        if options.threads >= 2 {
            // The last stage (packet rows encoded, the store's bulk writes, queued meanwhile) is
            // done by whichever thread would otherwise wait: the reader while the decoder has all
            // the blocks it can hold, the decoder while the reader is behind.
            // Files' hashes are such work too (`DigestQueue`).
            let store = self.store
            if let digests = application.files.digests {
                reader.setIdleWork { [unowned(unsafe) store] in store.helpEncode() || digests.helpOnce() }
            } else {
                reader.setIdleWork { [unowned(unsafe) store] in store.helpEncode() }
            }
            store.deferWrites()
        }
        do {
            try run(reader)
        } catch let e as CaptureError {
            failure = e
        }
        try store.flushChunk(captureID: captureID)
        try flushFinished()
        try store.endDeferredWrites()
        try store.commit()
        isOpen = false
        var counts = openCounts
        if progress { printProgress("\r\u{1B}[K") }
        counts.outOfOrder = reader.outOfOrder
        let sha = reader.sha256()
        let status: FileOutcome.Status = failure == nil ? .complete : .truncated
        try store.updateLinkTypes(captureID, reader.linkTypes)
        try store.finishCapture(captureID, counts: counts, sha256: sha, status: status.rawValue, error: failure?.description)
        var outcome = FileOutcome(path: path, status: status, packets: counts.packets, error: failure, sha256: sha)
        outcome.clampedTimes = reader.clampedTimes
        outcome.undecoded = counts.undecodedReasons.map { (Undecoded.describe($0.key), $0.value) }.sorted { $0.packets > $1.packets }
        return outcome
    }
}
