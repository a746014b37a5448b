import AetherDecode

// DNS (UDP and TCP framing), TLS hellos, HTTP heads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let b = UnsafeRawBufferPointer(start: data, count: size)
    _ = DNSParser.parse(b)
    _ = DNSParser.parseTCP(b)
    _ = TLSParser.parseClientHello(b)
    _ = TLSParser.serverHelloVersion(b)
    _ = HTTPParser.parseRequest(b)
    _ = HTTPParser.parseStatus(b)
    return 0
}
