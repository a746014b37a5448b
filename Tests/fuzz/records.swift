import AetherCore
import AetherDetect
import AetherFlows

// Records in: JSON Lines of detector events, cut connections and continuations, as `detect`
// reads them. Every input ends in records taken or a RecordError; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let replay = EventReplay(engine: DetectionEngine(), join: FragmentJoin())
    for (i, line) in text.split(separator: "\n").enumerated() {
        guard let record = try? JSONParser.parse(String(line)) else { continue }
        if record["e"] == nil {
            try? replay.join.addCut(record, line: i + 1)
            if let b = record["b"]?.int, let a = record["a"]?.int { replay.join.addMatch(later: b, earlier: a) }
            continue
        }
        if let c = try? replay.take(record) { _ = EventRecorder.snapshot(c).render(pretty: false) }
    }
    for a in replay.engine.finalAlerts { _ = a.json().render(pretty: false) }
    return 0
}
