import AetherCore
import AetherFlows

/// Per-capture counts the pipeline keeps while reading.
public struct CaptureCounts: Sendable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var wireBytes: UInt64 = 0
    public var truncated: UInt64 = 0
    public var outOfOrder: UInt64 = 0
    public var filteredOut: UInt64 = 0
    public var tcp: UInt64 = 0, udp: UInt64 = 0, icmp: UInt64 = 0, icmpv6: UInt64 = 0
    public var otherIP: UInt64 = 0, arp: UInt64 = 0, other: UInt64 = 0
    public var ipv6: UInt64 = 0
    public var vlan: UInt64 = 0
    /// Packets whose network layer was not reached, by reason (`Undecoded` codes).
    public var undecoded: UInt64 = 0
    public var undecodedReasons: [UInt32: UInt64] = [:]
    public var firstTime = Int64.max
    public var lastTime = Int64.min
    public init() {}

    @inline(__always) public mutating func count(_ m: PacketMeta) {
        packets += 1
        bytes += UInt64(m.capturedLength)
        wireBytes += UInt64(m.wireLength)
        if m.capturedLength < m.wireLength { truncated += 1 }
        if m.timestamp < firstTime { firstTime = m.timestamp }
        if m.timestamp > lastTime { lastTime = m.timestamp }
        if m.vlanTags > 0 { vlan += 1 }
        if m.undecoded != 0 {
            undecoded += 1
            undecodedReasons[m.undecoded, default: 0] += 1
        }
        switch m.network {
        case .ipv4, .ipv6:
            if m.network == .ipv6 { ipv6 += 1 }
            if m.outer.src == .zero && m.outer.dst == .zero && m.outer.proto == 0 { other += 1; return }
            switch m.outer.proto {
            case IPProto.tcp: tcp += 1
            case IPProto.udp: udp += 1
            case IPProto.icmp: icmp += 1
            case IPProto.icmpv6: icmpv6 += 1
            default: otherIP += 1
            }
        case .arp: arp += 1
        default: other += 1
        }
    }

    /// The protocol class used by `series` and `stats`.
    @inline(__always) public static func protocolClass(_ m: PacketMeta) -> Int {
        switch m.network {
        case .ipv4, .ipv6:
            switch m.outer.proto {
            case IPProto.tcp: return 0
            case IPProto.udp: return 1
            case IPProto.icmp: return 2
            case IPProto.icmpv6: return 3
            default: return 4
            }
        case .arp: return 5
        default: return 6
        }
    }
    public static let protocolNames = ["tcp", "udp", "icmp", "icmpv6", "other_ip", "arp", "other"]
}

/// One DNS transaction as stored: a query, its response, or both.
public struct DNSRow: Sendable {
    public var ts: Int64
    public var flowID: Int64
    public var hasQuery: Bool
    public var hasResponse: Bool
    public var id: UInt16
    public var name: String
    public var qtype: UInt16
    public var rcode: UInt8
    public var answers: String

    public init(
        ts: Int64, flowID: Int64, hasQuery: Bool, hasResponse: Bool, id: UInt16,
        name: String, qtype: UInt16, rcode: UInt8, answers: String
    ) {
        self.ts = ts; self.flowID = flowID; self.hasQuery = hasQuery; self.hasResponse = hasResponse
        self.id = id; self.name = name; self.qtype = qtype; self.rcode = rcode; self.answers = answers
    }
}

public struct TLSRow: Sendable {
    public var ts: Int64
    public var flowID: Int64
    public var serverName: String?
    public var version: String
    public var alpn: String
    public var ja4: String
    public var serverVersion: String?
    public init(ts: Int64, flowID: Int64, serverName: String?, version: String, alpn: String, ja4: String) {
        self.ts = ts; self.flowID = flowID; self.serverName = serverName; self.version = version; self.alpn = alpn; self.ja4 = ja4
    }
}

/// A certificate a server presented in clear (TLS 1.2 and earlier), `depth` 0 for its own.
public struct X509Row: Sendable {
    public var ts: Int64
    public var flowID: Int64
    public var depth: Int
    public var subject: String
    public var issuer: String
    public var serial: String
    public var notBefore: Int64
    public var notAfter: Int64
    public var keyType: String
    public var keyBits: Int
    public var san: [String]
    public var selfSigned: Bool
    public init(
        ts: Int64, flowID: Int64, depth: Int, subject: String, issuer: String, serial: String, notBefore: Int64, notAfter: Int64,
        keyType: String, keyBits: Int, san: [String], selfSigned: Bool
    ) {
        self.ts = ts; self.flowID = flowID; self.depth = depth; self.subject = subject; self.issuer = issuer; self.serial = serial
        self.notBefore = notBefore; self.notAfter = notAfter; self.keyType = keyType; self.keyBits = keyBits; self.san = san
        self.selfSigned = selfSigned
    }
}

public struct HTTPRow: Sendable {
    public var ts: Int64
    public var flowID: Int64
    public var method: String
    public var host: String?
    public var uri: String
    public var userAgent: String?
    public var status: Int?
    public init(ts: Int64, flowID: Int64, method: String, host: String?, uri: String, userAgent: String?) {
        self.ts = ts; self.flowID = flowID; self.method = method; self.host = host; self.uri = uri; self.userAgent = userAgent
    }
}

/// A file that crossed the wire (an HTTP body, for now): what Zeek's files.log holds, and its
/// content when it was kept for `aether extract`.
public struct FileRow: Sendable {
    public var ts: Int64
    public var flowID: Int64
    /// The protocol that carried it (`HTTP`).
    public var source: String
    /// Sent by the connection's originator (an upload), not its responder.
    public var isOrig: Bool
    /// The name the protocol gave, as sent (made safe only when written out).
    public var name: String?
    /// By content (`FileMagic`), not as declared.
    public var mimeType: String
    public var size: Int64
    /// The length the protocol declared, when it did.
    public var totalBytes: Int64?
    public var missingBytes: Int64
    /// Empty when the file is not whole (`problem` says why).
    public var md5: String
    public var sha1: String
    public var sha256: String
    public var problem: String?
    /// Nil when not kept (larger than the extraction limit, or not whole).
    public var content: [UInt8]?
    public init(
        ts: Int64, flowID: Int64, source: String, isOrig: Bool, name: String?, mimeType: String, size: Int64, totalBytes: Int64?,
        missingBytes: Int64, md5: String, sha1: String, sha256: String, problem: String?, content: [UInt8]?
    ) {
        self.ts = ts; self.flowID = flowID; self.source = source; self.isOrig = isOrig; self.name = name; self.mimeType = mimeType
        self.size = size; self.totalBytes = totalBytes; self.missingBytes = missingBytes; self.md5 = md5; self.sha1 = sha1
        self.sha256 = sha256; self.problem = problem; self.content = content
    }
}
