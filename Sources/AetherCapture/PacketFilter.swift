import AetherCore
import CPcap

/// A BPF expression compiled by libpcap, once per link type, applied to packets we read ourselves.
public final class PacketFilter {
    public let expression: String
    private var programs: [UInt32: UnsafeMutablePointer<bpf_program>] = [:]

    public init(expression: String) throws {
        self.expression = expression
        _ = try program(for: 1)  // validate the syntax up front against Ethernet
    }

    deinit {
        for (_, p) in programs { pcap_freecode(p); p.deallocate() }
    }

    private func program(for linkType: UInt32) throws -> UnsafeMutablePointer<bpf_program> {
        if let p = programs[linkType] { return p }
        guard let dead = pcap_open_dead(Int32(linkType), 262_144) else {
            throw CaptureError(.unsupportedFormat, path: "--filter", "libpcap cannot open link type \(linkType)")
        }
        defer { pcap_close(dead) }
        let prog = UnsafeMutablePointer<bpf_program>.allocate(capacity: 1)
        if pcap_compile(dead, prog, expression, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            let msg = String(cString: pcap_geterr(dead))
            prog.deallocate()
            throw CaptureError(.unsupportedFormat, path: "--filter", "cannot compile '\(expression)' for \(LinkType.name(linkType)): \(msg)")
        }
        programs[linkType] = prog
        return prog
    }

    public func matches(_ packet: RawPacket) throws -> Bool {
        let prog = try program(for: packet.linkType)
        var hdr = pcap_pkthdr()
        hdr.caplen = packet.capturedLength
        hdr.len = packet.wireLength
        guard let base = packet.bytes.baseAddress else { return false }
        return pcap_offline_filter(prog, &hdr, base.assumingMemoryBound(to: UInt8.self)) != 0
    }
}
