import AetherCapture
import AetherCore
import AetherDetect
import AetherEngine
import AetherFlows
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aether join-cuts`: which fragments continue a connection cut at a file's end (a Spark job's
/// step between its stages). The job pairs each cut record with the next file's `finished`
/// records of the same `k`; the rule that decides is `CutContinuation`, here and nowhere else.
struct JoinCutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-cuts",
        abstract: "Decide which candidate fragments continue cut connections (a Spark job's step).",
        discussion: """
            Reads JSON Lines {"cut": cut record, "head": finished record of the next file with the same k, "start": that \
            file's first packet time, ns}. Writes `match<TAB>{"b":later,"a":earlier}` (for aether detect --matches), \
            `cut<TAB>record` for each cut connection something continues (for --cuts), and \
            `route<TAB>{"id":fragment,"host":its chain's originator,"uid":its uid,"root_uid":the chain's}`.
            """)
    @Option(help: "candidate pairs (- for standard input)") var pairs: String = "-"

    func run() throws {
        var candidates: [(cut: Connection, head: Connection)] = []
        var cutText: [Int64: String] = [:]
        var n = 0
        try readLines(pairs) { line in
            n += 1
            let r = try parseRecord(line, pairs, n)
            guard let cutRecord = r["cut"], let head = r["head"], let start = r["start"]?.int, let timeout = cutRecord["to"]?.int,
                let c = cutRecord["c"], let h = head["c"]
            else { throw BadInput(message: "\(pairs): line \(n): needs cut (with to), head and start") }
            let a: Connection
            let b: Connection
            do {
                a = try connection(fromRecord: c)
                b = try connection(fromRecord: h)
            } catch let e as RecordError { throw BadInput(message: "\(pairs): line \(n): \(e.reason)") }
            guard CutContinuation.continues(cut: a, timeout: timeout, head: b, fileStart: start) else { return }
            candidates.append((a, b))
            cutText[a.id] = cutRecord.render(pretty: false)
        }
        let matches = CutContinuation.matches(candidates)
        let origin = Dictionary(candidates.map { ($0.cut.id, $0.cut.origAddress) }, uniquingKeysWith: { a, _ in a })
        let out = StreamOut(fd: 1)
        for (later, earlier) in matches.sorted(by: { $0.key < $1.key }) {
            try out.line("match", "{\"b\":\(later),\"a\":\(earlier)}")
        }
        for id in Set(matches.values).sorted() { try out.line("cut", cutText[id]!) }
        for (later, root) in CutContinuation.roots(matches).sorted(by: { $0.key < $1.key }) {
            let host = origin[root].map { JSON.string($0.description) } ?? .null
            try out.line(
                "route",
                JSON.object([
                    ("id", .int(later)), ("host", host), ("uid", .string(connectionUID(later))), ("root_uid", .string(connectionUID(root))),
                ]).render(pretty: false))
        }
        try out.flush()
    }
}
