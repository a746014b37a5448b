import AetherCore

/// One decoded packet in tshark's field names, every occurrence outermost first, joined by commas
/// as `tshark -T fields -E occurrence=a -E aggregator=,` prints them: what `aether dissect` shows
/// and what the differential tests compare with tshark.
public enum DecodedFields {
    public static let names = [
        "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
        "arp.src.proto_ipv4",
    ]

    public static func values(_ m: PacketMeta) -> [String] {
        var layers: [IPLayer] = []
        if m.network == .ipv4 || m.network == .ipv6 { layers.append(m.outer) }
        if m.hasInner { layers.append(m.inner) }
        if m.hasQuoted { layers.append(m.quoted) }
        func join(_ values: [String]) -> String { values.joined(separator: ",") }
        let v4 = layers.filter { !$0.isV6 }, v6 = layers.filter(\.isV6)
        let tcp = layers.filter { $0.proto == IPProto.tcp && $0.hasTransport }
        let udp = layers.filter { $0.proto == IPProto.udp && $0.hasTransport }
        return [
            join(v4.map(\.src.description)), join(v4.map(\.dst.description)),
            join(v6.map(\.src.description)), join(v6.map(\.dst.description)),
            join(tcp.map { "\($0.srcPort)" }), join(tcp.map { "\($0.dstPort)" }),
            join(udp.map { "\($0.srcPort)" }), join(udp.map { "\($0.dstPort)" }),
            m.network == .arp || m.innerARP ? m.arpSender.description : "",
        ]
    }
}
