import AetherCore

extension AppProtocol {
    /// RDP: the client's TPKT-wrapped X.224 Connection Request. Its login is encrypted: only the
    /// session's shape tells (the brute-force detector reads it).
    public static let rdp = AppProtocol(
        "rdp", .rdp, ports: [3389], probe: { p, server in !server && p[0] == 0x03 && p[1] == 0x00 && p.count >= 11 && p[5] == 0xE0 })
}
