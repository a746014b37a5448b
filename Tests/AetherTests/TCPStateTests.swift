import AetherStore
import XCTest

/// Zeek's conn_state and history for each way a TCP connection can go, one row per way.
/// Packets are (from the client?, flags); the client is 10.0.0.1:40000, the server 10.0.0.2:80.
final class TCPStateTests: XCTestCase {
    static let S: UInt8 = 0x02, A: UInt8 = 0x10, F: UInt8 = 0x01, R: UInt8 = 0x04, P: UInt8 = 0x08

    static let table: [(name: String, packets: [(Bool, UInt8)], state: String, history: String)] = [
        ("unanswered SYN", [(true, S)], "S0", "S"),
        ("refused", [(true, S), (false, R | A)], "REJ", "Sr"),
        ("established, no close", [(true, S), (false, S | A), (true, A)], "S1", "ShA"),
        ("normal close", [(true, S), (false, S | A), (true, A), (true, F | A), (false, F | A), (true, A)], "SF", "ShAFf"),
        ("client closes, no reply", [(true, S), (false, S | A), (true, A), (true, F | A)], "S2", "ShAF"),
        ("server closes, no reply", [(true, S), (false, S | A), (true, A), (false, F | A)], "S3", "ShAf"),
        ("client resets", [(true, S), (false, S | A), (true, A), (true, R)], "RSTO", "ShAR"),
        ("server resets", [(true, S), (false, S | A), (true, A), (false, R)], "RSTR", "ShAr"),
        ("SYN then client reset", [(true, S), (true, R)], "RSTOS0", "SR"),
        ("SYN then FIN, no answer", [(true, S), (true, F)], "SH", "SF"),
        ("joined mid-stream", [(true, A), (false, A)], "OTH", "Aa"),
        ("data both ways", [(true, S), (false, S | A), (true, A), (true, P | A), (false, P | A)], "S1", "ShADd"),
    ]

    func testTransitions() throws {
        for row in Self.table {
            var b = PacketBuilder()
            var t = 100.0
            for (fromClient, flags) in row.packets {
                let data: [UInt8] = flags & Self.P != 0 ? Array("data".utf8) : []
                if fromClient {
                    b.tcp(t, "10.0.0.1", 40000, "10.0.0.2", 80, flags: flags, seq: 1000, ack: flags & Self.A != 0 ? 5001 : 0, payload: data)
                } else {
                    b.tcp(t, "10.0.0.2", 80, "10.0.0.1", 40000, flags: flags, seq: 5000, ack: 1001, payload: data)
                }
                t += 0.01
            }
            let tmp = TempDir()
            try b.write(tmp.path("in.pcap"))
            let (store, _) = try ingest([tmp.path("in.pcap")], db: tmp.path("s.sqlite"))
            let flows = try store.flowRows(limit: nil)
            XCTAssertEqual(flows.count, 1, row.name)
            XCTAssertEqual(flows.first?.connState, row.state, row.name)
            XCTAssertEqual(flows.first?.history, row.history, row.name)
            XCTAssertEqual(flows.first?.origH, "10.0.0.1", row.name)
        }
    }
}
