import AetherCore

extension AppProtocol {
    /// MySQL: the server's handshake packet (protocol 10, its length in the header); error 1045
    /// refuses a login, an OK packet answering it accepts.
    public static let mysql = AppProtocol(
        "mysql", .mysql, ports: [3306],
        probe: { p, server in server && p.count >= 8 && p[3] == 0 && p[4] == 10 && Int(p[0]) | Int(p[1]) << 8 == p.count - 4 },
        outcome: { p in
            if p.count >= 7, p[4] == 0xFF, Int(p[5]) | Int(p[6]) << 8 == 1045 { return .failed }
            if p.count >= 5, p[4] == 0x00, p[3] == 2 { return .succeeded }
            return .none
        })
}
