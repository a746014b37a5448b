import AetherDecode

// DNS (UDP and TCP framing), TLS hellos, servers' flights and their certificates (X.509 DER),
// HTTP heads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let b = UnsafeRawBufferPointer(start: data, count: size)
    _ = DNSParser.parse(b)
    _ = DNSParser.parseTCP(b)
    _ = TLSParser.parseClientHello(b)
    _ = TLSParser.serverHelloVersion(b)
    let bytes = Array(b)
    _ = X509Parser.parse(bytes)
    if case .certificates(let body) = TLSParser.serverFlight(bytes), let chain = X509Parser.chain(body) {
        for der in chain { _ = X509Parser.parse(der) }
    }
    _ = HTTPParser.parseRequest(b)
    _ = HTTPParser.parseStatus(b)
    return 0
}
