import AetherCore

/// A subscriber's packet filter: a small BPF-like language over the decoded packet (its
/// innermost IP layer): `[src|dst] host ADDR`, `[src|dst] net CIDR`, `[src|dst] port N`, `tcp`,
/// `udp`, `icmp`, joined by `and`, `or`, `not` and parentheses. Parsed once per subscription,
/// evaluated per packet without allocation.
package indirect enum EventFilter: Sendable, Equatable {
    case all
    case host(IPAddress, Direction)
    case net(IPNetwork, Direction)
    case port(UInt16, Direction)
    case proto(UInt8)
    case not(EventFilter)
    case and(EventFilter, EventFilter)
    case or(EventFilter, EventFilter)

    package enum Direction: Sendable, Equatable { case either, src, dst }

    package struct ParseError: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    /// One packet's fields, as the filter sees them.
    package struct Packet {
        package var src: IPAddress, dst: IPAddress
        package var srcPort: UInt16, dstPort: UInt16
        package var proto: UInt8
        package var hasPorts: Bool
    }

    package func matches(_ p: Packet) -> Bool {
        switch self {
        case .all: return true
        case .host(let a, let d): return pick(d, p.src == a, p.dst == a)
        case .net(let n, let d): return pick(d, n.contains(p.src), n.contains(p.dst))
        case .port(let n, let d): return p.hasPorts && pick(d, p.srcPort == n, p.dstPort == n)
        case .proto(let x): return p.proto == x || (x == IPProto.icmp && p.proto == IPProto.icmpv6)
        case .not(let f): return !f.matches(p)
        case .and(let a, let b): return a.matches(p) && b.matches(p)
        case .or(let a, let b): return a.matches(p) || b.matches(p)
        }
    }

    private func pick(_ d: Direction, _ s: Bool, _ t: Bool) -> Bool {
        switch d {
        case .either: return s || t
        case .src: return s
        case .dst: return t
        }
    }

    /// Parses the expression; the empty string is `all`. Limited in length and depth, since it
    /// comes from the network.
    package static func parse(_ text: String) throws -> EventFilter {
        guard text.utf8.count <= 1024 else { throw ParseError(description: "filter longer than 1024 bytes") }
        var tokens: [Substring] = []
        var current = Substring()
        for c in text {
            if c == "(" || c == ")" {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(Substring(String(c)))
            } else if c == " " || c == "\t" || c == "\n" {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        if tokens.isEmpty { return .all }
        var parser = Parser(tokens: tokens)
        let f = try parser.or(depth: 0)
        guard parser.position == tokens.count else { throw ParseError(description: "unexpected '\(tokens[parser.position])'") }
        return f
    }

    struct Parser {
        let tokens: [Substring]
        var position = 0

        var peek: Substring? { position < tokens.count ? tokens[position] : nil }

        mutating func next() throws -> Substring {
            guard position < tokens.count else { throw ParseError(description: "filter ends too soon") }
            defer { position += 1 }
            return tokens[position]
        }

        mutating func or(depth: Int) throws -> EventFilter {
            guard depth < 32 else { throw ParseError(description: "filter nested too deeply") }
            var f = try and(depth: depth)
            while peek == "or" || peek == "||" {
                position += 1
                f = .or(f, try and(depth: depth))
            }
            return f
        }

        mutating func and(depth: Int) throws -> EventFilter {
            var f = try unary(depth: depth)
            while peek == "and" || peek == "&&" {
                position += 1
                f = .and(f, try unary(depth: depth))
            }
            return f
        }

        mutating func unary(depth: Int) throws -> EventFilter {
            let t = try next()
            switch t {
            case "not", "!": return .not(try unary(depth: depth + 1))
            case "(":
                let f = try or(depth: depth + 1)
                guard try next() == ")" else { throw ParseError(description: "missing ')'") }
                return f
            case "tcp": return .proto(IPProto.tcp)
            case "udp": return .proto(IPProto.udp)
            case "icmp", "icmp6", "icmpv6": return .proto(IPProto.icmp)
            case "src", "dst":
                return try primitive(t == "src" ? .src : .dst)
            default:
                position -= 1
                return try primitive(.either)
            }
        }

        mutating func primitive(_ d: Direction) throws -> EventFilter {
            let kind = try next()
            switch kind {
            case "host":
                let v = try next()
                guard let a = IPAddress(String(v)) else { throw ParseError(description: "not an address: '\(v)'") }
                return .host(a, d)
            case "net":
                let v = String(try next())
                // A bare address is its own network, as in tcpdump.
                let whole = v.contains("/") ? v : IPAddress(v).map { v + ($0.isV4 ? "/32" : "/128") } ?? v
                guard let n = IPNetwork(whole) else { throw ParseError(description: "not a network: '\(v)'") }
                return .net(n, d)
            case "port":
                let v = try next()
                guard let n = UInt16(v) else { throw ParseError(description: "not a port: '\(v)'") }
                return .port(n, d)
            default:
                // A bare address is a host, as in tcpdump.
                if let a = IPAddress(String(kind)) { return .host(a, d) }
                throw ParseError(description: "unknown term '\(kind)'")
            }
        }
    }
}
