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

func openStore(_ path: String, readOnly: Bool) throws -> Store {
    do { return try Store(path: path, readOnly: readOnly) } catch let e as StoreError {
        throw BadInput(message: e.message)
    }
}

/// Ingests and reports each file's outcome; throws exit 1 when any input was bad.
func loadRules(_ path: String?) throws -> DetectorConfig {
    guard let path else { return DetectorConfig() }
    guard let text = readText(path) else { throw BadInput(message: "\(path): cannot read rules file") }
    do { return try DetectorConfig.parse(text) } catch let e as ConfigError { throw BadInput(message: "\(path): \(e.message)") }
}

func readText(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes += buf[0..<n]
        if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Rules from a file, with `--internal` applied (given networks turn inference off) and the
/// `--intel` files loaded (their bad lines reported on stderr, one each, and skipped).
func loadRules(_ path: String?, internal nets: String?, intel: [String] = []) throws -> DetectorConfig {
    var c = try loadRules(path)
    if let nets {
        do { try c.set("internal_networks", nets, line: 0) } catch let e as ConfigError { throw BadInput(message: "--internal: \(e.message)") }
        c.internalExplicit = true
    }
    if !intel.isEmpty {
        let set = IntelSet()
        for file in intel {
            do { try set.load(file) } catch let e as RecordInputError { throw BadInput(message: "--intel: \(e.message)") }
        }
        for p in set.problems.prefix(20) { fputs("aether: intel: \(VisibleText.of(p)) (skipped)\n", stderr) }
        if set.problems.count > 20 { fputs("aether: intel: \(set.problems.count - 20) more lines skipped\n", stderr) }
        fputs("aether: intel: \(set.entries.count) indicators from \(intel.count) file(s)\n", stderr)
        c.intel = set
    }
    return c
}

/// `--intel`, shared by every command that runs the detectors.
struct IntelOption: ParsableArguments {
    @Option(
        name: .customLong("intel"),
        help:
            "indicators to match (repeatable): a Zeek intel file (#fields indicator, indicator_type, meta.source, meta.desc) or a list of addresses, networks and domains"
    )
    var files: [String] = []
}

/// `--rules`, `--internal` and `--intel`: what every command that runs the detectors takes.
struct DetectionOptions: ParsableArguments {
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @Option(help: "internal networks, comma-separated (default: configured, or inferred when no host is in them)") var `internal`: String?
    @OptionGroup var intel: IntelOption

    /// The settings in force: the rules file's, the internal networks and the intel given.
    func config() throws -> DetectorConfig { try loadRules(rules, internal: `internal`, intel: intel.files) }
}

/// `--filter`: a BPF expression (libpcap's) applied while reading.
struct FilterOption: ParsableArguments {
    @Option(help: "BPF filter applied while reading") var filter: String?
}

/// `--force`: an existing output file (a report, carved packets) is replaced; a capture or
/// store the command reads never is.
struct ReplaceOption: ParsableArguments {
    @Flag(name: .customLong("force"), help: "replace an existing output file (never an input)") var replace = false
}

/// Every input is a regular file or a folder; checked before a store is created.
func checkInputs(_ inputs: [String]) throws {
    for i in inputs {
        do { try EvidenceFiles.checkInput(i) } catch let e as FileRefusal { throw BadInput(message: e.message) }
    }
}

/// `--keep-files`, shared by the commands that ingest.
struct FileOptions: ParsableArguments {
    @Flag(help: "keep the content of files that cross the wire (up to 64 MB each) for `aether extract`; their hashes are always kept")
    var keepFiles = false

    @Option(help: "digests of each whole file: all (MD5, SHA-1, SHA-256), sha256, or none (files are still logged; intel's file hashes need them)")
    var fileHashes = FileHashes.all

    func validate() throws {
        // `aether extract` checks each file's SHA-256 before it writes it.
        if keepFiles && fileHashes == .none { throw ValidationError("--keep-files needs --file-hashes sha256 or all") }
    }

    var limits: FileLimits {
        var l = FileLimits()
        if keepFiles { l.extractBytes = FileLimits.keptFileBytes }
        l.hashes = fileHashes
        return l
    }
}

extension FileHashes: ExpressibleByArgument {}

/// `--threads`, shared by every command that runs the pipeline.
struct ThreadOptions: ParsableArguments {
    @Option(help: "threads for decode, connections, detectors and the store (default: the machine's cores; the output is the same for any number)")
    var threads: Int = Pipeline.defaultThreads

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1…256") }
    }
}

/// `--db FILE`, the store a command reads: one declaration for every command that takes it.
struct StoreOption: ParsableArguments {
    @Option(help: "store file") var db: String
}
