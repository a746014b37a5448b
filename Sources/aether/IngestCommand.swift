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

func runIngest(
    _ inputs: [String], db: String, filter: String?, detection: DetectionOptions, detect: Bool = true, threads: Int = Pipeline.defaultThreads,
    files: FileLimits = FileLimits()
) throws -> Store {
    let config = try detection.config()
    try checkInputs(inputs)
    let store = try openStore(db, readOnly: false)
    let pipeline: Pipeline
    do {
        var options = IngestOptions(filter: filter, progress: true, detect: detect, rules: config)
        options.threads = threads
        options.files = files
        pipeline = try Pipeline(store: store, options: options)
    } catch let e as CaptureError {
        throw BadInput(message: e.description)
    }
    let outcomes: [FileOutcome]
    do { outcomes = try pipeline.ingest(inputs) } catch let e as CaptureError {
        throw BadInput(message: e.description)
    } catch let e as StoreError {
        throw BadInput(message: e.message)
    }
    var bad = false
    for o in outcomes {
        if let warning = o.undecodedWarning { printError("aether: warning: \(o.path): \(warning)") }
        if let warning = o.clampedTimesWarning { printError("aether: warning: \(o.path): \(warning)") }
        switch o.status {
        case .complete:
            print("ingested \(o.path): \(o.packets) packets")
        case .alreadyIngested:
            print("skipped \(o.path): already ingested (sha256 \(o.sha256 ?? "?")), nothing added")
        case .truncated:
            bad = true
            printError("aether: \(o.error?.description ?? o.path) (kept \(o.packets) packets read before it)")
        case .failed:
            bad = true
            printError("aether: \(o.error?.description ?? o.path)")
        }
    }
    if bad { throw ExitCode(1) }
    return store
}

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read captures into the store.")
    @Argument(help: "pcap, pcapng or gzip files, or folders of them") var inputs: [String]
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @OptionGroup var reading: FilterOption
    @OptionGroup var detection: DetectionOptions
    @Flag(name: .customLong("no-detect"), help: "store only; run no detectors") var noDetect = false
    @OptionGroup var files: FileOptions
    @OptionGroup var threading: ThreadOptions

    func run() throws {
        _ = try runIngest(
            inputs, db: db, filter: reading.filter, detection: detection, detect: !noDetect, threads: threading.threads, files: files.limits)
    }
}

func defaultName(_ path: String) -> String {
    var base = path.split(separator: "/").last.map(String.init) ?? "capture"
    for ext in [".gz", ".pcapng", ".pcap", ".cap"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
    return base.isEmpty ? "capture" : base
}
