import AetherCapture
import AetherCore
import AetherStore
#if canImport(Glibc)
    import Glibc
#endif

public struct CarveError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Copies the packets of an alert or a connection out of the original capture files, after
/// checking each file is still the one that was ingested.
public struct Carver {
    public let store: Store

    public init(store: Store) { self.store = store }

    public func flows(ofAlert id: Int64) throws -> [Int64] {
        guard try store.alertExists(id) else {
            throw CarveError(message: "no alert \(id) in this store")
        }
        return try store.flowIDs(ofAlert: id)
    }

    /// Writes the packets of `flows` to `output`; returns how many.
    @discardableResult
    public func carve(flows: [Int64], to output: String, force: Bool = false, protected: [String] = []) throws -> Int {
        guard !flows.isEmpty else { throw CarveError(message: "nothing to carve: no connections") }
        // Never over a capture the store holds (under any name), the store, a link or a device.
        try EvidenceFiles.checkTarget(output, force: force, protected: try store.captures().map(\.path) + protected + [store.path])
        let wanted = Set(flows)
        guard let (from, to) = try store.timeSpan(ofFlows: flows) else { throw CarveError(message: "those connections are not in the store") }
        // Which frames of which capture, from the packet columns of the chunks that overlap the span.
        var frames: [Int64: Set<UInt64>] = [:]
        for capture in try store.captures() {
            for p in try store.packets(captureID: capture.id, from: from, to: to) where wanted.contains(p.flowID) {
                frames[capture.id, default: []].insert(p.frame)
            }
        }
        guard !frames.isEmpty else { throw CarveError(message: "no stored packets belong to those connections") }
        let captures = try store.captures().filter { frames[$0.id] != nil }
        // Refuse before writing anything if a source is gone or changed.
        for c in captures {
            var st = stat()
            guard stat(c.path, &st) == 0 else { throw CarveError(message: "cannot carve: source file \(c.path) is missing") }
            let now = try sha256OfFile(c.path)
            guard now == c.sha256 else {
                throw CarveError(
                    message: "cannot carve: \(c.path) has changed since it was ingested (sha256 \(now.prefix(12))…, stored \((c.sha256 ?? "").prefix(12))…)")
            }
        }
        var packets: [(linkType: UInt32, ts: Int64, wire: UInt32, bytes: [UInt8])] = []
        for c in captures {
            let want = frames[c.id]!
            let reader = try CaptureReader(path: c.path, hashing: false)
            var frame: UInt64 = 0
            do {
                while try reader.next() {
                    frame += 1
                    if want.contains(frame) {
                        let p = reader.packet
                        packets.append((p.linkType, p.timestamp, p.wireLength, Array(p.bytes)))
                    }
                }
            } catch let e as CaptureError where e.kind == .truncated || e.kind == .corrupt {
                // The same fault as at ingest: everything before it was stored and is carved.
            }
        }
        let linkTypes = packets.reduce(into: [UInt32]()) { if !$0.contains($1.linkType) { $0.append($1.linkType) } }
        var out: [UInt8] = []
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        if linkTypes.count == 1 {
            // pcap with nanosecond timestamps, as precise as the store.
            u32(0xA1B2_3C4D); u16(2); u16(4); u32(0); u32(0); u32(262_144); u32(linkTypes[0])
            for p in packets {
                u32(UInt32(truncatingIfNeeded: p.ts / 1_000_000_000)); u32(UInt32(truncatingIfNeeded: p.ts % 1_000_000_000))
                u32(UInt32(p.bytes.count)); u32(p.wire); out += p.bytes
            }
        } else {
            // pcapng: one interface per link type, nanosecond resolution.
            func block(_ type: UInt32, _ body: [UInt8]) {
                var b = body
                while b.count % 4 != 0 { b.append(0) }
                let total = UInt32(12 + b.count)
                u32(type); u32(total); out += b; u32(total)
            }
            var shb: [UInt8] = []
            withUnsafeBytes(of: UInt32(0x1A2B_3C4D).littleEndian) { shb += $0 }
            withUnsafeBytes(of: UInt16(1).littleEndian) { shb += $0 }
            withUnsafeBytes(of: UInt16(0).littleEndian) { shb += $0 }
            withUnsafeBytes(of: UInt64.max.littleEndian) { shb += $0 }
            block(0x0A0D_0D0A, shb)
            for lt in linkTypes {
                var idb: [UInt8] = []
                withUnsafeBytes(of: UInt16(lt).littleEndian) { idb += $0 }
                idb += [0, 0]
                withUnsafeBytes(of: UInt32(262_144).littleEndian) { idb += $0 }
                idb += [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]  // if_tsresol = 9, end of options
                block(1, idb)
            }
            for p in packets {
                var epb: [UInt8] = []
                let iface = UInt32(linkTypes.firstIndex(of: p.linkType)!)
                let ticks = UInt64(bitPattern: p.ts)
                for v in [iface, UInt32(ticks >> 32), UInt32(ticks & 0xFFFF_FFFF), UInt32(p.bytes.count), p.wire] {
                    withUnsafeBytes(of: v.littleEndian) { epb += $0 }
                }
                epb += p.bytes
                block(6, epb)
            }
        }
        try EvidenceFiles.write(out, to: output, force: force, protected: try store.captures().map(\.path) + protected + [store.path])
        return packets.count
    }
}
