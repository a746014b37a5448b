import AetherCore
import Foundation
import XCTest

@testable import AetherEngine

/// Detection, round two: the behaviours that slipped past round one, each at its threshold.
extension ThresholdTests {
    /// One FTP connection that retries USER/PASS `n` times (hydra, medusa keep the control
    /// connection while the server allows), answered by `last` at the end when given.
    func ftpOneConnection(_ n: Int, last: String? = nil) -> PacketBuilder {
        var ex: [(fromClient: Bool, bytes: [UInt8])] = [(false, Self.ftpBanner)]
        for i in 0..<n {
            ex += [
                (true, Array("USER alice\r\n".utf8)), (false, Array("331 Please specify the password.\r\n".utf8)),
                (true, Array("PASS guess\(i)\r\n".utf8)), (false, Array("530 Login incorrect.\r\n".utf8)),
            ]
        }
        if let last { ex += [(true, Array("PASS right\r\n".utf8)), (false, Array(last.utf8))] }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 21, exchange: ex)
        return b
    }

    func testBruteForceCountsAttemptsInsideOneConnection() throws {
        XCTAssertEqual(try kinds(ftpOneConnection(config.bruteAttempts - 1)), [])
        let found = try alerts(ftpOneConnection(config.bruteAttempts))
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["brute_force"])
        let e = found[0]["evidence"] as! [String: Any]
        XCTAssertEqual((e["failed_attempts"] as? NSNumber)?.intValue, config.bruteAttempts)
        XCTAssertEqual((e["connections"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(found[0]["severity"] as? String, "high")
    }

    /// Hundreds of refusals on one connection: every server answer is read, not only the first 64 segments.
    func testBruteForceReadsEveryAnswerOfALongConnection() throws {
        let found = try alerts(ftpOneConnection(300))
        let e = found.first?["evidence"] as? [String: Any]
        XCTAssertEqual((e?["failed_attempts"] as? NSNumber)?.intValue, 300, "\(found)")
    }

    func testGuessedPasswordAfterFailuresIsCritical() throws {
        let found = try alerts(ftpOneConnection(config.bruteAttempts + 5, last: "230 Login successful.\r\n"))
        XCTAssertEqual(found.map { $0["kind"] as! String }, ["brute_force"])
        XCTAssertEqual(found[0]["severity"] as? String, "critical")
        let e = found[0]["evidence"] as! [String: Any]
        XCTAssertEqual(e["login_accepted_after_failures"] as? Bool, true)
    }

    /// HTTP Basic guessing over one keep-alive connection: each 401 is an attempt.
    func httpKeepAlive(_ n: Int, answer: String? = nil) -> PacketBuilder {
        var ex: [(fromClient: Bool, bytes: [UInt8])] = []
        for i in 0..<n {
            ex.append((true, Array("GET /admin HTTP/1.1\r\nHost: 10.0.0.9\r\nAuthorization: Basic YWxpY2U6Z3Vlc3N\(i)\r\n\r\n".utf8)))
            ex.append((false, Array("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n".utf8)))
            if let answer {
                ex.append((true, Array("GET /admin HTTP/1.1\r\nHost: 10.0.0.9\r\nAuthorization: Digest username=\"alice\"\r\n\r\n".utf8)))
                ex.append((false, Array(answer.utf8)))
            }
        }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 8080, exchange: ex)
        return b
    }

    func testHTTP401sOnOneKeepAliveConnectionAtThreshold() throws {
        XCTAssertEqual(try kinds(httpKeepAlive(config.bruteAttempts - 1)), [])
        XCTAssertEqual(try kinds(httpKeepAlive(config.bruteAttempts)), ["brute_force"])
    }

    /// Digest or NTLM over HTTP: every request is challenged with a 401, then succeeds.
    func testHTTPChallengesThatSucceedAreNotGuessing() throws {
        XCTAssertEqual(try kinds(httpKeepAlive(config.bruteAttempts * 4, answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")), [])
    }

    /// smb-brute's shape: SMB2 SESSION_SETUP answered STATUS_LOGON_FAILURE, many per connection.
    func smb2Failures(_ n: Int) -> PacketBuilder {
        func smb2(command: UInt16, status: UInt32, response: Bool) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: 64)
            h[0] = 0xFE; h[1] = 0x53; h[2] = 0x4D; h[3] = 0x42; h[4] = 64
            h[8] = UInt8(status & 0xFF); h[9] = UInt8(status >> 8 & 0xFF); h[10] = UInt8(status >> 16 & 0xFF); h[11] = UInt8(status >> 24)
            h[12] = UInt8(command)
            if response { h[16] = 1 }
            let body = [UInt8](repeating: 0x41, count: 24)
            let len = h.count + body.count
            return [0, 0, UInt8(len >> 8), UInt8(len & 0xFF)] + h + body
        }
        var ex: [(fromClient: Bool, bytes: [UInt8])] = [
            (true, smb2(command: 0, status: 0, response: false)), (false, smb2(command: 0, status: 0, response: true)),
        ]
        for _ in 0..<n {
            ex.append((true, smb2(command: 1, status: 0, response: false)))
            ex.append((false, smb2(command: 1, status: 0xC000_006D, response: true)))
        }
        var b = PacketBuilder()
        b.session(1000, "10.0.0.5", 41000, "10.0.0.9", 445, exchange: ex)
        return b
    }

    func testSMBLogonFailuresInOneConnectionAtThreshold() throws {
        XCTAssertEqual(try kinds(smb2Failures(config.bruteAttempts - 1)), [])
        XCTAssertEqual(try kinds(smb2Failures(config.bruteAttempts)), ["brute_force"])
    }
}
