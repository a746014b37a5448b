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

/// Rules from a file, with `--internal` applied: given networks turn inference off.
func loadRules(_ path: String?, internal nets: String?) throws -> DetectorConfig {
    var c = try loadRules(path)
    if let nets {
        do { try c.set("internal_networks", nets, line: 0) } catch let e as ConfigError { throw BadInput(message: "--internal: \(e.message)") }
        c.internalExplicit = true
    }
    return c
}

/// Every input is a regular file or a folder; checked before a store is created.
func checkInputs(_ inputs: [String]) throws {
    for i in inputs {
        do { try EvidenceFiles.checkInput(i) } catch let e as FileRefusal { throw BadInput(message: e.message) }
    }
}

/// `--threads`, shared by every command that runs the pipeline.
struct ThreadOptions: ParsableArguments {
    @Option(help: "threads for decode, connections, detectors and the store (default: the machine's cores; the output is the same for any number)")
    var threads: Int = Pipeline.defaultThreads

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1…256") }
    }
}

func runIngest(
    _ inputs: [String], db: String, filter: String?, rules: String? = nil, internal nets: String? = nil, detect: Bool = true,
    threads: Int = Pipeline.defaultThreads
) throws -> Store {
    let config = try loadRules(rules, internal: nets)
    try checkInputs(inputs)
    let store = try openStore(db, readOnly: false)
    let pipeline: Pipeline
    do {
        var options = IngestOptions(filter: filter, progress: true, detect: detect, rules: config)
        options.threads = threads
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
    @Option(help: "BPF filter applied while reading") var filter: String?
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @Option(help: "internal networks, comma-separated (default: configured, or inferred when no host is in them)") var `internal`: String?
    @Flag(name: .customLong("no-detect"), help: "store only; run no detectors") var noDetect = false
    @OptionGroup var threading: ThreadOptions

    func run() throws {
        _ = try runIngest(inputs, db: db, filter: filter, rules: rules, internal: `internal`, detect: !noDetect, threads: threading.threads)
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ingest captures and analyze them.")
    @Argument(help: "pcap, pcapng or gzip files, or folders of them") var inputs: [String]
    @Option(help: "store file (default: reports/NAME.sqlite)") var db: String?
    @Option(help: "HTML report to write (default: reports/NAME.html)") var report: String?
    @Option(help: "BPF filter applied while reading") var filter: String?
    @Option(help: "detector settings file (see aether rules)") var rules: String?
    @Option(help: "internal networks, comma-separated (default: configured, or inferred when no host is in them)") var `internal`: String?
    @Flag(help: "replace an existing report file") var force = false
    @OptionGroup var threading: ThreadOptions

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
        do { _ = try runIngest(inputs, db: dbPath, filter: filter, rules: rules, internal: `internal`, threads: threading.threads) } catch let e as ExitCode
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

func defaultName(_ path: String) -> String {
    var base = path.split(separator: "/").last.map(String.init) ?? "capture"
    for ext in [".gz", ".pcapng", ".pcap", ".cap"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
    return base.isEmpty ? "capture" : base
}

func renderStats(_ s: StoreStats, path: String) -> String {
    var lines: [String] = []
    func row(_ k: String, _ v: String) { lines.append(k + String(repeating: " ", count: max(1, 22 - k.count)) + v) }
    row("Store:", path)
    row("Captures:", "\(s.captures)" + (s.incomplete > 0 ? " (\(s.incomplete) incomplete)" : ""))
    row("Packets:", "\(s.packets)")
    row("Data size:", "\(s.wireBytes) bytes on the wire, \(s.bytes) captured")
    if let f = s.first, let l = s.last {
        row("First packet:", Timestamp(nanoseconds: f).iso8601)
        row("Last packet:", Timestamp(nanoseconds: l).iso8601)
        row("Duration:", String(format1: Double(l - f) / 1e9) + " s")
    }
    row("Conversations:", "\(s.flows)")
    row("Connections:", "\(s.connections) (Zeek model)")
    row("Protocols:", s.protocols.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    row("IPv6 packets:", "\(s.ipv6Packets)")
    row("VLAN packets:", "\(s.vlanPackets)")
    row("Truncated packets:", "\(s.truncatedPackets)")
    if s.undecoded > 0 {
        row("Undecoded packets:", "\(s.undecoded): " + s.undecodedReasons.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
    }
    if s.packets > 0 {
        row("Store packet bytes:", "\(s.chunkBytes) (\(String(format1: Double(s.chunkBytes) / Double(s.packets))) per packet)")
    }
    return lines.joined(separator: "\n")
}

/// "No alerts." only when the packets were seen: a capture the decoder could not read is blind, not clean.
func noAlerts(_ s: StoreStats) -> String {
    guard s.undecoded > 0 else { return "No alerts." }
    let reasons = s.undecodedReasons.prefix(3).map(\.0).joined(separator: ", ")
    if s.undecoded * 2 >= s.packets {
        return "No conclusion: \(s.undecoded) of \(s.packets) packets could not be decoded (\(reasons)); the detectors did not see them."
    }
    return "No alerts on the decoded packets; \(s.undecoded) of \(s.packets) could not be decoded (\(reasons))."
}

extension String {
    init(format1 v: Double) {
        let r = (v * 100).rounded() / 100
        self = String(r)
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts for a store.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Flag(help: "JSON with the ground truth's keys") var json = false

    func run() throws {
        let store = try openStore(db, readOnly: true)
        let s = try store.stats()
        print(json ? s.json.render() : renderStats(s, path: db))
    }
}

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

extension String {
    init(format6 v: Double) {
        let micros = Int64((v * 1e6).rounded())
        let frac = String(micros % 1_000_000)
        self = "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
    }
}

func uid(_ id: Int64) -> String { connectionUID(id) }

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

struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Detections in a store.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Flag(help: "JSON array with kind, src, dst or dsts, ports, proto, start, end, evidence") var json = false

    func run() throws {
        let store = try openStore(db, readOnly: true)
        let alerts = try store.alerts()
        print(json ? JSON.array(alerts).render() : (alerts.isEmpty ? noAlerts(try store.stats()) : renderAlerts(alerts)))
    }
}

func renderAlerts(_ alerts: [JSON]) -> String {
    var lines = ["id\tseverity\tkind\tsrc\ttarget\tports\tstart\tflows"]
    for a in alerts {
        guard case .object(let o) = a else { continue }
        let d = Dictionary(o, uniquingKeysWith: { a, _ in a })
        func str(_ k: String) -> String {
            switch d[k] {
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case .double(let v)?: return Timestamp(nanoseconds: Int64(v * 1e9)).iso8601
            case .array(let l)?:
                let items = l.prefix(6).map { j -> String in
                    if case .string(let s) = j { return s }; if case .int(let i) = j { return String(i) }; return "?"
                }
                return items.joined(separator: ",") + (l.count > 6 ? ",… (\(l.count))" : "")
            default: return "-"
            }
        }
        let target = d["dst"] != nil ? str("dst") : str("dsts")
        lines.append([str("id"), str("severity"), str("kind"), str("src"), target, str("ports"), str("start"), str("flows")].joined(separator: "\t"))
    }
    return lines.joined(separator: "\n")
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print detector settings (defaults, or a rules file applied) with their meaning.")
    @Option(help: "rules file to check and show") var rules: String?

    func run() throws {
        let c = try loadRules(rules)
        print("# AetherLens detector settings. Copy to a file, change values, pass it with --rules FILE.")
        print("# Internal networks: when no host of a capture is in internal_networks (and they were not changed")
        print("# here or given with --internal), the originator of each connection is taken as the monitored side;")
        print("# stats --json (internal_networks) and the report state which assumption was made.")
        for (k, v, meaning) in c.settings {
            print("# \(meaning)")
            print("\(k) = \(v)")
        }
    }
}

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
    @Flag(help: "replace an existing report file") var force = false

    func run() throws {
        try writeReport(db: db, to: output, force: force, quiet: false)
    }
}

struct Carve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy an alert's or a connection's packets from the original captures into a pcap.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Option(help: "alert id") var alert: Int64?
    @Option(help: "connection (flow) id") var flow: Int64?
    @Option(name: [.short, .customLong("output")], help: "pcap (or pcapng when link types differ) to write") var output: String
    @Flag(help: "replace an existing output file") var force = false

    func validate() throws {
        if (alert == nil) == (flow == nil) { throw ValidationError("give exactly one of --alert and --flow") }
    }

    func run() throws {
        let store = try openStore(db, readOnly: true)
        let carver = Carver(store: store)
        do {
            let flows = try alert.map { try carver.flows(ofAlert: $0) } ?? [flow!]
            let n = try carver.carve(flows: flows, to: output, force: force, protected: [db])
            print("carved \(n) packets of \(flows.count) connection(s) to \(output)")
        } catch let e as CarveError {
            throw BadInput(message: e.message)
        } catch let e as FileRefusal {
            throw BadInput(message: e.message)
        } catch let e as CaptureError {
            throw BadInput(message: e.description)
        }
    }
}
