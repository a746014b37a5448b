import AetherCapture
import AetherCore
import AetherDecode
import AetherStore
import Foundation
import XCTest

/// Files over FTP: the control channel's lines on literal bytes, and the recorded transfers
/// (`scripts/make-ftp-capture.sh`: vsftpd and curl between namespaces) hashed as the originals.
final class FTPFileTests: XCTestCase {
    private func bytes(_ s: String, _ body: (UnsafeRawBufferPointer) -> Void) { Array(s.utf8).withUnsafeBytes(body) }

    func testCommandsAndReplies() {
        bytes("RETR pub/setup.exe\r\n") {
            XCTAssertEqual(FTPControl.command($0)?.verb, "RETR"); XCTAssertEqual(FTPControl.command($0)?.argument, "pub/setup.exe")
        }
        bytes("stor a b.zip\r\n") {
            XCTAssertEqual(FTPControl.command($0)?.verb, "STOR"); XCTAssertEqual(FTPControl.command($0)?.argument, "a b.zip")
        }
        bytes("PASV\r\n") {
            XCTAssertEqual(FTPControl.command($0)?.verb, "PASV"); XCTAssertEqual(FTPControl.command($0)?.argument, "")
        }
        // Not a command: too long a verb, digits, no line end, a line over the bound.
        bytes("RETRIEVE x\r\n") { XCTAssertNil(FTPControl.command($0)) }
        bytes("226 Transfer complete.\r\n") { XCTAssertNil(FTPControl.command($0)) }
        bytes("RETR x") { XCTAssertNil(FTPControl.command($0)) }
        bytes("RETR " + String(repeating: "a", count: 2000) + "\r\n") { XCTAssertNil(FTPControl.command($0)) }
        bytes("229 Entering Extended Passive Mode (|||40096|)\r\n") {
            XCTAssertEqual(FTPControl.reply($0)?.code, 229)
            XCTAssertEqual(FTPControl.reply($0)?.text, "Entering Extended Passive Mode (|||40096|)")
        }
        bytes("220-multi\r\n220 end\r\n") { XCTAssertEqual(FTPControl.reply($0)?.code, 220) }
        bytes("2x0 no\r\n") { XCTAssertNil(FTPControl.reply($0)) }
        // Every prefix of a line reads as nothing or as the line, never past its end.
        let line = Array("227 Entering Passive Mode (10,79,0,2,156,64).\r\n".utf8)
        for n in 0...line.count { _ = Array(line.prefix(n)).withUnsafeBytes { (FTPControl.reply($0), FTPControl.command($0)) } }
    }

    func testDataEndpoints() {
        let server = IPAddress("10.79.0.2")!
        XCTAssertTrue(FTPControl.passive(code: 227, text: "Entering Passive Mode (10,79,0,2,156,64).", server: server)! == (server, 40000))
        XCTAssertTrue(FTPControl.passive(code: 227, text: "Entering Passive Mode 10,79,0,2,156,65", server: server)! == (server, 40001))
        XCTAssertTrue(FTPControl.passive(code: 229, text: "Entering Extended Passive Mode (|||40096|)", server: server)! == (server, 40096))
        XCTAssertNil(FTPControl.passive(code: 229, text: "Entering Extended Passive Mode (|||0|)", server: server))
        XCTAssertNil(FTPControl.passive(code: 227, text: "Entering Passive Mode (10,79,0,2,156).", server: server))
        XCTAssertNil(FTPControl.passive(code: 227, text: "Entering Passive Mode (10,79,0,300,156,64).", server: server))
        let client = IPAddress("10.79.0.1")!
        XCTAssertTrue(FTPControl.active(verb: "PORT", argument: "10,79,0,1,211,127")! == (client, 54143))
        XCTAssertTrue(FTPControl.active(verb: "EPRT", argument: "|1|10.79.0.1|54143|")! == (client, 54143))
        XCTAssertTrue(FTPControl.active(verb: "EPRT", argument: "|2|fd00::1|2000|")! == (IPAddress("fd00::1")!, 2000))
        XCTAssertNil(FTPControl.active(verb: "EPRT", argument: "|1|not-an-address|2000|"))
        XCTAssertNil(FTPControl.active(verb: "EPRT", argument: "|1|10.79.0.1|70000|"))
    }

    static let fixture = Shared.repoRoot.appendingPathComponent("Fixtures/ftp-files.pcap").path
    /// `sha256sum` of the originals (printed by make-ftp-capture.sh).
    static let sent: [(name: String, mime: String, size: Int64, upload: Bool, sha256: String)] = [
        ("setup.exe", "application/x-dosexec", 90_002, false, "873f00fddccae08e35c6ed3acc219743bf13cb0f5776049878ef87b45a950b0d"),
        ("data.bin", "application/octet-stream", 250_000, false, "043492b57281ae28d363c9fe44544207754f5b9a3011dca3ee4aa8531d7597ac"),
        ("loot.zip", "application/zip", 40_004, true, "188e29b85a48c4da950fc386c09cbdd7b2bae9b45a0182c0d14ed6dcd5bcdb7d"),
    ]

    /// A passive download, an active one (the server opens the data connection) and an upload;
    /// the listing is not a file. Extracted bytes equal the originals.
    func testRecordedTransfers() throws {
        let files = try recordedFiles(Self.fixture, names: Self.sent.map(\.name), sha256s: Self.sent.map(\.sha256))
        for (f, want) in zip(files, Self.sent) {
            XCTAssertEqual(f.source, "FTP")
            XCTAssertEqual(f.mimeType, want.mime, want.name)
            XCTAssertEqual(f.size, want.size, want.name)
            // The data connection's sender: the server for a download, the client for an upload.
            XCTAssertEqual(f.isOrig ? f.origH : f.respH, want.upload ? "10.79.0.1" : "10.79.0.2", want.name)
        }
        XCTAssertEqual(files.count, 3)
        XCTAssertEqual(files[1].origH, "10.79.0.2", "active mode: the server opened the data connection")
    }
}

private func == (a: (IPAddress, UInt16), b: (IPAddress, UInt16)) -> Bool { a.0 == b.0 && a.1 == b.1 }
