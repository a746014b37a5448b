import AetherCapture
import AetherCore
import AetherEngine
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aether export`: the store's records as JSON Lines (conn, dns, ssl, http, x509, files, series) for other
/// programs (a Spark job, jq, DuckDB). Each file is created anew (never over an existing file,
/// never through a link) and written as the rows are read.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the store's records as JSON Lines with Zeek's field names (conn, dns, ssl, http, x509, files, series), or as Zeek's ASCII logs.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Option(help: "folder to write NAME.jsonl into (made if missing)") var out: String
    @Option(help: "tables, comma-separated (default: all)") var tables: String?
    @Option(help: "json (JSON Lines, NAME.jsonl) or zeek (Zeek's ASCII logs, NAME.log; series has none)") var format: ExportFormat = .json

    func run() throws {
        let wanted: [RecordTable]
        if let tables {
            wanted = try tables.split(separator: ",").map {
                guard let t = RecordTable(rawValue: String($0)) else { throw ValidationError("--tables: unknown table '\($0)'") }
                return t
            }
        } else {
            wanted = RecordTable.allCases
        }
        let store = try openStore(db, readOnly: true)
        try makeFolder(out)
        // Every file is checked before any is written, and what this run wrote is removed if it
        // fails: an export is whole or absent, never a mix with files planted beside it.
        let targets = wanted.compactMap { t -> String? in
            if format == .zeek && ZeekLog.fields(t) == nil { return nil }
            return out + "/" + t.rawValue + (format == .zeek ? ".log" : ".jsonl")
        }
        for path in targets {
            var st = stat()
            if lstat(path, &st) == 0 { throw BadInput(message: "\(path): exists; refusing to write over it (nothing was written)") }
        }
        var written: [String] = []
        do { try export(wanted, store, &written) } catch {
            for path in written { unlink(path) }
            throw error
        }
    }

    private func export(_ wanted: [RecordTable], _ store: Store, _ written: inout [String]) throws {
        for table in wanted {
            if format == .zeek {
                guard let fields = ZeekLog.fields(table) else { continue }
                let path = out + "/" + table.rawValue + ".log"
                let rows = try writeLines(path, created: { written.append($0) }) { emit in
                    ZeekLog.header(table, fields: fields).forEach(emit)
                    try store.records(table) { emit(ZeekLog.line($0, fields: fields)) }
                }
                print("\(table.rawValue): \(rows - 7) records → \(path)")
                continue
            }
            let path = out + "/" + table.rawValue + ".jsonl"
            let rows = try writeLines(path, created: { written.append($0) }) { emit in try store.records(table) { emit($0.render(pretty: false)) } }
            print("\(table.rawValue): \(rows) records → \(path)")
        }
    }
}

/// What `export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case json, zeek
}

/// Makes `path` as a folder, or accepts it when it is one (never a link to one).
func makeFolder(_ path: String, mustBeNew: Bool = false) throws {
    var st = stat()
    if lstat(path, &st) == 0 {
        guard !mustBeNew else { throw BadInput(message: "\(path): already exists; refusing to write into it") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw BadInput(message: "\(path): not a folder; refusing to write there") }
    } else if mkdir(path, 0o755) != 0 {
        throw BadInput(message: "\(path): cannot make the folder: \(String(cString: strerror(errno)))")
    }
}

/// Creates `path` (never over a file, never through a link) and writes the lines `produce`
/// emits through a `LineWriter`. Returns how many.
@discardableResult
func writeLines(_ path: String, created: (String) -> Void = { _ in }, _ produce: ((String) -> Void) throws -> Void) throws -> Int {
    let writer = try LineWriter(path)
    created(path)  // ours from here on: a caller may remove it if a later step fails
    var rows = 0
    var failure: Error?
    try produce { line in
        guard failure == nil else { return }
        do {
            try writer.write(line)
            rows += 1
        } catch { failure = error }
    }
    if let failure { throw failure }
    try writer.close()
    return rows
}
