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

struct Flows: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Connections (Zeek's model).")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Flag(help: "JSON array") var json = false
    @Flag(help: "Zeek conn.log (TSV), as export --format zeek writes it") var zeek = false
    @Option(help: "at most N rows") var limit: Int?

    func validate() throws {
        if json && zeek { throw ValidationError("--json and --zeek exclude each other") }
        if let limit, limit < 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let store = try openStore(db, readOnly: true)
        if zeek {
            // The same writer and fields as `export --format zeek`'s conn.log.
            let fields = ZeekLog.fields(.conn)!
            ZeekLog.header(.conn, fields: fields).forEach { print($0) }
            try store.records(.conn, limit: limit) { print(ZeekLog.line($0, fields: fields)) }
            return
        }
        let rows = try store.flowRows(limit: limit)
        if json {
            print(JSON.array(rows.map(\.json)).render())
        } else {
            print(["ts", "proto", "orig", "resp", "state", "history", "orig_pkts", "resp_pkts"].joined(separator: "\t"))
            for r in rows {
                print(
                    [
                        Timestamp(nanoseconds: r.ts).iso8601, IPProto.zeekName(UInt8(truncatingIfNeeded: r.proto)), "\(r.origH):\(r.origP)",
                        "\(r.respH):\(r.respP)",
                        r.connState, r.history.isEmpty ? "-" : r.history, "\(r.origPkts)", "\(r.respPkts)",
                    ].joined(separator: "\t"))
            }
        }
    }
}
