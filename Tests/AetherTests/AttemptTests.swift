import AetherStore
import XCTest

/// Unanswered SYNs are kept as compact attempts and promoted by any other packet; what the store
/// gets is the same connection either way (Zeek's conn_state, history and counts).
final class AttemptTests: XCTestCase {
    func flows(_ b: PacketBuilder) throws -> [Store.FlowRow] {
        let tmp = TempDir()
        try b.write(tmp.path("in.pcap"))
        let (store, _) = try ingest([tmp.path("in.pcap")], db: tmp.path("s.sqlite"))
        return try store.flowRows(limit: nil)
    }

    func testUnansweredSYNsAreS0WithTheirRetransmissions() throws {
        var b = PacketBuilder()
        b.tcp(100, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x02)
        b.tcp(101, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x02)
        b.tcp(103, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x02)
        b.tcp(100.5, "10.0.0.3", 40001, "10.0.0.2", 443, flags: 0x02)
        let f = try flows(b)
        XCTAssertEqual(f.count, 2)
        XCTAssertEqual(f[0].origH, "10.0.0.1"); XCTAssertEqual(f[0].respP, 80)
        XCTAssertEqual(f[0].connState, "S0"); XCTAssertEqual(f[0].history, "S")
        XCTAssertEqual(f[0].origPkts, 3); XCTAssertEqual(f[0].origIPBytes, 120); XCTAssertEqual(f[0].respPkts, 0)
        XCTAssertEqual(f[0].lastTs - f[0].ts, 3_000_000_000)
        XCTAssertEqual(f[1].connState, "S0"); XCTAssertEqual(f[1].origPkts, 1)
    }

    func testAnAnswerPromotesTheAttempt() throws {
        var b = PacketBuilder()
        b.tcp(100, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x02, seq: 100)
        b.tcp(101, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x02, seq: 100)
        b.tcp(101.1, "10.0.0.2", 80, "10.0.0.1", 40000, flags: 0x12, seq: 500, ack: 101)
        b.tcp(101.2, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x10, seq: 101, ack: 501)
        b.tcp(101.3, "10.0.0.1", 40000, "10.0.0.2", 80, flags: 0x18, seq: 101, ack: 501, payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        // A refused attempt: RST-ACK to the SYN.
        b.tcp(102, "10.0.0.1", 40002, "10.0.0.2", 81, flags: 0x02)
        b.tcp(102.1, "10.0.0.2", 81, "10.0.0.1", 40002, flags: 0x14, ack: 1001)
        // The attempt expires (5 s) before this SYN: a second connection on the same key.
        b.tcp(120, "10.0.0.1", 40002, "10.0.0.2", 81, flags: 0x02)
        let f = try flows(b)
        XCTAssertEqual(f.count, 3)
        XCTAssertEqual(f[0].history, "ShAD"); XCTAssertEqual(f[0].origPkts, 4); XCTAssertEqual(f[0].respPkts, 1)
        XCTAssertEqual(f[0].connState, "S1")
        XCTAssertEqual(f[1].connState, "REJ"); XCTAssertEqual(f[1].history, "Sr")
        XCTAssertEqual(f[2].connState, "S0"); XCTAssertEqual(f[2].ts, 120_000_000_000)
        XCTAssertEqual(Set(f.map(\.id)).count, 3)
    }
}
