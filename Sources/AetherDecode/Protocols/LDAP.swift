import AetherCore

extension AppProtocol {
    /// LDAP: a client's BindRequest names it; the BindResponse's result code says how it ended.
    public static let ldap = AppProtocol(
        "ldap", .ldap, ports: [389],
        probe: { p, server in !server && p[0] == 0x30 && p.count >= 7 && p[2] == 0x02 && p[3] == 0x01 && p[5] == 0x60 },
        outcome: { p in
            // BindResponse: SEQUENCE, messageID, [APPLICATION 1] { ENUMERATED resultCode ... }
            if p[0] == 0x30, let i = p.firstIndex16(of: 0x61), i + 4 < p.count {
                var o = i + 1
                if p[o] & 0x80 != 0 { o += 1 + Int(p[o] & 0x7F) } else { o += 1 }
                if o + 2 < p.count, p[o] == 0x0A, p[o + 1] == 1 {
                    let code = p[o + 2]
                    if code == 0 { return .succeeded }
                    if code == 49 || code == 48 || code == 50 || code == 53 { return .failed }
                }
            }
            return .none
        })
}
