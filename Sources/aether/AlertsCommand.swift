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
            case .double(let v)?: return Timestamp.nanoseconds(fromSeconds: v).map { Timestamp(nanoseconds: $0).iso8601 } ?? "-"
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
