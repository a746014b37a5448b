import AetherCapture
import AetherCore

/// What became of one input file: its status, its packets, and the warnings ingest prints.
package struct FileOutcome: Sendable {
    package enum Status: String, Sendable { case complete, truncated, failed, alreadyIngested }
    package var path: String
    package var status: Status
    package var packets: UInt64
    package var error: CaptureError?
    package var sha256: String?
    /// Packets whose network layer was not reached, by reason, most first.
    package var undecoded: [(reason: String, packets: UInt64)] = []
    /// Packets whose absurd time was kept at the edge of the range (`CaptureReader.clampedTimes`).
    package var clampedTimes: UInt64 = 0

    /// Said on ingest: those packets' times are not their own.
    package var clampedTimesWarning: String? {
        guard clampedTimes > 0 else { return nil }
        let edges = "\(Timestamp(nanoseconds: Timestamp.earliest).iso8601.prefix(10)) or \(Timestamp(nanoseconds: Timestamp.latest).iso8601.prefix(10))"
        return "\(grouped(clampedTimes)) of \(grouped(packets)) packet times out of range (a corrupt clock or time offset), kept as \(edges)"
    }

    /// The warning an analyst must not miss: "1,810 of 1,810 packets not decoded: MPLS…".
    package var undecodedWarning: String? {
        let n = undecoded.reduce(0) { $0 + $1.packets }
        guard n > 0 else { return nil }
        let reasons = undecoded.prefix(3).map { "\($0.reason) (\(grouped($0.packets)))" }.joined(separator: ", ")
        let more = undecoded.count > 3 ? ", …" : ""
        return "\(grouped(n)) of \(grouped(packets)) packets not decoded: \(reasons)\(more)"
    }
}
