import AetherCore
import AetherFlows

/// Which fragment of the next file continues a connection that a file's end cut, the rule one
/// connection table reading both files follows. It lives here once: the Spark job only brings
/// the candidate pairs together (same `key`, consecutive files) and `aether join-cuts` decides.
public enum CutContinuation {
    /// The longest idle timeout (TCP's): a fragment that began later in its file cannot
    /// continue anything.
    public static let longestTimeout = ConnectionTable.Timeouts().tcp

    /// The direction-free 5-tuple both sides of a pair share (`k` in `finished` records).
    public static func key(_ c: Connection) -> String {
        let k = ConnectionKey(c.origAddress, c.origPort, c.respAddress, c.respPort, c.proto)
        return "\(k.proto)|\(k.a)|\(k.ports >> 16)|\(k.b)|\(k.ports & 0xFFFF)"
    }

    /// Whether `head` (a fragment of the next file, whose first packet came `head.firstTime -
    /// fileStart` into it) continues `cut`, which ended its file idle for at most `timeout`.
    public static func continues(cut: Connection, timeout: Int64, head: Connection, fileStart: Int64) -> Bool {
        guard head.firstTime - fileStart <= longestTimeout else { return false }
        let gap = head.firstTime - cut.lastTime
        guard gap >= 0 && gap <= timeout else { return false }
        // A fresh SYN starts a new connection only where the old one had ended (Zeek's
        // connection reuse); a retransmitted SYN or one into a live connection goes on with it.
        let ended: (EndpointState) -> Bool = { $0 == .closed || $0 == .reset }
        return !(head.proto == IPProto.tcp && opensWithSYN(head.history.description) && (ended(cut.origState) || ended(cut.respState)))
    }

    /// The fragment's first packet was a pure SYN from its originator.
    static func opensWithSYN(_ history: String) -> Bool {
        let h = history.hasPrefix("^") ? history.dropFirst() : Substring(history)
        return h.first == "S"
    }

    /// Of the pairs that continue, the earliest head per cut connection: `later → earlier`.
    public static func matches(_ pairs: [(cut: Connection, head: Connection)]) -> [Int64: Int64] {
        var best: [Int64: (Int64, Int64)] = [:]
        for (a, b) in pairs {
            if let (t, id) = best[a.id], t < b.firstTime || (t == b.firstTime && id <= b.id) { continue }
            best[a.id] = (b.firstTime, b.id)
        }
        var out: [Int64: Int64] = [:]
        for (earlier, (_, later)) in best { out[later] = earlier }
        return out
    }

    /// Each later fragment's chain root: the id one table would have given it.
    public static func roots(_ matches: [Int64: Int64]) -> [Int64: Int64] {
        var out: [Int64: Int64] = [:]
        for later in matches.keys {
            var x = later
            var steps = 0
            while let a = matches[x], steps < 1 << 20 { x = a; steps += 1 }
            out[later] = x
        }
        return out
    }
}
