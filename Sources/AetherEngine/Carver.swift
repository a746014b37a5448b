import AetherCapture
import AetherCore
import AetherStore
#if canImport(Glibc)
    import Glibc
#endif

package struct CarveError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package var description: String { message }
}

/// Copies the packets of an alert or a connection out of the original capture files, after
/// checking each file is still the one that was ingested.
package struct Carver {
    package let store: Store

    package init(store: Store) { self.store = store }

    package func flows(ofAlert id: Int64) throws -> [Int64] {
        guard try store.alertExists(id) else {
            throw CarveError(message: "no alert \(id) in this store")
        }
        return try store.flowIDs(ofAlert: id)
    }

    /// Writes the packets of `flows` to `output`; returns how many.
    @discardableResult
    package func carve(flows: [Int64], to output: String, force: Bool = false, protected: [String] = []) throws -> Int {
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
        var packets: [CapturedPacket] = []
        for c in captures {
            let want = frames[c.id]!
            let reader = try CaptureReader(path: c.path, hashing: false)
            var frame: UInt64 = 0
            do {
                while try reader.next() {
                    frame += 1
                    if want.contains(frame) {
                        let p = reader.packet
                        packets.append(CapturedPacket(linkType: p.linkType, timestamp: p.timestamp, wireLength: p.wireLength, bytes: Array(p.bytes)))
                    }
                }
            } catch let e as CaptureError where e.kind == .truncated || e.kind == .corrupt {
                // The same fault as at ingest: everything before it was stored and is carved.
            }
        }
        let out = CaptureWriter.encode(packets)
        try EvidenceFiles.write(out, to: output, force: force, protected: try store.captures().map(\.path) + protected + [store.path])
        return packets.count
    }
}
