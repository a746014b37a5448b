import AetherCore
import AetherFlows

extension AlertKind {
    public static let port_scan = AlertKind("port_scan", technique: "T1046")  // Network Service Discovery
    public static let udp_scan = AlertKind("udp_scan", technique: "T1046")
    public static let slow_scan = AlertKind("slow_scan", technique: "T1046")
    public static let host_sweep = AlertKind("host_sweep", technique: "T1595.001")  // Active Scanning: Scanning IP Blocks
    public static let ping_sweep = AlertKind("ping_sweep", technique: "T1595.001")
}

/// port_scan, udp_scan, host_sweep, ping_sweep and slow_scan. A probe is any packet that opens
/// a connection to learn whether something listens: a SYN, a UDP datagram, an echo, timestamp or
/// address-mask request, an IP datagram of an unusual protocol, an ARP request; and a TCP packet
/// without SYN (FIN, Xmas, NULL, Maimon) once the target answers it with RST; a bare ACK that
/// opens a connection (nmap -PA, -sA) at once, since a sweep's dead hosts never answer it. A
/// probe counts as failed until answered: silence, RST and ICMP unreachable all leave it failed.
final class ScanDetector: Detector {
    static let kinds: [AlertKind] = [.port_scan, .host_sweep, .udp_scan, .ping_sweep, .slow_scan]
    static func make(_ config: DetectorConfig) -> Detector? { ScanDetector() }

    static let arpProto: UInt8 = 255
    /// IP-protocol probes (nmap -sO) are kept under this protocol, the IP protocol as the port.
    static let ipProto: UInt8 = 0

    private var probes: [IPAddress: (fast: ProbeWindow, slow: ProbeWindow, lastSeen: Int64)] = [:]
    /// A source's first probe, kept compactly: a flood of a million sources that probe once each
    /// holds a million small records, not a million pairs of windows. The second probe promotes it.
    private var firstProbes: [IPAddress: FirstProbe] = [:]
    struct FirstProbe { var probe: Probe; var time: Int64; var flow: Int64; var failed: Bool }
    static let maxFirstProbes = 262_144
    private(set) var untrackedProbes = 0
    private var echoTargets: [IPAddress: WindowedDistinct<IPAddress>] = [:]
    private var recentEcho: [IPAddress: WindowedDistinct<IPAddress>] = [:]
    private var probeCount = 0
    /// Payload bursts each source sent to each peer (service) after the first: a sweep's probes
    /// send none, a peer-to-peer client keeps talking to the peers that answer. Bounded.
    private var keptPeers: [IPAddress: [Probe: Int]] = [:]

    let events: Set<DetectorEvent.Kind> = [.opened, .refused, .answered, .refusedByICMP, .arp, .burst]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        switch event {
        case .opened(let c, let o, let t):
            guard !c.respAddress.isLinkScopedOrGroup else { return }
            var port = c.respPort, proto = c.proto, isProbe = false
            switch c.proto {
            case IPProto.tcp:
                // A SYN; or a bare ACK that opens nothing known (nmap -PA, an ACK scan): a live
                // host answers it with a RST, a dead one stays silent, and both are probed.
                let flags = o.tcpFlags & (TCPFlag.syn | TCPFlag.ack | TCPFlag.fin | TCPFlag.rst)
                isProbe = flags == TCPFlag.syn || (flags == TCPFlag.ack && c.joinedMidStream && c.origBytes == 0)
            case IPProto.udp: isProbe = true
            case IPProto.icmp: isProbe = o.icmpType == 8 || o.icmpType == 13 || o.icmpType == 15 || o.icmpType == 17; port = 0
            case IPProto.icmpv6: isProbe = o.icmpType == 128; port = 0
            default: isProbe = true; port = UInt16(c.proto); proto = Self.ipProto
            }
            if isProbe { addProbe(c.origAddress, Probe(dst: c.respAddress, port: port, proto: proto), c.id, t, ctx) }
        case .refused(let c, _):
            // A TCP probe without SYN (FIN, Xmas, NULL, ACK, Maimon) is known as a probe only
            // by the RST it draws: a connection joined mid-stream is answered, not reset.
            if c.proto == IPProto.tcp && c.joinedMidStream && !c.respAddress.isLinkScopedOrGroup && c.origBytes == 0 {
                addProbe(c.origAddress, Probe(dst: c.respAddress, port: c.respPort, proto: IPProto.tcp), c.id, c.firstTime, ctx)
            }
        case .answered(let c, _):
            let probe = Self.probe(of: c)
            if let f = firstProbes[c.origAddress], f.probe == probe { firstProbes[c.origAddress]?.failed = false }
            if var s = probes.removeValue(forKey: c.origAddress) {
                s.fast.answered(probe)
                s.slow.answered(probe)
                probes[c.origAddress] = s
            }
            noteAnswer(c.origAddress, probe, ctx)
        case .refusedByICMP(let c):
            // The probe stays failed; the refusal is counted in an open episode's evidence.
            for kind in [AlertKind.udp_scan, .port_scan] {
                if let i = ctx.book[EpisodeKey(kind, c.origAddress, target: c.respAddress)] {
                    ctx.book.update(i) { Evidence.add(&$0, "refused_by_icmp", 1) }
                }
            }
        case .burst(let c, _):
            guard c.proto == IPProto.tcp || c.proto == IPProto.udp else { return }
            if keptPeers[c.origAddress] == nil && keptPeers.count >= 100_000 { keptPeers.removeAll(keepingCapacity: true) }
            let p = Probe(dst: c.respAddress, port: c.respPort, proto: c.proto)
            if keptPeers[c.origAddress, default: [:]].count < 4096 || keptPeers[c.origAddress]?[p] != nil {
                keptPeers[c.origAddress, default: [:]][p, default: 0] += 1
            }
        case .arp(let op, let sender, let target, let t):
            if op == 1 && sender != target && sender != .zero {
                addProbe(sender, Probe(dst: target, port: 0, proto: Self.arpProto), 0, t, ctx)
            } else if op == 2 {
                // A reply from the target answers the sender's probe.
                let p = Probe(dst: sender, port: 0, proto: Self.arpProto)
                if let f = firstProbes[target], f.probe == p { firstProbes[target]?.failed = false }
                if var s = probes.removeValue(forKey: target) {
                    s.fast.answered(p); s.slow.answered(p)
                    probes[target] = s
                }
            }
        default:
            break
        }
    }

    static func probe(of c: Connection) -> Probe {
        switch c.proto {
        case IPProto.tcp, IPProto.udp: return Probe(dst: c.respAddress, port: c.respPort, proto: c.proto)
        case IPProto.icmp, IPProto.icmpv6: return Probe(dst: c.respAddress, port: 0, proto: c.proto)
        default: return Probe(dst: c.respAddress, port: UInt16(c.proto), proto: ipProto)
        }
    }

    static func protoName(_ p: UInt8) -> String { p == ipProto ? "ip" : DetectionEngine.protoName(p) }

    private func addProbe(_ src: IPAddress, _ p: Probe, _ flow: Int64, _ t: Int64, _ ctx: DetectionContext) {
        let config = ctx.config
        probeCount += 1
        if probeCount & 4095 == 0 { pruneIdle(ctx) }
        var s: (fast: ProbeWindow, slow: ProbeWindow, lastSeen: Int64)
        if let existing = probes.removeValue(forKey: src) {
            s = existing
        } else {
            guard let first = firstProbes[src], first.probe != p else {
                // One probe crosses no threshold (each is at least 2): remember it compactly, up to
                // a bound; past it (a flood of single-probe sources) a source's first probe is
                // counted instead, and its second becomes its first.
                if firstProbes[src] == nil && firstProbes.count >= Self.maxFirstProbes { untrackedProbes += 1; return }
                firstProbes[src] = FirstProbe(probe: p, time: t, flow: flow, failed: firstProbes[src]?.failed ?? true)
                return
            }
            firstProbes[src] = nil
            s = (ProbeWindow(window: config[setting: .scanWindow] * 1_000_000_000), ProbeWindow(window: config[setting: .slowWindow] * 1_000_000_000), t)
            s.fast.probe(first.probe, at: first.time, flow: first.flow)
            s.slow.probe(first.probe, at: first.time, flow: first.flow)
            if !first.failed { s.fast.answered(first.probe); s.slow.answered(first.probe) }
            if first.probe.proto == IPProto.icmp || first.probe.proto == IPProto.icmpv6 { _ = noteEcho(src, first.probe.dst, first.time, first.flow, config) }
        }
        s.fast.probe(p, at: t, flow: flow)
        s.slow.probe(p, at: t, flow: flow)
        s.lastSeen = t
        let fastPorts = s.fast.failedPorts(on: p.dst, proto: p.proto)
        let fastHosts = s.fast.failedHosts(on: p.port, proto: p.proto)
        let slowPorts = s.slow.failedPorts(on: p.dst, proto: p.proto)
        let slowHosts = s.slow.failedHosts(on: p.port, proto: p.proto)
        let fast = s.fast, slow = s.slow
        probes[src] = s

        let isEcho = p.proto == IPProto.icmp || p.proto == IPProto.icmpv6
        let protoName = Self.protoName(p.proto)
        if isEcho {
            let (all, recent) = noteEcho(src, p.dst, t, flow, config)
            if fastHosts >= config[setting: .pingHosts] {
                sweep(.ping_sweep, src, p, protoName, fast, t, ctx, why: [Evidence.crossed("unanswered_hosts", fastHosts, config[setting: .pingHosts])])
            } else if all.count >= config[setting: .pingAnyHosts] {
                sweep(.ping_sweep, src, p, protoName, fast, t, ctx, why: [Evidence.crossed("hosts_echoed", all.count, config[setting: .pingAnyHosts])])
            } else if recent.count >= config[setting: .pingSmallHosts] && fastHosts >= config[setting: .pingSmallHosts] && Self.nearlyConsecutive(recent.keys) {
                // Small and fast: few hosts, but all silent, adjacent and within seconds.
                sweep(
                    .ping_sweep, src, p, protoName, fast, t, ctx,
                    why: [
                        Evidence.crossed(
                            "unanswered_adjacent_hosts_in_\(config[setting: .pingSmallWindow])s", min(recent.count, fastHosts), config[setting: .pingSmallHosts]
                        )
                    ])
            }
            extend(.ping_sweep, src, p, flow, t, ctx)
            return
        }
        if p.proto == Self.arpProto {
            if fastHosts >= config[setting: .scanHosts] {
                sweep(.host_sweep, src, p, "arp", fast, t, ctx, why: [Evidence.crossed("unanswered_arp_hosts", fastHosts, config[setting: .scanHosts])])
            }
            extend(.host_sweep, src, p, flow, t, ctx)
            return
        }
        let verticalKind: AlertKind = p.proto == IPProto.udp ? .udp_scan : .port_scan
        if fastPorts >= config[setting: .scanPorts] {
            vertical(
                verticalKind, src, p, protoName, fast, t, ctx,
                why: [Evidence.crossed(p.proto == Self.ipProto ? "failed_ip_protocols" : "failed_ports", fastPorts, config[setting: .scanPorts])])
        }
        if fastHosts >= config[setting: .scanHosts] {
            sweep(.host_sweep, src, p, protoName, fast, t, ctx, why: [Evidence.crossed("failed_hosts", fastHosts, config[setting: .scanHosts])])
        }
        extend(verticalKind, src, p, flow, t, ctx)
        extend(.host_sweep, src, p, flow, t, ctx)
        // slow_scan: the long window, only where no fast episode already covers the target.
        let book = ctx.book
        let fastV = book.contains(EpisodeKey(verticalKind, src, target: p.dst))
        let fastH = book[EpisodeKey(.host_sweep, src, name: protoName)].map { book.hasPort($0, p.port) } ?? false
        if slowPorts >= config[setting: .slowPorts] && !fastV {
            vertical(
                .slow_scan, src, p, protoName, slow, t, ctx,
                why: [Evidence.crossed("failed_ports_in_\(config[setting: .slowWindow])s", slowPorts, config[setting: .slowPorts])])
        }
        if slowHosts >= config[setting: .slowHosts] && !fastH {
            sweep(
                .slow_scan, src, p, protoName, slow, t, ctx,
                why: [Evidence.crossed("failed_hosts_in_\(config[setting: .slowWindow])s", slowHosts, config[setting: .slowHosts])])
        }
        if !fastV { extend(.slow_scan, src, p, flow, t, ctx) }
    }

    /// Echo targets of a source: all within the scan window, and the recent ones.
    private func noteEcho(
        _ src: IPAddress, _ dst: IPAddress, _ t: Int64, _ flow: Int64, _ config: DetectorConfig
    )
        -> (all: WindowedDistinct<IPAddress>, recent: WindowedDistinct<IPAddress>)
    {
        var all = echoTargets.removeValue(forKey: src) ?? WindowedDistinct<IPAddress>(window: config[setting: .scanWindow] * 1_000_000_000)
        all.add(dst, at: t, flow: flow)
        echoTargets[src] = all
        var recent = recentEcho.removeValue(forKey: src) ?? WindowedDistinct<IPAddress>(window: config[setting: .pingSmallWindow] * 1_000_000_000, cap: 256)
        recent.add(dst, at: t, flow: flow)
        recentEcho[src] = recent
        return (all, recent)
    }

    /// The addresses lie close together (a sweep walks a range; a monitor's list need not).
    static func nearlyConsecutive(_ hosts: [IPAddress]) -> Bool {
        guard let lo = hosts.min(), let hi = hosts.max(), lo.hi == hi.hi else { return false }
        return hi.lo &- lo.lo < UInt64(hosts.count * 2)
    }

    private func pruneIdle(_ ctx: DetectionContext) {
        let now = ctx.now
        let limit = now &- ctx.config[setting: .slowWindow] * 1_000_000_000
        probes = probes.filter { $0.value.lastSeen >= limit }
        if firstProbes.count > 65_536 { firstProbes = firstProbes.filter { $0.value.time >= now &- ctx.config[setting: .scanWindow] * 1_000_000_000 } }
        echoTargets = echoTargets.filter {
            var w = $0.value; w.prune(now); return w.count > 0
        }
        recentEcho = recentEcho.filter {
            var w = $0.value; w.prune(now); return w.count > 0
        }
    }

    /// Opens (or finds) a per-host episode and gives it the probes that led up to it.
    private func vertical(
        _ kind: AlertKind, _ src: IPAddress, _ p: Probe, _ proto: String, _ w: ProbeWindow, _ t: Int64,
        _ ctx: DetectionContext, why: [(String, JSON)]
    ) {
        let key = EpisodeKey(kind, src, target: p.dst)
        if ctx.book.contains(key) || ctx.allowed(src: src, dst: p.dst) { return }
        var a = Alert(kind: kind, severity: kind == .slow_scan ? .medium : .high, src: src, dst: p.dst, proto: proto, start: t)
        var ports = EvidenceSet<UInt16>(cap: 65_536)
        var answered: [JSON] = []
        for (q, flow, failed) in w.probes(where: { $0.dst == p.dst && $0.proto == p.proto }) {
            ports.insert(q.port, hash: UInt64(q.port))
            // What answered before the episode opened is evidence too, so the counts add up.
            if !failed && answered.count < Alert.listLimit { answered.append(.int(Int64(q.port))) }
            if flow != 0 { a.flows.append(flow) }
            if let e = w.entries[q] { a.start = min(a.start, e.time) }
        }
        a.ports = ports.items.sorted()
        a.portCount = ports.count
        if p.proto == Self.ipProto { a.evidence = [("ip_protocols_probed", .int(Int64(ports.count)))] }
        if !answered.isEmpty { a.evidence.append(("open_ports", .array(answered))) }
        ctx.book.open(key, a, why: why)
    }

    /// One sweep episode per source and protocol, listing the ports swept: a source sweeping a
    /// thousand ports is one alert that names them, not a thousand alerts.
    private func sweep(
        _ kind: AlertKind, _ src: IPAddress, _ p: Probe, _ proto: String, _ w: ProbeWindow, _ t: Int64,
        _ ctx: DetectionContext, why: [(String, JSON)]
    ) {
        let key = EpisodeKey(kind, src, name: proto)
        let hasPorts = p.proto != IPProto.icmp && p.proto != IPProto.icmpv6 && p.proto != Self.arpProto
        let book = ctx.book
        if let i = book[key] {
            // Another port crossed the threshold: the sweep lists it and grows on it from now on.
            guard hasPorts, !book.hasPort(i, p.port) else { return }
            _ = book.addPort(i, p.port)
            book.update(i) { _ in }
            return
        }
        if ctx.allowed(src: src, dst: nil) { return }
        if hasPorts && keepsItsPeers(src, p, w) { return }
        var a = Alert(kind: kind, severity: kind == .ping_sweep ? .low : .medium, src: src, dst: nil, proto: proto, start: t)
        var hosts = EvidenceSet<IPAddress>()
        var answered: [JSON] = []
        for (q, flow, failed) in w.probes(where: { $0.port == p.port && $0.proto == p.proto }) {
            hosts.insert(q.dst, hash: q.dst.hash64)
            if !failed && answered.count < Alert.listLimit { answered.append(.string(q.dst.description)) }
            if flow != 0 { a.flows.append(flow) }
            if let e = w.entries[q] { a.start = min(a.start, e.time) }
        }
        a.dsts = hosts.items
        a.dstCount = hosts.count
        if !answered.isEmpty { a.evidence.append(("responding_hosts", .array(answered))) }
        if hasPorts { a.ports = [p.port]; a.portCount = 1 }
        book.open(key, a, why: why)
    }

    /// Peer-to-peer fan-out, not a sweep: of the hosts that answered on this port, the source
    /// kept talking to most (at least `keptPeersMin`, each with `keptPeerBursts` bursts of
    /// payload after the first contact). A sweep learns who answers and moves on; an attacker
    /// who then exploits a few answering hosts keeps talking to few of them.
    private func keepsItsPeers(_ src: IPAddress, _ p: Probe, _ w: ProbeWindow) -> Bool {
        guard let kept = keptPeers[src] else { return false }
        var answered = 0, talking = 0
        for (q, _, failed) in w.probes(where: { $0.port == p.port && $0.proto == p.proto }) where !failed {
            answered += 1
            if kept[q, default: 0] >= Self.keptPeerBursts { talking += 1 }
        }
        return talking >= Self.keptPeersMin && talking * 2 >= answered
    }
    static let keptPeerBursts = 2
    static let keptPeersMin = 3

    /// A probe that belongs to an open episode makes it grow.
    private func extend(_ kind: AlertKind, _ src: IPAddress, _ p: Probe, _ flow: Int64, _ t: Int64, _ ctx: DetectionContext) {
        let proto = Self.protoName(p.proto)
        let keys: [EpisodeKey]
        switch kind {
        case .port_scan, .udp_scan: keys = [EpisodeKey(kind, src, target: p.dst)]
        case .slow_scan: keys = [EpisodeKey(kind, src, target: p.dst), EpisodeKey(kind, src, name: proto)]
        default: keys = [EpisodeKey(kind, src, name: p.proto == Self.arpProto ? "arp" : proto)]
        }
        let book = ctx.book
        for key in keys {
            guard let i = book[key] else { continue }
            // A sweep grows on the ports it is sweeping, not on every later connection of its source.
            if key.target == .zero && !book.alerts[i].ports.isEmpty && !book.hasPort(i, p.port) { continue }
            // A vertical scan grows on probes of its own protocol only.
            if key.target != .zero && book.alerts[i].proto != proto { continue }
            if key.target != .zero { _ = book.addPort(i, p.port) } else { _ = book.addTarget(i, p.dst) }
            book.update(i) { a in
                a.end = max(a.end, t)
                Evidence.add(&a, "probes", 1)
            }
            book.addFlow(i, flow)
        }
    }

    private func noteAnswer(_ src: IPAddress, _ p: Probe, _ ctx: DetectionContext) {
        let proto = Self.protoName(p.proto)
        for key in [
            EpisodeKey(p.proto == IPProto.udp ? .udp_scan : .port_scan, src, target: p.dst),
            EpisodeKey(.host_sweep, src, name: proto),
            EpisodeKey(.ping_sweep, src, name: proto),
            EpisodeKey(.slow_scan, src, target: p.dst),
        ] {
            guard let i = ctx.book[key] else { continue }
            let listKey = key.target != .zero ? "open_ports" : "responding_hosts"
            let value: JSON = key.target != .zero ? .int(Int64(p.port)) : .string(p.dst.description)
            ctx.book.update(i) { Evidence.append(&$0, listKey, value) }
        }
    }
}

extension ScanDetector {
    /// Its settings in a rules file (`DetectorConfig.registry`): key, field, meaning.
    static let settings: [Setting] = [
        Setting(
            "scan.preset", "zeek (5 min, 15 ports / 25 hosts) or snort-low|snort-medium|snort-high (60/90/600 s)", show: { $0[setting: .scanPreset] },
            assign: { c, v, _ in try c.apply(preset: v) }),
        .seconds(.scanWindow, "seconds of event time over which failed probes are counted"),
        .count(.scanPorts, "port_scan / udp_scan: distinct failed ports on one host within the window"),
        .count(.scanHosts, "host_sweep: distinct hosts failing on one port (or ARP) within the window"),
        .count(.pingHosts, "ping_sweep: distinct hosts not answering echo within the window"),
        .count(.pingAnyHosts, "ping_sweep: distinct hosts echoed within the window, answered or not"),
        .count(.pingSmallHosts, atLeast: 2, "ping_sweep: unanswered near-consecutive hosts within ping.small_window"),
        .seconds(.pingSmallWindow, "ping_sweep: seconds for the small fast sweep"),
        .seconds(.slowWindow, "slow_scan: long window in seconds"),
        .count(.slowPorts, "slow_scan: distinct failed ports on one host within the long window"),
        .count(.slowHosts, "slow_scan: distinct failed hosts on one port within the long window"),
    ]
}

/// This detector's settings: rules-file key and default, read as `config[setting: .name]`.
extension DetectorSetting where Value == String {
    public static var scanPreset: Self { .init("scan.preset", default: "zeek") }
}

extension DetectorSetting where Value == Int64 {
    public static var scanWindow: Self { .init("scan.window", default: 300) }
    public static var pingSmallWindow: Self { .init("ping.small_window", default: 10) }
    public static var slowWindow: Self { .init("slow.window", default: 3600) }
}

extension DetectorSetting where Value == Int {
    public static var scanPorts: Self { .init("scan.ports", default: 15) }
    public static var scanHosts: Self { .init("scan.hosts", default: 25) }
    public static var pingHosts: Self { .init("ping.hosts", default: 25) }
    public static var pingAnyHosts: Self { .init("ping.any_hosts", default: 64) }
    public static var pingSmallHosts: Self { .init("ping.small_hosts", default: 8) }
    public static var slowPorts: Self { .init("slow.ports", default: 20) }
    public static var slowHosts: Self { .init("slow.hosts", default: 50) }
}

extension DetectorConfig {
    /// Snort sfPortscan-like sensitivities beside Zeek's defaults.
    public mutating func apply(preset: String) throws {
        let (window, ports, hosts): (Int64, Int, Int)
        switch preset {
        case "zeek": (window, ports, hosts) = (300, 15, 25)
        case "snort-low": (window, ports, hosts) = (60, 25, 25)
        case "snort-medium": (window, ports, hosts) = (90, 15, 15)
        case "snort-high": (window, ports, hosts) = (600, 10, 10)
        default: throw ConfigError("unknown scan.preset '\(preset)' (zeek, snort-low, snort-medium, snort-high)")
        }
        self[setting: .scanWindow] = window
        self[setting: .scanPorts] = ports
        self[setting: .scanHosts] = hosts
        self[setting: .scanPreset] = preset
    }
}
