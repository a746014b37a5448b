import AetherCore

extension AppProtocol {
    /// PostgreSQL: the client's StartupMessage (protocol 3.0); SQLSTATE 28P01 or 28000 refuses a
    /// login, AuthenticationOk accepts it.
    public static let postgresql = AppProtocol(
        "postgresql", .postgresql, ports: [5432],
        probe: { p, server in !server && p.count >= 8 && p[4] == 0 && p[5] == 3 && p[6] == 0 && p[7] == 0 },
        outcome: { p in
            if p[0] == UInt8(ascii: "E"), p.mentions("28P01") || p.mentions("28000") { return .failed }
            if p.count >= 9, p[0] == UInt8(ascii: "R"), p[4] == 8, p[8] == 0 { return .succeeded }
            return .none
        })
}
