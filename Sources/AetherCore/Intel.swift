#if canImport(Glibc)
    import Glibc
#endif

/// Indicators a responder already has (a feed, a colleague, a previous case), as Zeek's intel
/// framework reads them: tab-separated files with a `#fields` line naming `indicator`,
/// `indicator_type` (`Intel::ADDR`, `Intel::SUBNET`, `Intel::DOMAIN`, `Intel::URL`,
/// `Intel::FILE_HASH`, `Intel::CERT_HASH`, `Intel::JA3`, and `Intel::JA4` as an extension),
/// and optionally `meta.source` and `meta.desc`. A file without a `#fields` line is a plain list,
/// one address, network or domain per line. A bad line is kept as a problem with its line
/// number and does not stop the load.
///
/// Every lookup is a hash lookup: addresses in one set, networks in one set per prefix length
/// (at most 129 lookups, one per length in use), names and hashes in one set each. A domain
/// indicator also matches its subdomains (`evil.example` matches `a.evil.example`).
public final class IntelSet: @unchecked Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case addr = "Intel::ADDR", subnet = "Intel::SUBNET", domain = "Intel::DOMAIN", url = "Intel::URL"
        case fileHash = "Intel::FILE_HASH", certHash = "Intel::CERT_HASH", ja3 = "Intel::JA3", ja4 = "Intel::JA4"
    }

    public struct Entry: Sendable {
        public let indicator: String
        public let kind: Kind
        public let source: String
        public let desc: String
    }

    public private(set) var entries: [Entry] = []
    /// Lines not loaded: "FILE: line N: why".
    public private(set) var problems: [String] = []
    private var addresses: [IPAddress: Int] = [:]
    private var networks: [Int: [IPAddress: Int]] = [:]
    private var prefixes: [Int] = []
    private var names: [Kind: [String: Int]] = [:]

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    /// Reads one intel file; problems are kept (`problems`), read errors thrown.
    public func load(_ path: String) throws {
        var fields: [String: Int]?
        var number = 0
        try RecordLines.read(path) { line in
            number += 1
            if line.hasPrefix("#fields") {
                let cols = line.split(separator: "\t", omittingEmptySubsequences: false).dropFirst().map(String.init)
                fields = Dictionary(cols.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
                if fields?["indicator"] == nil || fields?["indicator_type"] == nil {
                    problems.append("\(path): line \(number): #fields names no indicator and indicator_type")
                    fields = [:]
                }
                return
            }
            if line.hasPrefix("#") { return }
            if let fields {
                // Columns split on the bytes: splitting a String by Character walks grapheme
                // boundaries, which was most of loading a million lines.
                let cols = line.utf8.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                if cols.allSatisfy({ $0.trimmingSpaces.isEmpty }) { return }
                guard let ii = fields["indicator"], let ti = fields["indicator_type"], ii < cols.count, ti < cols.count else {
                    problems.append("\(path): line \(number): fewer columns than #fields names")
                    return
                }
                guard let kind = Kind(rawValue: cols[ti]) else {
                    problems.append("\(path): line \(number): unknown indicator_type \(VisibleText.of(cols[ti]))")
                    return
                }
                let meta = { (name: String) -> String in
                    guard let i = fields[name], i < cols.count, cols[i] != "-" else { return "" }
                    return cols[i]
                }
                add(cols[ii], kind, source: meta("meta.source"), desc: meta("meta.desc"), path: path, line: number)
            } else {
                let text = line.trimmingSpaces
                if text.isEmpty { return }
                let kind: Kind = text.contains("/") ? .subnet : (IPAddress(text) != nil ? .addr : .domain)
                add(text, kind, source: path, desc: "", path: path, line: number)
            }
        }
    }

    private func add(_ raw: String, _ kind: Kind, source: String, desc: String, path: String, line: Int) {
        let indicator = raw.trimmingSpaces
        let index = entries.count
        switch kind {
        case .addr:
            guard let a = IPAddress(indicator) else { return bad(path, line, "not an address: \(VisibleText.of(indicator))") }
            addresses[a] = addresses[a] ?? index
        case .subnet:
            guard let n = IPNetwork(indicator) else { return bad(path, line, "not a network: \(VisibleText.of(indicator))") }
            let masked = n.base.masked(toPrefix: n.prefix)
            if networks[n.prefix] == nil {
                networks[n.prefix] = [:]
                prefixes = networks.keys.sorted(by: >)
            }
            networks[n.prefix]![masked] = networks[n.prefix]![masked] ?? index
        default:
            let key = Self.normalized(indicator, kind)
            guard !key.isEmpty, key.utf8.count <= 4096 else { return bad(path, line, "empty or too long indicator") }
            if kind == .domain, key.contains("/") || key.contains(" ") { return bad(path, line, "not a domain: \(VisibleText.of(indicator))") }
            names[kind, default: [:]][key] = names[kind]?[key] ?? index
        }
        entries.append(Entry(indicator: indicator, kind: kind, source: source, desc: desc))
    }

    private func bad(_ path: String, _ line: Int, _ why: String) { problems.append("\(path): line \(line): \(why)") }

    static func normalized(_ s: String, _ kind: Kind) -> String {
        switch kind {
        case .domain:
            var t = s.lowercased()
            while t.hasSuffix(".") { t.removeLast() }
            return t
        case .url:
            // Zeek's URL indicators carry no scheme.
            var t = s
            for scheme in ["http://", "https://"] where t.lowercased().hasPrefix(scheme) { t = String(t.dropFirst(scheme.count)) }
            return t.lowercased()
        default: return s.lowercased()
        }
    }

    /// The indicator an address matches: itself, or the longest network holding it.
    public func match(_ a: IPAddress) -> Entry? {
        if let i = addresses[a] { return entries[i] }
        for p in prefixes {
            if let i = networks[p]?[a.masked(toPrefix: p)] { return entries[i] }
        }
        return nil
    }

    /// The indicator a domain name matches: itself or a parent domain.
    public func match(domain name: String) -> Entry? {
        guard let table = names[.domain] else { return nil }
        var d = Self.normalized(name, .domain)
        while !d.isEmpty {
            if let i = table[d] { return entries[i] }
            guard let dot = d.firstIndex(of: ".") else { break }
            d = String(d[d.index(after: dot)...])
        }
        return nil
    }

    /// A URL (host and path, with or without its scheme), a file or certificate hash, or a JA3
    /// or JA4 fingerprint.
    public func match(_ value: String, as kind: Kind) -> Entry? {
        guard let table = names[kind] else { return nil }
        return table[Self.normalized(value, kind)].map { entries[$0] }
    }

    public func has(_ kind: Kind) -> Bool {
        switch kind {
        case .addr: return !addresses.isEmpty
        case .subnet: return !networks.isEmpty
        default: return !(names[kind]?.isEmpty ?? true)
        }
    }
}
