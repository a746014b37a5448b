import AetherCore

extension AppProtocol {
    /// Telnet: option negotiation (IAC WILL/WONT/DO/DONT) opens it; the server's prompt says how
    /// a login ended.
    public static let telnet = AppProtocol(
        "telnet", .telnet, ports: [23], probeBytes: 3,
        probe: { p, _ in p[0] == 0xFF && (p.count == 3 ? p[1] >= 0xFB : p[1] >= 0xFB && p[1] <= 0xFE) },
        outcome: { p in
            if p.mentions("incorrect") || p.mentions("Login failed") || p.mentions("Access denied") || p.mentions("Login invalid")
                || p.mentions("uthentication failed")
            {
                return .failed
            }
            return p.mentions("Last login") ? .succeeded : .none
        })
}
