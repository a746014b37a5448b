/// The application protocol a connection carries, as Zeek's conn.log `service` names it:
/// identified by content (banners, handshakes) first, by the server port only when no payload
/// was seen.
public enum Service: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case ssh, ftp, telnet, smtp, pop3, imap, http, tls, dns, ldap, mysql, postgresql, smb, rdp, vnc, irc

    public var name: String {
        switch self {
        case .unknown: return ""
        case .tls: return "ssl"
        default: return String(describing: self)
        }
    }

    /// Services whose sessions carry a login.
    public var hasLogin: Bool {
        switch self {
        case .ssh, .ftp, .telnet, .smtp, .pop3, .imap, .ldap, .mysql, .postgresql, .smb, .rdp, .vnc: return true
        default: return false
        }
    }

    /// Logins whose outcome the protocol does not show in clear: only the session's shape tells.
    public var loginIsEncrypted: Bool { self == .ssh || self == .rdp || self == .tls }

}
