import AetherCore
import AetherDecode
import XCTest

/// Services by content and login outcomes over literal bytes, and every prefix of each input.
final class ServiceIdentifierTests: XCTestCase {
    func identify(_ b: [UInt8], responder: Bool) -> Service {
        b.withUnsafeBytes { AppProtocols.identify($0, fromResponder: responder) }
    }

    func outcome(_ b: [UInt8], _ s: Service) -> LoginOutcome {
        b.withUnsafeBytes { AppProtocols.loginOutcome($0, service: s) }
    }

    static let ldapBindFailed: [UInt8] = [0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00]
    static let ldapBindOK: [UInt8] = [0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]
    static let mysqlDenied: [UInt8] = [0x48, 0x00, 0x00, 0x02, 0xFF, 0x15, 0x04, 0x23, 0x32, 0x38, 0x30, 0x30, 0x30]
    static let smb2LogonFailure: [UInt8] = [
        0x00, 0x00, 0x00, 0x48, 0xFE, 0x53, 0x4D, 0x42, 0x40, 0x00, 0x00, 0x00,
        0x6D, 0x00, 0x00, 0xC0, 0x01, 0x00, 0x01, 0x00,
    ]

    func testServicesByContent() {
        XCTAssertEqual(identify(Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8), responder: true), .ssh)
        XCTAssertEqual(identify(Array("220 (vsFTPd 3.0.3)\r\n".utf8), responder: true), .ftp)
        XCTAssertEqual(identify(Array("220 mx.example.org ESMTP Postfix\r\n".utf8), responder: true), .smtp)
        XCTAssertEqual(identify(Array("+OK Dovecot ready.\r\n".utf8), responder: true), .pop3)
        XCTAssertEqual(identify(Array("* OK IMAP4rev1 ready\r\n".utf8), responder: true), .imap)
        XCTAssertEqual(identify([0xFF, 0xFD, 0x18, 0xFF, 0xFD, 0x20], responder: true), .telnet)
        XCTAssertEqual(identify([0x16, 0x03, 0x01, 0x00, 0x10], responder: false), .tls)
        XCTAssertEqual(identify(Array("GET / HTTP/1.1\r\n".utf8), responder: false), .http)
        XCTAssertEqual(identify(Self.smb2LogonFailure, responder: true), .smb)
        XCTAssertEqual(identify(Array("hello".utf8), responder: true), .unknown)
    }

    /// Each registered protocol's probe names it on a sample of its own, from the side that
    /// sends it, and every protocol content can name has a sample here: a new one needs one.
    func testEveryRegisteredProbeNamesItsProtocol() {
        let samples: [Service: (bytes: [UInt8], server: Bool)] = [
            .ssh: (Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8), false),
            .tls: ([0x16, 0x03, 0x03, 0x00, 0x7A, 0x02], true),
            .telnet: ([0xFF, 0xFB, 0x01], true),
            .ftp: (Array("220 ProFTPD Server ready.\r\n".utf8), true),
            .smtp: (Array("220 mail.example.org ESMTP\r\n".utf8), true),
            .pop3: (Array("+OK POP3 ready\r\n".utf8), true),
            .imap: (Array("* PREAUTH ready\r\n".utf8), true),
            .http: (Array("HTTP/1.1 200 OK\r\n".utf8), true),
            .vnc: (Array("RFB 003.008\n".utf8), true),
            .mysql: ([0x0A, 0x00, 0x00, 0x00, 0x0A, 0x38, 0x2E, 0x30, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05], true),
            .irc: (Array("NICK guest\r\n".utf8), false),
            .postgresql: ([0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00], false),
            .ldap: ([0x30, 0x0C, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00], false),
            .rdp: ([0x03, 0x00, 0x00, 0x13, 0x0E, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00], false),
            .smb: ([0x00, 0x00, 0x00, 0x54, 0xFF, 0x53, 0x4D, 0x42, 0x72], false),
        ]
        for p in AppProtocols.all where p.hasProbe {
            guard let s = p.service, let sample = samples[s] else { return XCTFail("\(p.name) has a probe and no sample here") }
            XCTAssertEqual(identify(sample.bytes, responder: sample.server), s, p.name)
            for cut in 0..<sample.bytes.count { _ = identify(Array(sample.bytes.prefix(cut)), responder: sample.server) }
        }
        XCTAssertEqual(Set(samples.keys), Set(AppProtocols.all.filter(\.hasProbe).compactMap(\.service)))
        // A server's greeting is not a client's request, and the other way round.
        XCTAssertEqual(identify(Array("+OK POP3 ready\r\n".utf8), responder: false), .unknown)
        XCTAssertEqual(identify(Array("NICK guest\r\n".utf8), responder: true), .unknown)
        XCTAssertEqual(identify(Array("220 FTP and SMTP\r\n".utf8), responder: true), .ftp, "an FTP mark wins")
    }

    func testLoginOutcomesInClear() {
        XCTAssertEqual(outcome(Array("331 Password please\r\n530 Login incorrect.\r\n".utf8), .ftp), .failed)
        XCTAssertEqual(outcome(Array("230 Login successful.\r\n".utf8), .ftp), .succeeded)
        XCTAssertEqual(outcome(Array("535 5.7.8 Authentication credentials invalid\r\n".utf8), .smtp), .failed)
        XCTAssertEqual(outcome(Array("\r\nLogin incorrect\r\nlogin: ".utf8), .telnet), .failed)
        XCTAssertEqual(outcome(Array("HTTP/1.1 401 Unauthorized\r\n".utf8), .http), .failed)
        XCTAssertEqual(outcome(Self.ldapBindFailed, .ldap), .failed)
        XCTAssertEqual(outcome(Self.ldapBindOK, .ldap), .succeeded)
        XCTAssertEqual(outcome(Self.mysqlDenied, .mysql), .failed)
        XCTAssertEqual(outcome(Self.smb2LogonFailure, .smb), .failed)
        XCTAssertEqual(outcome(Array("150 Here comes the directory listing.\r\n".utf8), .ftp), .none)
    }

    /// SSH: after the server's NEWKEYS, a packet smaller than the first encrypted one is a success.
    func testSSHOutcomeBySize() {
        var state: UInt32 = 0
        func step(_ b: [UInt8]) -> LoginOutcome {
            b.withUnsafeBytes { SSHLogin.outcome($0, length: b.count, state: &state) }
        }
        XCTAssertEqual(step(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8)), .none)
        // KEXDH_REPLY (31) and NEWKEYS (21) in one segment: two binary packets.
        let kex: [UInt8] = [0, 0, 0, 12, 6, 31] + Array(repeating: 0, count: 10) + [0, 0, 0, 12, 10, 21] + Array(repeating: 0, count: 10)
        XCTAssertEqual(step(kex), .none)
        XCTAssertEqual(step(Array(repeating: 1, count: 44)), .none)  // SERVICE_ACCEPT sets the size
        XCTAssertEqual(step(Array(repeating: 1, count: 52)), .none)  // USERAUTH_FAILURE is larger
        XCTAssertEqual(step(Array(repeating: 1, count: 28)), .succeeded)
    }

    /// SSH: when USERAUTH_SUCCESS shares a segment with what follows, the session's traffic of
    /// many sizes tells the login; a refused client sees failures of one size only.
    func testSSHOutcomeByWhatFollows() {
        let kex: [UInt8] = [0, 0, 0, 12, 6, 31] + Array(repeating: 0, count: 10) + [0, 0, 0, 12, 10, 21] + Array(repeating: 0, count: 10)
        func run(_ sizes: [Int]) -> [LoginOutcome] {
            var state: UInt32 = 0
            return ([kex] + sizes.map { [UInt8](repeating: 1, count: $0) }).map { b in
                b.withUnsafeBytes { SSHLogin.outcome($0, length: b.count, state: &state) }
            }
        }
        // SERVICE_ACCEPT, a failure (the "none" query), PK_OK, SUCCESS coalesced with the host keys, channel traffic.
        let login = run([44, 52, 100, 292, 192, 72, 108])
        XCTAssertEqual(login.filter { $0 == .succeeded }.count, 1, "\(login)")
        XCTAssertEqual(login.firstIndex(of: .succeeded), 5, "the third other size")
        // Password guesses refused, then the server's disconnect.
        XCTAssertEqual(run([44] + Array(repeating: 52, count: 6) + [84]).filter { $0 == .succeeded }, [])
        XCTAssertEqual(run([44, 52, 100, 292]).filter { $0 == .succeeded }, [], "N-1 other sizes")
    }

    /// Every prefix of every input is read without running past its end.
    func testEveryTruncationIsSafe() {
        let inputs: [[UInt8]] = [
            Array("SSH-2.0-x\r\n".utf8), Array("220 FTP\r\n530 no\r\n".utf8), Self.ldapBindFailed, Self.mysqlDenied,
            Self.smb2LogonFailure, [0x03, 0x00, 0x00, 0x13, 0x0E, 0xE0, 0, 0, 0, 0, 0],
        ]
        for input in inputs {
            for n in 0...input.count {
                let cut = Array(input.prefix(n))
                for s in Service.allCases { _ = outcome(cut, s) }
                _ = identify(cut, responder: true)
                _ = identify(cut, responder: false)
            }
        }
    }
}
