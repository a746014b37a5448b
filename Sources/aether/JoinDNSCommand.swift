import AetherCapture
import AetherCore
import ArgumentParser

/// `aether join-dns`: DNS transactions that a file boundary cut in two (a Spark job's step). A
/// query at one file's end and its response at the next file's start are two halves, each a
/// `dns` record with only `query_seen` or only `response_seen`. Halves of the same connection
/// (after the joined fragments' routes), transaction id, name and type, exactly one of each,
/// are one transaction: the query's record with the response's code and answers. Every other
/// half stays as it is. The rule lives here, not in the job.
struct JoinDNSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-dns",
        abstract: "Join DNS queries and responses that a file boundary cut in two (a Spark job's step).",
        discussion: """
            Reads dns records (JSON Lines, each a query or a response alone) and, with --routes, the routes of \
            aether join-cuts ({"uid":fragment,"root_uid":its chain's}). Writes the dns records to standard output: \
            the joined transactions and the halves left alone, each with its root connection's uid.
            """)
    @Option(help: "dns records that are halves (- for standard input)") var records: String = "-"
    @Option(help: "routes of joined fragments (JSON Lines with uid and root_uid)") var routes: String?

    func run() throws {
        var root: [String: String] = [:]
        if let routes {
            var n = 0
            try readLines(routes) { line in
                n += 1
                let r = try parseRecord(line, routes, n)
                guard let uid = r["uid"]?.string, let to = r["root_uid"]?.string else {
                    throw BadInput(message: "\(routes): line \(n): needs uid and root_uid")
                }
                root[uid] = to
            }
        }
        var rows: [[(String, JSON)]] = []
        var groups: [String: [Int]] = [:]
        var n = 0
        try readLines(records) { line in
            n += 1
            guard case .object(var o) = try parseRecord(line, records, n) else { throw BadInput(message: "\(records): line \(n): not an object") }
            if let i = o.firstIndex(where: { $0.0 == "uid" }), let uid = o[i].1.string, let to = root[uid] { o[i].1 = .string(to) }
            let record = JSON.object(o)
            let key = ["uid", "trans_id", "query", "qtype"].map { (record[$0] ?? .null).render(pretty: false) }.joined(separator: "\t")
            groups[key, default: []].append(rows.count)
            rows.append(o)
        }
        func flag(_ o: [(String, JSON)], _ k: String) -> Bool {
            guard let v = o.first(where: { $0.0 == k })?.1, case .bool(true) = v else { return false }
            return true
        }
        var dropped = Set<Int>()
        for members in groups.values where members.count == 2 {
            let (a, b) = (members[0], members[1])
            let asked = [a, b].filter { flag(rows[$0], "query_seen") && !flag(rows[$0], "response_seen") }
            let answered = [a, b].filter { flag(rows[$0], "response_seen") && !flag(rows[$0], "query_seen") }
            guard asked.count == 1, answered.count == 1 else { continue }
            let (q, r) = (asked[0], answered[0])
            for (k, v) in rows[r] where k == "rcode" || k == "answers" || k == "response_seen" {
                if let i = rows[q].firstIndex(where: { $0.0 == k }) { rows[q][i].1 = v } else { rows[q].append((k, v)) }
            }
            dropped.insert(r)
        }
        var out: [UInt8] = []
        for (i, o) in rows.enumerated() where !dropped.contains(i) {
            JSON.object(o).write(into: &out)
            out.append(0x0A)
        }
        guard out.withUnsafeBytes({ EvidenceFiles.writeAll(1, $0) }) else { throw BadInput(message: "standard output: write failed") }
    }
}
