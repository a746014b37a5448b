import AetherCore

extension Report {
    static let css = Asset.text(PackageResources.report_css).filled(Palette.cssMarkers.merging(["/*@low*/": Palette.color(ofSeverity: "low")]) { a, _ in a })

    static let script = Asset.text(PackageResources.report_js)
}
