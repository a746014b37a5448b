import AetherCore

extension Report {
    static let css = Asset.text(PackageResources.report_css).filled(["/*@low*/": Palette.color(ofSeverity: "low"), "/*@severity*/": Palette.severityCSS])

    static let script = Asset.text(PackageResources.report_js)
}
