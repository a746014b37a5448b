@testable import AetherCore
@testable import AetherLive
import XCTest

/// The gRPC subscriber's filter language over literal packets, and its refusals.
final class EventFilterTests: XCTestCase {
    let dns = EventFilter.Packet(
        src: IPAddress("10.0.0.5")!, dst: IPAddress("192.0.2.53")!, srcPort: 40000, dstPort: 53, proto: IPProto.udp, hasPorts: true)
    let web = EventFilter.Packet(
        src: IPAddress("2001:db8::1")!, dst: IPAddress("2001:db8:1::2")!, srcPort: 50000, dstPort: 443, proto: IPProto.tcp, hasPorts: true)

    func matches(_ f: String, _ p: EventFilter.Packet) throws -> Bool { try EventFilter.parse(f).matches(p) }

    func testTerms() throws {
        XCTAssertTrue(try matches("", dns))
        XCTAssertTrue(try matches("udp and port 53", dns))
        XCTAssertFalse(try matches("udp and port 53", web))
        XCTAssertTrue(try matches("src net 10.0.0.0/8", dns))
        XCTAssertFalse(try matches("dst net 10.0.0.0/8", dns))
        XCTAssertTrue(try matches("net 2001:db8:1::/48", web))
        XCTAssertFalse(try matches("net 2001:db8:2::/48", web))
        XCTAssertTrue(try matches("net 192.0.2.53", dns), "a bare address is its own network")
        XCTAssertTrue(try matches("host 192.0.2.53 and not tcp", dns))
        XCTAssertTrue(try matches("(tcp or udp) and (dst port 443 or dst port 53)", web))
        XCTAssertFalse(try matches("src port 443", web))
        XCTAssertTrue(try matches("2001:db8::1", web), "a bare address is a host")
    }

    func testRefusals() {
        for bad in ["port", "net 10.0.0.0/33", "host nowhere", "(udp", "udp and", "port 70000", "frobnicate"] {
            XCTAssertThrowsError(try EventFilter.parse(bad), bad)
        }
        XCTAssertThrowsError(try EventFilter.parse(String(repeating: "(", count: 40) + "udp" + String(repeating: ")", count: 40)))
    }
}
