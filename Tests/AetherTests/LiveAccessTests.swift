import AetherLive
import XCTest

/// Who may reach the live view: loopback decided by the parsed address, tokens compared whole.
final class LiveAccessTests: XCTestCase {
    func testLoopbackIsParsedNotPrefixed() {
        for h in ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"] { XCTAssertTrue(LiveServer.isLoopback(h), h) }
        for h in ["127.evil.invalid", "10.0.0.1", "0.0.0.0", "::", "1270.0.0.1", "example.org"] { XCTAssertFalse(LiveServer.isLoopback(h), h) }
    }
}
