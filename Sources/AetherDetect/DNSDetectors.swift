import AetherCore
import AetherDecode

extension AlertKind {
    public static let dns_tunnel = AlertKind("dns_tunnel", technique: "T1572")  // Protocol Tunneling (T1071.004 DNS)
    public static let dga = AlertKind("dga", technique: "T1568.002")  // Dynamic Resolution: Domain Generation Algorithms
}

/// dns_tunnel and dga. A tunnel moves data through names and answers: per client and domain it
/// is measured by the bytes of encoded query labels (in any position, binary labels included)
/// and of TXT/NULL/CNAME/MX/SRV answer data, beside the count of distinct names. DGA is many
/// random-looking names that do not exist. A resolver forwarding its clients' questions is not
/// the one asking. Thin exfiltration shows by shape instead of volume: a handful of distinct
/// high-entropy names near the 253-byte limit under one domain; nothing benign (CDN tokens,
/// DKIM selectors, SRV names, reputation lookups) fills several full labels with data.
final class DNSDetector: Detector {
    static let kinds: [AlertKind] = [.dns_tunnel, .dga]
    static func make(_ config: DetectorConfig) -> Detector? { DNSDetector() }

    struct TunnelKey: Hashable { var src: IPAddress; var domain: String }
    struct Bucket {
        var names = EvidenceSet<String>(cap: 1000)
        var longNames = 0
        var nearMaxNames = 0
        var queryBytes = 0
        var answerBytes = 0
        var queries = 0
        /// Answers already counted: a CDN gives the same CNAME again and again, a tunnel never.
        var seenAnswers = Set<UInt64>()
    }

    private var dnsServers = Set<IPAddress>()
    private var buckets: [TunnelKey: Bucket] = [:]
    private var nxNames: [IPAddress: WindowedDistinct<String>] = [:]
    /// Record types that carry data back to a tunnel client.
    static let dataTypes: Set<UInt16> = [5, 10, 15, 16, 33, 255, 65399]

    let events: Set<DetectorEvent.Kind> = [.dns, .dnsServer]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        if case .dnsServer(let a) = event { dnsServers.insert(a); return }
        guard case .dns(let msg, let src, let dst, let flow, let time) = event else { return }
        if !msg.isResponse {
            dnsServers.insert(dst)
            guard !dnsServers.contains(src), msg.opcode == 0, !dst.isLinkScopedOrGroup else { return }
            query(msg, src: src, dst: dst, flow: flow, time: time, ctx)
        } else {
            guard !dnsServers.contains(dst), !src.isLinkScopedOrGroup else { return }
            if msg.rcode == 3 { dga(msg, client: dst, server: src, flow: flow, time: time, ctx) }
            if msg.answers.contains(where: { Self.dataTypes.contains($0.type) }) { answer(msg, client: dst, server: src, flow: flow, time: time, ctx) }
        }
    }

    /// The domain that collects a name's data, and the data part. A name whose last label is no
    /// plausible top-level domain (dnscat2 without a domain: `dnscat.<hex>.<hex>`) is keyed by
    /// its first label, the marker, with the rest as data.
    static func split(_ name: String) -> (domain: String, sub: String) {
        let (domain, sub) = Names.split(name)
        let tld = domain.split(separator: ".").last.map(String.init) ?? domain
        if tld.utf8.count > 24 || tld.utf8.contains(where: { !(($0 >= 97 && $0 <= 122) || $0 == 45) }) {
            guard let dot = name.firstIndex(of: ".") else { return (name, "") }
            return (String(name[..<dot]), String(name[name.index(after: dot)...]))
        }
        return (domain, sub)
    }

    /// Bytes a name's data part carries: dots aside, an escaped byte (\xNN) counts once.
    static func encodedBytes(_ sub: String) -> (bytes: Int, binary: Bool) {
        var n = 0, escapes = 0
        for b in sub.utf8 where b != UInt8(ascii: ".") {
            n += 1
            if b == UInt8(ascii: "\\") { escapes += 1 }
        }
        return (n - 3 * escapes, escapes > 0)
    }

    private func query(_ msg: DNSMessage, src: IPAddress, dst: IPAddress, flow: Int64, time: Int64, _ ctx: DetectionContext) {
        let (domain, sub) = Self.split(msg.name)
        guard !sub.isEmpty, !domain.isEmpty, !domain.hasSuffix("arpa"), !domain.hasSuffix("local") else { return }
        let config = ctx.config
        let (bytes, binary) = Self.encodedBytes(sub)
        let long = sub.utf8.count >= config[setting: .tunnelMinLabel] || binary
        let random = sub.utf8.count >= 12 && Names.entropy(sub) >= config[setting: .tunnelEntropy]
        let key = TunnelKey(src: src, domain: domain)
        var b = buckets.removeValue(forKey: key) ?? Bucket()
        let before = b.names.count
        b.names.insert(sub, hash: Names.hash(sub))
        let fresh = b.names.count > before
        if fresh && (long || random) { b.longNames += 1 }
        if fresh && bytes >= config[setting: .tunnelNearMaxBytes] && Names.entropy(sub) >= config[setting: .tunnelEntropy] { b.nearMaxNames += 1 }
        if fresh { b.queryBytes += bytes }
        b.queries += 1
        buckets[key] = b
        if buckets.count > 100_000 { buckets = buckets.filter { $0.value.queries >= 10 } }
        evaluate(key, b, server: dst, flow: flow, time: time, example: msg.name, ctx)
    }

    private func answer(_ msg: DNSMessage, client: IPAddress, server: IPAddress, flow: Int64, time: Int64, _ ctx: DetectionContext) {
        let (domain, _) = Self.split(msg.name)
        guard !domain.isEmpty, !domain.hasSuffix("arpa"), !domain.hasSuffix("local") else { return }
        let key = TunnelKey(src: client, domain: domain)
        guard var b = buckets.removeValue(forKey: key) else { return }
        for a in msg.answers where Self.dataTypes.contains(a.type) {
            // Only new data counts; past 4096 distinct answers every answer is new enough.
            if b.seenAnswers.count < 4096 { guard b.seenAnswers.insert(a.digest).inserted else { continue } }
            b.answerBytes += a.length
        }
        buckets[key] = b
        evaluate(key, b, server: server, flow: flow, time: time, example: nil, ctx)
    }

    private func evaluate(_ key: TunnelKey, _ b: Bucket, server: IPAddress, flow: Int64, time: Int64, example: String?, _ ctx: DetectionContext) {
        let config = ctx.config
        let book = ctx.book
        let ek = EpisodeKey(.dns_tunnel, key.src, port: 53, name: key.domain)
        let data = b.queryBytes + b.answerBytes
        func counters(_ a: inout Alert) {
            Evidence.set(&a, "unique_names", .int(Int64(b.names.count)))
            Evidence.set(&a, "encoded_query_bytes", .int(Int64(b.queryBytes)))
            Evidence.set(&a, "answer_data_bytes", .int(Int64(b.answerBytes)))
            Evidence.set(&a, "queries", .int(Int64(b.queries)))
            if b.nearMaxNames > 0 { Evidence.set(&a, "near_maximum_names", .int(Int64(b.nearMaxNames))) }
        }
        if let i = book[ek] {
            book.update(i) { a in
                a.end = max(a.end, time); counters(&a)
            }
            book.addFlow(i, flow)
            return
        }
        // Data through the names (long labels on average) or back through the answers.
        let perName = b.names.count > 0 ? b.queryBytes / b.names.count : 0
        let byData =
            b.names.count >= config[setting: .tunnelMinQueries] && data >= config[setting: .tunnelBytes] && (perName >= 16 || b.answerBytes >= b.queryBytes)
        let byNames = b.longNames >= config[setting: .tunnelUniqueNames]
        let byShape = b.nearMaxNames >= config[setting: .tunnelNearMaxNames]
        guard byData || byNames || byShape, !ctx.allowed(src: key.src, dst: server) else { return }
        var a = Alert(kind: .dns_tunnel, severity: .high, src: key.src, dst: server, proto: "dns", start: time)
        a.ports = [53]; a.portCount = 1
        a.evidence = [("domain", .string(key.domain))]
        counters(&a)
        a.evidence.append(("examples", .array(b.names.items.prefix(5).map { .string($0 + "." + key.domain) })))
        a.flows = [flow]
        var why: [(String, JSON)] = []
        if byData {
            why = [
                Evidence.crossed("data_bytes", data, config[setting: .tunnelBytes]),
                Evidence.crossed("unique_names", b.names.count, config[setting: .tunnelMinQueries]),
            ]
        } else if byNames {
            why = [Evidence.crossed("long_or_random_names", b.longNames, config[setting: .tunnelUniqueNames])]
        } else {
            why = [Evidence.crossed("near_maximum_names", b.nearMaxNames, config[setting: .tunnelNearMaxNames])]
        }
        // The episode starts at the first query of the domain; the bucket does not keep times,
        // so the opening alert starts now and grows.
        book.open(ek, a, why: why)
    }

    private func dga(_ msg: DNSMessage, client: IPAddress, server: IPAddress, flow: Int64, time: Int64, _ ctx: DetectionContext) {
        let config = ctx.config
        let (domain, _) = Names.split(msg.name)
        let label = domain.split(separator: ".").first.map(String.init) ?? ""
        guard label.utf8.count >= 8, Names.entropy(label) >= 2.8 else { return }
        var w = nxNames.removeValue(forKey: client) ?? WindowedDistinct<String>(window: config[setting: .dgaWindow] * 1_000_000_000)
        w.add(msg.name, at: time, flow: flow)
        let n = w.count
        let book = ctx.book
        let ek = EpisodeKey(.dga, client, port: 53)
        if let i = book[ek] {
            nxNames[client] = w
            book.update(i) { a in
                a.end = max(a.end, time)
                Evidence.add(&a, "nxdomain_names", 1)
                Evidence.append(&a, "examples", .string(msg.name), limit: 10)
            }
            book.addFlow(i, flow)
            return
        }
        let examples = w.keys.sorted().prefix(10)
        let flows = w.flows
        let start = w.earliest ?? time
        nxNames[client] = w
        guard n >= config[setting: .dgaNames], !ctx.allowed(src: client, dst: server) else { return }
        var a = Alert(kind: .dga, severity: .high, src: client, dst: server, proto: "dns", start: start)
        a.end = time
        a.ports = [53]; a.portCount = 1
        a.evidence = [("nxdomain_names", .int(Int64(n))), ("examples", .array(examples.map { .string($0) }))]
        a.flows = flows
        book.open(ek, a, why: [Evidence.crossed("random_nxdomain_names", n, config[setting: .dgaNames])])
    }
}

extension DNSDetector {
    /// Its settings in a rules file (`DetectorConfig.registry`): key, field, meaning.
    static let settings: [Setting] = [
        .count(.tunnelUniqueNames, "dns_tunnel: unique long or high-entropy subdomains under one domain (RITA: 100)"),
        .count(.tunnelMinLabel, "dns_tunnel: subdomain length counted as long"),
        .number(.tunnelEntropy, "dns_tunnel: bits per character counted as high entropy"),
        .count(.tunnelBytes, "dns_tunnel: encoded query bytes plus TXT/NULL/CNAME/MX answer bytes for one client and domain"),
        .count(.tunnelMinQueries, "dns_tunnel: distinct names needed beside dns_tunnel.bytes"),
        .count(
            .tunnelNearMaxBytes,
            "dns_tunnel: encoded bytes below the domain that make a name near the 253-byte limit (several full 63-byte labels)"),
        .count(.tunnelNearMaxNames, "dns_tunnel: distinct near-limit, high-entropy names from one client under one domain"),
        .count(.dgaNames, "dga: random-looking names answered NXDOMAIN within the window"),
        .seconds(.dgaWindow, "dga: window in seconds"),
    ]
}

/// This detector's settings: rules-file key and default, read as `config[setting: .name]`.
extension DetectorSetting where Value == Int {
    public static var tunnelUniqueNames: Self { .init("dns_tunnel.unique_names", default: 100) }
    public static var tunnelMinLabel: Self { .init("dns_tunnel.min_label", default: 24) }
    public static var tunnelBytes: Self { .init("dns_tunnel.bytes", default: 4096) }
    public static var tunnelMinQueries: Self { .init("dns_tunnel.min_queries", default: 20) }
    public static var tunnelNearMaxBytes: Self { .init("dns_tunnel.near_max_bytes", default: 180) }
    public static var tunnelNearMaxNames: Self { .init("dns_tunnel.near_max_names", default: 5) }
    public static var dgaNames: Self { .init("dga.names", default: 25) }
}

extension DetectorSetting where Value == Double {
    public static var tunnelEntropy: Self { .init("dns_tunnel.entropy", default: 3.5) }
}

extension DetectorSetting where Value == Int64 {
    public static var dgaWindow: Self { .init("dga.window", default: 600) }
}
