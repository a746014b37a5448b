import AetherCore
import AetherDecode
import AetherFlows

extension AlertKind {
    public static let brute_force = AlertKind("brute_force", technique: "T1110")  // Brute Force
}

/// brute_force: many failed logins from one source to one login service within the window,
/// counted as attempts, not connections: a tool may retry hundreds of passwords over a few kept
/// connections (SMB session setups, FTP USER/PASS, HTTP keep-alive) or open one per guess. The
/// service is named by content (an SSH banner on any port counts); the port list only stands in
/// when no payload was seen.
/// - Where the protocol states the outcome in clear (FTP 530, SMTP 535, POP3 -ERR, IMAP NO,
///   LDAP bind result, HTTP 401, MySQL 1045, PostgreSQL 28P01, SMB STATUS_LOGON_FAILURE,
///   Telnet "Login incorrect"), every refusal is one attempt. HTTP counts only the 401s that no
///   later success on the connection answered: Digest, NTLM and Negotiate begin each request
///   with a 401 challenge.
/// - Where the login is encrypted (SSH, RDP), a session's failure is inferred from its shape
///   (answered, past the key exchange, short, small) and counts as one attempt.
/// A login accepted in clear after the failures raises the alert to critical: a guessed password.
final class BruteForceDetector: Detector {
    static let kinds: [AlertKind] = [.brute_force]
    static func make(_ config: DetectorConfig) -> Detector? { BruteForceDetector() }

    struct ServiceKey: Hashable { var src: IPAddress; var dst: IPAddress; var port: UInt16 }
    private var attempts: [ServiceKey: WindowedSum] = [:]

    let events: Set<DetectorEvent.Kind> = [.finished]

    func handle(_ event: DetectorEvent, _ ctx: DetectionContext) {
        guard case .finished(let c) = event, c.proto == IPProto.tcp else { return }
        let config = ctx.config
        var service = c.service
        if service == .unknown {
            guard config[setting: .loginPorts].contains(c.respPort) else { return }
            service = Service.byPort(c.respPort)
        }
        guard service.hasLogin || c.loginFailures > 0 else { return }
        let failed = Self.failedAttempts(c, service, config)
        // HTTP's successes are any 2xx/3xx answer, not a login: only a stated login counts.
        let accepted = c.loginSuccesses > 0 && c.service != .unknown && !c.service.loginIsEncrypted && c.service != .http
        if failed == 0 && !accepted { return }
        let key = ServiceKey(src: c.origAddress, dst: c.respAddress, port: c.respPort)
        let book = ctx.book
        let ek = EpisodeKey(.brute_force, c.origAddress, target: c.respAddress, port: c.respPort)
        if let i = book[ek] {
            book.update(i) { a in
                a.end = max(a.end, c.lastTime)
                Evidence.add(&a, "failed_attempts", Int64(failed))
                if failed > 0 { Evidence.add(&a, "connections", 1) }
                if accepted { Self.markAccepted(&a, c) }
            }
            book.addFlow(i, c.id)
            return
        }
        guard failed > 0 else { return }
        var w = attempts.removeValue(forKey: key) ?? WindowedSum(window: config[setting: .bruteWindow] * 1_000_000_000)
        w.add(failed, at: c.firstTime, flow: c.id)
        let n = w.total
        let flows = w.flows
        let start = w.earliest ?? c.firstTime
        attempts[key] = w
        if attempts.count > 100_000 { attempts = attempts.filter { $0.value.total > 1 } }
        guard n >= config[setting: .bruteAttempts], !ctx.allowed(src: c.origAddress, dst: c.respAddress) else { return }
        var a = Alert(kind: .brute_force, severity: .high, src: c.origAddress, dst: c.respAddress, proto: "tcp", start: start)
        a.ports = [c.respPort]; a.portCount = 1
        let how = c.loginFailures > 0 ? "protocol said the login failed" : "encrypted login: short, small, answered session"
        a.evidence = [
            ("service", .string(service.name.isEmpty ? "port \(c.respPort)" : service.name)),
            ("service_from", .string(c.service != .unknown ? "content" : "port")),
            ("failure_from", .string(how)),
            ("failed_attempts", .int(Int64(n))), ("connections", .int(Int64(flows.count))),
        ]
        if accepted { Self.markAccepted(&a, c) }
        a.flows = flows
        a.end = c.lastTime
        book.open(ek, a, why: [Evidence.crossed("failed_attempts", n, config[setting: .bruteAttempts])])
    }

    private static func markAccepted(_ a: inout Alert, _ c: Connection) {
        a.severity = AlertSeverity.critical.rawValue
        if !a.evidence.contains(where: { $0.0 == "login_accepted_after_failures" }) {
            a.evidence.append(("login_accepted_after_failures", .bool(true)))
            a.evidence.append(("accepted_at", .string(Timestamp(nanoseconds: c.lastTime).decimalString)))
        }
    }

    /// Failed login attempts in one connection.
    static func failedAttempts(_ c: Connection, _ service: Service, _ config: DetectorConfig) -> Int {
        if c.loginFailures > 0 {
            if c.service == .http { return max(0, Int(c.loginFailures) - Int(c.loginSuccesses)) }
            return Int(c.loginFailures)
        }
        // A clear-text protocol that showed no failure: no login was refused here.
        if c.service != .unknown && !c.service.loginIsEncrypted { return 0 }
        if c.loginSuccesses > 0 { return 0 }
        let duration = Double(c.lastTime - c.firstTime) / 1e9
        let answered = c.history.contains("h") || c.history.contains("H")
        // A login was tried only past the key exchange: a banner check (monitoring, a version
        // scan) exchanges a line each way and leaves.
        let pastKeyExchange = c.origPackets >= 6 && c.origBytes >= 256
        let failed =
            answered && pastKeyExchange && duration <= config[setting: .bruteMaxDuration] && c.origBytes <= config[setting: .bruteMaxBytes]
            && c.respBytes <= config[setting: .bruteMaxBytes]
        return failed ? 1 : 0
    }
}

extension BruteForceDetector {
    /// Its settings in a rules file (`DetectorConfig.registry`): key, field, meaning.
    static let settings: [Setting] = [
        .ports(.loginPorts, "brute_force: ports of login services when no payload names the service (content decides otherwise)"),
        .count(
            .bruteAttempts, aliases: ["brute.sessions"],
            "brute_force: failed logins from one source to one service within the window, however many share a connection (an encrypted login's failed session counts one)"
        ),
        .seconds(.bruteWindow, "brute_force: window in seconds"),
        .number(.bruteMaxDuration, "brute_force: seconds under which a session is short"),
        .count(.bruteMaxBytes, "brute_force: payload bytes per direction under which a session failed"),
    ]
}

/// This detector's settings: rules-file key and default, read as `config[setting: .name]`.
extension DetectorSetting where Value == [UInt16] {
    public static var loginPorts: Self { .init("brute.login_ports", default: PortLists.login) }
}

extension DetectorSetting where Value == Int {
    public static var bruteAttempts: Self { .init("brute.attempts", default: 10) }
    public static var bruteMaxBytes: Self { .init("brute.max_bytes", default: 4096) }
}

extension DetectorSetting where Value == Int64 {
    public static var bruteWindow: Self { .init("brute.window", default: 600) }
}

extension DetectorSetting where Value == Double {
    public static var bruteMaxDuration: Self { .init("brute.max_duration", default: 30) }
}
