import AetherCore
import AetherEngine
import AetherStore
import ArgumentParser
#if canImport(Glibc)
    import Glibc
#endif

/// Bad input: one line on stderr, exit status 1 (the command-line contract other tools rely on).
struct BadInput: Error {
    var message: String
}

struct Aether: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aether",
        abstract: "Offline-first network forensics: captures in, a queryable store and incident report out.",
        version: Aether.version,
        subcommands: [
            Analyze.self, Ingest.self, Stats.self, Alerts.self, Flows.self, ReportCommand.self, Carve.self, ExtractCommand.self, Tail.self, Query.self,
            Rules.self, Dissect.self,
            Export.self, SchemaCommand.self, ShardCommand.self, DetectCommand.self, JoinCutsCommand.self, JoinDNSCommand.self, ImportCommand.self,
        ])
}

extension Aether {
    /// `aether --version`: the release and what this build can do (gRPC is a package trait).
    static var version: String {
        #if GRPC
            let grpc = "on"
        #else
            let grpc = "off (build with --traits GRPC)"
        #endif
        return "aether 0.8.0 (store schema \(Schema.version); gRPC \(grpc))"
    }
}

// Usage errors exit 2, bad input 1, as other tools that call us expect.
do {
    var command = try Aether.parseAsRoot()
    try command.run()
} catch let e as BadInput {
    printError("aether: \(e.message)")
    exit(1)
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    let code = Aether.exitCode(for: error)
    if code == .success {
        print(Aether.fullMessage(for: error))
        exit(0)
    }
    let msg = Aether.fullMessage(for: error)
    if code == .validationFailure {
        printError(msg)
        exit(2)
    }
    printError("aether: \(msg)")
    exit(1)
}

/// Every line a command prints goes through `VisibleText`: record fields, query results and
/// file names reach the terminal shown, never obeyed (an ESC sequence, a bidi override).
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(VisibleText.of(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}
