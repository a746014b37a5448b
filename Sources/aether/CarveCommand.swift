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

struct Carve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy an alert's or a connection's packets from the original captures into a pcap.")
    @OptionGroup var store: StoreOption
    var db: String { store.db }
    @Option(help: "alert id") var alert: Int64?
    @Option(help: "connection (flow) id") var flow: Int64?
    @Option(name: [.short, .customLong("output")], help: "pcap (or pcapng when link types differ) to write") var output: String
    @OptionGroup var replacing: ReplaceOption
    var force: Bool { replacing.replace }

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
