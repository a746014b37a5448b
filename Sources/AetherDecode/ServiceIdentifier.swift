import AetherCore

/// Names a TCP connection's service from its first payload bytes, and reads login outcomes that
/// the protocol shows in clear (FTP 530/230, SMTP 535/235, POP3 -ERR/+OK after PASS, IMAP NO/OK
/// after LOGIN, Telnet "incorrect", HTTP 401, LDAP bind result, MySQL 1045, PostgreSQL 28P01,
/// SMB2 STATUS_LOGON_FAILURE). Reads at most the bytes it is given; never allocates.
public enum ServiceIdentifier {
    /// The service a payload announces, from either side; `.unknown` when it says nothing.
    public static func identify(_ p: UnsafeRawBufferPointer, fromResponder: Bool) -> Service {
        guard p.count >= 4 else {
            if p.count >= 3, p[0] == 0xFF, p[1] >= 0xFB { return .telnet }
            return .unknown
        }
        if starts(p, "SSH-") { return .ssh }
        if p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 { return .tls }
        if p[0] == 0xFF && p[1] >= 0xFB && p[1] <= 0xFE { return .telnet }  // IAC WILL/WONT/DO/DONT
        if fromResponder {
            if starts(p, "220") {
                if contains(p, "FTP") || contains(p, "ftp") || contains(p, "FileZilla") { return .ftp }
                if contains(p, "SMTP") || contains(p, "smtp") || contains(p, "Postfix") || contains(p, "ESMTP") { return .smtp }
                return .ftp
            }
            if starts(p, "+OK") { return .pop3 }
            if starts(p, "* OK") || starts(p, "* PREAUTH") { return .imap }
            if starts(p, "HTTP/1.") { return .http }
            if starts(p, "RFB ") { return .vnc }
            if p.count >= 8, p[3] == 0, p[4] == 10, Int(p[0]) | Int(p[1]) << 8 == p.count - 4 { return .mysql }
            if starts(p, ":") && contains(p, "NOTICE") { return .irc }
        } else {
            if HTTPParser.startsWithMethod(p) { return .http }
            if starts(p, "NICK ") || starts(p, "USER ") { return .irc }
            if p.count >= 8, p[4] == 0, p[5] == 3, p[6] == 0, p[7] == 0 { return .postgresql }  // StartupMessage 3.0
            if p[0] == 0x30, p.count >= 7, p[2] == 0x02, p[3] == 0x01, p[5] == 0x60 { return .ldap }  // BindRequest
            if p[0] == 0x03, p[1] == 0x00, p.count >= 11, p[5] == 0xE0 { return .rdp }  // TPKT + X.224 CR
        }
        if p.count >= 8, p[0] == 0, p[4] == 0xFE || p[4] == 0xFF, p[5] == 0x53, p[6] == 0x4D, p[7] == 0x42 { return .smb }
        return .unknown
    }

    public enum Outcome: UInt8 { case none = 0, failed, succeeded }

    /// A login outcome in a responder's payload for `service`.
    public static func loginOutcome(_ p: UnsafeRawBufferPointer, service: Service) -> Outcome {
        guard p.count >= 3 else { return .none }
        switch service {
        case .ftp:
            return lines(p, failed: "530", succeeded: "230")
        case .smtp:
            return lines(p, failed: "535", succeeded: "235")
        case .pop3:
            if starts(p, "-ERR")
                && (contains(p, "auth") || contains(p, "pass") || contains(p, "login") || contains(p, "Auth") || contains(p, "denied") || contains(p, "invalid")
                    || contains(p, "Invalid"))
            {
                return .failed
            }
            if starts(p, "+OK") && (contains(p, "ogged in") || contains(p, "maildrop") || contains(p, "Mailbox")) { return .succeeded }
        case .imap:
            if contains(p, " NO ") && (contains(p, "AUTHENTICATIONFAILED") || contains(p, "ogin") || contains(p, "uthentication")) { return .failed }
            if contains(p, " OK ") && (contains(p, "ogged in") || contains(p, "LOGIN completed") || contains(p, "Login completed")) { return .succeeded }
        case .telnet:
            if contains(p, "incorrect") || contains(p, "Login failed") || contains(p, "Access denied") || contains(p, "Login invalid")
                || contains(p, "uthentication failed")
            {
                return .failed
            }
            if contains(p, "Last login") { return .succeeded }
        case .http:
            if starts(p, "HTTP/1.") && p.count >= 12 {
                if p[9] == UInt8(ascii: "4") && p[10] == UInt8(ascii: "0") && p[11] == UInt8(ascii: "1") { return .failed }
                // Any other answer that is not a client error: a challenge (401, then the
                // request again with credentials, as Digest and NTLM do) was met.
                if p[9] == UInt8(ascii: "2") || p[9] == UInt8(ascii: "3") { return .succeeded }
            }
        case .ldap:
            // BindResponse: SEQUENCE, messageID, [APPLICATION 1] { ENUMERATED resultCode ... }
            if p[0] == 0x30, let i = find(p, [0x61]), i + 4 < p.count {
                var o = i + 1
                if p[o] & 0x80 != 0 { o += 1 + Int(p[o] & 0x7F) } else { o += 1 }
                if o + 2 < p.count, p[o] == 0x0A, p[o + 1] == 1 {
                    let code = p[o + 2]
                    if code == 0 { return .succeeded }
                    if code == 49 || code == 48 || code == 50 || code == 53 { return .failed }
                }
            }
        case .mysql:
            if p.count >= 7, p[4] == 0xFF, Int(p[5]) | Int(p[6]) << 8 == 1045 { return .failed }
            if p.count >= 5, p[4] == 0x00, p[3] == 2 { return .succeeded }  // OK packet answering the login
        case .postgresql:
            if p[0] == UInt8(ascii: "E"), contains(p, "28P01") || contains(p, "28000") { return .failed }
            if p.count >= 9, p[0] == UInt8(ascii: "R"), p[4] == 8, p[8] == 0 { return .succeeded }
        case .smb:
            // SMB1: status at 9 (NT status, little-endian), command 0x73 SESSION_SETUP_ANDX at 8.
            if p.count >= 13, p[4] == 0xFF, p[5] == 0x53, p[8] == 0x73 {
                let status = UInt32(p[9]) | UInt32(p[10]) << 8 | UInt32(p[11]) << 16 | UInt32(p[12]) << 24
                if status == 0xC000_006D { return .failed }
                if status == 0 { return .succeeded }
            }
            // SMB2 header after the 4-byte NetBIOS length: status at 8, command at 12 (1: SESSION_SETUP).
            if p.count >= 18, p[4] == 0xFE, p[5] == 0x53, p[16] == 1 {
                let status = UInt32(p[12]) | UInt32(p[13]) << 8 | UInt32(p[14]) << 16 | UInt32(p[15]) << 24
                if status == 0xC000_006D || status == 0xC000_0064 || status == 0xC000_006A { return .failed }
                if status == 0 { return .succeeded }
            }
        default:
            break
        }
        return .none
    }

    /// SSH's login outcome from the server's packet sizes after its NEWKEYS. Zeek's heuristic:
    /// the first encrypted packet (SERVICE_ACCEPT) sets the reference size, and a later, smaller
    /// one can only be USERAUTH_SUCCESS (a bare message code; USERAUTH_FAILURE lists the methods
    /// left and is larger). Coalesced segments hide that packet, so what follows counts too: a
    /// refused client only ever sees failures of one size (and perhaps a disconnect), while a
    /// session that logged in carries channel traffic of many sizes. Three sizes besides the
    /// reference and the first other one are a login, whatever the method (password, key,
    /// keyboard-interactive) or server.
    /// `state`: bit 31 NEWKEYS seen; bits 0-11 the reference size, 12-23 the first other size
    /// (both capped at 4095); 24-30 packets of yet other sizes.
    public static func sshOutcome(_ p: UnsafeRawBufferPointer, length: Int, state: inout UInt32) -> Outcome {
        if state & 0x8000_0000 == 0 {
            if starts(p, "SSH-") { return .none }
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
        return others + 1 == sshSessionSizes ? .succeeded : .none
    }

    /// Server packets of other sizes than the reference and the first failure that show a session.
    static let sshSessionSizes: UInt32 = 3

    /// FTP/SMTP style: any line starting with the code.
    static func lines(_ p: UnsafeRawBufferPointer, failed: StaticString, succeeded: StaticString) -> Outcome {
        var lineStart = 0
        for i in 0...p.count where i == p.count || p[i] == 10 {
            let line = UnsafeRawBufferPointer(rebasing: p[lineStart..<i])
            if starts(line, failed) { return .failed }
            if starts(line, succeeded) { return .succeeded }
            lineStart = i + 1
        }
        return .none
    }

    @inline(__always) static func starts(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard p.count >= n else { return false }
        let u = s.utf8Start
        for i in 0..<n where p[i] != u[i] { return false }
        return true
    }

    static func contains(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard p.count >= n, n > 0 else { return false }
        let u = s.utf8Start
        var i = 0
        let limit = min(p.count, 512) - n
        while i <= limit {
            if p[i] == u[0] {
                var j = 1
                while j < n && p[i + j] == u[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }

    static func find(_ p: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int? {
        for i in 0..<min(p.count, 16) where p[i] == b[0] { return i }
        return nil
    }
}
