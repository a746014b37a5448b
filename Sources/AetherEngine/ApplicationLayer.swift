import AetherCapture
import AetherCore
import AetherDecode
import AetherFlows
import AetherStore

/// The application layer of the pipeline: services by content, TLS hellos (JA4), HTTP heads,
/// DNS messages (UDP and reassembled TCP) and SSDP, each paired with its answer.
extension Pipeline {
    /// The connection's service by content, and login outcomes its server states in clear.
    func identify(_ packet: RawPacket, _ l: IPLayer, _ known: Service, _ state: UInt32) {
        guard let base = packet.bytes.baseAddress else { return }
        let p = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
        let fromResponder = !connections.update.fromOriginator
        let service = known != .unknown ? known : ServiceIdentifier.identify(p, fromResponder: fromResponder)
        var state = state
        var outcome = ServiceIdentifier.Outcome.none
        if fromResponder {
            // SSH's outcome is encrypted; its server packet sizes still tell a success (Zeek's heuristic).
            outcome =
                service == .ssh
                ? ServiceIdentifier.sshOutcome(p, length: Int(l.payloadLength), state: &state)
                : ServiceIdentifier.loginOutcome(p, service: service)
        }
        connections.noteInspected(service: service, outcome: outcome.rawValue, appState: state)
    }

    /// TLS hellos and HTTP/1.x heads in TCP payloads. A byte or two decides whether to look.
    func inspect(_ packet: RawPacket, _ l: IPLayer, flowID: Int64) {
        guard let base = packet.bytes.baseAddress else { return }
        let p = UnsafeRawBufferPointer(start: base + l.payloadOffset, count: l.payloadCaptured)
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
        if l.srcPort == 53 || l.dstPort == 53 {
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
            } else if let v = TLSParser.serverHelloVersion(p), let i = pendingTLS.removeValue(forKey: flowID) {
                tlsRows[i].serverVersion = v
            }
        } else if HTTPParser.mayBeRequest(first) {
            if HTTPParser.startsWithMethod(p), let req = HTTPParser.parseRequest(p) {
                pendingHTTP[flowID] = httpRows.count
                httpRows.append(
                    HTTPRow(
                        ts: meta.timestamp, flowID: flowID, method: req.method, host: req.host, uri: req.uri,
                        userAgent: req.userAgent))
            } else if let status = HTTPParser.parseStatus(p), let i = pendingHTTP.removeValue(forKey: flowID) {
                httpRows[i].status = status
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
                ts: meta.timestamp, flowID: flowID, method: req.method, host: req.host, uri: req.uri,
                userAgent: req.userAgent))
    }

    func hello(_ p: UnsafeRawBufferPointer, flowID: Int64) {
        guard let h = TLSParser.parseClientHello(p) else { return }
        if !meta.outer.badChecksum { detector?.tlsHello(flow: flowID, serverName: h.serverName) }
        var key: UInt64 = h.serverName == nil ? 1 : 2
        for c in h.ciphers { key = mix64(key ^ UInt64(c)) }
        key = mix64(key ^ 0xE0)
        for e in h.extensions { key = mix64(key ^ UInt64(e)) }
        key = mix64(key ^ 0x51)
        for a in h.signatureAlgorithms { key = mix64(key ^ UInt64(a)) }
        for a in h.alpn.prefix(1) { for b in a.utf8 { key = mix64(key ^ UInt64(b) ^ 0x100) } }
        key = mix64(key ^ UInt64(h.version.utf8.count) << 32 ^ UInt64(h.version.utf8.last ?? 0))
        let ja4: String
        if let cached = ja4Cache[key] {
            ja4 = cached
        } else {
            ja4 = h.ja4Prefix + "_" + String(sha256Hex(h.ja4CipherString).prefix(12)) + "_" + String(sha256Hex(h.ja4ExtensionString).prefix(12))
            if ja4Cache.count > 10_000 { ja4Cache.removeAll() }
            ja4Cache[key] = ja4
        }
        pendingTLS[flowID] = tlsRows.count
        tlsRows.append(
            TLSRow(
                ts: meta.timestamp, flowID: flowID, serverName: h.serverName, version: h.version,
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
            if trusted { detector?.dns(msg, src: l.src, dst: l.dst, flow: flowID, time: meta.timestamp) }
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
                            ts: meta.timestamp, flowID: flowID, hasQuery: false, hasResponse: true, id: msg.id,
                            name: msg.name, qtype: msg.qtype, rcode: msg.rcode, answers: answers))
                }
            } else {
                pendingDNS[key] = dnsRows.count
                dnsRows.append(
                    DNSRow(
                        ts: meta.timestamp, flowID: flowID, hasQuery: true, hasResponse: false, id: msg.id,
                        name: msg.name, qtype: msg.qtype, rcode: 0, answers: ""))
            }
        }
    }
}
