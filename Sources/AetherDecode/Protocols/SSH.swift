import AetherCore

extension AppProtocol {
    /// SSH: the version banner names it from either side; the login's outcome is encrypted, so
    /// the server's packet sizes tell it (`SSHLogin`).
    public static let ssh = AppProtocol(
        "ssh", .ssh, ports: [22], probe: { p, _ in p.begins(with: "SSH-") },
        login: { p, length, state in SSHLogin.outcome(p, length: length, state: &state) })
}

/// SSH's login outcome from the server's packet sizes after its NEWKEYS. Zeek's heuristic:
/// the first encrypted packet (SERVICE_ACCEPT) sets the reference size, and a later, smaller
/// one can only be USERAUTH_SUCCESS (a bare message code; USERAUTH_FAILURE lists the methods
/// left and is larger). Coalesced segments hide that packet, so what follows counts too: a
/// refused client only ever sees failures of one size (and perhaps a disconnect), while a
/// session that logged in carries channel traffic of many sizes. Three sizes besides the
/// reference and the first other one are a login, whatever the method (password, key,
/// keyboard-interactive) or server.
public enum SSHLogin {
    /// `state`: bit 31 NEWKEYS seen; bits 0-11 the reference size, 12-23 the first other size
    /// (both capped at 4095); 24-30 packets of yet other sizes.
    public static func outcome(_ p: UnsafeRawBufferPointer, length: Int, state: inout UInt32) -> LoginOutcome {
        if state & 0x8000_0000 == 0 {
            if p.begins(with: "SSH-") { return .none }
            var o = 0
            while o + 6 <= p.count {
                let len = Int(p[o]) << 24 | Int(p[o + 1]) << 16 | Int(p[o + 2]) << 8 | Int(p[o + 3])
                if p[o + 5] == 21 { state |= 0x8000_0000; break }
                guard len > 0, len < 65_536 else { break }
                o += 4 + len
            }
            return .none
        }
        let size = UInt32(min(max(length, 1), 0xFFF))
        let reference = state & 0xFFF
        if reference == 0 { state |= size; return .none }
        if size < reference { return .succeeded }
        if size == reference { return .none }
        let second = state >> 12 & 0xFFF
        if second == 0 { state |= size << 12; return .none }
        if size == second { return .none }
        let others = state >> 24 & 0x7F
        if others < 0x7F { state = state & ~(0x7F << 24) | (others + 1) << 24 }
        return others + 1 == sessionSizes ? .succeeded : .none
    }

    /// Server packets of other sizes than the reference and the first failure that show a session.
    static let sessionSizes: UInt32 = 3
}
