import AetherCore
import AetherDetect
import AetherFlows
import XCTest

/// The rule that joins a connection cut at a file's end with the next file's fragment
/// (`CutContinuation`, used by `aether join-cuts`), on hand-made connections.
final class CutContinuationTests: XCTestCase {
    func conn(
        _ id: Int64, _ a: String, _ ap: UInt16, _ b: String, _ bp: UInt16, first: Int64, last: Int64, history: String, proto: UInt8 = 6,
        states: (EndpointState, EndpointState) = (.established, .established)
    ) -> Connection {
        var c = Connection()
        c.id = id
        c.origAddress = IPAddress(a)!
        c.origPort = ap
        c.respAddress = IPAddress(b)!
        c.respPort = bp
        c.proto = proto
        c.firstTime = first
        c.lastTime = last
        c.history = History(history)
        (c.origState, c.respState) = states
        return c
    }

    func testTheRule() {
        let cut = conn(1, "10.0.0.1", 5000, "10.0.0.2", 80, first: 0, last: 50, history: "ShADF", states: (.closed, .established))
        let flipped = conn(2, "10.0.0.2", 80, "10.0.0.1", 5000, first: 60, last: 70, history: "^dA")
        XCTAssertEqual(CutContinuation.key(cut), CutContinuation.key(flipped), "the key has no direction")
        XCTAssertTrue(CutContinuation.continues(cut: cut, timeout: 100, head: flipped, fileStart: 0))
        let syn = conn(3, "10.0.0.1", 5000, "10.0.0.2", 80, first: 60, last: 70, history: "S")
        XCTAssertFalse(CutContinuation.continues(cut: cut, timeout: 100, head: syn, fileStart: 0), "a fresh SYN after the end is new")
        let attempt = conn(11, "10.0.0.1", 6000, "10.0.0.2", 80, first: 0, last: 1, history: "S", states: (.synSent, .inactive))
        let retry = conn(12, "10.0.0.1", 6000, "10.0.0.2", 80, first: 3, last: 3, history: "S", states: (.synSent, .inactive))
        XCTAssertTrue(CutContinuation.continues(cut: attempt, timeout: 5, head: retry, fileStart: 0), "a retransmitted SYN goes on")
        let late = conn(4, "10.0.0.1", 5000, "10.0.0.2", 80, first: 151, last: 160, history: "D")
        XCTAssertFalse(CutContinuation.continues(cut: cut, timeout: 100, head: late, fileStart: 0), "past the idle timeout")
        let deep = conn(5, "10.0.0.1", 5000, "10.0.0.2", 80, first: 400_000_000_000, last: 400_000_000_001, history: "D")
        XCTAssertFalse(CutContinuation.continues(cut: cut, timeout: 1 << 50, head: deep, fileStart: 0), "began too far into its file")
        let first = conn(6, "10.0.0.1", 5000, "10.0.0.2", 80, first: 55, last: 58, history: "D")
        XCTAssertEqual(CutContinuation.matches([(cut, flipped), (cut, first)]), [6: 1], "the earliest fragment continues it")
        XCTAssertEqual(CutContinuation.roots([2: 1, 9: 2]), [2: 1, 9: 1], "a chain folds to its root")
    }
}
