import AetherCore
import AetherStore
import ArgumentParser

/// `aether schema`: the fields of every record type, with their Zeek and Arrow types
/// (`RecordSchemas`); the Spark job reads its Parquet schema from `--json`.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "The fields of each record type (conn, dns, ssl, http, x509, files, series) with their Zeek and Arrow types.")
    @Flag(help: "JSON object: table → [{name, zeek_type, arrow_type}]") var json = false

    func run() throws {
        if json {
            print(RecordSchemas.json.render())
            return
        }
        for table in RecordTable.allCases {
            print(table.rawValue)
            for f in RecordSchemas.description(table) {
                print("  \(f.name)\t\(f.zeekType ?? "-")\t\(f.arrow.rawValue)")
            }
        }
    }
}
