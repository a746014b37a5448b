import AetherCore

/// Builds one packet chunk column by column. Encodings (version 1):
/// ts, frame, file_offset, flow_id: zigzag varint of the delta to the previous packet;
/// caplen: varint; wirelen: varint of wirelen - caplen (zero unless cut by a snaplen);
/// addresses: a per-chunk dictionary (family byte + 4 or 16 bytes per entry) and, per packet,
/// varint index + 1 (0 = no IP); ports: varint; proto, tcp_flags: one byte;
/// link: varint of interface << 5 | truncated << 4 | vlan << 3 | network kind.
/// Every column is then zlib-compressed on its own.
public struct ChunkBuilder {
    public static let encoding: Int64 = 1
    public static let columnNames = [
        "ts", "frame", "file_offset", "caplen", "wirelen", "addr_dict", "src", "dst",
        "sport", "dport", "proto", "tcp_flags", "flow_id", "link",
    ]
    public let columns = ColumnSet(count: ChunkBuilder.columnNames.count)
    /// The columns' first buffer, held by `columns`: writes through it touch no reference count.
    private let cols: UnsafeMutablePointer<ColumnBuffer>
    public private(set) var count = 0
    public private(set) var firstSequence: UInt64 = 0
    public private(set) var tsMin = Int64.max
    public private(set) var tsMax = Int64.min
    private var prevTs: Int64 = 0
    private var prevFrame: Int64 = 0
    private var prevOffset: Int64 = 0
    private var prevFlow: Int64 = 0
    private let dictionary = FlatMap<IPAddress>(capacity: 4096)

    enum C {
        static let ts = 0, frame = 1, offset = 2, caplen = 3, wirelen = 4, dict = 5, src = 6, dst = 7,
            sport = 8, dport = 9, proto = 10, flags = 11, flow = 12, link = 13
    }

    public init() { cols = columns[0] }

    public mutating func reset() {
        columns.clear()
        count = 0
        tsMin = Int64.max; tsMax = Int64.min
        prevTs = 0; prevFrame = 0; prevOffset = 0; prevFlow = 0
        dictionary.removeAll()
    }

    @inline(__always) private mutating func address(_ a: IPAddress) -> UInt64 {
        if let i = dictionary.find(a) { return UInt64(i) + 1 }
        let i = UInt32(dictionary.count)
        dictionary.set(a, Int32(i))
        if a.isV4 {
            let dict = cols + C.dict
            dict.pointee.byte(4)
            var v = a.v4Value.bigEndian
            dict.pointee.bytes(&v, 4)
        } else {
            let dict = cols + C.dict
            dict.pointee.byte(6)
            var h = a.hi.bigEndian, l = a.lo.bigEndian
            dict.pointee.bytes(&h, 8)
            dict.pointee.bytes(&l, 8)
        }
        return UInt64(i) + 1
    }

    @inline(__always) public mutating func append(_ m: PacketMeta, flowID: Int64, sequence: UInt64) {
        append(PacketRow(m, flowID: flowID, sequence: sequence))
    }

    @inline(__always) public mutating func append(_ r: PacketRow) {
        if count == 0 { firstSequence = r.sequence }
        count += 1
        if r.timestamp < tsMin { tsMin = r.timestamp }
        if r.timestamp > tsMax { tsMax = r.timestamp }
        let c = cols
        (c + C.ts).pointee.zigzag(r.timestamp &- prevTs); prevTs = r.timestamp
        let frame = Int64(bitPattern: r.frame)
        (c + C.frame).pointee.zigzag(frame &- prevFrame); prevFrame = frame
        let off = Int64(bitPattern: r.fileOffset)
        (c + C.offset).pointee.zigzag(off &- prevOffset); prevOffset = off
        (c + C.caplen).pointee.varint(UInt64(r.capturedLength))
        (c + C.wirelen).pointee.zigzag(Int64(r.wireLength) - Int64(r.capturedLength))
        (c + C.flow).pointee.zigzag(r.flowID &- prevFlow); prevFlow = r.flowID
        (c + C.link).pointee.varint(r.link)
        let s = r.isIP ? address(r.src) : 0
        let d = r.isIP ? address(r.dst) : 0
        (c + C.src).pointee.varint(s)
        (c + C.dst).pointee.varint(d)
        (c + C.sport).pointee.varint(UInt64(r.srcPort))
        (c + C.dport).pointee.varint(UInt64(r.dstPort))
        (c + C.proto).pointee.byte(r.proto)
        (c + C.flags).pointee.byte(r.tcpFlags)
    }
}

/// One stored packet, decoded back from a chunk.
public struct StoredPacket: Equatable, Sendable {
    public var sequence: UInt64
    public var timestamp: Int64
    public var frame: UInt64
    public var fileOffset: UInt64
    public var capturedLength: UInt32
    public var wireLength: UInt32
    public var src: IPAddress?
    public var dst: IPAddress?
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var proto: UInt8
    public var tcpFlags: UInt8
    public var flowID: Int64
    public var interface: UInt32
    public var network: UInt8
    public var vlan: Bool
    public var truncated: Bool
}

public enum ChunkDecoder {
    /// Decodes the columns of one chunk (already inflated), in `columnNames` order.
    public static func decode(columns: [[UInt8]], count: Int, firstSequence: UInt64) throws -> [StoredPacket] {
        var r = columns.map { ColumnReader($0) }
        var dict: [IPAddress] = []
        while !r[ChunkBuilder.C.dict].atEnd {
            let fam = try r[ChunkBuilder.C.dict].byte()
            if fam == 4 {
                let b = try r[ChunkBuilder.C.dict].take(4)
                dict.append(IPAddress(v4: b.reduce(0) { $0 << 8 | UInt32($1) }))
            } else {
                let b = try r[ChunkBuilder.C.dict].take(16)
                guard let a = IPAddress(bytes: Array(b)) else { throw StoreError("bad address") }
                dict.append(a)
            }
        }
        func addr(_ i: UInt64) throws -> IPAddress? {
            if i == 0 { return nil }
            guard Int(i) - 1 < dict.count else { throw StoreError("address index out of range") }
            return dict[Int(i) - 1]
        }
        var out: [StoredPacket] = []
        out.reserveCapacity(count)
        var ts: Int64 = 0, frame: Int64 = 0, off: Int64 = 0, flow: Int64 = 0
        typealias C = ChunkBuilder.C
        for i in 0..<count {
            ts &+= try r[C.ts].zigzag()
            frame &+= try r[C.frame].zigzag()
            off &+= try r[C.offset].zigzag()
            let cap = try r[C.caplen].varint()
            let wire = Int64(cap) + (try r[C.wirelen].zigzag())
            flow &+= try r[C.flow].zigzag()
            let link = try r[C.link].varint()
            out.append(
                StoredPacket(
                    sequence: firstSequence + UInt64(i), timestamp: ts, frame: UInt64(bitPattern: frame),
                    fileOffset: UInt64(bitPattern: off), capturedLength: UInt32(cap), wireLength: UInt32(truncatingIfNeeded: wire),
                    src: try addr(try r[C.src].varint()), dst: try addr(try r[C.dst].varint()),
                    srcPort: UInt16(truncatingIfNeeded: try r[C.sport].varint()),
                    dstPort: UInt16(truncatingIfNeeded: try r[C.dport].varint()),
                    proto: try r[C.proto].byte(), tcpFlags: try r[C.flags].byte(), flowID: flow,
                    interface: UInt32(link >> 5), network: UInt8(link & 7), vlan: link & 8 != 0, truncated: link & 16 != 0))
        }
        return out
    }
}
