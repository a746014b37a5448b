@testable import AetherCapture
import Foundation
import XCTest

/// The reader thread and the parser each do idle work with the lock free. A broadcast the other
/// side sends meanwhile must not be lost: it was, once, and both then waited for ever (a Spark
/// shard hung with the reader 8 blocks ahead and the parser waiting for a block).
final class BlockFeedTests: XCTestCase {
    final class Count: @unchecked Sendable { var bytes = 0 }

    func testIdleWorkDoesNotLoseAWakeUp() throws {
        let tmp = TempDir()
        let path = tmp.path("blocks.bin")
        let size = 24 * BlockFeed.blockSize + 123
        try Data(count: size).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let feed = BlockFeed(fd: fd, hashing: true, threaded: true)
        // Long idle work: while one side does it, the other fills (or frees) every slot and
        // broadcasts to nobody.
        feed.setIdleWork {
            usleep(50_000)
            return false
        }
        let done = DispatchSemaphore(value: 0)
        let count = Count()
        Thread {
            while let (_, n) = (try? feed.take()) ?? nil {
                count.bytes += n
                feed.release()
            }
            done.signal()
        }.start()
        guard done.wait(timeout: .now() + 30) == .success else { return XCTFail("the feed deadlocked") }
        XCTAssertEqual(count.bytes, size)
        XCTAssertEqual(feed.finish().count, 64)
    }
}
