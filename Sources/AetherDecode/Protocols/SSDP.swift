import AetherCore

extension AppProtocol {
    /// SSDP: HTTP requests over UDP to port 1900 (M-SEARCH, NOTIFY), read with `HTTPParser` and
    /// kept as HTTP rows; it names no service.
    public static let ssdp = AppProtocol("ssdp", nil, ports: [], udp: [1900])
}
