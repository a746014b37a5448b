import AetherCore
import AetherDecode
import AetherFlows
#if canImport(Glibc)
import Glibc
#endif

/// What identifies an episode: one alert per (kind, source, target) for the whole run.
struct EpisodeKey: Hashable {
    var kind: Kind
    var src: IPAddress
    var target: IPAddress
    var port: UInt16
    var name: String

    init(kind: Kind, src: IPAddress, target: IPAddress, port: UInt16, name: String) {
        self.kind = kind
        self.src = src; self.target = target; self.port = port; self.name = name
    }

    // Hashing an enum and two words, not two strings: these keys are looked up per probe.
    func hash(into h: inout Hasher) {
        h.combine(mix64(src.hash64 ^ target.hash64 &* 31 ^ UInt64(port) << 8 ^ UInt64(kind.index)))
    }
}

enum Kind: String, CaseIterable {
    case port_scan, host_sweep, udp_scan, ping_sweep, slow_scan, suspicious_outbound, unusual_protocol, beacon, dns_tunnel, dga, brute_force
    var index: Int {
        switch self {
        case .port_scan: return 0
        case .host_sweep: return 1
        case .udp_scan: return 2
        case .ping_sweep: return 3
        case .slow_scan: return 4
        case .suspicious_outbound: return 5
        case .unusual_protocol: return 6
        case .beacon: return 7
        case .dns_tunnel: return 8
        case .dga: return 9
        case .brute_force: return 10
        }
    }
}

/// Runs every detector over event time. It sees each packet once with its connection update,
/// each finished connection, and each DNS message; it never reads the wall clock, so the same
/// packets in the same order give the same alerts whether they came from a file, a folder,
/// a replay or a live interface.
public final class DetectionEngine {
    public let config: DetectorConfig
    public private(set) var alerts: [Alert] = []
    private var episodes: [EpisodeKey: Int] = [:]
    /// Membership of each episode's targets and ports, so growing an episode is O(1), not a
    /// scan of lists that can hold thousands of entries.
    private var episodeDsts: [Int: Set<IPAddress>] = [:]
    private var episodePorts: [Int: Set<UInt16>] = [:]
    private var changed = Set<Int>()
    private var announced = Set<Int>()
    private var nextAlertID: Int64

    private var firstTime = Int64.max
    private var now = Int64.min
    private var probes: [IPAddress: (fast: ProbeWindow, slow: ProbeWindow, lastSeen: Int64)] = [:]
    private var echoTargets: [IPAddress: WindowedDistinct<IPAddress>] = [:]
    private var events = 0
    private var oversizedICMP: [Pair: Int] = [:]
    private var dnsServers = Set<IPAddress>()
    private var tunnels: [TunnelKey: EvidenceSet<String>] = [:]
    private var nxNames: [IPAddress: WindowedDistinct<String>] = [:]
    private var sessions: [ServiceKey: WindowedDistinct<Int64>] = [:]
    private var beacons: [ServiceKey: BeaconSeries] = [:]
    /// Outbound sessions on a listed port, decided once answered or finished: a scan's probes
    /// to such ports belong to the scan, not to a suspicious session of their own.
    private var pendingOutbound: [Int64: (connection: Connection, start: Int64)] = [:]

    struct Pair: Hashable { var src: IPAddress; var dst: IPAddress }
    struct TunnelKey: Hashable { var src: IPAddress; var domain: String }
    struct ServiceKey: Hashable { var src: IPAddress; var dst: IPAddress; var port: UInt16; var proto: UInt8 }

    public init(config: DetectorConfig = DetectorConfig(), firstAlertID: Int64 = 1) {
        self.config = config
        self.nextAlertID = firstAlertID
    }

    static let arpProto: UInt8 = 255

    // MARK: input

    /// Called for every packet after the connection table has seen it.
    @inline(__always) public func observe(_ m: PacketMeta, _ table: ConnectionTable) {
        let u = table.update
        if m.timestamp > now { now = m.timestamp }
        if m.timestamp < firstTime { firstTime = m.timestamp }
        if m.network == .arp {
            if m.arpOp != 0 { arp(m) }
            return
        }
        guard m.network == .ipv4 || m.network == .ipv6 else { return }
        let p = m.outer.proto
        if p != IPProto.tcp && p != IPProto.udp { unusual(m, flow: u.id) }
        if u.id != 0 && (u.isNew || u.answered || u.refused), let c = table.current { connectionEvent(u, c, m) }
        if let quoted = table.refusedByICMP { refusedByICMP(quoted) }
    }

    private func connectionEvent(_ u: ConnectionUpdate, _ c: Connection, _ m: PacketMeta) {
        let probe = Probe(dst: c.respAddress, port: c.proto == IPProto.icmp || c.proto == IPProto.icmpv6 ? 0 : c.respPort, proto: c.proto)
        if u.isNew && u.fromOriginator {
            let l = m.hasInner ? m.inner : m.outer
            var isProbe = false
            switch c.proto {
            case IPProto.tcp: isProbe = l.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
            case IPProto.udp: isProbe = true
            case IPProto.icmp: isProbe = l.icmpType == 8
            case IPProto.icmpv6: isProbe = l.icmpType == 128
            default: break
            }
            if isProbe { addProbe(c.origAddress, probe, c.id, m.timestamp) }
            if c.proto == IPProto.tcp || c.proto == IPProto.udp { considerOutbound(c, at: u.timestamp) }
        }
        if u.answered, let pending = pendingOutbound.removeValue(forKey: c.id) { outbound(pending.connection, start: pending.start, at: u.timestamp) }
        if u.answered {
            if var s = probes[c.origAddress] {
                probes[c.origAddress] = nil // avoid copy-on-write of the windows
                s.fast.answered(probe)
                s.slow.answered(probe)
                probes[c.origAddress] = s
            }
            noteAnswer(c.origAddress, probe)
        }
    }

    private func refusedByICMP(_ c: Connection) {
        // The probe stays failed; the refusal is counted in an open episode's evidence.
        for kind in [Kind.udp_scan, .port_scan] {
            if let i = episodes[EpisodeKey(kind: kind, src: c.origAddress, target: c.respAddress, port: 0, name: "")] {
                setEvidenceCount(&alerts[i], "refused_by_icmp", 1)
                touch(i)
            }
        }
    }

    // MARK: scans

    private func addProbe(_ src: IPAddress, _ p: Probe, _ flow: Int64, _ t: Int64) {
        var s = probes.removeValue(forKey: src) ?? (ProbeWindow(window: config.scanWindow * 1_000_000_000),
                                                    ProbeWindow(window: config.slowWindow * 1_000_000_000), t)
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
            var all = echoTargets[src] ?? WindowedDistinct<IPAddress>(window: config.scanWindow * 1_000_000_000)
            all.add(p.dst, at: t, flow: flow)
            echoTargets[src] = all
            if fastHosts >= config.pingHosts || all.count >= config.pingAnyHosts {
                sweep(.ping_sweep, src, p, protoName, fast, t)
            }
            extend(.ping_sweep, src, p, flow, t)
            return
        }
        if p.proto == Self.arpProto {
            if fastHosts >= config.scanHosts { sweep(.host_sweep, src, p, "arp", fast, t) }
            extend(.host_sweep, src, p, flow, t)
            return
        }
        let verticalKind: Kind = p.proto == IPProto.udp ? .udp_scan : .port_scan
        if fastPorts >= config.scanPorts { vertical(verticalKind, src, p, protoName, fast, t) }
        if fastHosts >= config.scanHosts { sweep(.host_sweep, src, p, protoName, fast, t) }
        extend(verticalKind, src, p, flow, t)
        extend(.host_sweep, src, p, flow, t)
        // slow_scan: the long window, only where no fast episode already covers the target.
        let fastV = episodes[EpisodeKey(kind: verticalKind, src: src, target: p.dst, port: 0, name: "")] != nil
        let fastH = episodes[EpisodeKey(kind: .host_sweep, src: src, target: .zero, port: 0, name: protoName)].map { episodePorts[$0]?.contains(p.port) ?? false } ?? false
        if slowPorts >= config.slowPorts && !fastV { vertical(.slow_scan, src, p, protoName, slow, t) }
        if slowHosts >= config.slowHosts && !fastH { sweep(.slow_scan, src, p, protoName, slow, t) }
        if !fastV { extend(.slow_scan, src, p, flow, t) }

        events += 1
        if events & 4095 == 0 { pruneIdle() }
    }

    private func pruneIdle() {
        let limit = now &- config.slowWindow * 1_000_000_000
        probes = probes.filter { $0.value.lastSeen >= limit }
        let fastLimit = now &- config.scanWindow * 1_000_000_000
        echoTargets = echoTargets.filter { var w = $0.value; w.prune(now); return w.count > 0 && fastLimit <= now }
    }

    /// Opens (or finds) a per-host episode and gives it the probes that led up to it.
    private func vertical(_ kind: Kind, _ src: IPAddress, _ p: Probe, _ proto: String, _ w: ProbeWindow, _ t: Int64) {
        let key = EpisodeKey(kind: kind, src: src, target: p.dst, port: 0, name: "")
        if episodes[key] != nil { return }
        if config.allowed(src: src, dst: p.dst) { return }
        var a = Alert(kind: kind.rawValue, severity: kind == .slow_scan ? "medium" : "high", src: src, dst: p.dst, proto: proto, start: t)
        var ports = EvidenceSet<UInt16>(cap: 65_536)
        for (q, flow, _) in w.probes(where: { $0.dst == p.dst && $0.proto == p.proto }) {
            ports.insert(q.port, hash: UInt64(q.port))
            if flow != 0 { a.flows.append(flow) }
            if let e = w.entries[q] { a.start = min(a.start, e.time) }
        }
        a.ports = ports.items.sorted()
        a.portCount = ports.count
        open(key, a)
    }

    /// Opens (or finds) a per-port sweep episode.
    /// One sweep episode per source and protocol, listing the ports swept: a source sweeping a
    /// thousand ports is one alert that names them, not a thousand alerts.
    private func sweep(_ kind: Kind, _ src: IPAddress, _ p: Probe, _ proto: String, _ w: ProbeWindow, _ t: Int64) {
        let key = EpisodeKey(kind: kind, src: src, target: .zero, port: 0, name: proto)
        let hasPorts = p.proto != IPProto.icmp && p.proto != IPProto.icmpv6 && p.proto != Self.arpProto
        if let i = episodes[key] {
            // Another port crossed the threshold: the sweep lists it and grows on it from now on.
            guard hasPorts, episodePorts[i, default: []].insert(p.port).inserted else { return }
            alerts[i].ports.append(p.port)
            alerts[i].portCount += 1
            alerts[i].version += 1
            touch(i)
            return
        }
        if config.allowed(src: src, dst: nil) { return }
        var a = Alert(kind: kind.rawValue, severity: kind == .ping_sweep ? "low" : "medium", src: src, dst: nil, proto: proto, start: t)
        var hosts = EvidenceSet<IPAddress>()
        for (q, flow, _) in w.probes(where: { $0.port == p.port && $0.proto == p.proto }) {
            hosts.insert(q.dst, hash: q.dst.hash64)
            if flow != 0 { a.flows.append(flow) }
            if let e = w.entries[q] { a.start = min(a.start, e.time) }
        }
        a.dsts = hosts.items
        a.dstCount = hosts.count
        if hasPorts { a.ports = [p.port]; a.portCount = 1 }
        open(key, a)
    }

    /// A probe that belongs to an open episode makes it grow.
    private func extend(_ kind: Kind, _ src: IPAddress, _ p: Probe, _ flow: Int64, _ t: Int64) {
        let vertical = kind == .port_scan || kind == .udp_scan
        let proto = Self.protoName(p.proto)
        var keys: [EpisodeKey] = []
        if vertical {
            keys = [EpisodeKey(kind: kind, src: src, target: p.dst, port: 0, name: "")]
        } else if kind == .slow_scan {
            keys = [EpisodeKey(kind: kind, src: src, target: p.dst, port: 0, name: ""),
                    EpisodeKey(kind: kind, src: src, target: .zero, port: 0, name: proto)]
        } else {
            keys = [EpisodeKey(kind: kind, src: src, target: .zero, port: 0, name: p.proto == Self.arpProto ? "arp" : proto)]
        }
        for key in keys {
            guard let i = episodes[key] else { continue }
            // A sweep grows on the ports it is sweeping, not on every later connection of its source.
            if key.target == .zero && !alerts[i].ports.isEmpty && !(episodePorts[i]?.contains(p.port) ?? false) { continue }
            alerts[i].end = max(alerts[i].end, t)
            if flow != 0 && alerts[i].flows.count < Alert.flowLimit && alerts[i].flows.last != flow { alerts[i].flows.append(flow) }
            if key.target != .zero {
                if episodePorts[i, default: []].insert(p.port).inserted { alerts[i].ports.append(p.port); alerts[i].portCount += 1 }
            } else if episodeDsts[i, default: []].insert(p.dst).inserted {
                alerts[i].dstCount += 1
                if alerts[i].dsts.count < Alert.listLimit { alerts[i].dsts.append(p.dst) }
            }
            setEvidenceCount(&alerts[i], "probes", 1)
            touch(i)
        }
    }

    private func noteAnswer(_ src: IPAddress, _ p: Probe) {
        let proto = Self.protoName(p.proto)
        for key in [EpisodeKey(kind: p.proto == IPProto.udp ? .udp_scan : .port_scan, src: src, target: p.dst, port: 0, name: ""),
                    EpisodeKey(kind: .host_sweep, src: src, target: .zero, port: 0, name: proto),
                    EpisodeKey(kind: .ping_sweep, src: src, target: .zero, port: 0, name: proto),
                    EpisodeKey(kind: .slow_scan, src: src, target: p.dst, port: 0, name: "")] {
            guard let i = episodes[key] else { continue }
            var a = alerts[i]
            let listKey = key.target != .zero ? "open_ports" : "responding_hosts"
            let value: JSON = key.target != .zero ? .int(Int64(p.port)) : .string(p.dst.description)
            appendEvidence(&a, listKey, value)
            alerts[i] = a
            touch(i)
        }
    }

    private func arp(_ m: PacketMeta) {
        if m.arpOp == 1 && m.arpSender != m.arpTarget && m.arpSender != .zero {
            addProbe(m.arpSender, Probe(dst: m.arpTarget, port: 0, proto: Self.arpProto), 0, m.timestamp)
        } else if m.arpOp == 2 {
            // A reply from the target answers the sender's probe.
            let p = Probe(dst: m.arpSender, port: 0, proto: Self.arpProto)
            if var s = probes.removeValue(forKey: m.arpTarget) {
                s.fast.answered(p); s.slow.answered(p)
                probes[m.arpTarget] = s
            }
        }
    }

    // MARK: outbound and protocols

    private func considerOutbound(_ c: Connection, at t: Int64) {
        guard config.badPorts.contains(c.respPort), config.isInternal(c.origAddress), !config.isInternal(c.respAddress),
              !config.allowed(src: c.origAddress, dst: c.respAddress) else { return }
        if pendingOutbound.count >= 100_000 { outbound(c, start: t, at: t); return }
        pendingOutbound[c.id] = (c, t)
    }

    private func isScanning(_ src: IPAddress, _ dst: IPAddress, _ port: UInt16, _ proto: UInt8) -> Bool {
        let name = Self.protoName(proto)
        return episodes[EpisodeKey(kind: proto == IPProto.udp ? .udp_scan : .port_scan, src: src, target: dst, port: 0, name: "")] != nil
            || episodes[EpisodeKey(kind: .slow_scan, src: src, target: dst, port: 0, name: "")] != nil
            || episodes[EpisodeKey(kind: .host_sweep, src: src, target: .zero, port: 0, name: name)].map { alerts[$0].ports.contains(port) } ?? false
    }

    private func outbound(_ c: Connection, start: Int64, at time: Int64) {
        if isScanning(c.origAddress, c.respAddress, c.respPort, c.proto) { return }
        let key = EpisodeKey(kind: .suspicious_outbound, src: c.origAddress, target: .zero, port: c.respPort, name: "")
        let i: Int
        if let e = episodes[key] { i = e } else {
            var a = Alert(kind: "suspicious_outbound", severity: "high", src: c.origAddress, dst: c.respAddress,
                          proto: Self.protoName(c.proto), start: start)
            a.ports = [c.respPort]; a.portCount = 1
            a.dsts = [c.respAddress]; a.dstCount = 1
            a.evidence = [("service", .string(Self.serviceName(c.respPort))), ("sessions", .int(0))]
            i = open(key, a)
        }
        var a = alerts[i]
        if episodeDsts[i, default: []].insert(c.respAddress).inserted {
            if a.dsts.count < Alert.listLimit { a.dsts.append(c.respAddress) }
            a.dstCount += 1
            a.dst = nil // several destinations: the alert lists them
        }
        a.end = max(a.end, time)
        if a.flows.count < Alert.flowLimit { a.flows.append(c.id) }
        setEvidenceCount(&a, "sessions", 1)
        alerts[i] = a
        touch(i)
    }

    private func unusual(_ m: PacketMeta, flow: Int64) {
        let o = m.outer
        let p = o.proto
        if p == IPProto.icmp || p == IPProto.icmpv6 {
            let request = (p == IPProto.icmp && o.icmpType == 8) || (p == IPProto.icmpv6 && o.icmpType == 128)
            guard request, Int(o.payloadLength) > config.unusualICMPPayload else { return }
            guard config.isInternal(o.src), !config.isInternal(o.dst) else { return }
            let pair = Pair(src: o.src, dst: o.dst)
            let n = (oversizedICMP[pair] ?? 0) + 1
            oversizedICMP[pair] = n
            guard n >= config.unusualICMPPackets else { return }
            unusualEpisode(o, proto: "icmp", t: m.timestamp, bytes: Int(o.payloadLength), flow: flow)
            return
        }
        guard config.isInternal(o.src), !config.isInternal(o.dst) else { return }
        unusualEpisode(o, proto: Self.protoName(p), t: m.timestamp, bytes: Int(o.payloadLength), flow: flow)
    }

    private func unusualEpisode(_ o: IPLayer, proto: String, t: Int64, bytes: Int, flow: Int64) {
        let key = EpisodeKey(kind: .unusual_protocol, src: o.src, target: o.dst, port: UInt16(o.proto), name: proto)
        if config.allowed(src: o.src, dst: o.dst) { return }
        let i: Int
        if let e = episodes[key] { i = e } else {
            var a = Alert(kind: "unusual_protocol", severity: "medium", src: o.src, dst: o.dst, proto: proto, start: t)
            a.evidence = [("ip_proto", .int(Int64(o.proto))), ("packets", .int(0)), ("max_payload", .int(0))]
            i = open(key, a)
        }
        var a = alerts[i]
        a.end = max(a.end, t)
        setEvidenceCount(&a, "packets", 1)
        setEvidenceMax(&a, "max_payload", Int64(bytes))
        if flow != 0 && a.flows.count < Alert.flowLimit && a.flows.last != flow && !(a.flows.count < 64 && a.flows.contains(flow)) { a.flows.append(flow) }
        alerts[i] = a
        touch(i)
    }

    // MARK: finished connections: brute force and beacons

    public func finished(_ c: Connection) {
        if let pending = pendingOutbound.removeValue(forKey: c.id) { outbound(pending.connection, start: pending.start, at: c.lastTime) }
        if c.proto == IPProto.tcp && config.loginPorts.contains(c.respPort) { bruteForce(c) }
        if (c.proto == IPProto.tcp || c.proto == IPProto.udp) && ![53, 123, 5353, 137, 5355].contains(c.respPort)
            && config.isInternal(c.origAddress) && !config.isInternal(c.respAddress) { beacon(c) }
    }

    private func bruteForce(_ c: Connection) {
        let duration = Double(c.lastTime - c.firstTime) / 1e9
        let answered = c.history.contains("h") || c.history.contains("H")
        guard answered, duration <= config.bruteMaxDuration, c.origBytes <= config.bruteMaxBytes,
              c.respBytes <= config.bruteMaxBytes, c.origBytes > 0 else { return }
        let key = ServiceKey(src: c.origAddress, dst: c.respAddress, port: c.respPort, proto: c.proto)
        var w = sessions.removeValue(forKey: key) ?? WindowedDistinct<Int64>(window: config.bruteWindow * 1_000_000_000)
        w.add(c.id, at: c.firstTime, flow: c.id)
        let n = w.count
        let flows = w.flows
        sessions[key] = w
        let ek = EpisodeKey(kind: .brute_force, src: c.origAddress, target: c.respAddress, port: c.respPort, name: "")
        if episodes[ek] == nil {
            guard n >= config.bruteSessions, !config.allowed(src: c.origAddress, dst: c.respAddress) else { return }
            var a = Alert(kind: "brute_force", severity: "high", src: c.origAddress, dst: c.respAddress, proto: "tcp", start: c.firstTime)
            a.ports = [c.respPort]; a.portCount = 1
            a.evidence = [("service", .string(Self.serviceName(c.respPort))), ("failed_sessions", .int(0))]
            a.start = w.earliest ?? c.firstTime
            let i = open(ek, a)
            alerts[i].flows = flows
            setEvidenceCount(&alerts[i], "failed_sessions", Int64(flows.count))
            alerts[i].end = c.lastTime
            return
        }
        let i = episodes[ek]!
        var a = alerts[i]
        if a.flows.count < Alert.flowLimit { a.flows.append(c.id) }
        a.end = max(a.end, c.lastTime)
        setEvidenceCount(&a, "failed_sessions", 1)
        alerts[i] = a
        touch(i)
    }

    private func beacon(_ c: Connection) {
        let key = ServiceKey(src: c.origAddress, dst: c.respAddress, port: c.respPort, proto: c.proto)
        var series = beacons.removeValue(forKey: key) ?? BeaconSeries()
        series.add(start: c.firstTime, bytes: Int64(c.origBytes + c.respBytes), flow: c.id)
        let n = series.starts.count
        let ek = EpisodeKey(kind: .beacon, src: c.origAddress, target: c.respAddress, port: c.respPort, name: "")
        var score: BeaconScore?
        // Scoring sorts the series; past 64 connections every 16th is enough to follow it.
        let isOpen = episodes[ek] != nil
        if n >= config.beaconMinConnections && (isOpen ? (n < 64 || n % 16 == 0) : series.recentGapsRegular(jitter: config.beaconMaxJitter)) {
            score = series.score(spanStart: firstTime, now: now, minInterval: config.beaconMinInterval)
        }
        beacons[key] = series
        guard let s = score else { return }
        if let i = episodes[ek] {
            var a = alerts[i]
            a.end = max(a.end, c.lastTime)
            if a.flows.count < Alert.flowLimit { a.flows.append(c.id) }
            a.evidence = s.evidence(connections: n)
            alerts[i] = a
            touch(i)
            return
        }
        // Regular timing is what makes a beacon: a high average alone can come from a short run
        // of lucky gaps early in a busy pair's history.
        guard s.total >= config.beaconScore, 1 - s.tsMAD <= config.beaconMaxJitter, s.tsSkew >= 0.7,
              !config.allowed(src: c.origAddress, dst: c.respAddress) else { return }
        var a = Alert(kind: "beacon", severity: "high", src: c.origAddress, dst: c.respAddress, proto: Self.protoName(c.proto),
                      start: series.starts.first ?? c.firstTime)
        a.end = c.lastTime
        a.ports = [c.respPort]; a.portCount = 1
        a.flows = series.flows
        a.evidence = s.evidence(connections: n)
        open(ek, a)
    }

    // MARK: DNS

    /// A DNS message seen from `src` to `dst` (query) or back (response).
    public func dns(_ msg: DNSMessage, src: IPAddress, dst: IPAddress, flow: Int64, time: Int64) {
        if time > now { now = time }
        if !msg.isResponse {
            dnsServers.insert(dst)
            // A resolver forwarding its clients' questions is not the one asking.
            guard !dnsServers.contains(src), msg.opcode == 0 else { return }
            tunnel(msg, src: src, dst: dst, flow: flow, time: time)
        } else if msg.rcode == 3 {
            guard !dnsServers.contains(dst) else { return }
            dga(msg, client: dst, server: src, flow: flow, time: time)
        }
    }

    private func tunnel(_ msg: DNSMessage, src: IPAddress, dst: IPAddress, flow: Int64, time: Int64) {
        let (domain, sub) = Names.split(msg.name)
        guard !sub.isEmpty, !domain.isEmpty else { return }
        let long = sub.utf8.count >= config.tunnelMinLabel
        let random = sub.utf8.count >= 12 && Names.entropy(sub) >= config.tunnelEntropy
        guard long || random else { return }
        let key = TunnelKey(src: src, domain: domain)
        var set = tunnels.removeValue(forKey: key) ?? EvidenceSet<String>(cap: 1000)
        set.insert(sub, hash: Names.hash(sub))
        let n = set.count
        tunnels[key] = set
        if tunnels.count > 100_000 { tunnels = tunnels.filter { $0.value.count >= 10 } }
        let ek = EpisodeKey(kind: .dns_tunnel, src: src, target: .zero, port: 53, name: domain)
        if let i = episodes[ek] {
            var a = alerts[i]
            a.end = max(a.end, time)
            if a.flows.count < Alert.flowLimit && a.flows.last != flow { a.flows.append(flow) }
            setEvidenceValue(&a, "unique_names", .int(Int64(n)))
            alerts[i] = a
            touch(i)
            return
        }
        guard n >= config.tunnelUniqueNames, !config.allowed(src: src, dst: dst) else { return }
        var a = Alert(kind: "dns_tunnel", severity: "high", src: src, dst: dst, proto: "dns", start: time)
        a.ports = [53]; a.portCount = 1
        a.evidence = [("domain", .string(domain)), ("unique_names", .int(Int64(n))),
                      ("examples", .array(set.items.prefix(5).map { .string($0 + "." + domain) }))]
        a.flows = [flow]
        open(ek, a)
    }

    private func dga(_ msg: DNSMessage, client: IPAddress, server: IPAddress, flow: Int64, time: Int64) {
        let (domain, _) = Names.split(msg.name)
        let label = domain.split(separator: ".").first.map(String.init) ?? ""
        guard label.utf8.count >= 8, Names.entropy(label) >= 2.8 else { return }
        var w = nxNames.removeValue(forKey: client) ?? WindowedDistinct<String>(window: config.dgaWindow * 1_000_000_000)
        w.add(msg.name, at: time, flow: flow)
        let n = w.count
        let ek = EpisodeKey(kind: .dga, src: client, target: .zero, port: 53, name: "")
        if let i = episodes[ek] {
            nxNames[client] = w
            var a = alerts[i]
            a.end = max(a.end, time)
            if a.flows.count < Alert.flowLimit && a.flows.last != flow { a.flows.append(flow) }
            setEvidenceCount(&a, "nxdomain_names", 1)
            if case .array(let ex)? = a.evidence.first(where: { $0.0 == "examples" })?.1, ex.count < 10 {
                appendEvidence(&a, "examples", .string(msg.name))
            }
            alerts[i] = a
            touch(i)
            return
        }
        let examples = w.keys.sorted().prefix(10)
        let flows = w.flows
        nxNames[client] = w
        guard n >= config.dgaNames, !config.allowed(src: client, dst: server) else { return }
        var a = Alert(kind: "dga", severity: "high", src: client, dst: server, proto: "dns", start: w.earliest ?? time)
        a.end = time
        a.ports = [53]; a.portCount = 1
        a.evidence = [("nxdomain_names", .int(Int64(n))), ("examples", .array(examples.map { .string($0) }))]
        a.flows = flows
        open(ek, a)
    }

    // MARK: episodes

    @discardableResult
    private func open(_ key: EpisodeKey, _ alert: Alert) -> Int {
        var a = alert
        a.id = nextAlertID
        nextAlertID += 1
        alerts.append(a)
        let i = alerts.count - 1
        episodes[key] = i
        episodeDsts[i] = Set(a.dsts)
        episodePorts[i] = Set(a.ports)
        changed.insert(i)
        return i
    }

    private func setEvidenceCount(_ a: inout Alert, _ key: String, _ delta: Int64) {
        a.version += 1
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .int(let v) = a.evidence[j].1 {
            a.evidence[j].1 = .int(v + delta)
        } else {
            a.evidence.append((key, .int(delta)))
        }
    }

    private func setEvidenceMax(_ a: inout Alert, _ key: String, _ v: Int64) {
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .int(let old) = a.evidence[j].1 {
            if v > old { a.evidence[j].1 = .int(v) }
        } else { a.evidence.append((key, .int(v))) }
    }

    private func setEvidenceValue(_ a: inout Alert, _ key: String, _ v: JSON) {
        a.version += 1
        if let j = a.evidence.firstIndex(where: { $0.0 == key }) { a.evidence[j].1 = v } else { a.evidence.append((key, v)) }
    }

    private func appendEvidence(_ a: inout Alert, _ key: String, _ v: JSON) {
        a.version += 1
        if let j = a.evidence.firstIndex(where: { $0.0 == key }), case .array(var list) = a.evidence[j].1 {
            if list.count < Alert.listLimit && !list.contains(where: { $0.render() == v.render() }) { list.append(v) }
            a.evidence[j].1 = .array(list)
        } else {
            a.evidence.append((key, .array([v])))
        }
    }

    /// Marks an alert changed: its version moves, so the store and the live view pick it up.
    private func touch(_ i: Int) {
        alerts[i].version += 1
        changed.insert(i)
    }

    /// Alerts opened or grown since the last call, with whether each is new to the caller.
    public func drainChanges() -> [(alert: Alert, isNew: Bool)] {
        let out = changed.sorted().map { i -> (alert: Alert, isNew: Bool) in
            let isNew = !announced.contains(i)
            announced.insert(i)
            return (finalized(alerts[i]), isNew)
        }
        changed.removeAll(keepingCapacity: true)
        return out
    }

    /// The alerts with counts filled in for output.
    public var finalAlerts: [Alert] { alerts.map(finalized) }

    /// Only the alerts with these ids, with counts filled in.
    public func finalAlerts(ids: Set<Int64>) -> [Alert] { alerts.filter { ids.contains($0.id) }.map(finalized) }

    private func finalized(_ alert: Alert) -> Alert {
        var a = alert
        a.ports.sort()
        if a.kind == "port_scan" || a.kind == "udp_scan" || (a.kind == "slow_scan" && a.dst != nil) {
            let open = a.evidence.first(where: { $0.0 == "open_ports" }).map { e -> Int in
                if case .array(let l) = e.1 { return l.count }; return 0 } ?? 0
            setEvidenceValue(&a, "distinct_ports", .int(Int64(a.portCount)))
            setEvidenceValue(&a, "answered_ports", .int(Int64(open)))
            setEvidenceValue(&a, "unanswered_or_refused_ports", .int(Int64(max(0, a.portCount - open))))
        } else if a.dst == nil && (a.kind == "host_sweep" || a.kind == "ping_sweep" || a.kind == "slow_scan") {
            let answered = a.evidence.first(where: { $0.0 == "responding_hosts" }).map { e -> Int in
                if case .array(let l) = e.1 { return l.count }; return 0 } ?? 0
            setEvidenceValue(&a, "distinct_hosts", .int(Int64(a.dstCount)))
            setEvidenceValue(&a, "answered_hosts", .int(Int64(answered)))
            setEvidenceValue(&a, "unanswered_or_refused_hosts", .int(Int64(max(0, a.dstCount - answered))))
        }
        a.evidence.append(("first", .string(Timestamp(nanoseconds: a.start).iso8601)))
        a.evidence.append(("last", .string(Timestamp(nanoseconds: a.end).iso8601)))
        return a
    }

    static func protoName(_ p: UInt8) -> String {
        switch p {
        case IPProto.tcp: return "tcp"
        case IPProto.udp: return "udp"
        case IPProto.icmp: return "icmp"
        case IPProto.icmpv6: return "icmpv6"
        case IPProto.gre: return "gre"
        case IPProto.ipv6: return "ipv6-in-ipv4"
        case IPProto.ipip: return "ip-in-ip"
        case arpProto: return "arp"
        default: return "ip\(p)"
        }
    }

    static func serviceName(_ port: UInt16) -> String {
        switch port {
        case 21: return "ftp"
        case 22: return "ssh"
        case 23: return "telnet"
        case 25: return "smtp"
        case 139, 445: return "smb"
        case 3389: return "rdp"
        case 4444: return "metasploit default"
        case 6666, 6667, 6668, 6669: return "irc"
        case 9001, 9030: return "tor"
        case 1337, 31337: return "backdoor"
        case 7080, 447, 449: return "known C2 (Emotet/TrickBot)"
        case 3306: return "mysql"
        case 5432: return "postgresql"
        case 1433: return "mssql"
        case 5900: return "vnc"
        default: return "port \(port)"
        }
    }
}

extension WindowedDistinct {
    /// The time of the oldest entry still counted.
    var earliest: Int64? { last.values.min() }
}
