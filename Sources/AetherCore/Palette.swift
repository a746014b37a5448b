/// The one palette of the report and the live page: a colour per protocol class and severity,
/// chosen to stay apart for the common colour-vision deficiencies (and every use also prints a
/// label, so nothing is told by colour alone).
public enum Palette {
    public static let protocols: [(name: String, color: String)] = [
        ("tcp", "#3b6fb6"), ("udp", "#e08a2e"), ("icmp", "#3a9a5b"), ("icmpv6", "#7cc08f"),
        ("other_ip", "#9b59b6"), ("arp", "#8c8c8c"), ("other", "#c0392b"),
    ]
    public static let severities: [(name: String, color: String)] = [("critical", "#7d1a5c"), ("high", "#c0392b"), ("medium", "#e08a2e"), ("low", "#3b6fb6")]
    public static let fallback = "#666666"

    /// The pages' own colours, as CSS custom properties (`--bg`, `--panel` …): the report and the
    /// live page's light theme share `light`; the live page starts dark; `print` is for paper.
    public static let light: [(name: String, color: String)] = [
        ("bg", "#f5f7fa"), ("panel", "#fff"), ("line", "#dde2ea"), ("fg", "#1d2330"), ("muted", "#5b6577"), ("accent", "#3b6fb6"),
        ("flash", "#fff3c4"), ("ok", "#2e7d4f"), ("bad", "#c0392b"), ("head", "#eef1f6"), ("code", "#f4f6f9"), ("grid", "#e6e9ef"),
        ("badge-text", "#fff"), ("backdrop", "rgba(0,0,0,.55)"),
    ]
    public static let dark: [(name: String, color: String)] = [
        ("bg", "#0d1117"), ("panel", "#161b22"), ("line", "#30363d"), ("fg", "#e6edf3"), ("muted", "#8b949e"), ("accent", "#58a6ff"),
        ("flash", "#3d2f00"), ("ok", "#3fb950"), ("bad", "#f85149"), ("head", "#161b22"), ("code", "#161b22"), ("grid", "#30363d"),
        ("badge-text", "#fff"), ("backdrop", "rgba(0,0,0,.55)"),
    ]
    public static let print: [(name: String, color: String)] = [("bg", "#fff"), ("panel", "#fff"), ("line", "#ccc"), ("fg", "#000"), ("muted", "#444")]

    /// A port scan's coverage chart: open, probed and closed, and not probed.
    public static let portOpen = "#3a9a5b"
    public static let portProbed = "#c0392b"
    public static let portUnprobed = "#eee"

    /// One set as CSS declarations (`--bg:#f5f7fa;…`), for a `:root` rule.
    public static func variables(_ set: [(name: String, color: String)]) -> String { set.map { "--\($0.name):\($0.color)" }.joined(separator: ";") }

    /// The markers a page's CSS file holds for the sets (`Asset.filled`).
    public static var cssMarkers: [String: String] {
        ["/*@light*/": variables(light), "/*@dark*/": variables(dark), "/*@print*/": variables(print), "/*@severity*/": severityCSS]
    }

    public static func color(ofProtocol name: String) -> String { protocols.first { $0.name == name }?.color ?? fallback }
    public static func color(ofSeverity name: String) -> String { severities.first { $0.name == name }?.color ?? fallback }

    /// CSS rules giving each severity badge its colour (`.sev.high` …).
    public static var severityCSS: String { severities.map { ".sev.\($0.name){background:\($0.color)}" }.joined() }

    /// The protocol colours as a JavaScript object literal, for the live page's charts.
    public static var protocolsJS: String { "{" + protocols.map { "\($0.name):'\($0.color)'" }.joined(separator: ",") + "}" }
}
