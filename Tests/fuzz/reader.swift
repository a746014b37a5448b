import AetherCapture
import AetherCore
import AetherDecode
#if canImport(Glibc)
    import Glibc
#endif

// The capture reader (pcap, pcapng, gzip) and the decoder on every packet it yields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = "/dev/shm/aether-fuzz-reader-\(getpid())"
    let f = fopen(path, "w")!
    fwrite(data, 1, size, f)
    fclose(f)
    defer { unlink(path) }
    guard let r = try? CaptureReader(path: path, hashing: false) else { return 0 }
    var m = PacketMeta()
    let d = Decoder()
    var n = 0
    while n < 100_000, (try? r.next()) == true {
        d.decode(r.packet, into: &m)
        n += 1
    }
    return 0
}
