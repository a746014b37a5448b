import AetherCore
import AetherDecode
import AetherDetect
import XCTest

/// Port knowledge lives in one registry (`AppProtocols`, `PortLists`); these are the tables it
/// replaced, so that moving them changed no answer.
final class ProtocolRegistryTests: XCTestCase {
    func testServerPortsAreZeeksRegisteredPorts() {
        let before: Set<UInt16> = [
            7, 13, 21, 22, 23, 25, 37, 53, 67, 69, 80, 81, 88, 110, 111, 113, 119, 123, 135, 137, 139, 143, 161,
            179, 389, 443, 445, 465, 502, 512, 513, 514, 515, 563, 587, 631, 636, 873, 990, 992, 993, 995, 1080,
            1194, 1433, 1521, 1723, 1812, 1813, 2049, 2123, 2152, 2181, 3128, 3306, 3389, 3478, 4789, 5060, 5061,
            5222, 5223, 5353, 5355, 5432, 5900, 6379, 6443, 6660, 6661, 6662, 6663, 6664, 6665, 6666, 6667, 6668,
            6669, 8000, 8080, 8443, 8888, 9200, 11211, 27017,
        ]
        XCTAssertEqual(Set(AppProtocols.serverPorts), before)
        for port in UInt16(0)...UInt16.max { XCTAssertEqual(AppProtocols.isServerPort(port), before.contains(port), "port \(port)") }
    }

    func testServiceByPort() {
        let before: [UInt16: Service] = [
            22: .ssh, 21: .ftp, 23: .telnet, 25: .smtp, 587: .smtp, 110: .pop3, 143: .imap, 80: .http, 443: .tls, 993: .tls,
            995: .tls, 465: .tls, 53: .dns, 389: .ldap, 3306: .mysql, 5432: .postgresql, 139: .smb, 445: .smb, 3389: .rdp, 5900: .vnc,
        ]
        for port in UInt16(0)...UInt16.max { XCTAssertEqual(Service.byPort(port), before[port] ?? .unknown, "port \(port)") }
        // Every registered service names itself by one of its ports, and no port names two.
        var seen: [UInt16: String] = [:]
        for p in AppProtocols.all {
            for port in p.ports {
                XCTAssertNil(seen[port], "\(port) registered by \(seen[port] ?? "") and \(p.name)")
                seen[port] = p.name
            }
        }
    }

    func testUDPFormatsAndReputation() {
        XCTAssertEqual((0...65535).filter { AppProtocols.isDNSPort(UInt16($0)) }, [53, 5353, 5355])
        XCTAssertEqual((0...65535).filter { AppProtocols.isSSDPPort(UInt16($0)) }, [1900])
        XCTAssertEqual(PortLists.reputation(4444), "Metasploit default handler port")
        XCTAssertEqual(PortLists.reputation(8081), "listed port 8081")
        XCTAssertTrue(Set(PortLists.lateral).isSubset(of: Set(PortLists.outbound)))
        XCTAssertEqual(DetectorConfig()[setting: .loginPorts], PortLists.login)
    }
}
