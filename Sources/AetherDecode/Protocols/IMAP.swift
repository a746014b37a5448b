import AetherCore

extension AppProtocol {
    /// IMAP: the server greets with `* OK` (or `* PREAUTH`); a tagged NO after LOGIN is a refusal.
    public static let imap = AppProtocol(
        "imap", .imap, ports: [143], probe: { p, server in server && (p.begins(with: "* OK") || p.begins(with: "* PREAUTH")) },
        outcome: { p in
            if p.mentions(" NO ") && (p.mentions("AUTHENTICATIONFAILED") || p.mentions("ogin") || p.mentions("uthentication")) { return .failed }
            if p.mentions(" OK ") && (p.mentions("ogged in") || p.mentions("LOGIN completed") || p.mentions("Login completed")) { return .succeeded }
            return .none
        })
}
