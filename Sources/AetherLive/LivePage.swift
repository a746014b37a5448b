import AetherCore

/// The live page, a war-room dashboard: self-contained like the report (inline CSS and JS, a
/// canvas chart drawn in the page), it talks only to the server it came from and reconnects by
/// itself. Dark unless the toggle (or `?theme=light`, or `?theme=auto` with a light system) says otherwise. Everything taken from a
/// packet is set as text, never parsed as markup.
enum LivePage {
    static let html = Asset.text(PackageResources.live_html).filled(["/*@css*/": css, "/*@script*/": script])

    static let css = Asset.text(PackageResources.live_css).filled(Palette.cssMarkers.merging(["/*@patterns*/": patternCSS]) { a, _ in a })

    /// Each protocol's fill also has its own hatching, so that the chart, its legend and the mix
    /// read without colour.
    static let hatches = ["45deg", "-45deg", "0deg", "90deg", "30deg", "-60deg", "135deg"]
    static var patternCSS: String {
        Palette.protocols.enumerated().map { i, p in
            ".p-\(p.name){background-color:\(p.color);background-image:repeating-linear-gradient(\(hatches[i % hatches.count]),rgba(255,255,255,.45) 0 2px,transparent 2px \(5 + i)px)}"
        }.joined()
    }

    static let script = Asset.text(PackageResources.live_js).filled(["/*@protocols*/ {}": Palette.protocolsJS])
}
