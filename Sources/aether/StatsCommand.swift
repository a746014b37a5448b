import AetherCapture
import AetherCore
import AetherDetect
import AetherEngine
import AetherLive
import AetherReport
import AetherStore
import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

func renderStats(_ s: StoreStats, path: String) -> String {
    var lines: [String] = []
    func row(_ k: String, _ v: String) { lines.append(k + String(repeating: " ", count: max(1, 22 - k.count)) + v) }
    row("Store:", path)
    row("Captures:", "\(s.captures)" + (s.incomplete > 0 ? " (\(s.incomplete) incomplete)" : ""))
    row("Packets:", "\(s.packets)")
    row("Data size:", "\(s.wireBytes) bytes on the wire, \(s.bytes) captured")
    if let f = s.first, let l = s.last {
        row("First packet:", Timestamp(nanoseconds: f).iso8601)
        row("Last packet:", Timestamp(nanoseconds: l).iso8601)
        row("Duration:", String(format1: Timestamp.seconds(from: f, to: l)) + " s")
    }
    row("Conversations:", "\(s.flows)")
    row("Connections:", "\(s.connections) (Zeek model)")
    row("Protocols:", s.protocols.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    row("IPv6 packets:", "\(s.ipv6Packets)")
    row("VLAN packets:", "\(s.vlanPackets)")
    row("Truncated packets:", "\(s.truncatedPackets)")
    if s.undecoded > 0 {
        row("Undecoded packets:", "\(s.undecoded): " + s.undecodedReasons.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    }
    if s.packets > 0 {
        row("Store packet bytes:", "\(s.chunkBytes) (\(String(format1: Double(s.chunkBytes) / Double(s.packets))) per packet)")
    }
    return lines.joined(separator: "\n")
}

/// "No alerts." only when the packets were seen: a capture the decoder could not read is blind, not clean.
func noAlerts(_ s: StoreStats) -> String {
    guard s.undecoded > 0 else { return "No alerts." }
    let reasons = s.undecodedReasons.prefix(3).map(\.0).joined(separator: ", ")
    if s.undecoded * 2 >= s.packets {
        return "No conclusion: \(s.undecoded) of \(s.packets) packets could not be decoded (\(reasons)); the detectors did not see them."
    }
    return "No alerts on the decoded packets; \(s.undecoded) of \(s.packets) could not be decoded (\(reasons))."
}

extension String {
    init(format1 v: Double) {
        let r = (v * 100).rounded() / 100
        self = String(r)
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts for a store.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Flag(help: "JSON with the ground truth's keys") var json = false

    func run() throws {
        let store = try openStore(db, readOnly: true)
        let s = try store.stats()
        print(json ? s.json.render() : renderStats(s, path: db))
    }
}
