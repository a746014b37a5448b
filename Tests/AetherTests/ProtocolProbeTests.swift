import AetherCore
import AetherDecode
import XCTest

// The service identifier as it was before each protocol declared its own probe and login
// reader (`AppProtocols`): kept here only as the reference the registry must agree with.

/// Names a TCP connection's service from its first payload bytes, and reads login outcomes that
/// the protocol shows in clear (FTP 530/230, SMTP 535/235, POP3 -ERR/+OK after PASS, IMAP NO/OK
/// after LOGIN, Telnet "incorrect", HTTP 401, LDAP bind result, MySQL 1045, PostgreSQL 28P01,
/// SMB2 STATUS_LOGON_FAILURE). Reads at most the bytes it is given; never allocates.
enum LegacyServiceIdentifier {
    /// The service a payload announces, from either side; `.unknown` when it says nothing.
    static func identify(_ p: UnsafeRawBufferPointer, fromResponder: Bool) -> Service {
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
    static func loginOutcome(_ p: UnsafeRawBufferPointer, service: Service) -> Outcome {
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

final class ProtocolProbeTests: XCTestCase {
    /// Every protocol's probe and login reader, gathered from their files into the registry,
    /// answer as the one function they replaced did: on payloads that start with each
    /// protocol's tokens and continue at random, from both sides, at every short length.
    func testRegistryAgreesWithTheFunctionItReplaced() {
        let tokens: [[UInt8]] =
            [
                "SSH-2.0-x", "220 ", "220 ProFTPD", "220 mail ESMTP Postfix", "220 FTP smtp", "+OK ", "* OK ", "* PREAUTH", "HTTP/1.1 401 ",
                "HTTP/1.1 200 ", "HTTP/1.0 302 ", "GET / HTTP/1.1", "POST ", "RFB 003.008", "NICK a", "USER a", ":irc NOTICE", "530 Login incorrect",
                "230 ok", "535 no", "235 ok", "-ERR auth failed", "+OK Logged in", "a NO [AUTHENTICATIONFAILED]", "a OK LOGIN completed",
                "Login incorrect", "Last login", "E\0\0\0 28P01", "R\0\0\0\u{8}\0\0\0\0",
            ].map { Array($0.utf8) } + [
                [0x16, 0x03, 0x01], [0x16, 0x03, 0x05], [0xFF, 0xFB], [0xFF, 0xFF], [0xFF, 0xFD, 0x18], [0x30, 0x0C, 0x02, 0x01, 0x01, 0x60],
                [0x03, 0x00, 0x00, 0x13, 0x0E, 0xE0], [0x00, 0x00, 0x00, 0x54, 0xFE, 0x53, 0x4D, 0x42], [0x00, 0x00, 0x00, 0x54, 0xFF, 0x53, 0x4D, 0x42, 0x73],
                [0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00], [0x4A, 0x00, 0x00, 0x00, 0x0A], [0x07, 0x00, 0x00, 0x02, 0x00],
                [0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x31],
                [0x00, 0x00, 0x00, 0x07, 0xFF, 0x15, 0x04],
            ]
        var rng = SplitMix(seed: 23)
        var cases = 0
        for token in tokens {
            for extra in 0..<24 {
                for _ in 0..<40 {
                    var b = token
                    for _ in 0..<extra { b.append(UInt8.random(in: 0...255, using: &rng)) }
                    if extra > 0 && Bool.random(using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                    for cut in [b.count, min(b.count, 3), min(b.count, 4), max(0, b.count - 1)] {
                        let p = Array(b.prefix(cut))
                        p.withUnsafeBytes { p in
                            for side in [false, true] {
                                XCTAssertEqual(
                                    AppProtocols.identify(p, fromResponder: side), LegacyServiceIdentifier.identify(p, fromResponder: side), "\(Array(p))")
                            }
                            for s in Service.allCases where s != .ssh {
                                XCTAssertEqual(
                                    AppProtocols.loginOutcome(p, service: s).rawValue, LegacyServiceIdentifier.loginOutcome(p, service: s).rawValue,
                                    "\(s) \(Array(p))")
                            }
                        }
                        cases += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 100_000)
    }
}
