import AetherCore
import AetherDecode

// DNS (UDP and TCP framing), TLS hellos, servers' flights and their certificates (X.509 DER),
// HTTP heads; the file streams (HTTP messages both ways, SMTP/MIME, SMB2) fed the input in two
// pieces cut where its first byte says, and FTP's control lines.
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
    let cut = size > 0 ? Int(b[0]) % (size + 1) : 0
    let pieces = [UnsafeRawBufferPointer(rebasing: b[..<cut]), UnsafeRawBufferPointer(rebasing: b[cut...])]
    var requests = HTTPMessageStream(fromServer: false), responses = HTTPMessageStream(fromServer: true)
    var mail = SMTPMessageStream(), smb = SMB2Stream()
    var n = 0
    for p in pieces {
        requests.feed(p) { _ in n += 1 }
        responses.feed(p) { _ in n += 1 }
        mail.feed(p) { _ in n += 1 }
        smb.feed(p) { _ in n += 1 }
    }
    responses.close { _ in n += 1 }
    if let (verb, argument) = FTPControl.command(b) { _ = FTPControl.active(verb: verb, argument: argument) }
    if let (code, text) = FTPControl.reply(b), let a = IPAddress("10.0.0.1") { _ = FTPControl.passive(code: code, text: text, server: a) }
    return n < 0 ? 1 : 0
}
