import AetherCore
import AetherFlows

/// Which packets and connections feed the detectors. Everything is stored and counted; what
/// cannot be trusted is kept from the detectors and counted here (`stats --json` names it):
/// a wrong IPv4 header checksum, and addresses no host can have. The latter are noise (a
/// corrupted IPv6 header, a wrong guess at an encapsulation) when they are a few packets among
/// normal traffic; a capture consistently in such space is data (datasets anonymized into
/// reserved ranges) and is analysed: past 90 % of the IP packets so far, the addresses are
/// taken as the capture's own.
struct DetectorGate {
    private(set) var badChecksum: UInt64 = 0
    private(set) var unassigned: UInt64 = 0
    private var ipPackets: UInt64 = 0
    private var unassignedPackets: UInt64 = 0

    /// Whether `m` may feed the detectors (counted when not).
    @inline(__always) mutating func admits(_ m: PacketMeta) -> Bool {
        if m.outer.badChecksum || (m.hasInner && m.inner.badChecksum) {
            badChecksum += 1
            return false
        }
        guard m.network == .ipv4 || m.network == .ipv6 else { return true }
        ipPackets += 1
        var fine = m.outer.src.isInAssignedSpace && m.outer.dst.isInAssignedSpace
        if m.hasInner { fine = fine && m.inner.src.isInAssignedSpace && m.inner.dst.isInAssignedSpace }
        if fine { return true }
        unassignedPackets += 1
        if mostlyUnassigned { return true }
        unassigned += 1
        return false
    }

    /// Whether a finished connection may feed the detectors.
    @inline(__always) func admits(_ c: Connection) -> Bool {
        mostlyUnassigned || (c.origAddress.isInAssignedSpace && c.respAddress.isInAssignedSpace)
    }

    private var mostlyUnassigned: Bool { unassignedPackets * 10 > ipPackets * 9 }

    /// The counts so far, handed over (they start again from zero).
    mutating func drain() -> (badChecksum: UInt64, unassigned: UInt64) {
        defer { badChecksum = 0; unassigned = 0 }
        return (badChecksum, unassigned)
    }
}
