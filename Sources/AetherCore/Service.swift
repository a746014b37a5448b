/// The application protocol a connection carries, as Zeek's conn.log `service` names it:
/// identified by content (banners, handshakes) first, by the server port only when no payload
/// was seen.
public enum Service: UInt8, Sendable, CaseIterable {
    case unknown = 0, ssh, ftp, telnet, smtp, pop3, imap, http, tls, dns, ldap, mysql, postgresql, smb, rdp, vnc, irc

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

    /// The usual server ports: a service elsewhere is on a non-standard port (ATT&CK T1571).
    public var standardPorts: [UInt16] {
        switch self {
        case .ssh: return [22]
        case .ftp: return [21]
        case .telnet: return [23]
        case .smtp: return [25, 587, 465, 2525]
        case .pop3: return [110]
        case .imap: return [143]
        case .http: return [80, 8080, 8000, 8008, 8081, 8888, 3128, 81, 591, 8443]
        case .tls: return [443, 8443, 993, 995, 465, 636, 853, 5223, 5061, 990, 992]
        case .dns: return [53, 5353, 5355]
        case .ldap: return [389]
        case .mysql: return [3306]
        case .postgresql: return [5432]
        case .smb: return [445, 139]
        case .rdp: return [3389]
        case .vnc: return [5900, 5901]
        case .irc: return [6667, 6697, 6660, 6661, 6662, 6663, 6664, 6665, 6666, 6668, 6669]
        case .unknown: return []
        }
    }

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
