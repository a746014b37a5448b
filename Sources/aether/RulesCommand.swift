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
