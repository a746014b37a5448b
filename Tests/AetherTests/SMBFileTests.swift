import AetherCapture
import AetherCore
import AetherDecode
import AetherStore
import Foundation
import XCTest

/// Files over SMB2/3: messages on literal bytes (a READ response and a WRITE streamed, never held
/// whole; CREATE names; a compound; encrypted and malformed frames skipped), and the recorded
/// copies (`scripts/make-smb-capture.sh`: Samba's smbd and smbclient between namespaces) whose
/// bytes hash as the originals.
final class SMBFileTests: XCTestCase {
    private func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// An SMB2 header for `command`, a request or a response, with `next` (compounds).
    private func header(_ command: UInt16, response: Bool, id: UInt64, next: UInt32 = 0, status: UInt32 = 0) -> [UInt8] {
        var h: [UInt8] = [0xFE, 0x53, 0x4D, 0x42] + le(64, 2) + le(0, 2) + le(UInt64(status), 4) + le(UInt64(command), 2) + le(1, 2)
        h += le(response ? 1 : 0, 4) + le(UInt64(next), 4) + le(id, 8) + le(0, 4) + le(0, 4) + le(0, 8) + [UInt8](repeating: 0, count: 16)
        return h
    }

    private func frame(_ m: [UInt8]) -> [UInt8] { [0, UInt8(m.count >> 16 & 0xFF), UInt8(m.count >> 8 & 0xFF), UInt8(m.count & 0xFF)] + m }

    private let fid: [UInt8] = Array(1...16)

    private func pieces(_ wire: [UInt8], step: Int) -> [String] {
        var s = SMB2Stream()
        var out: [String] = []
        var i = 0
        while i < wire.count {
            Array(wire[i..<min(wire.count, i + step)]).withUnsafeBytes { p in
                s.feed(p) { piece in
                    switch piece {
                    case .create(let id, let name): out.append("create \(id) \(name)")
                    case .created(let id, let f, let size): out.append("created \(id) \(f.persistent) \(size)")
                    case .read(let id, _, let offset): out.append("read \(id) @\(offset)")
                    case .readData(let id, let d): out.append("data \(id) \(Array(d))")
                    case .writeData(_, let offset, let d): out.append("write @\(offset) \(Array(d))")
                    case .close(let f): out.append("close \(f.volatile)")
                    }
                }
            }
            i += step
        }
        return out
    }

    func testMessagesStreamedAndRead() {
        let name = Array("dir\\a.bin".utf16).flatMap { le(UInt64($0), 2) }
        var create = header(5, response: false, id: 7) + le(57, 2) + [UInt8](repeating: 0, count: 42)
        create += le(UInt64(120), 2) + le(UInt64(name.count), 2) + le(0, 4) + le(0, 4)
        create += name
        var created = header(5, response: true, id: 7) + le(89, 2) + [UInt8](repeating: 0, count: 46) + le(5, 8) + le(0, 8) + fid
        created += [UInt8](repeating: 0, count: 8)
        let read = header(8, response: false, id: 9) + le(49, 2) + [0, 0] + le(5, 4) + le(0, 8) + fid + [UInt8](repeating: 0, count: 17)
        let readResp = header(8, response: true, id: 9) + le(17, 2) + [80, 0] + le(5, 4) + le(0, 8) + [10, 20, 30, 40, 50]
        let write =
            header(9, response: false, id: 10) + le(49, 2) + le(112, 2) + le(3, 4) + le(5, 8) + fid + le(0, 4) + le(0, 4) + le(0, 8)
            + [1, 2, 3]
        let close = header(6, response: false, id: 11) + le(24, 2) + le(0, 2) + le(0, 4) + fid
        // A compound: a CLOSE after a second READ request, in one frame.
        let compound =
            Array(
                (header(8, response: false, id: 12, next: 112) + le(49, 2) + [0, 0] + le(5, 4) + le(0, 8) + fid + [UInt8](repeating: 0, count: 17)).prefix(112))
            + close
        let encrypted: [UInt8] = [0xFD, 0x53, 0x4D, 0x42] + [UInt8](repeating: 7, count: 60)
        let messages: [[UInt8]] = [create, created, read, readResp, write, encrypted, compound]
        let wire: [UInt8] = messages.map(frame).flatMap { $0 } + [0x85, 0, 0, 0]
        let want = [
            "create 7 dir\\a.bin", "created 7 \(UInt64(0x0807060504030201)) 5", "read 9 @0", "data 9 [10, 20, 30, 40, 50]", "write @5 [1, 2, 3]",
            "read 12 @0", "close \(UInt64(0x100F0E0D0C0B0A09))",
        ]
        for step in [1, 3, 64, 100_000] {
            let got = pieces(wire, step: step)
            // Data may come in several pieces: joined for the comparison.
            var joined: [String] = []
            for g in got {
                if let last = joined.last, last.hasPrefix("data 9"), g.hasPrefix("data 9") {
                    joined[joined.count - 1] = String(last.dropLast()) + ", " + g.dropFirst("data 9 [".count)
                } else if let last = joined.last, last.hasPrefix("write"), g.hasPrefix("write") {
                    joined[joined.count - 1] = String(last.dropLast()) + ", " + g.split(separator: "[", maxSplits: 1)[1]
                } else {
                    joined.append(g)
                }
            }
            XCTAssertEqual(joined, want, "step \(step)")
        }
        // Every prefix of the wire reads as nothing or the first messages, never past the end.
        for n in 0..<wire.count { _ = pieces(Array(wire.prefix(n)), step: 7) }
    }

    static let fixture = Shared.repoRoot.appendingPathComponent("Fixtures/smb-files.pcap").path
    /// `sha256sum` of the originals (printed by make-smb-capture.sh).
    static let sent: [(name: String, mime: String, upload: Bool, sha256: String)] = [
        ("budget.xlsx", "application/zip", false, "d3552cb06d7e9cd8aa651f0461ff66afb8e890717fc0bc614a8c395942681340"),
        ("tool.dll", "application/x-dosexec", false, "eff4643aea3c1e8c1c2a0cf7d465cb8c142003b36b116b5311f2964648a4d3d4"),
        ("exfil.7z", "application/x-7z-compressed", true, "c293cceedc19936e7eb5a3a4ff5938f40d49bc19161a9be58a0614855029feaf"),
    ]

    func testRecordedCopies() throws {
        let files = try recordedFiles(Self.fixture, names: Self.sent.map(\.name), sha256s: Self.sent.map(\.sha256))
        for (f, want) in zip(files, Self.sent) {
            XCTAssertEqual(f.source, "SMB")
            XCTAssertEqual(f.isOrig, want.upload, want.name)
            XCTAssertEqual(f.mimeType, want.mime, want.name)
            XCTAssertNil(f.problem, want.name)
        }
    }
}
