import AetherCapture
import AetherCore
import AetherDecode
import AetherStore
import Foundation
import XCTest

/// Files in mail: the SMTP client's messages read as MIME on literal bytes, and the recorded
/// messages (`scripts/make-smtp-capture.sh`: Debian's exim and curl between namespaces) whose
/// attachments hash as the originals.
final class SMTPFileTests: XCTestCase {
    /// The files a client's bytes hold, fed in pieces of `step` bytes: (name, bytes, whole).
    private func files(_ wire: String, step: Int = 7) -> [(String, [UInt8], Bool)] {
        var s = SMTPMessageStream()
        var out: [(String, [UInt8], Bool)] = []
        let bytes = Array(wire.utf8)
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + step)])
            piece.withUnsafeBytes { p in
                s.feed(p) { piece in
                    switch piece {
                    case .file(let name): out.append((name, [], false))
                    case .data(let b): out[out.count - 1].1 += Array(b)
                    case .end: out[out.count - 1].2 = true
                    }
                }
            }
            i += step
        }
        return out
    }

    func testAttachmentsAcrossEncodingsAndNesting() {
        let wire = [
            "EHLO x", "MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA",
            "Subject: t", "Content-Type: multipart/mixed;", " boundary=\"=-b1\"", "",
            "preamble", "--=-b1", "Content-Type: text/plain", "", "body, not a file", "..dot-stuffed",
            "--=-b1", "Content-Type: application/octet-stream; name=\"a.bin\"", "Content-Transfer-Encoding: base64", "",
            "AAEC", "/w==",
            "--=-b1", "Content-Type: multipart/alternative; boundary=in", "",
            "--in", "Content-Disposition: attachment; filename=\"q.txt\"", "Content-Transfer-Encoding: quoted-printable", "",
            "caf=C3=A9 soft=", "break", "..second", "",
            "--in--", "epilogue of the inner", "--=-b1", "Content-Disposition: attachment; filename=raw.txt", "",
            "line1", ".", "QUIT", "",
        ].joined(separator: "\r\n")
        for step in [1, 7, 4096] {
            let f = files(wire, step: step)
            XCTAssertEqual(f.map(\.0), ["a.bin", "q.txt", "raw.txt"], "step \(step)")
            guard f.count == 3 else { continue }
            XCTAssertEqual(f[0].1, [0, 1, 2, 0xFF])
            XCTAssertEqual(String(decoding: f[1].1, as: UTF8.self), "café softbreak\r\n.second\r\n")
            XCTAssertEqual(f[2].1, Array("line1".utf8))
            XCTAssertEqual(f.map(\.2), [true, true, true], "the message's end ends the last one")
        }
    }

    func testLostAndBoundedStreams() {
        // BDAT is not read; a file cut by the connection's end is not whole.
        XCTAssertTrue(files("EHLO x\r\nBDAT 100 LAST\r\nContent-Type: text/plain; name=a\r\n\r\nabc").isEmpty)
        XCTAssertTrue(files("EHLO x\r\nSTARTTLS\r\nDATA\r\nContent-Type: text/plain; name=a\r\n\r\nabc\r\n.\r\n").isEmpty)
        let cut = files("DATA\r\nContent-Disposition: attachment; filename=a\r\n\r\nabc\r\n")
        XCTAssertEqual(cut.count, 1)
        XCTAssertEqual(cut.first?.2, false)
        // A raw line longer than the line bound is content in pieces, byte for byte.
        let long = String(repeating: "x", count: 20_000)
        let f = files("DATA\r\nContent-Disposition: attachment; filename=a\r\n\r\n\(long)\r\n.\r\n", step: 1500)
        XCTAssertEqual(f.first?.1.count, 20_000)
        // Multiparts deeper than the bound are not followed; nothing runs away.
        var deep = "DATA\r\n"
        for i in 0..<20 { deep += "Content-Type: multipart/mixed; boundary=b\(i)\r\n\r\n--b\(i)\r\n" }
        deep += "Content-Disposition: attachment; filename=z\r\n\r\nz\r\n.\r\n"
        XCTAssertLessThanOrEqual(files(deep).count, 1)
    }

    static let fixture = Shared.repoRoot.appendingPathComponent("Fixtures/smtp-files.pcap").path
    /// `sha256sum` of the originals (printed by make-smtp-capture.sh).
    static let sent: [(name: String, mime: String, sha256: String)] = [
        ("invoice.pdf", "application/pdf", "6520d648c62288fc1e6c80182b506c128b8eed66861c8906b90d7120f910a575"),
        ("payload.exe", "application/x-dosexec", "676904ed86eb562f222bc21486d265745cd51d2161e15f86c5e830c89bcca4be"),
        ("notes.txt", "text/plain", "7d0b46fef689e99ba48f05cbc58a41854c269d64d6120bdda9f168c9eb16d1be"),
    ]

    func testRecordedMessages() throws {
        let files = try recordedFiles(Self.fixture, names: Self.sent.map(\.name), sha256s: Self.sent.map(\.sha256))
        for (f, want) in zip(files, Self.sent) {
            XCTAssertEqual(f.source, "SMTP")
            XCTAssertTrue(f.isOrig)
            XCTAssertEqual(f.mimeType, want.mime, want.name)
            XCTAssertEqual(f.respP, 25)
        }
    }
}
