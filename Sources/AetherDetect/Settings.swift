import AetherCore

/// The rules file's settings: each detector declares its own beside its logic
/// (`ScanDetector.settings`, …); they come in the order the detectors are registered
/// (`DetectionEngine.families`), which `aether rules` and the report follow.
extension DetectorConfig {
    public static let registry: [Setting] = [scope] + DetectionEngine.families.flatMap { $0.settings } + allowLists

    /// The engine's: which side is monitored.
    static let scope = Setting(
        "internal_networks", "networks counted as internal (RFC 1918, CGNAT, link-local, loopback, ULA)",
        show: { Setting.list($0.internalNetworks) },
        assign: { c, v, line in
            let given = try Setting.networks(v, line)
            if given != DetectorConfig().internalNetworks { c.internalExplicit = true }
            c.internalNetworks = given
        })

    /// Every detector's allow-lists.
    static let allowLists: [Setting] = [
        .networks("allow.sources", \.allowSources, "never alert on these sources (comma-separated networks)"),
        .networks("allow.destinations", \.allowDestinations, "never alert on these destinations"),
    ]

    /// Each setting: key, current value, one line of meaning.
    public var settings: [(String, String, String)] { Self.registry.map { ($0.key, $0.show(self), $0.meaning) } }

    /// Reads `key = value` lines; `#` starts a comment. Unknown keys are an error.
    public static func parse(_ text: String) throws -> DetectorConfig {
        var c = DetectorConfig()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let t = line.trimmingSpaces
            if t.isEmpty { continue }
            let kv = t.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard kv.count == 2 else { throw ConfigError("line \(n + 1): expected key = value") }
            try c.set(kv[0], kv[1], line: n + 1)
        }
        return c
    }

    public mutating func set(_ key: String, _ value: String, line: Int) throws {
        guard let setting = Self.registry.first(where: { $0.key == key || $0.aliases.contains(key) }) else {
            throw ConfigError("line \(line): unknown setting '\(key)' (aether rules lists them)")
        }
        try setting.assign(&self, value, line)
    }
}
