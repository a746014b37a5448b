import AetherCore

extension AppProtocol {
    /// IRC: a client's NICK or USER, or a server's NOTICE. No port: 6660-6669 are listed by
    /// reputation (`PortLists`), and content decides.
    public static let irc = AppProtocol(
        "irc", .irc, ports: [],
        probe: { p, server in
            server ? p.begins(with: ":") && p.mentions("NOTICE") : p.begins(with: "NICK ") || p.begins(with: "USER ")
        })
}
