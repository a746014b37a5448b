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

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one read-only SQL statement against a store.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Flag(help: "JSON array of objects") var json = false
    @Option(help: "seconds before the statement is interrupted") var timeout: Double = 30
    @Option(name: .customLong("blob-bytes"), help: "bytes of a blob shown before it is truncated") var blobBytes = 64
    @Argument(help: "SQL") var sql: String

    func validate() throws {
        // nan and inf would remove the bound (every comparison with them is false).
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else {
            throw ValidationError("--timeout must be a number of seconds, more than 0 and at most 3600")
        }
        guard (0...(1 << 20)).contains(blobBytes) else { throw ValidationError("--blob-bytes must be 0…1048576") }
    }

    /// Rows go out as they come (JSON too): memory does not grow with the result.
    func run() throws {
        let store = try openStore(db, readOnly: true)
        let s: Statement
        do { s = try store.analystQuery(sql, timeoutSeconds: timeout) } catch let e as StoreError { throw BadInput(message: e.message) }
        var header = false, first = true
        var out = ""
        func flush(_ force: Bool = false) {
            if force || out.utf8.count > 1 << 16 { print(out, terminator: ""); out = "" }
        }
        if json { out = "[" }
        do {
            while try s.step() {
                let n = s.columnCount
                if json {
                    out +=
                        (first ? "\n" : ",\n")
                        + JSON.object((0..<n).map { i in (s.name(i), jsonValue(s.displayValue(i, blobLimit: blobBytes))) }).render(pretty: false)
                    first = false
                } else {
                    if !header { out += (0..<n).map { s.name($0) }.joined(separator: "\t") + "\n"; header = true }
                    out += (0..<n).map { i in s.displayValue(i, blobLimit: blobBytes).map { "\($0)" } ?? "NULL" }.joined(separator: "\t") + "\n"
                }
                flush()
            }
        } catch let e as StoreError {
            flush(true)
            throw BadInput(message: e.message.contains("interrupt") ? "query interrupted after --timeout \(timeout) s" : e.message)
        }
        if json { out += "\n]\n" }
        flush(true)
    }

    func jsonValue(_ v: Any?) -> JSON {
        switch v {
        case let i as Int64: return .int(i)
        case let d as Double: return .double(d)
        case let s as String: return .string(s)
        default: return .null
        }
    }
}
