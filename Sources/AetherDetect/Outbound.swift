import AetherCore
import AetherFlows

extension AlertKind {
    public static let suspicious_outbound = AlertKind("suspicious_outbound", technique: "T1571")  // Non-Standard Port
    public static let unusual_protocol = AlertKind("unusual_protocol", technique: "T1095")  // Non-Application Layer Protocol
}

/// suspicious_outbound (a session from the monitored side to another on a listed port; between
/// two internal hosts on a C2 handler port, the same at medium severity with direction
/// `internal`: lateral movement) and unusual_protocol (outbound IP protocols other than TCP/UDP/ICMP, oversized echoes). Group,
/// broadcast and link-scoped destinations are never outbound (Scope.isOutbound).
final class OutboundDetector: Detector {
    static let kinds: [AlertKind] = [.suspicious_outbound, .unusual_protocol]
    static func make(_ config: DetectorConfig) -> Detector? { OutboundDetector() }

    /// Outbound sessions on a listed port, decided once they carried payload (a burst, or at
    /// their end): a scan's probes to such ports, answered or not, carry none and belong to the scan.
    /// Start times of outbound sessions on listed ports, by connection id, until they carry payload.
    private var pending: [Int64: Int64] = [:]
    /// Pending sessions between two internal hosts (`outbound.lateral_ports`).
    private var lateral = Set<Int64>()
    /// Tor's ports name ordinary TLS services too: a session there is reported only when its
    /// ClientHello carries the random `www.<base32>.com|net` name Tor clients send.
    static let torPorts: Set<UInt16> = [9001, 9030]
    private var awaitingHello: [Int64: Int64] = [:]
    /// Sessions not followed because the table was full (a flood): counted, not grown without bound.
    private(set) var untracked = 0
    static let maxPending = 100_000
    private var packets: [Triple: Int] = [:]
    /// Packets of one protocol between one pair before it is reported: an IP-protocol scan
    /// sends one or two per protocol, a tunnel or a routing session many.
    static let minPackets = 3

    struct Triple: Hashable { var src: IPAddress; var dst: IPAddress; var proto: UInt8 }

    let events: Set<DetectorEvent.Kind> = [.opened, .tlsHello, .burst, .finished, .ipPacket]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        switch event {
        case .opened(let c, _, let t):
            if c.proto == IPProto.tcp && Self.torPorts.contains(c.respPort) && ctx.scope.isOutbound(src: c.origAddress, dst: c.respAddress)
                && !ctx.allowed(src: c.origAddress, dst: c.respAddress)
            {
                if awaitingHello.count < Self.maxPending { awaitingHello[c.id] = t } else { untracked += 1 }
                return
            }
            guard c.proto == IPProto.tcp || c.proto == IPProto.udp, !ctx.allowed(src: c.origAddress, dst: c.respAddress) else { return }
            let outbound = ctx.config[setting: .badPorts].contains(c.respPort) && ctx.scope.isOutbound(src: c.origAddress, dst: c.respAddress)
            let inside = !outbound && ctx.config[setting: .lateralPorts].contains(c.respPort) && ctx.scope.isInside(src: c.origAddress, dst: c.respAddress)
            guard outbound || inside else { return }
            if pending.count < Self.maxPending { pending[c.id] = t } else { untracked += 1; return }
            if inside { lateral.insert(c.id) }
        case .tlsHello(let flow, _, let name, _, _):
            if let start = awaitingHello.removeValue(forKey: flow), let name, Self.looksLikeTor(name) { pending[flow] = start }
        case .burst(let c, let t):
            // Payload again after a pause: a session, not a probe (a UDP session is decided at its end).
            guard c.proto == IPProto.tcp else { return }
            if let start = pending.removeValue(forKey: c.id) { report(c, start: start, at: t, lateral: lateral.remove(c.id) != nil, ctx) }
        case .finished(let c):
            awaitingHello[c.id] = nil
            // A probe that was answered carries no payload; a session does.
            let inside = lateral.remove(c.id) != nil
            if let start = pending.removeValue(forKey: c.id), c.origBytes + c.respBytes > 0 {
                report(c, start: start, at: c.lastTime, lateral: inside, ctx)
            }
            if c.service != .unknown, let i = ctx.book[EpisodeKey(.suspicious_outbound, c.origAddress, port: c.respPort)] {
                ctx.book.update(i) { Evidence.append(&$0, "service_by_content", .string(c.service.name), limit: 8) }
            }
        case .ipPacket(let o, let t, let flow):
            unusual(o, t, flow, ctx)
        default:
            break
        }
    }

    /// Tor clients name a random host: `www.` + 8 to 20 base32 letters + `.com` or `.net`.
    static func looksLikeTor(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[0] == "www", parts[2] == "com" || parts[2] == "net" else { return false }
        let mid = parts[1].utf8
        return mid.count >= 8 && mid.count <= 20 && mid.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 50 && $0 <= 55) }
    }

    private func isScanning(_ c: Connection, _ ctx: DetectionContext) -> Bool {
        let book = ctx.book
        let name = DetectionEngine.protoName(c.proto)
        return book.contains(EpisodeKey(c.proto == IPProto.udp ? .udp_scan : .port_scan, c.origAddress, target: c.respAddress))
            || book.contains(EpisodeKey(.slow_scan, c.origAddress, target: c.respAddress))
            || (book[EpisodeKey(.host_sweep, c.origAddress, name: name)].map { book.hasPort($0, c.respPort) } ?? false)
    }

    /// Sources with an episode of their own per (destination, port); past `groupAfter` more
    /// sources of the same destination and port join one grouped episode that counts them, so
    /// a worm or a flood of hosts is one alert with a count, not one alert per host.
    private var sourcesPerTarget: [GroupKey: Int] = [:]
    struct GroupKey: Hashable { var dst: IPAddress; var port: UInt16 }
    static let groupAfter = 64
    /// The sources of each grouped episode (exact up to 65,536, estimated past).
    private var groupSources: [Int: EvidenceSet<IPAddress>] = [:]

    private func report(_ c: Connection, start: Int64, at time: Int64, lateral: Bool = false, _ ctx: DetectionContext) {
        if isScanning(c, ctx) { return }
        let book = ctx.book
        let own = EpisodeKey(.suspicious_outbound, c.origAddress, port: c.respPort, name: lateral ? "internal" : "")
        if book[own] == nil && !lateral {
            let g = GroupKey(dst: c.respAddress, port: c.respPort)
            let n = sourcesPerTarget[g, default: 0]
            if n >= Self.groupAfter { group(c, start: start, at: time, ctx); return }
            if sourcesPerTarget.count < 100_000 || n > 0 { sourcesPerTarget[g] = n + 1 }
        }
        let key = own
        let i: Int
        if let e = book[key] {
            i = e
        } else {
            var a = Alert(
                kind: .suspicious_outbound, severity: lateral ? .medium : .high, src: c.origAddress, dst: c.respAddress,
                proto: DetectionEngine.protoName(c.proto), start: start)
            a.ports = [c.respPort]; a.portCount = 1
            a.dsts = [c.respAddress]; a.dstCount = 1
            a.evidence = [
                (
                    "port_reputation",
                    .string(
                        Self.torPorts.contains(c.respPort)
                            ? "Tor ORPort/DirPort, TLS with a Tor-style random server name"
                            : PortLists.reputation(c.respPort))
                ), ("sessions", .int(0)),
            ]
            i = book.open(
                key, a,
                why: [
                    ("listed_port", .int(Int64(c.respPort))),
                    (
                        "direction",
                        .string(
                            lateral
                                ? "internal: between two internal hosts (lateral movement)"
                                : ctx.scope.inferred ? "outbound (monitored side inferred)" : "internal to external")
                    ),
                ])
        }
        if book.addTarget(i, c.respAddress) { book.update(i) { $0.dst = nil } }  // several destinations: the alert lists them
        book.update(i) { a in
            a.end = max(a.end, time)
            Evidence.add(&a, "sessions", 1)
        }
        book.addFlow(i, c.id)
    }

    /// The grouped episode of many sources to one destination and port.
    private func group(_ c: Connection, start: Int64, at time: Int64, _ ctx: DetectionContext) {
        let book = ctx.book
        let key = EpisodeKey(.suspicious_outbound, .zero, target: c.respAddress, port: c.respPort, name: "grouped")
        let i: Int
        if let e = book[key] {
            i = e
        } else {
            var a = Alert(
                kind: .suspicious_outbound, severity: .high, src: c.origAddress, dst: c.respAddress,
                proto: DetectionEngine.protoName(c.proto), start: start)
            a.ports = [c.respPort]; a.portCount = 1
            a.evidence = [
                ("grouped", .string("more than \(Self.groupAfter) sources to this destination and port; src is the first of them")),
                ("port_reputation", .string(PortLists.reputation(c.respPort))), ("sources", .int(0)), ("sessions", .int(0)),
            ]
            i = book.open(key, a, why: [("listed_port", .int(Int64(c.respPort))), Evidence.crossed("sources", Self.groupAfter + 1, Self.groupAfter + 1)])
        }
        var seen = groupSources.removeValue(forKey: i) ?? EvidenceSet<IPAddress>(cap: 65_536)
        seen.insert(c.origAddress, hash: c.origAddress.hash64)
        let sources = seen.count
        groupSources[i] = seen
        book.update(i) { a in
            a.end = max(a.end, time)
            Evidence.set(&a, "sources", .int(Int64(sources)))
            Evidence.add(&a, "sessions", 1)
        }
        book.addFlow(i, c.id)
    }

    private func unusual(_ o: IPLayer, _ t: Int64, _ flow: Int64, _ ctx: DetectionContext) {
        let p = o.proto
        let config = ctx.config
        guard ctx.scope.isOutbound(src: o.src, dst: o.dst) else { return }
        if p == IPProto.icmp || p == IPProto.icmpv6 {
            let request = (p == IPProto.icmp && o.icmpType == 8) || (p == IPProto.icmpv6 && o.icmpType == 128)
            guard request, Int(o.payloadLength) > config[setting: .unusualICMPPayload] else { return }
            let key = Triple(src: o.src, dst: o.dst, proto: p)
            let n = (packets[key] ?? 0) + 1
            packets[key] = n
            guard n >= config[setting: .unusualICMPPackets] else { return }
            episode(
                o, proto: "icmp", t, flow, ctx,
                why: [
                    Evidence.crossed("oversized_echo_requests", n, config[setting: .unusualICMPPackets]),
                    Evidence.crossed("payload_bytes", Int(o.payloadLength), config[setting: .unusualICMPPayload]),
                ])
            return
        }
        // IPsec (ESP, AH) is how sites and VPN clients talk: the standard, not the unusual.
        if p == IPProto.esp || p == IPProto.ah { return }
        let key = Triple(src: o.src, dst: o.dst, proto: p)
        let n = (packets[key] ?? 0) + 1
        if packets.count < 1_000_000 || packets[key] != nil { packets[key] = n }
        guard n >= Self.minPackets else { return }
        // An IP-protocol scan's probes belong to the scan.
        if ctx.book.contains(EpisodeKey(.port_scan, o.src, target: o.dst)) && n == Self.minPackets { return }
        episode(
            o, proto: DetectionEngine.protoName(p), t, flow, ctx,
            why: [
                ("ip_protocol", .int(Int64(p))),
                Evidence.crossed("packets", n, Self.minPackets),
            ])
    }

    private func episode(_ o: IPLayer, proto: String, _ t: Int64, _ flow: Int64, _ ctx: DetectionContext, why: [(String, JSON)]) {
        let book = ctx.book
        let key = EpisodeKey(.unusual_protocol, o.src, target: o.dst, port: UInt16(o.proto), name: proto)
        if ctx.allowed(src: o.src, dst: o.dst) { return }
        let i: Int
        if let e = book[key] {
            i = e
        } else {
            var a = Alert(kind: .unusual_protocol, severity: .medium, src: o.src, dst: o.dst, proto: proto, start: t)
            a.evidence = [("ip_proto", .int(Int64(o.proto))), ("packets", .int(0)), ("max_payload", .int(0))]
            i = book.open(key, a, why: why)
        }
        book.update(i) { a in
            a.end = max(a.end, t)
            Evidence.add(&a, "packets", 1)
            Evidence.max(&a, "max_payload", Int64(o.payloadLength))
        }
        book.addFlow(i, flow)
    }
}

extension OutboundDetector {
    /// Its settings in a rules file (`DetectorConfig.registry`): key, field, meaning.
    static let settings: [Setting] = [
        .ports(.badPorts, "suspicious_outbound: internal to external on these ports (C2, IRC, Tor, telnet, SMB, RDP)"),
        .ports(
            .lateralPorts,
            "suspicious_outbound (direction internal, medium): a session between two internal hosts on these C2 handler ports (not SMB, RDP or telnet, which internal hosts use)"
        ),
        .count(.unusualICMPPayload, "unusual_protocol: echo payload bytes above which ICMP is oversized"),
        .count(.unusualICMPPackets, "unusual_protocol: oversized echoes from one host to one destination before alerting"),
    ]
}

/// This detector's settings: rules-file key and default, read as `config[setting: .name]`.
extension DetectorSetting where Value == [UInt16] {
    public static var badPorts: Self { .init("outbound.bad_ports", default: PortLists.outbound) }
    public static var lateralPorts: Self { .init("outbound.lateral_ports", default: PortLists.lateral) }
}

extension DetectorSetting where Value == Int {
    public static var unusualICMPPayload: Self { .init("unusual.icmp_payload", default: 512) }
    public static var unusualICMPPackets: Self { .init("unusual.icmp_packets", default: 5) }
}
