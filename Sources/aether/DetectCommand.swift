import AetherCore
import AetherDetect
import AetherFlows
import AetherStore
import ArgumentParser

/// `aether detect`: detector event records in (time-ordered, any mix of hosts: a partition of
/// a Spark job, or every shard's events sorted), alerts and the connections out, both as JSON
/// Lines. The detectors are the very ones `ingest` runs.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Run the detectors over event records (from aether shard) and write alerts and connections as JSON Lines.")
    @Option(
        help: """
            event records, time-ordered (- for standard input); give it again for more streams, each time-ordered \
            (one shard's records of one partition), and they are merged by time, then file order, then sequence
            """) var events: [String] = []
    @Option(help: "file indexes in time order, comma-separated: the merge's order between files at the same time") var fileOrder: String?
    @Option(help: "cut records of every shard (cut.jsonl)") var cuts: String?
    @Option(help: "continuations: JSON Lines {\"b\": later fragment id, \"a\": the cut fragment it continues}") var matches: String?
    @Option(help: "the whole input's first packet time, ns") var firstTime: Int64?
    @Flag(help: "some host of the whole input is in the internal networks") var internalSeen = false
    @Option(help: "alerts file to create (JSON Lines)") var alerts: String
    @Option(help: "connections file to create (JSON Lines, conn.log keys)") var conn: String?
    @Option(
        help: """
            file to create with each connection whole, one per line, for aether import (its connections.jsonl); \
            the conn lines then carry no _c
            """) var snapshots: String?
    @OptionGroup var detection: DetectionOptions

    func run() throws {
        let config = try detection.config()
        let join = FragmentJoin()
        if let cuts {
            var n = 0
            try readLines(cuts) { line in
                n += 1
                try join.addCut(try parseRecord(line, cuts, n), line: n)
            }
        }
        if let matches {
            var n = 0
            try readLines(matches) { line in
                n += 1
                let r = try parseRecord(line, matches, n)
                guard let b = r["b"]?.int, let a = r["a"]?.int else { throw BadInput(message: "\(matches): line \(n): needs integers b and a") }
                join.addMatch(later: b, earlier: a)
            }
        }
        let engine = DetectionEngine(config: config)
        let replay = EventReplay(engine: engine, join: join)
        replay.assume(firstTime: firstTime ?? Int64.max, internalSeen: internalSeen)
        var connections = 0
        var records = 0
        let connOut = try conn.map { path in try LineWriter(path) }
        let snapshotOut = try snapshots.map { path in try LineWriter(path) }
        let rank = try fileRanks()
        var merge = try EventMerge(paths: events.isEmpty ? ["-"] : events, rank: rank)
        var line: [UInt8] = []
        while let (r, path, n) = try merge.next() {
            do {
                if let c = try replay.take(r) {
                    connections += 1
                    // The conn record, and the connection whole for `aether import`: in a file
                    // of its own, or as the record's last member (`_c`).
                    line.removeAll(keepingCapacity: true)
                    if let snapshotOut {
                        EventRecorder.writeSnapshot(c, into: &line)
                        try snapshotOut.write(bytes: line)
                        line.removeAll(keepingCapacity: true)
                        c.connRecord.write(into: &line)
                    } else {
                        c.connRecord.write(into: &line)
                        line.removeLast()
                        line.append(contentsOf: #","_c":"#.utf8)
                        EventRecorder.writeSnapshot(c, into: &line)
                        line.append(UInt8(ascii: "}"))
                    }
                    try connOut?.write(bytes: line)
                }
            } catch let e as RecordError {
                throw BadInput(message: "\(path): line \(n): \(e.reason)")
            }
            records += 1
        }
        try connOut?.close()
        try snapshotOut?.close()
        let found = engine.finalAlerts
        try writeLines(alerts) { emit in
            for var a in found {
                // A connection counts once however often it came back to the episode, as the
                // store's alert_flow table counts it.
                var seen = Set<Int64>()
                a.flows = a.flows.filter { seen.insert($0).inserted }
                var j = a.json(includeEvidence: true)
                if case .object(var o) = j {
                    o.append(("uids", .array(a.flows.prefix(1000).map { .string(connectionUID($0)) })))
                    o += [("start_ns", .int(a.start)), ("end_ns", .int(a.end)), ("flow_ids", .array(a.flows.map { .int($0) }))]
                    o += [("dst_total", .int(Int64(a.dstCount))), ("port_total", .int(Int64(a.portCount)))]
                    j = .object(o)
                }
                emit(j.render(pretty: false))
            }
        }
        print("detect: \(records) records, \(connections) connections, \(found.count) alerts")
    }
}

extension DetectCommand {
    private func fileRanks() throws -> [Int64: Int] {
        guard let fileOrder else { return [:] }
        var rank: [Int64: Int] = [:]
        for (i, f) in fileOrder.split(separator: ",").enumerated() {
            guard let index = Int64(f), rank.updateValue(i, forKey: index) == nil else {
                throw ValidationError("--file-order: '\(f)' is not a file index, or it is given twice")
            }
        }
        return rank
    }
}
