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

    /// What a server port suggests when no payload says otherwise.
    public static func byPort(_ port: UInt16) -> Service {
        switch port {
        case 22: return .ssh
        case 21: return .ftp
        case 23: return .telnet
        case 25, 587: return .smtp
        case 110: return .pop3
        case 143: return .imap
        case 80: return .http
        case 443, 993, 995, 465: return .tls
        case 53: return .dns
        case 389: return .ldap
        case 3306: return .mysql
        case 5432: return .postgresql
        case 139, 445: return .smb
        case 3389: return .rdp
        case 5900: return .vnc
        default: return .unknown
        }
    }
}
