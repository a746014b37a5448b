import AetherCore
import AetherFlows

/// brute_force: many failed logins from one source to one login service. The service is named
/// by content (an SSH banner on any port counts); the port list only stands in when no payload
/// was seen. A login counts as failed where the protocol says so in clear (FTP 530, SMTP 535,
/// LDAP bind result, HTTP 401, database errors, Telnet "Login incorrect"); only where the login
/// is encrypted (SSH, RDP) is failure inferred from the session's shape: answered, short, small.
/// A session with a successful login never counts.
final class BruteForceDetector: Detector {
    struct ServiceKey: Hashable { var src: IPAddress; var dst: IPAddress; var port: UInt16 }
    private var sessions: [ServiceKey: WindowedDistinct<Int64>] = [:]

    let events: Set<DetectorEvent.Kind> = [.finished]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        guard case .finished(let c) = event, c.proto == IPProto.tcp else { return }
        let config = ctx.config
        var service = c.service
        if service == .unknown {
            guard config.loginPorts.contains(c.respPort) else { return }
            service = Service.byPort(c.respPort)
        }
        guard service.hasLogin || c.loginFailures > 0 else { return }
        guard c.loginSuccesses == 0, Self.failed(c, service, config) else { return }
        let key = ServiceKey(src: c.origAddress, dst: c.respAddress, port: c.respPort)
        var w = sessions.removeValue(forKey: key) ?? WindowedDistinct<Int64>(window: config.bruteWindow * 1_000_000_000)
        w.add(c.id, at: c.firstTime, flow: c.id)
        let n = w.count
        let flows = w.flows
        let start = w.earliest ?? c.firstTime
        sessions[key] = w
        if sessions.count > 100_000 { sessions = sessions.filter { $0.value.count > 1 } }
        let book = ctx.book
        let ek = EpisodeKey(.brute_force, c.origAddress, target: c.respAddress, port: c.respPort)
        if let i = book[ek] {
            book.update(i) { a in
                a.end = max(a.end, c.lastTime)
                Evidence.add(&a, "failed_sessions", 1)
                Evidence.add(&a, "failed_logins_in_clear", Int64(c.loginFailures))
            }
            book.addFlow(i, c.id)
            return
        }
        guard n >= config.bruteSessions, !ctx.allowed(src: c.origAddress, dst: c.respAddress) else { return }
        var a = Alert(kind: AlertKind.brute_force.rawValue, severity: "high", src: c.origAddress, dst: c.respAddress, proto: "tcp", start: start)
        a.ports = [c.respPort]; a.portCount = 1
        let how = c.loginFailures > 0 ? "protocol said the login failed" : "encrypted login: short, small, answered session"
        a.evidence = [
            ("service", .string(service.name.isEmpty ? "port \(c.respPort)" : service.name)),
            ("service_from", .string(c.service != .unknown ? "content" : "port")),
            ("failure_from", .string(how)),
            ("failed_sessions", .int(Int64(flows.count))), ("failed_logins_in_clear", .int(Int64(c.loginFailures))),
        ]
        a.flows = flows
        a.end = c.lastTime
        book.open(ek, a, why: [Evidence.crossed("failed_sessions", n, config.bruteSessions)])
    }

    static func failed(_ c: Connection, _ service: Service, _ config: DetectorConfig) -> Bool {
        if c.loginFailures > 0 { return true }
        // A clear-text protocol that showed no failure: no login was refused here.
        if c.service != .unknown && !c.service.loginIsEncrypted { return false }
        let duration = Double(c.lastTime - c.firstTime) / 1e9
        let answered = c.history.contains("h") || c.history.contains("H")
        // A login was tried only past the key exchange: a banner check (monitoring, a version
        // scan) exchanges a line each way and leaves.
        let pastKeyExchange = c.origPackets >= 6 && c.origBytes >= 256
        return answered && pastKeyExchange && duration <= config.bruteMaxDuration && c.origBytes <= config.bruteMaxBytes
            && c.respBytes <= config.bruteMaxBytes
    }
}
