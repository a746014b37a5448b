import AetherCapture
import AetherCore
import AetherDecode
import AetherDetect
import AetherFlows
import AetherStore

/// The application layer: services by content, TLS hellos (JA4), HTTP heads, DNS messages (UDP
/// and reassembled TCP) and SSDP, each paired with its answer. One entry point, `observe`; a
/// new protocol analyzer is a parser in AetherDecode and a branch there. Rows wait here until
/// the pipeline's next checkpoint takes them (`drain`).
final class ApplicationLayer {
    private let connections: ConnectionTable
    private let detector: DetectionEngine?
    var dnsRows: [DNSRow] = []
    /// Queries in `dnsRows` awaiting their response, by (flow, DNS id).
    private var pendingDNS: [DNSKey: Int] = [:]
    private struct DNSKey: Hashable { var flow: Int64; var id: UInt16 }
    var tlsRows: [TLSRow] = []
    var httpRows: [HTTPRow] = []
    var x509Rows: [X509Row] = []
    /// Servers' first flights (TLS 1.2 and earlier), until their Certificate message is whole:
    /// at most 512 at a time of 32 KB each (16 MB), far more than handshakes under way at once.
    private var flights: [Int64: (server: IPAddress, next: UInt32, bytes: [UInt8])] = [:]
    static let maxFlight = 32 * 1024
    /// The latest hello or request of a connection, awaiting the server's answer.
    private var pendingTLS: [Int64: Int] = [:]
    private var pendingHTTP: [Int64: Int] = [:]
    /// A TLS hello or DNS message split over TCP segments, until it is whole (bounded).
    private var reassembly: [Int64: (client: IPAddress, next: UInt32, bytes: [UInt8], need: Int, dns: Bool)] = [:]
    static let maxHello = 32 * 1024
    /// JA4 and JA3 by a digest of the hello's lists: a capture has few distinct clients, so the hashing
    /// and hex formatting run once per fingerprint, not once per connection.
    private var fingerprints: [UInt64: (String, String)] = [:]
    /// Files over HTTP, FTP, SMTP and SMB (`HTTPFiles`, with `FTPFiles` for FTP's control channel).
    let files: HTTPFiles
    let ftp = FTPFiles()
    // The packet being observed.
    private var timestamp: Int64 = 0
    private var trusted = true

    init(connections: ConnectionTable, detector: DetectionEngine?, fileLimits: FileLimits = FileLimits(), digests: DigestQueue? = nil) {
        self.connections = connections
        self.detector = detector
        files = HTTPFiles(limits: fileLimits, detector: detector, digests: digests)
    }

    /// One packet whose connection the table has just tracked; `l` is its innermost IP layer.
    @inline(__always) func observe(_ packet: RawPacket, _ meta: PacketMeta, _ l: IPLayer, flowID: Int64) {
        if l.proto == IPProto.tcp && l.payloadCaptured > 0 && l.hasTransport {
            timestamp = meta.timestamp
            trusted = !meta.outer.badChecksum
            let (service, seen, state) = connections.currentInspection
            // A few segments name the service; a login service's answers are all read for login
            // outcomes (a tool may retry hundreds of passwords over one connection), which costs
            // a few byte compares per server segment.
            let clearLogin = (service.hasLogin && !service.loginIsEncrypted) || service == .http
            if seen < 8 || (seen < 64 && (service.hasLogin || service == .http)) || (clearLogin && !connections.update.fromOriginator) {
                identify(packet, l, service, state)
            }
            inspect(packet, l, flowID: flowID)
            guard trusted, let base = packet.bytes.baseAddress else { return }
            let payload = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
            let fromClient = connections.update.fromOriginator
            if service == .ftp || (fromClient && (service == .smtp || service == .smb)), let c = connections.current {
                switch service {
                case .ftp:
                    ftp.control(flowID, payload: payload, fromClient: fromClient, client: c.origAddress, server: c.respAddress, time: meta.timestamp)
                case .smtp: files.beginMail(flowID, client: c.origAddress, server: c.respAddress, time: meta.timestamp)
                default: files.beginSMB(flowID, client: c.origAddress, server: c.respAddress, time: meta.timestamp)
                }
            }
            if ftp.expecting { ftp.match(flowID, l, time: meta.timestamp, files: files) }
            if !files.isEmpty {
                files.segment(
                    flowID, src: l.src, seq: l.tcpSeq, flags: l.tcpFlags, payload: payload, length: Int(l.payloadLength), time: meta.timestamp)
            }
        } else if l.proto == IPProto.tcp && l.tcpFlags & (TCPFlag.fin | TCPFlag.rst) != 0 && !files.isEmpty {
            files.control(flowID, src: l.src, flags: l.tcpFlags, time: meta.timestamp)
        } else if l.proto == IPProto.udp && l.payloadCaptured >= 12 {
            timestamp = meta.timestamp
            trusted = !meta.outer.badChecksum
            // DNS, and the same format on mDNS and LLMNR.
            if AppProtocols.isDNSPort(l.srcPort) || AppProtocols.isDNSPort(l.dstPort) {
                dns(packet, l, flowID: flowID)
            } else if AppProtocols.isSSDPPort(l.dstPort) {
                ssdp(packet, l, flowID: flowID)
            }
        }
    }

    /// The rows gathered since the last call; answers still pending are not paired after this.
    func drain() -> (dns: [DNSRow], tls: [TLSRow], http: [HTTPRow], x509: [X509Row], files: [FileRow]) {
        let fileRows = files.drain()
        defer {
            x509Rows.removeAll(keepingCapacity: true)
            dnsRows.removeAll(keepingCapacity: true); pendingDNS.removeAll(keepingCapacity: true)
            tlsRows.removeAll(keepingCapacity: true); pendingTLS.removeAll()
            httpRows.removeAll(keepingCapacity: true); pendingHTTP.removeAll()
        }
        return (dnsRows, tlsRows, httpRows, x509Rows, fileRows)
    }

    /// The connection's service by content, and login outcomes its server states in clear.
    func identify(_ packet: RawPacket, _ l: IPLayer, _ known: Service, _ state: UInt32) {
        guard let base = packet.bytes.baseAddress else { return }
        let p = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
        let fromResponder = !connections.update.fromOriginator
        let service = known != .unknown ? known : AppProtocols.identify(p, fromResponder: fromResponder)
        var state = state
        let outcome = fromResponder ? AppProtocols.loginOutcome(p, length: Int(l.payloadLength), service: service, state: &state) : .none
        connections.noteInspected(service: service, outcome: outcome.rawValue, appState: state)
    }

    /// TLS hellos and HTTP/1.x heads in TCP payloads. A byte or two decides whether to look.
    func inspect(_ packet: RawPacket, _ l: IPLayer, flowID: Int64) {
        guard let base = packet.bytes.baseAddress else { return }
        let p = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
        if !flights.isEmpty, var f = flights[flowID], l.src == f.server {
            if l.tcpSeq == f.next && Int(l.payloadLength) == p.count {
                f.bytes += p
                f.next = f.next &+ UInt32(p.count)
                flights[flowID] = f
                serverFlight(flowID)
            } else {
                flights[flowID] = nil  // a gap: the certificate is not read
            }
            return
        }
        if !reassembly.isEmpty, var r = reassembly[flowID], l.src == r.client {
            guard l.tcpSeq == r.next else { return }
            r.bytes += p
            r.next = r.next &+ UInt32(p.count)
            if r.bytes.count >= r.need || r.bytes.count >= Self.maxHello {
                reassembly[flowID] = nil
                r.bytes.withUnsafeBytes { r.dns ? dnsMessages($0, l, tcp: true, flowID: flowID) : hello($0, flowID: flowID) }
            } else {
                reassembly[flowID] = r
            }
            return
        }
        if AppProtocols.service(forPort: l.srcPort) == .dns || AppProtocols.service(forPort: l.dstPort) == .dns {
            // DNS over TCP: length-prefixed messages; a long answer spans segments.
            guard p.count >= 2 else { return }
            let need = 2 + Int(p[0]) << 8 + Int(p[1])
            if need > p.count && Int(l.payloadLength) == p.count && need <= Self.maxHello * 2 {
                if reassembly.count > 4096 { reassembly.removeAll() }
                reassembly[flowID] = (l.src, l.tcpSeq &+ UInt32(p.count), Array(p), need, true)
            } else {
                dnsMessages(p, l, tcp: true, flowID: flowID)
            }
            return
        }
        let first = p[0]
        if first == 0x16 {
            let need = TLSParser.recordLength(p)
            if need > 0 {
                if need <= p.count || need > Self.maxHello {
                    hello(p, flowID: flowID)
                } else if Int(l.payloadLength) == p.count {
                    if reassembly.count > 4096 { reassembly.removeAll() }
                    reassembly[flowID] = (l.src, l.tcpSeq &+ UInt32(p.count), Array(p), need, false)
                }
            } else if p.count >= 6 && p[5] == 0x02 {
                if let v = TLSParser.serverHelloVersion(p), let i = pendingTLS.removeValue(forKey: flowID) { tlsRows[i].serverVersion = v }
                // The flight of whoever sent the ServerHello: its certificates, when they come in clear.
                if Int(l.payloadLength) == p.count {
                    if flights.count > 512 { flights.removeAll() }
                    flights[flowID] = (l.src, l.tcpSeq &+ UInt32(p.count), Array(p))
                    serverFlight(flowID)
                }
            }
        } else if HTTPParser.mayBeRequest(first) {
            if HTTPParser.startsWithMethod(p), let req = HTTPParser.parseRequest(p) {
                pendingHTTP[flowID] = httpRows.count
                if trusted { files.begin(flowID, client: l.src, server: l.dst, time: timestamp) }
                if trusted, let d = detector, d.wantsHTTP {
                    d.http(host: req.host ?? "", uri: req.uri, client: l.src, server: l.dst, flow: flowID, time: timestamp)
                }
                httpRows.append(
                    HTTPRow(
                        ts: timestamp, flowID: flowID, method: req.method, host: req.host, uri: req.uri,
                        userAgent: req.userAgent))
            } else if let status = HTTPParser.parseStatus(p), let i = pendingHTTP.removeValue(forKey: flowID) {
                httpRows[i].status = status
            }
        }
    }

    /// Reads a server's flight as far as it has come: its certificates once the message is whole.
    private func serverFlight(_ flowID: Int64) {
        guard let f = flights[flowID] else { return }
        switch TLSParser.serverFlight(f.bytes) {
        case .more:
            if f.bytes.count >= Self.maxFlight { flights[flowID] = nil }
        case .none:
            flights[flowID] = nil
        case .certificates(let body):
            flights[flowID] = nil
            for (depth, der) in (X509Parser.chain(body) ?? []).enumerated() {
                guard let c = X509Parser.parse(der) else { continue }
                if let d = detector, let conn = connections.current {
                    d.certificate(
                        sha1: sha1Hex(der), subject: c.subject, client: conn.origAddress, server: conn.respAddress, flow: flowID, time: timestamp)
                }
                x509Rows.append(
                    X509Row(
                        ts: timestamp, flowID: flowID, depth: depth, subject: c.subject, issuer: c.issuer, serial: c.serial,
                        notBefore: c.notBefore, notAfter: c.notAfter, keyType: c.keyType, keyBits: c.keyBits, san: c.san,
                        selfSigned: c.selfSigned))
            }
        }
    }

    /// SSDP: HTTP requests over UDP (M-SEARCH, NOTIFY), which analysts see as HTTP hosts too.
    func ssdp(_ packet: RawPacket, _ l: IPLayer, flowID: Int64) {
        guard let base = packet.bytes.baseAddress else { return }
        let p = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
        guard let req = HTTPParser.parseRequest(p) else { return }
        httpRows.append(
            HTTPRow(
                ts: timestamp, flowID: flowID, method: req.method, host: req.host, uri: req.uri,
                userAgent: req.userAgent))
    }

    func hello(_ p: UnsafeRawBufferPointer, flowID: Int64) {
        guard let h = TLSParser.parseClientHello(p) else { return }
        var key: UInt64 = h.serverName == nil ? 1 : 2
        for c in h.ciphers { key = mix64(key ^ UInt64(c)) }
        key = mix64(key ^ 0xE0)
        for e in h.extensions { key = mix64(key ^ UInt64(e)) }
        key = mix64(key ^ 0x51)
        for a in h.signatureAlgorithms { key = mix64(key ^ UInt64(a)) }
        for a in h.alpn.prefix(1) { for b in a.utf8 { key = mix64(key ^ UInt64(b) ^ 0x100) } }
        key = mix64(key ^ UInt64(h.version.utf8.count) << 32 ^ UInt64(h.version.utf8.last ?? 0))
        key = mix64(key ^ UInt64(h.legacyVersion) << 40)
        for g in h.groups { key = mix64(key ^ UInt64(g) ^ 0x1_0000) }
        for p in h.pointFormats { key = mix64(key ^ UInt64(p) ^ 0x2_0000) }
        let ja4: String, ja3: String
        if let cached = fingerprints[key] {
            (ja4, ja3) = cached
        } else {
            ja4 = h.ja4Prefix + "_" + String(sha256Hex(h.ja4CipherString).prefix(12)) + "_" + String(sha256Hex(h.ja4ExtensionString).prefix(12))
            ja3 = md5Hex(h.ja3String)
            if fingerprints.count > 10_000 { fingerprints.removeAll() }
            fingerprints[key] = (ja4, ja3)
        }
        if trusted {
            detector?.tlsHello(flow: flowID, client: connections.current?.origAddress ?? .zero, serverName: h.serverName, ja4: ja4, ja3: ja3)
        }
        pendingTLS[flowID] = tlsRows.count
        tlsRows.append(
            TLSRow(
                ts: timestamp, flowID: flowID, serverName: h.serverName, version: h.version,
                alpn: h.alpn.joined(separator: ","), ja4: ja4))
    }

    func dns(_ packet: RawPacket, _ l: IPLayer, flowID: Int64) {
        guard let base = packet.bytes.baseAddress else { return }
        dnsMessages(UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured), l, tcp: false, flowID: flowID)
    }

    func dnsMessages(_ payload: UnsafeRawBufferPointer, _ l: IPLayer, tcp: Bool, flowID: Int64) {
        let messages = tcp ? DNSParser.parseTCP(payload) : (DNSParser.parse(payload).map { [$0] } ?? [])
        let trusted = !l.badChecksum
        for msg in messages {
            if trusted { detector?.dns(msg, src: l.src, dst: l.dst, flow: flowID, time: timestamp) }
            let key = DNSKey(flow: flowID, id: msg.id)
            if msg.isResponse {
                let answers = msg.answers.map { $0.data }.joined(separator: ",")
                if let i = pendingDNS.removeValue(forKey: key) {
                    dnsRows[i].hasResponse = true
                    dnsRows[i].rcode = msg.rcode
                    dnsRows[i].answers = answers
                } else {
                    dnsRows.append(
                        DNSRow(
                            ts: timestamp, flowID: flowID, hasQuery: false, hasResponse: true, id: msg.id,
                            name: msg.name, qtype: msg.qtype, rcode: msg.rcode, answers: answers))
                }
            } else {
                pendingDNS[key] = dnsRows.count
                dnsRows.append(
                    DNSRow(
                        ts: timestamp, flowID: flowID, hasQuery: true, hasResponse: false, id: msg.id,
                        name: msg.name, qtype: msg.qtype, rcode: 0, answers: ""))
            }
        }
    }
}
