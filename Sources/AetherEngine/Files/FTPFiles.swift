import AetherCore
import AetherDecode
import AetherStore

/// Files over FTP: the control channel says where the next data connection goes (a PASV/EPSV
/// reply, a PORT/EPRT command) and what it carries (RETR: a download; STOR, APPE, STOU: an
/// upload; a listing is not a file). The data connection whose responder is that endpoint is
/// followed raw by `HTTPFiles` (its reassembler), the sender's bytes up to its FIN being the
/// file. What is held is bounded: `maxControls` control connections, `maxExpected` data
/// connections announced and not yet seen (the oldest go first), each for 5 minutes at most.
final class FTPFiles {
    static let maxControls = 1024
    static let maxExpected = 256
    static let expiry: Int64 = 300_000_000_000

    private struct Control {
        var client: IPAddress, server: IPAddress
        /// The endpoint the last PASV/EPSV reply or PORT/EPRT command named, until a command uses it.
        var endpoint: (IPAddress, UInt16)?
        var lastSeen: Int64
    }

    private struct Endpoint: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    private struct Expected {
        var name: String?
        var upload: Bool
        var client: IPAddress, server: IPAddress
        var time: Int64
    }

    private var controls: [Int64: Control] = [:]
    private var expected: [Endpoint: Expected] = [:]

    /// Whether a data connection is announced: only then do unfollowed segments need a look.
    var expecting: Bool { !expected.isEmpty }

    /// A segment of an FTP control connection (`client` its originator).
    func control(_ flowID: Int64, payload: UnsafeRawBufferPointer, fromClient: Bool, client: IPAddress, server: IPAddress, time: Int64) {
        if controls[flowID] == nil {
            if controls.count >= Self.maxControls {
                for (id, c) in controls.sorted(by: { $0.key < $1.key }) where c.lastSeen < time - Self.expiry { controls[id] = nil }
                if controls.count >= Self.maxControls { return }
            }
            controls[flowID] = Control(client: client, server: server, endpoint: nil, lastSeen: time)
        }
        controls[flowID]!.lastSeen = time
        if fromClient {
            guard let (verb, argument) = FTPControl.command(payload) else { return }
            switch verb {
            case "PORT", "EPRT":
                controls[flowID]!.endpoint = FTPControl.active(verb: verb, argument: argument)
            case "RETR", "STOR", "APPE", "STOU":
                guard let e = controls[flowID]!.endpoint else { return }
                controls[flowID]!.endpoint = nil
                expect(
                    Endpoint(address: e.0, port: e.1), Expected(name: Self.name(argument), upload: verb != "RETR", client: client, server: server, time: time))
            case "LIST", "NLST", "MLSD":
                controls[flowID]!.endpoint = nil
            default:
                return
            }
        } else {
            guard let (code, text) = FTPControl.reply(payload), code == 227 || code == 229 else { return }
            controls[flowID]!.endpoint = FTPControl.passive(code: code, text: text, server: server)
        }
    }

    private func expect(_ e: Endpoint, _ x: Expected) {
        if expected.count >= Self.maxExpected, expected[e] == nil,
            let oldest = expected.min(by: { ($0.value.time, $0.key.port) < ($1.value.time, $1.key.port) })
        {
            expected[oldest.key] = nil
        }
        expected[e] = x
    }

    /// A segment of a connection `files` does not follow: when its responder is an announced
    /// endpoint, `files` follows it from here.
    func match(_ flowID: Int64, _ l: IPLayer, time: Int64, files: HTTPFiles) {
        guard !files.follows(flowID) else { return }
        let key: Endpoint
        let toResponder: Bool
        if expected[Endpoint(address: l.dst, port: l.dstPort)] != nil {
            (key, toResponder) = (Endpoint(address: l.dst, port: l.dstPort), true)
        } else if expected[Endpoint(address: l.src, port: l.srcPort)] != nil {
            (key, toResponder) = (Endpoint(address: l.src, port: l.srcPort), false)
        } else {
            return
        }
        let x = expected.removeValue(forKey: key)!
        guard time - x.time <= Self.expiry else { return }
        let (originator, responder) = toResponder ? (l.src, l.dst) : (l.dst, l.src)
        let sender = x.upload ? x.client : x.server
        let known = FileRow(
            ts: time, flowID: flowID, source: "FTP", isOrig: sender == originator, name: x.name, mimeType: "", size: 0, totalBytes: nil,
            missingBytes: 0, md5: "", sha1: "", sha256: "", problem: nil, content: nil)
        files.beginRaw(flowID, client: originator, server: responder, sender: sender, known: known, time: time)
    }

    /// The last segment of a command's path argument, as sent.
    static func name(_ argument: String) -> String? {
        let last = argument.split(separator: "/").last.map(String.init) ?? ""
        return last.isEmpty ? nil : String(last.prefix(1024))
    }
}
