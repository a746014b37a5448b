import AetherCapture
import AetherCore
import AetherEngine
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aether export`: the store's records as JSON Lines (conn, dns, ssl, http, series) for other
/// programs (a Spark job, jq, DuckDB). Each file is created anew (never over an existing file,
/// never through a link) and written as the rows are read.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the store's records as JSON Lines (Zeek's field names): conn, dns, ssl, http, series.")
    @Option(help: "store file") var db: String
    @Option(help: "folder to write NAME.jsonl into (made if missing)") var out: String
    @Option(help: "tables, comma-separated (default: all)") var tables: String?

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
        var st = stat()
        if lstat(out, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw BadInput(message: "\(out): not a folder; refusing to write there") }
        } else if mkdir(out, 0o755) != 0 {
            throw BadInput(message: "\(out): cannot make the folder: \(String(cString: strerror(errno)))")
        }
        for table in wanted {
            let path = out + "/" + table.rawValue + ".jsonl"
            let fd: Int32
            do { fd = try EvidenceFiles.create(path) } catch let e as FileRefusal { throw BadInput(message: e.message) }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            var rows = 0
            func flush() throws {
                guard buffer.withUnsafeBytes({ EvidenceFiles.writeAll(fd, $0) }) else {
                    throw BadInput(message: "\(path): write failed: \(String(cString: strerror(errno)))")
                }
                buffer.removeAll(keepingCapacity: true)
            }
            do {
                try store.records(table) { record in
                    buffer.append(contentsOf: record.render(pretty: false).utf8)
                    buffer.append(0x0A)
                    rows += 1
                    if buffer.count >= 1 << 16 { try flush() }
                }
                try flush()
            } catch {
                close(fd)
                throw error
            }
            close(fd)
            print("\(table.rawValue): \(rows) records → \(path)")
        }
    }
}
