import AetherCapture
import AetherCore
@testable import AetherStore
import Foundation
import XCTest

/// Issue 20: the file is read once, in blocks, by a thread that hashes it; records that cross a
/// block boundary or are longer than a block come out whole; a fault in the middle of a file under
/// `--threads 2` keeps what came before it, names its byte offset and exits 1.
final class ParallelIngestTests: XCTestCase {
    /// A classic pcap of `sizes.count` Ethernet/IPv4/UDP frames whose bytes are a pattern of the
    /// frame's index, so that a byte out of place shows.
    static func writeCapture(_ path: String, sizes: [Int], snaplen: UInt32 = 65_535, tail: [UInt8] = []) -> [Int] {
        var out = [UInt8]()
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        le32(0xA1B2_C3D4); le16(2); le16(4); le32(0); le32(0); le32(snaplen); le32(1)
        var offsets: [Int] = []
        for (i, n) in sizes.enumerated() {
            offsets.append(out.count)
            le32(1_700_000_000 + UInt32(i / 1000)); le32(UInt32(i % 1000) * 1000); le32(UInt32(n)); le32(UInt32(n))
            var frame = [UInt8](repeating: 0, count: n)
            for k in 0..<n { frame[k] = UInt8(truncatingIfNeeded: i &* 31 &+ k) }
            // Ethernet, IPv4, UDP: a real packet so that the whole pipeline runs on it.
            // (Frames longer than an IP datagram say 65,535 and carry the rest as padding.)
            let ipLength = min(n - 14, 65_535), udpLength = min(n - 34, 65_515)
            let head: [UInt8] =
                [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
                + [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xFF), 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
                + [UInt8(1024 >> 8), 0, 0x27, 0x10, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0]
            if n >= head.count { frame.replaceSubrange(0..<head.count, with: head) }
            out += frame
        }
        out += tail
        FileManager.default.createFile(atPath: path, contents: Data(out))
        return offsets
    }

    static func sha256sum(_ path: String) throws -> String {
        let r = try runTool("/usr/bin/sha256sum", [path])
        return String(r.out.prefix(64))
    }

    func testRecordsAcrossBlocksAndLongerThanABlockComeOutWhole() throws {
        let tmp = TempDir()
        let path = tmp.path("blocks.pcap")
        // 1 MB blocks with 256 KB in front: records from 60 bytes to 1.5 MB cross every kind of boundary.
        var sizes: [Int] = []
        for i in 0..<3000 { sizes.append([60, 1514, 9000, 65_535, 200][i % 5]) }
        sizes.insert(300_000, at: 1200)
        sizes.insert(1_500_000, at: 2100)
        sizes.insert(1_048_576, at: 2500)
        _ = Self.writeCapture(path, sizes: sizes, snaplen: 2_000_000)
        for hashing in [true, false] {
            let r = try CaptureReader(path: path, hashing: hashing)
            var i = 0
            while try r.next() {
                let p = r.packet
                XCTAssertEqual(Int(p.capturedLength), sizes[i], "frame \(i)")
                // The pattern past the headers.
                if sizes[i] > 42 {
                    XCTAssertEqual(p.bytes[42], UInt8(truncatingIfNeeded: i &* 31 &+ 42), "frame \(i)")
                    XCTAssertEqual(p.bytes[sizes[i] - 1], UInt8(truncatingIfNeeded: i &* 31 &+ sizes[i] - 1), "frame \(i)")
                }
                i += 1
            }
            XCTAssertEqual(i, sizes.count)
            XCTAssertEqual(r.sha256(), hashing ? try Self.sha256sum(path) : "")
        }
        // Gzip: blocks of compressed bytes go to zlib; the digest is of the file as stored.
        let gz = tmp.path("blocks.pcap.gz")
        let g = try runTool("/bin/sh", ["-c", "gzip -c '\(path)' > '\(gz)'"])
        XCTAssertEqual(g.status, 0)
        let r = try CaptureReader(path: gz)
        var n = 0
        while try r.next() { n += 1 }
        XCTAssertEqual(n, sizes.count)
        XCTAssertEqual(r.sha256(), try Self.sha256sum(gz))
    }

    func testFaultMidFileUnderTwoThreadsKeepsWhatCameBefore() throws {
        let tmp = TempDir()
        let path = tmp.path("fault.pcap")
        // 70,000 good packets (more than one packet chunk and many blocks), then a record header
        // claiming 100 MB, then more bytes that must not be read as packets (but are hashed).
        let good = 70_000
        var bad = [UInt8]()
        for v in [UInt32(1_700_000_100), 0, 100 << 20, 100 << 20] { withUnsafeBytes(of: v.littleEndian) { bad += $0 } }
        bad += [UInt8](repeating: 0xEE, count: 3 << 20)
        let offsets = Self.writeCapture(path, sizes: (0..<good).map { [60, 590, 1514][$0 % 3] }, tail: bad)
        let faultOffset = offsets.last! + 16 + [60, 590, 1514][(good - 1) % 3]
        let whole = try Self.sha256sum(path)
        var rows: [String] = []
        for threads in ["2", "1"] {
            let db = tmp.path("s\(threads).sqlite")
            let r = try runTool(aetherBinary, ["ingest", "--db", db, "--threads", threads, path])
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
            XCTAssertTrue(r.err.contains("at byte \(faultOffset)"), "\(r.err) (expected byte \(faultOffset))")
            XCTAssertTrue(r.err.contains("kept \(good) packets"), r.err)
            let q = try runTool(
                aetherBinary,
                [
                    "query", "--db", db,
                    "SELECT c.packets, c.status, c.sha256, (SELECT sum(count) FROM packet_chunk), (SELECT count(*) FROM packet_chunk) FROM capture c",
                ])
            XCTAssertTrue(q.out.contains("\(good)\ttruncated\t\(whole)\t\(good)\t2"), q.out)
            let f = try runTool(aetherBinary, ["flows", "--db", db, "--json"])
            rows.append(q.out + f.out)
        }
        XCTAssertEqual(rows[0], rows[1])
    }
}

/// The column stage's hand-over under contention: a helper thread that encodes whenever it can
/// (the reader's role), the writer's own waits, flushes at odd places and a capture change give
/// the same packet_chunk rows as the inline path, chunk for chunk.
final class ChunkStageTests: XCTestCase {
    func chunkRows(helper: Bool?, deferred: Bool = false) throws -> [String] {
        let tmp = TempDir()
        let store = try Store(path: tmp.path("s.sqlite"))
        if let helper { store.encodeOffThePath(ownThread: !helper) }
        if deferred { store.deferWrites() }
        let done = ManagedAtomicFlag()
        var thread: Thread?
        if helper == true {
            thread = Thread {
                while !done.isSet { if !store.helpEncode() { usleep(50) } }
            }
            thread?.start()
        }
        try store.begin()
        var sequence: UInt64 = 0
        // Flushes inside a batch, on a batch boundary and right after one; two captures.
        // Per capture: 2, 4,094, 1, 4,096, then 65,536 cut by size and 16,273, 41,071, 18,928, 9,999.
        let cuts: Set<Int> = [1, 4095, 4096, 8192, 90_001, 131_072, 150_000]
        for capture in [Int64(1), 2] {
            for i in 0..<160_000 {
                var m = PacketMeta()
                m.timestamp = 1_700_000_000_000_000_000 + Int64(i) * 1_000_003
                m.capturedLength = UInt32(60 + i % 1400)
                m.wireLength = m.capturedLength
                m.frame = UInt64(i + 1)
                m.fileOffset = UInt64(24 + i * 90)
                m.network = .ipv4
                m.outer.src = IPAddress(v4: 0x0A00_0000 | UInt32(i % 251))
                m.outer.dst = IPAddress(v4: 0xC633_6400 | UInt32(i % 13))
                m.outer.srcPort = UInt16(truncatingIfNeeded: 1024 + i)
                m.outer.dstPort = 443
                m.outer.proto = 6
                try store.append(m, flowID: Int64(i / 5), sequence: sequence, captureID: capture)
                sequence += 1
                if cuts.contains(i) {
                    try store.flushChunk(captureID: capture)
                    try store.checkpoint()
                }
            }
            try store.flushChunk(captureID: capture)
        }
        try store.endDeferredWrites()
        try store.commit()
        done.set()
        while thread != nil && !(thread!.isFinished) { usleep(1000) }
        return try store.rows(
            "SELECT capture_id, first_seq, count, ts_min, ts_max, hex(ts), hex(src), hex(flow_id), hex(frame) FROM packet_chunk ORDER BY id"
        ).map { $0.map { "\($0)" }.joined(separator: "|") }
    }

    func testTheSameChunksWhoeverEncodes() throws {
        let inline = try chunkRows(helper: nil)
        XCTAssertEqual(inline.count, 2 * 9, "chunks cut at 65,536 packets and at every flush")
        XCTAssertEqual(try chunkRows(helper: true), inline)
        XCTAssertEqual(try chunkRows(helper: false), inline)
        // The inserts and commits queued for whoever has time (an ingest's bulk writes).
        XCTAssertEqual(try chunkRows(helper: true, deferred: true), inline)
        XCTAssertEqual(try chunkRows(helper: nil, deferred: true), inline)
    }

    /// A queue that never runs empty holds only the jobs waiting, and a job's rows go when it ran.
    /// (It once kept every job it had run: 212 MB on the 8 M-packet bench file.)
    func testTheQueueLetsGoOfWhatItRan() throws {
        final class Rows {}
        let writes = DeferredWrites()
        writes.start()
        weak var first: Rows?
        var most = 0
        for i in 0..<1_000 {
            let rows = Rows()
            if i == 0 { first = rows }
            try writes.enqueue { _ = rows }
            most = max(most, writes.held)
        }
        XCTAssertNil(first, "the first job ran long ago; its rows are gone")
        XCTAssertLessThanOrEqual(most, 3 * DeferredWrites.limit + 1, "run jobs (at most 2 x limit) and waiting ones")
        try writes.finish()
        XCTAssertEqual(writes.held, 0)
    }

    /// Queued writes run in order; one that fails keeps its error, the ones after it are
    /// dropped, and the next write or the end throws it (a full disk, found by another thread).
    func testAFailedQueuedWriteIsThrownAndStopsTheQueue() throws {
        struct DiskFull: Error {}
        let writes = DeferredWrites()
        writes.start()
        var ran: [Int] = []
        try writes.enqueue { ran.append(1) }
        try writes.enqueue { throw DiskFull() }
        try writes.enqueue { ran.append(3) }
        let helper = Thread { while writes.helpOnce() {} }
        helper.start()
        while !helper.isFinished { usleep(1000) }
        XCTAssertEqual(ran, [1])
        XCTAssertThrowsError(try writes.enqueue { ran.append(4) }) { XCTAssertTrue($0 is DiskFull) }
        XCTAssertThrowsError(try writes.finish()) { XCTAssertTrue($0 is DiskFull) }
        XCTAssertEqual(ran, [1])
        XCTAssertFalse(writes.active)
    }
}

/// A flag set by one thread and read by another.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
