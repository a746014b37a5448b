import AetherCore
import AetherDecode

#if canImport(Glibc)
    import Glibc
#endif

/// The decoder alone over a pcap file mapped in memory, for scripts/bench-decoder.sh: packets per
/// second of `Decoder.decode`, without the reader, flow table or store.
@main
struct DecodeBench {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2 else { print("usage: decode-bench FILE.pcap [ROUNDS]"); exit(2) }
        let rounds = args.count > 2 ? Int(args[2]) ?? 3 : 3
        let fd = open(args[1], O_RDONLY)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, let map = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            print("cannot map \(args[1])"); exit(1)
        }
        let base = UnsafeRawPointer(map)
        let size = Int(st.st_size)
        let magic = base.loadUnaligned(as: UInt32.self)
        guard magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D else { print("little-endian pcap only"); exit(1) }
        let linkType = base.loadUnaligned(fromByteOffset: 20, as: UInt32.self) & 0xFFFF
        var best = Double.infinity
        var packets = 0
        var check = 0
        for _ in 0..<rounds {
            var m = PacketMeta()
            var raw = RawPacket()
            raw.linkType = linkType
            var off = 24
            packets = 0
            var t0 = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t0)
            while off + 16 <= size {
                let caplen = Int(base.loadUnaligned(fromByteOffset: off + 8, as: UInt32.self))
                guard off + 16 + caplen <= size else { break }
                raw.capturedLength = UInt32(caplen)
                raw.wireLength = base.loadUnaligned(fromByteOffset: off + 12, as: UInt32.self)
                raw.bytes = UnsafeRawBufferPointer(start: base + off + 16, count: caplen)
                Decoder().decode(raw, into: &m)
                check &+= Int(m.outer.dstPort) &+ Int(m.outer.proto)
                packets += 1
                off += 16 + caplen
            }
            var t1 = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t1)
            best = min(best, Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9)
        }
        print("\(packets) packets, best of \(rounds): \(best) s, \(Int(Double(packets) / best)) packets/s (check \(check))")
    }
}
