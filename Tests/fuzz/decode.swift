import AetherCore
import AetherDecode

// One frame: the first byte picks the link type, the rest is the frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let types: [UInt32] = [1, 0, 101, 108, 113, 228, 229, 276, 12, 14, 9, 10, 50, 104, 105, 127, 192, 239, 147, 6, 11, 51, 117]
    var p = RawPacket()
    p.linkType = types[Int(data[0]) % types.count]
    p.capturedLength = UInt32(size - 1)
    p.wireLength = UInt32(size - 1 + Int(data[0] & 1))
    p.bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var m = PacketMeta()
    Decoder().decode(p, into: &m)
    _ = DecodedFields.values(m)
    var j = FragmentJoiner(capacity: 16)
    j.join(&m.outer)
    return 0
}
