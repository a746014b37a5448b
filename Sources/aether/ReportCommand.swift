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

/// Renders the report for a store and writes it: never over a capture, the store, a link or
/// (without `force`) an existing file.
func writeReport(db: String, to path: String, force: Bool, quiet: Bool) throws {
    let store = try openStore(db, readOnly: true)
    let html: String
    do { html = try Report(store: store, storePath: db).render() } catch let e as StoreError { throw BadInput(message: e.message) }
    let dir = path.split(separator: "/").dropLast().joined(separator: "/")
    if !dir.isEmpty { mkdir(path.hasPrefix("/") ? "/" + dir : dir, 0o755) }
    let bytes = Array(html.utf8)
    do {
        try EvidenceFiles.write(bytes, to: path, force: force, protected: try store.captures().map(\.path) + [db])
    } catch let e as FileRefusal { throw BadInput(message: e.message) }
    if !quiet { print("report: \(path) (\(bytes.count) bytes)") }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write the self-contained HTML incident report.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Option(name: [.short, .customLong("output")], help: "HTML file to write") var output: String
    @OptionGroup var replacing: ReplaceOption
    var force: Bool { replacing.replace }

    func run() throws {
        try writeReport(db: db, to: output, force: force, quiet: false)
    }
}
