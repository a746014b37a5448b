import AetherCore
import AetherDecode
import AetherDetect
import AetherStore

/// Files in HTTP/1.x connections: each request's and response's body, in order, through a
/// small TCP reassembler per direction. The same reassembler follows raw data connections
/// (`beginRaw`: FTP's, which `FTPFiles` finds), where one side's bytes up to its FIN are a file. A connection is followed from its first request the
/// application layer sees. What is held is bounded: `maxFlows` connections, `maxHeldBytes` of
/// out-of-order segments in all (and SMB pieces held for their offset), `maxHeld` segments
/// out of order per direction, and the content that `FileLimits` allows.
final class HTTPFiles {
    static let maxFlows = 4096
    static let maxHeld = 32
    static let maxHeldBytes = 64 << 20

    private final class Direction {
        var next: UInt32?
        var stream: HTTPMessageStream
        /// An SMTP client's messages (`beginMail`), read for their attachments.
        var mail = SMTPMessageStream()
        /// SMB2/3 messages (`beginSMB`).
        var smb = SMB2Stream()
        var file: FileTransfer?
        var head: HTTPHead?
        var held: [(seq: UInt32, bytes: [UInt8])] = []
        var closed = false
        init(fromServer: Bool) { stream = HTTPMessageStream(fromServer: fromServer) }
    }

    /// How a followed connection's bytes hold files: HTTP messages, a raw data connection (one
    /// direction's bytes are the file), or SMTP (the client's messages' attachments).
    private enum Mode { case http, raw, mail, smb }

    private final class Flow {
        let id: Int64
        let client: IPAddress, server: IPAddress
        let requests = Direction(fromServer: false)
        let responses = Direction(fromServer: true)
        /// The names the requests' targets give, for the responses to come.
        var names: [String?] = []
        var mode = Mode.http
        var smb: SMBSession?
        var lastSeen: Int64
        init(id: Int64, client: IPAddress, server: IPAddress, time: Int64) {
            self.id = id
            self.client = client
            self.server = server
            lastSeen = time
        }
    }

    private var flows: [Int64: Flow] = [:]
    private(set) var rows: [FileRow] = []
    /// Rows whose hashes are still being computed (`DigestQueue`), in the order the files ended.
    private var unsettled: [(row: FileRow, digest: FileDigest?, client: IPAddress, server: IPAddress)] = []
    /// Where file bytes go to be hashed off the decoder's thread (nil: hashed inline).
    let digests: DigestQueue?
    let limits: FileLimits
    private let budget: FileBudget
    /// Out-of-order bytes held by all connections followed (TCP segments, SMB pieces).
    private let held: FileBudget
    private var time: Int64 = 0
    private var lastSweep = Int64.min / 2

    /// Told of each whole file (intel's `Intel::FILE_HASH`, and the records a Spark job detects over).
    private let detector: DetectionEngine?

    init(limits: FileLimits, detector: DetectionEngine? = nil, digests: DigestQueue? = nil) {
        self.limits = limits
        self.detector = detector
        self.digests = digests
        budget = FileBudget(limit: limits.keptBytes)
        held = FileBudget(limit: Self.maxHeldBytes)
    }

    var isEmpty: Bool { flows.isEmpty }

    func drain() -> [FileRow] {
        settle()
        defer { rows.removeAll(keepingCapacity: true) }
        return rows
    }

    /// The files that ended get their hashes (waiting for the units not yet hashed) and are told
    /// to the detectors, in the order they ended.
    func settle() {
        for u in unsettled {
            var row = u.row
            if let d = u.digest { (row.md5, row.sha1, row.sha256) = d.finish() }
            rows.append(row)
            if let detector, !row.sha256.isEmpty {
                detector.file(
                    md5: row.md5, sha1: row.sha1, sha256: row.sha256, name: row.name ?? "", client: u.client, server: u.server, flow: row.flowID,
                    time: row.ts)
            }
        }
        unsettled.removeAll(keepingCapacity: true)
    }

    /// A request begins a connection's files (its first request seen, in `segment`'s packet).
    func begin(_ flowID: Int64, client: IPAddress, server: IPAddress, time: Int64) {
        guard flows[flowID] == nil else { return }
        if flows.count >= Self.maxFlows {
            // Connections silent for a minute are done with; if none is, the new one is not
            // followed. Looked for at most once a second: a full table is not sorted per packet.
            guard time - lastSweep >= 1_000_000_000 else { return }
            lastSweep = time
            for (id, f) in flows.sorted(by: { $0.key < $1.key }) where f.lastSeen < time - 60_000_000_000 { end(id, f) }
            if flows.count >= Self.maxFlows { return }
        }
        flows[flowID] = Flow(id: flowID, client: client, server: server, time: time)
    }

    /// Whether a connection is followed.
    func follows(_ flowID: Int64) -> Bool { flows[flowID] != nil }

    /// A raw data connection begins (`client` its originator): what `sender` sends until its FIN
    /// is the file `known` describes.
    func beginRaw(_ flowID: Int64, client: IPAddress, server: IPAddress, sender: IPAddress, known: FileRow, time: Int64) {
        begin(flowID, client: client, server: server, time: time)
        guard let f = flows[flowID] else { return }
        f.mode = .raw
        let d = sender == client ? f.requests : f.responses
        var k = known
        k.isOrig = sender == client
        d.file = FileTransfer(k, coding: "", limits: limits, budget: budget, digests: digests)
    }

    /// An SMB2/3 connection (`client` its originator): the files its READs and WRITEs carry.
    func beginSMB(_ flowID: Int64, client: IPAddress, server: IPAddress, time: Int64) {
        guard flows[flowID] == nil else { return }
        begin(flowID, client: client, server: server, time: time)
        guard let f = flows[flowID] else { return }
        f.mode = .smb
        f.smb = SMBSession(
            held: held,
            begin: { [unowned self, unowned f] name, upload, size in
                let known = FileRow(
                    ts: self.time, flowID: f.id, source: "SMB", isOrig: upload, name: name, mimeType: "", size: 0, totalBytes: size.map { Int64(clamping: $0) },
                    missingBytes: 0, md5: "", sha1: "", sha256: "", problem: nil, content: nil)
                return FileTransfer(known, coding: "", limits: self.limits, budget: self.budget, digests: self.digests)
            },
            end: { [unowned self, unowned f] transfer, whole in self.record(f, transfer, whole: whole) })
    }

    /// An SMTP connection (`client` its originator): the attachments of the messages the client
    /// sends.
    func beginMail(_ flowID: Int64, client: IPAddress, server: IPAddress, time: Int64) {
        guard flows[flowID] == nil else { return }
        begin(flowID, client: client, server: server, time: time)
        flows[flowID]?.mode = .mail
    }

    /// A TCP segment with payload. Returns without work when its connection is not followed.
    /// `length` is the payload's length on the wire: a capture cut short (snap length) lacks
    /// the rest.
    @inline(__always) func segment(
        _ flowID: Int64, src: IPAddress, seq: UInt32, flags: UInt8, payload: UnsafeRawBufferPointer, length: Int, time: Int64
    ) {
        guard let f = flows[flowID] else { return }
        self.time = time
        f.lastSeen = time
        let d = src == f.client ? f.requests : f.responses
        if !payload.isEmpty { deliver(f, d, seq: seq, payload) }
        if length > payload.count && !d.closed && !d.stream.isLost { lose(f, d, Int64(length - payload.count)) }
        if flags & (TCPFlag.fin | TCPFlag.rst) != 0 { close(flowID, f, d, reset: flags & TCPFlag.rst != 0) }
    }

    /// A segment without payload that ends a direction (FIN) or the connection (RST).
    func control(_ flowID: Int64, src: IPAddress, flags: UInt8, time: Int64) {
        guard let f = flows[flowID] else { return }
        self.time = time
        close(flowID, f, src == f.client ? f.requests : f.responses, reset: flags & TCPFlag.rst != 0)
    }

    /// The end of the input: every file under way ends as it is.
    func finishAll() {
        for (id, f) in flows.sorted(by: { $0.key < $1.key }) { end(id, f) }
    }

    private func close(_ id: Int64, _ f: Flow, _ d: Direction, reset: Bool) {
        if reset {
            end(id, f)
            return
        }
        finish(f, d, closed: true)
        if f.requests.closed && f.responses.closed { flows[id] = nil }
    }

    private func end(_ id: Int64, _ f: Flow) {
        finish(f, f.requests, closed: false)
        finish(f, f.responses, closed: false)
        flows[id] = nil
    }

    /// A direction's end: a body read until the close is whole (`closed`: by its FIN), any other
    /// under way is not.
    private func finish(_ f: Flow, _ d: Direction, closed: Bool) {
        guard !d.closed else { return }
        d.closed = true
        if !d.held.isEmpty, let next = d.next, let first = d.held.min(by: { Int32(bitPattern: $0.seq &- $1.seq) < 0 }) {
            lose(f, d, Int64(Int32(bitPattern: first.seq &- next)))
        }
        switch f.mode {
        case .raw:
            complete(f, d, whole: closed && !d.stream.isLost)
            return
        case .mail:
            complete(f, d, whole: false)
            return
        case .smb:
            if !closed || (f.requests.closed && f.responses.closed) { f.smb?.finishAll() }
            return
        case .http:
            break
        }
        d.stream.close { piece in if case .end = piece { self.complete(f, d, whole: true) } }
        complete(f, d, whole: false)
    }

    private func deliver(_ f: Flow, _ d: Direction, seq: UInt32, _ payload: UnsafeRawBufferPointer) {
        guard !d.closed, !d.stream.isLost else { return }
        let next = d.next ?? seq
        let ahead = Int32(bitPattern: seq &- next)
        if ahead > 0 {
            // Out of order: held until the gap fills, within bounds; otherwise the gap is final.
            if d.held.count < Self.maxHeld && payload.count <= 65_535 && held.reserve(payload.count) {
                d.held.append((seq, Array(payload)))
            } else {
                lose(f, d, Int64(ahead))
            }
            return
        }
        let skip = Int(-ahead)
        guard skip < payload.count else { return }  // a retransmission of what was read
        feed(f, d, UnsafeRawBufferPointer(rebasing: payload[skip...]))
        d.next = next &+ UInt32(payload.count - skip)
        // Held segments that now follow on.
        var progressed = true
        while progressed && !d.held.isEmpty && !d.stream.isLost {
            progressed = false
            for (i, h) in d.held.enumerated() {
                let a = Int32(bitPattern: h.seq &- d.next!)
                guard a <= 0 else { continue }
                d.held.remove(at: i)
                held.release(h.bytes.count)
                let s = Int(-a)
                if s < h.bytes.count {
                    h.bytes.withUnsafeBytes { feed(f, d, UnsafeRawBufferPointer(rebasing: $0[s...])) }
                    d.next = d.next! &+ UInt32(h.bytes.count - s)
                }
                progressed = true
                break
            }
        }
    }

    /// A gap the capture will not fill: the file under way is not whole, and no later message
    /// boundary in this direction can be found.
    private func lose(_ f: Flow, _ d: Direction, _ bytes: Int64) {
        d.file?.lose(max(0, bytes), why: "the capture lacks \(max(0, bytes)) bytes of it")
        f.smb?.loseAll(max(0, bytes))
        complete(f, d, whole: false)
        held.release(d.held.reduce(0) { $0 + $1.bytes.count })
        d.held = []
        d.stream.abandon()
    }

    private func feed(_ f: Flow, _ d: Direction, _ bytes: UnsafeRawBufferPointer) {
        switch f.mode {
        case .raw:
            d.file?.add(bytes)
            return
        case .mail:
            guard d === f.requests, !d.mail.isLost else { return }
            d.mail.feed(bytes) { piece in
                switch piece {
                case .file(let name):
                    self.complete(f, d, whole: false)
                    let known = FileRow(
                        ts: self.time, flowID: f.id, source: "SMTP", isOrig: true, name: name, mimeType: "", size: 0, totalBytes: nil,
                        missingBytes: 0, md5: "", sha1: "", sha256: "", problem: nil, content: nil)
                    d.file = FileTransfer(known, coding: "", limits: self.limits, budget: self.budget, digests: self.digests)
                case .data(let b):
                    d.file?.add(b)
                case .end:
                    self.complete(f, d, whole: true)
                }
            }
            return
        case .smb:
            d.smb.feed(bytes) { f.smb?.handle($0) }
            return
        case .http:
            break
        }
        let fromServer = d === f.responses
        d.stream.feed(bytes) { piece in
            switch piece {
            case .head(let h):
                if !fromServer {
                    if f.names.count < 64 { f.names.append(Self.name(fromTarget: h.uri)) }
                    d.head = h
                } else if h.status >= 200 {
                    var h = h
                    let requested = f.names.isEmpty ? nil : f.names.removeFirst()
                    if h.dispositionName == nil { h.dispositionName = requested }
                    d.head = h
                }
            case .body(let b):
                if d.file == nil, let h = d.head {
                    let known = FileRow(
                        ts: self.time, flowID: f.id, source: "HTTP", isOrig: !fromServer,
                        name: fromServer ? h.dispositionName : (h.dispositionName ?? Self.name(fromTarget: h.uri)), mimeType: "", size: 0,
                        totalBytes: h.chunked ? nil : h.contentLength, missingBytes: 0, md5: "", sha1: "", sha256: "", problem: nil, content: nil)
                    d.file = FileTransfer(known, coding: h.contentEncoding, limits: self.limits, budget: self.budget, digests: self.digests)
                }
                d.file?.add(b)
            case .end:
                self.complete(f, d, whole: true)
            }
        }
    }

    private func complete(_ f: Flow, _ d: Direction, whole: Bool) {
        guard let file = d.file else { return }
        d.file = nil
        record(f, file, whole: whole)
    }

    /// A file ended: its row waits for its hashes (`settle`).
    private func record(_ f: Flow, _ file: FileTransfer, whole: Bool) {
        guard file.size > 0 || file.missingBytes > 0 || file.problem != nil else { return }
        let (row, digest) = file.row(whole: whole)
        unsettled.append((row, digest, f.client, f.server))
    }

    /// The last segment of a request target's path, as sent (`/a/b.exe?x=1` gives `b.exe`).
    static func name(fromTarget uri: String) -> String? {
        var path = Substring(uri)
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<q] }
        guard let slash = path.lastIndex(of: "/") else { return path.isEmpty || path.contains(":") ? nil : String(path) }
        let last = path[path.index(after: slash)...]
        return last.isEmpty ? nil : String(last)
    }
}
