import AetherCore
import AetherDecode
import AetherFlows

extension AlertKind {
    /// A known indicator, not a technique.
    public static let intel_match = AlertKind("intel_match", technique: "")
}

/// intel_match: the capture touched an indicator the responder gave (`--intel`, `IntelSet`).
/// Observations: each connection's two addresses when it opens; each DNS question's name, and
/// each answer's name or address; each TLS ClientHello's server name and JA4 fingerprint
/// (`Intel::JA4`) and JA3 (`Intel::JA3`); each certificate a server presented in clear, by the SHA-1 of its DER
/// (`Intel::CERT_HASH`, as Zeek's x509 seen script has it); each whole file's MD5, SHA-1 and
/// SHA-256 (`Intel::FILE_HASH`, as Zeek's file hashes script has it); each HTTP request's Host
/// (a domain) and URL (host and path, as Zeek's `Intel::URL` has them). One alert per source,
/// counterpart and indicator, grown by every further sighting (its count, connections and last
/// time); the evidence names the indicator, its type, where it was seen, the value seen, and
/// the intel file's source and description.
final class IntelDetector: Detector {
    static let kinds: [AlertKind] = [.intel_match]
    /// Only with an intel file that holds indicators.
    static func make(_ config: DetectorConfig) -> Detector? { config.intel.flatMap { $0.isEmpty ? nil : IntelDetector($0) } }

    let intel: IntelSet
    let events: Set<DetectorEvent.Kind>

    init(_ intel: IntelSet) {
        self.intel = intel
        var kinds: Set<DetectorEvent.Kind> = [.opened, .dns, .tlsHello]
        if intel.has(.domain) || intel.has(.url) { kinds.insert(.http) }
        if intel.has(.certHash) { kinds.insert(.certificate) }
        if intel.has(.fileHash) { kinds.insert(.file) }
        events = kinds
    }

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        switch event {
        case .opened(let c, _, let t):
            if let e = intel.match(c.respAddress) {
                sighting(
                    e, src: c.origAddress, target: c.respAddress, seenIn: "conn.resp_h", value: c.respAddress.description, proto: c, time: t, flow: c.id, ctx)
            }
            if let e = intel.match(c.origAddress) {
                sighting(
                    e, src: c.origAddress, target: c.respAddress, seenIn: "conn.orig_h", value: c.origAddress.description, proto: c, time: t, flow: c.id, ctx)
            }
        case .dns(let m, let src, let dst, let flow, let t):
            // The asking host is the source whichever way the message went.
            let (client, server) = m.isResponse ? (dst, src) : (src, dst)
            if !m.name.isEmpty, let e = intel.match(domain: m.name) {
                sighting(e, src: client, target: server, seenIn: "dns.query", value: m.name, proto: nil, time: t, flow: flow, ctx)
            }
            for answer in m.answers where !answer.data.isEmpty {
                let hit: IntelSet.Entry?
                if let a = IPAddress(answer.data) { hit = intel.match(a) } else { hit = intel.match(domain: answer.data) }
                if let e = hit { sighting(e, src: client, target: server, seenIn: "dns.answer", value: answer.data, proto: nil, time: t, flow: flow, ctx) }
            }
        case .tlsHello(let flow, let client, let name, let ja4, let ja3):
            if let name, !name.isEmpty, let e = intel.match(domain: name) {
                sighting(e, src: client, target: nil, seenIn: "tls.sni", value: name, proto: nil, time: ctx.now, flow: flow, ctx)
            }
            if !ja4.isEmpty, let e = intel.match(ja4, as: .ja4) {
                sighting(e, src: client, target: nil, seenIn: "tls.ja4", value: ja4, proto: nil, time: ctx.now, flow: flow, ctx)
            }
            if !ja3.isEmpty, let e = intel.match(ja3, as: .ja3) {
                sighting(e, src: client, target: nil, seenIn: "tls.ja3", value: ja3, proto: nil, time: ctx.now, flow: flow, ctx)
            }
        case .http(let host, let uri, let client, let server, let flow, let t):
            let name = host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host
            if !name.isEmpty, let e = intel.match(domain: name) {
                sighting(e, src: client, target: server, seenIn: "http.host", value: host, proto: nil, time: t, flow: flow, ctx)
            }
            if !host.isEmpty, let e = intel.match(host + uri, as: .url) {
                sighting(e, src: client, target: server, seenIn: "http.url", value: host + uri, proto: nil, time: t, flow: flow, ctx)
            }
        case .certificate(let sha1, let subject, let client, let server, let flow, let t):
            if let e = intel.match(sha1, as: .certHash) {
                sighting(
                    e, src: client, target: server, seenIn: "x509.cert", value: subject.isEmpty ? sha1 : "\(sha1) (\(subject))", proto: nil, time: t,
                    flow: flow, ctx)
            }
        case .file(let md5, let sha1, let sha256, let name, let client, let server, let flow, let t):
            for h in [sha256, sha1, md5] where !h.isEmpty {
                guard let e = intel.match(h, as: .fileHash) else { continue }
                sighting(e, src: client, target: server, seenIn: "files.hash", value: name.isEmpty ? h : "\(h) (\(name))", proto: nil, time: t, flow: flow, ctx)
                break
            }
        default:
            return
        }
    }

    private func sighting(
        _ e: IntelSet.Entry, src: IPAddress, target: IPAddress?, seenIn: String, value: String, proto c: Connection?, time: Int64, flow: Int64,
        _ ctx: DetectionContext
    ) {
        let book = ctx.book
        let key = EpisodeKey(.intel_match, src, target: target ?? .zero, name: e.kind.rawValue + "\t" + e.indicator)
        if let i = book[key] {
            book.update(i) { a in
                a.end = max(a.end, time)
                Evidence.add(&a, "sightings", 1)
            }
            if flow != 0 { book.addFlow(i, flow) }
            return
        }
        let proto = c.map { IPProto.name($0.proto) } ?? String(seenIn.prefix { $0 != "." })
        var a = Alert(kind: .intel_match, severity: .high, src: src, dst: target, proto: proto, start: time)
        a.end = time
        if let c, c.respPort != 0 { a.ports = [c.respPort]; a.portCount = 1 }
        a.evidence = [
            ("indicator", .string(e.indicator)), ("indicator_type", .string(e.kind.rawValue)), ("seen_in", .string(seenIn)),
            ("value", .string(value)), ("source", .string(e.source)), ("desc", .string(e.desc)), ("sightings", .int(1)),
        ]
        if flow != 0 { a.flows = [flow] }
        book.open(key, a, why: [("indicator", .string(e.indicator)), ("seen_in", .string(seenIn))])
    }
}
