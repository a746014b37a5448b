/// Every threshold the detectors use, with documented defaults. An analyst overrides any of
/// them from a rules file of `key = value` lines (`aether rules` prints this list).
public struct DetectorConfig: Sendable {
    /// Indicators to match (`--intel`); nil: none given.
    public var intel: IntelSet?
    public var internalNetworks: [IPNetwork] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
        "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128",
    ].compactMap(IPNetwork.init)
    /// The networks were given (`--internal`, or a rules file that changes them): no inference.
    public var internalExplicit = false
    /// Per-detector allow-lists: sources (or destinations) never reported.
    public var allowSources: [IPNetwork] = []
    public var allowDestinations: [IPNetwork] = []
    /// The values of settings that detectors declare in their own files (`DetectorSetting`), by
    /// key; a setting not given has its default.
    @usableFromInline var declared: [String: any Sendable] = [:]

    /// A setting declared beside its detector: `config[setting: .bruteAttempts]`.
    /// A key path to it (`\DetectorConfig[setting: …]`) is what `Setting`'s helpers take.
    @inlinable public subscript<Value>(setting s: DetectorSetting<Value>) -> Value {
        // A rules file that sets nothing leaves it empty: no lookup for a default.
        get { declared.isEmpty ? s.defaultValue : declared[s.key] as? Value ?? s.defaultValue }
        set { declared[s.key] = newValue }
    }

    public init() {}

    @inline(__always) public func isInternal(_ a: IPAddress) -> Bool {
        for n in internalNetworks where n.contains(a) { return true }
        return false
    }

    public func allowed(src: IPAddress, dst: IPAddress?) -> Bool {
        if allowSources.contains(where: { $0.contains(src) }) { return true }
        if let dst, allowDestinations.contains(where: { $0.contains(dst) }) { return true }
        return false
    }
}

/// A setting's value a detector declares in its own file, with its rules-file key and default:
/// a new detector's thresholds need no field here. Two settings are the same when their keys
/// are.
public struct DetectorSetting<Value: Sendable>: Hashable, Sendable {
    public let key: String
    public let defaultValue: Value

    @inlinable public init(_ key: String, default value: Value) {
        self.key = key
        defaultValue = value
    }

    public static func == (a: Self, b: Self) -> Bool { a.key == b.key }
    public func hash(into h: inout Hasher) { h.combine(key) }
}

/// One detector setting, declared beside the detector that reads it (as Zeek's scripts declare
/// their `&redef` options): its key in a rules file, one line of meaning, and how its value is
/// shown, checked and set. `DetectorConfig.registry` (AetherDetect) lists every detector's.
public struct Setting {
    public let key: String
    /// Older keys that set it too.
    public let aliases: [String]
    public let meaning: String
    public let show: (DetectorConfig) -> String
    public let assign: (inout DetectorConfig, String, Int) throws -> Void

    public init(
        _ key: String, aliases: [String] = [], _ meaning: String, show: @escaping (DetectorConfig) -> String,
        assign: @escaping (inout DetectorConfig, String, Int) throws -> Void
    ) {
        self.key = key
        self.aliases = aliases
        self.meaning = meaning
        self.show = show
        self.assign = assign
    }

    /// A whole number of things (at least `atLeast`: a smaller one is raised to it).
    public static func count(_ key: String, _ p: WritableKeyPath<DetectorConfig, Int>, atLeast: Int = 0, aliases: [String] = [], _ meaning: String) -> Setting {
        Setting(key, aliases: aliases, meaning, show: { "\($0[keyPath: p])" }, assign: { c, v, line in c[keyPath: p] = max(atLeast, try whole(key, v, line)) })
    }

    /// Whole seconds.
    public static func seconds(_ key: String, _ p: WritableKeyPath<DetectorConfig, Int64>, _ meaning: String) -> Setting {
        Setting(key, meaning, show: { "\($0[keyPath: p])" }, assign: { c, v, line in c[keyPath: p] = Int64(try whole(key, v, line)) })
    }

    public static func number(_ key: String, _ p: WritableKeyPath<DetectorConfig, Double>, _ meaning: String) -> Setting {
        Setting(
            key, meaning, show: { "\($0[keyPath: p])" },
            assign: { c, v, line in
                guard let d = Double(v), d >= 0 else { throw ConfigError("line \(line): \(key) needs a number") }
                c[keyPath: p] = d
            })
    }

    /// Comma-separated ports.
    public static func ports(_ key: String, _ p: WritableKeyPath<DetectorConfig, [UInt16]>, _ meaning: String) -> Setting {
        Setting(
            key, meaning, show: { list($0[keyPath: p]) },
            assign: { c, v, line in
                c[keyPath: p] = try v.split(separator: ",").filter { !String($0).trimmingSpaces.isEmpty }.map {
                    guard let port = UInt16(String($0).trimmingSpaces) else { throw ConfigError("line \(line): bad port '\($0)'") }
                    return port
                }
            })
    }

    /// Comma-separated networks (an address is its own /32 or /128).
    public static func networks(_ key: String, _ p: WritableKeyPath<DetectorConfig, [IPNetwork]>, _ meaning: String) -> Setting {
        Setting(key, meaning, show: { list($0[keyPath: p]) }, assign: { c, v, line in c[keyPath: p] = try networks(v, line) })
    }

    /// A setting a detector declares (`DetectorSetting`): its key and stored value come from it.
    public static func count(_ s: DetectorSetting<Int>, atLeast: Int = 0, aliases: [String] = [], _ meaning: String) -> Setting {
        count(s.key, \DetectorConfig[setting: s], atLeast: atLeast, aliases: aliases, meaning)
    }

    public static func seconds(_ s: DetectorSetting<Int64>, _ meaning: String) -> Setting { seconds(s.key, \DetectorConfig[setting: s], meaning) }

    public static func number(_ s: DetectorSetting<Double>, _ meaning: String) -> Setting { number(s.key, \DetectorConfig[setting: s], meaning) }

    public static func ports(_ s: DetectorSetting<[UInt16]>, _ meaning: String) -> Setting { ports(s.key, \DetectorConfig[setting: s], meaning) }

    public static func networks(_ v: String, _ line: Int) throws -> [IPNetwork] {
        try v.split(separator: ",").filter { !String($0).trimmingSpaces.isEmpty }.map {
            let s = String($0).trimmingSpaces
            if let n = IPNetwork(s) { return n }
            if let a = IPAddress(s) { return IPNetwork(a.isV4 ? "\(a)/32" : "\(a)/128")! }
            throw ConfigError("line \(line): bad network '\(s)'")
        }
    }

    public static func list<T>(_ v: [T]) -> String { v.map { "\($0)" }.joined(separator: ", ") }

    static func whole(_ key: String, _ v: String, _ line: Int) throws -> Int {
        guard let n = Int(v), n >= 0 else { throw ConfigError("line \(line): \(key) needs a whole number") }
        return n
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

extension String {
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
