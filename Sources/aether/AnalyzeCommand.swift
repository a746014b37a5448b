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

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ingest captures and analyze them.")
    @Argument(help: "pcap, pcapng or gzip files, or folders of them") var inputs: [String]
    @Option(help: "store file (default: reports/NAME.sqlite)") var db: String?
    @Option(help: "HTML report to write (default: reports/NAME.html)") var report: String?
    @OptionGroup var reading: FilterOption
    @OptionGroup var detection: DetectionOptions
    @OptionGroup var replacing: ReplaceOption
    @OptionGroup var files: FileOptions
    @OptionGroup var threading: ThreadOptions
    var force: Bool { replacing.replace }

    func run() throws {
        let name = defaultName(inputs.first ?? "capture")
        let dbPath = db ?? "reports/\(name).sqlite"
        let reportPath = report ?? "reports/\(name).html"
        // Refuse before anything is created: inputs that are not there, a report target that must not be written.
        try checkInputs(inputs)
        do { try EvidenceFiles.checkTarget(reportPath, force: force, protected: inputs) } catch let e as FileRefusal {
            throw BadInput(message: e.message)
        }
        if db == nil || report == nil { mkdir("reports", 0o755) }
        var failed: Error?
        do {
            _ = try runIngest(inputs, db: dbPath, filter: reading.filter, detection: detection, threads: threading.threads, files: files.limits)
        } catch let e as ExitCode
            where e.rawValue == 1
        {
            failed = e
        }
        let store = try openStore(dbPath, readOnly: true)
        print(renderStats(try store.stats(), path: dbPath))
        let alerts = try store.alerts()
        print("")
        print(alerts.isEmpty ? noAlerts(try store.stats()) : renderAlerts(alerts))
        try writeReport(db: dbPath, to: reportPath, force: force, quiet: false)
        if let failed { throw failed }
    }
}
