import AetherCore

extension AppProtocol {
    /// VNC: the server's RFB version string.
    public static let vnc = AppProtocol("vnc", .vnc, ports: [5900], probe: { p, server in server && p.begins(with: "RFB ") })
}
