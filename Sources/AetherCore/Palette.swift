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

    public static func color(ofProtocol name: String) -> String { protocols.first { $0.name == name }?.color ?? fallback }
    public static func color(ofSeverity name: String) -> String { severities.first { $0.name == name }?.color ?? fallback }

    /// CSS rules giving each severity badge its colour (`.sev.high` …).
    public static var severityCSS: String { severities.map { ".sev.\($0.name){background:\($0.color)}" }.joined() }

    /// The protocol colours as a JavaScript object literal, for the live page's charts.
    public static var protocolsJS: String { "{" + protocols.map { "\($0.name):'\($0.color)'" }.joined(separator: ",") + "}" }
}
