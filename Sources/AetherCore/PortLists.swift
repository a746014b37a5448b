/// Ports known by reputation rather than by protocol: what a session to one tells an analyst,
/// and the detectors' default lists (`outbound.bad_ports`, `outbound.lateral_ports`,
/// `brute.login_ports`), which a rules file may change.
public enum PortLists {
    /// Ports of login services when no payload names the service (brute force).
    public static let login: [UInt16] = [21, 22, 23, 25, 110, 143, 389, 445, 465, 587, 993, 995, 1433, 3306, 3389, 5432, 5900]
    /// Internal to external on these is suspicious: C2 handlers, IRC, telnet, SMB, RDP. Tor's
    /// 9001/9030 are not listed: by port alone they name ordinary TLS services too.
    public static let outbound: [UInt16] = [23, 445, 139, 3389, 4444, 5554, 6666, 6667, 6668, 6669, 7080, 1337, 31337, 12345, 2323, 447, 449]
    /// C2 handler ports that no internal service uses: a session to one between two internal
    /// hosts is lateral movement.
    public static let lateral: [UInt16] = [4444, 5554, 1337, 31337, 12345, 7080, 447, 449]

    /// Ports whose periodic traffic is the protocol's own (DNS, NTP, name services, SNMP polls,
    /// syslog): not beacons.
    public static let periodicByNature: Set<UInt16> = [53, 123, 5353, 137, 138, 5355, 67, 68, 1900, 546, 547, 161, 162, 514]

    /// What a listed port is known for (a reputation, not a service: content names that).
    public static func reputation(_ port: UInt16) -> String {
        switch port {
        case 23, 2323: return "telnet port"
        case 139, 445: return "SMB port"
        case 3389: return "RDP port"
        case 4444: return "Metasploit default handler port"
        case 6666, 6667, 6668, 6669: return "IRC port"
        case 1337, 31337, 12345, 5554: return "backdoor port"
        case 7080, 447, 449: return "known C2 port (Emotet/TrickBot)"
        default: return "listed port \(port)"
        }
    }
}
