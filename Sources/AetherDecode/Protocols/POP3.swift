import AetherCore

extension AppProtocol {
    /// POP3: the server greets with +OK; -ERR after PASS is a refused login.
    public static let pop3 = AppProtocol(
        "pop3", .pop3, ports: [110], probe: { p, server in server && p.begins(with: "+OK") },
        outcome: { p in
            if p.begins(with: "-ERR")
                && (p.mentions("auth") || p.mentions("pass") || p.mentions("login") || p.mentions("Auth") || p.mentions("denied")
                    || p.mentions("invalid") || p.mentions("Invalid"))
            {
                return .failed
            }
            if p.begins(with: "+OK") && (p.mentions("ogged in") || p.mentions("maildrop") || p.mentions("Mailbox")) { return .succeeded }
            return .none
        })
}
