import AetherCapture
import AetherCore
import AetherEngine
#if GRPC
    import AetherGRPC
#endif
import AetherLive
import AetherReport
import AetherStore
import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// `aether tail`: the live view (capture or replay, the server, its access rules).
struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Capture (or replay) through the pipeline and serve the live view over WebSocket.")
    @Option(name: .short, help: "interface to capture on (root)") var interface: String?
    @Option(help: "capture file to replay") var replay: String?
    @Option(help: "replay speed: a multiple of real time, or max") var speed = "max"
    @Option(help: "address:port to serve on") var listen = "127.0.0.1:8642"
    @Option(help: "store file (default: a temporary one)") var db: String?
    @Option(help: "access token, required for a non-loopback --listen (better: --token-file or AETHER_TOKEN, which no process list shows)") var token: String?
    @Option(name: .customLong("token-file"), help: "file whose first line is the access token") var tokenFile: String?
    @Option(name: .customLong("allow-host"), help: "a name browsers may use for this server (Host header), besides its address") var allowHost: [String] = []
    @Option(name: .customLong("max-clients"), help: "live clients at most; more are answered 503") var maxClients = 256
    @Option(help: "also serve the gRPC event stream (proto/aether.proto) on address:port") var grpc: String?
    @Option(name: .customLong("grpc-queue"), help: "events a gRPC subscriber may fall behind before it is cut off") var grpcQueue = 65_536
    @Option(
        name: .customLong("grpc-wait"),
        help: "replay with --grpc: start when this many subscribers are connected (default 1, at most 120 s; 0 starts at once)")
    var grpcWait = 1

    /// The token from --token, --token-file or AETHER_TOKEN, in that order.
    func resolvedToken() throws -> String? {
        if let token, !token.isEmpty { return token }
        if let tokenFile {
            guard let text = readText(tokenFile), let line = text.split(separator: "\n").first, !line.isEmpty else {
                throw ValidationError("--token-file \(tokenFile): cannot read a token from it")
            }
            return String(line).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let env = ProcessInfo.processInfo.environment["AETHER_TOKEN"], !env.isEmpty { return env }
        return nil
    }
    @OptionGroup var reading: FilterOption
    @OptionGroup var detection: DetectionOptions
    var filter: String? { reading.filter }
    @Option(name: .customLong("buffer-mb"), help: "kernel capture buffer in MB") var bufferMB = 32
    @OptionGroup var threading: ThreadOptions

    func parsedListen() throws -> (String, Int) { try Self.address(listen, option: "--listen") }

    static func address(_ listen: String, option: String) throws -> (String, Int) {
        var host = listen, port = 8642
        if let colon = listen.lastIndex(of: ":"), !listen.hasSuffix("]") {
            host = String(listen[..<colon])
            guard let p = Int(listen[listen.index(after: colon)...]), p > 0, p < 65536 else {
                throw ValidationError("\(option): bad port in '\(listen)'")
            }
            port = p
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// `--grpc`'s address: the transport binds a numeric IPv4 address; `localhost` is 127.0.0.1,
    /// and any other name is refused here rather than failing once the server starts.
    func grpcAddress(_ grpc: String) throws -> (String, Int) {
        var (host, port) = try Self.address(grpc, option: "--grpc")
        if host == "localhost" { host = "127.0.0.1" }
        var probe = in_addr()
        guard inet_pton(AF_INET, host, &probe) == 1 else {
            throw ValidationError("--grpc \(grpc): give a numeric IPv4 address (or localhost) and a port")
        }
        return (host, port)
    }

    func parsedSpeed() throws -> Double {
        if speed == "max" { return 0 }
        guard let v = Double(speed), v > 0 else { throw ValidationError("--speed: a positive number or max") }
        return v
    }

    func validate() throws {
        if (interface == nil) == (replay == nil) { throw ValidationError("give exactly one of -i IFACE and --replay FILE") }
        let (host, _) = try parsedListen()
        let secret = try resolvedToken() ?? ""
        if !LiveServer.isLoopback(host) && secret.isEmpty {
            throw ValidationError("--listen \(listen) is not loopback: it needs --token, --token-file or AETHER_TOKEN (the live view shows your traffic)")
        }
        _ = try parsedSpeed()
        if let grpc {
            let (gh, _) = try grpcAddress(grpc)
            if !LiveServer.isLoopback(gh) && secret.isEmpty {
                throw ValidationError("--grpc \(grpc) is not loopback: it needs --token, --token-file or AETHER_TOKEN")
            }
            if grpcQueue < 16 { throw ValidationError("--grpc-queue must be at least 16") }
        }
    }

    func run() throws {
        // In run, not validate: the parser would wrap the exit code and print usage.
        #if !GRPC
            if grpc != nil {
                printError("aether: this build has no gRPC; build with it: swift build -c release --traits GRPC (make release-full)")
                throw ExitCode(2)
            }
        #endif
        let (host, port) = try parsedListen()
        var temp: String?
        let dbPath: String
        var tempDir: String?
        if let db {
            dbPath = db
        } else {
            // A private folder (mkdtemp, mode 0700): no other user can plant or read the store.
            var template = Array("/tmp/aether-tail-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw BadInput(message: "cannot make a temporary folder: \(String(cString: strerror(errno)))")
            }
            tempDir = String(cString: template)
            dbPath = tempDir! + "/live.sqlite"
            temp = dbPath
        }
        defer {
            if let temp { for s in ["", "-wal", "-shm"] { unlink(temp + s) } }
            if let tempDir { rmdir(tempDir) }
        }
        if let replay {
            do { try EvidenceFiles.checkInput(replay) } catch let e as FileRefusal { throw BadInput(message: e.message) }
        }
        let config = try detection.config()
        let store = try openStore(dbPath, readOnly: false)
        let source: LiveSource
        var captureFilter = filter
        if let replay {
            source = .replay(path: replay, speed: try parsedSpeed())
        } else {
            source = .interface(name: interface!, bufferMB: bufferMB)
            // The view's own traffic is not evidence: keep it out of the capture.
            let own = "not (tcp port \(port))"
            captureFilter = filter.map { "(\($0)) and \(own)" } ?? own
        }
        let pipeline: Pipeline
        do {
            var options = IngestOptions(filter: replay != nil ? filter : nil, detect: true, rules: config)
            options.threads = threading.threads
            pipeline = try Pipeline(store: store, options: options)
        } catch let e as CaptureError { throw BadInput(message: e.description) }
        let broadcaster = Broadcaster()
        let events = grpc == nil ? nil : EventStream(queueLimit: grpcQueue)
        let session = LiveSession(
            pipeline: pipeline, source: source, filter: replay == nil ? captureFilter : nil, broadcaster: broadcaster, events: events)
        let thread = Thread { session.run() }
        thread.stackSize = 8 << 20
        let secret = try resolvedToken()
        let server = LiveServer(
            host: host, port: port, token: secret, broadcaster: broadcaster, allowedHosts: allowHost, maxClients: maxClients, storePath: dbPath)
        let shown = host.contains(":") ? "[\(host)]" : host
        // The token is never printed: it would end up in terminal scroll-back and logs.
        print("live view: http://\(shown):\(port)/\(secret != nil ? "?token=<your token>" : "")   (Ctrl-C to stop)")
        fflush(stdout)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var serverError: String?
        var grpcTask: Task<Void, Never>?
        if let grpc, let events {
            let (gh, gp) = try grpcAddress(grpc)
            print("event stream: grpc://\(gh):\(gp) (aether.Live/Subscribe)")
            fflush(stdout)
            #if GRPC
                grpcTask = Task {
                    do {
                        try await LiveEventService.serve(
                            host: gh, port: gp, stream: events, token: secret, maxSubscribers: maxClients, allowedHosts: allowHost)
                    } catch {
                        // Cancelled at the end of the session (Ctrl-C included): not a failure to serve.
                        if Task.isCancelled { return }
                        serverError = "cannot serve gRPC on \(grpc): \(error)"
                        done.signal()
                    }
                }
            #endif
        }
        Task {
            do { try await server.run() } catch { serverError = "cannot serve on \(listen): \(error)" }
            done.signal()
        }
        if let events, replay != nil, grpcWait > 0 {
            // A replay for consumers that must see it whole: it starts once they are subscribed.
            // SIGINT and SIGTERM end the server (its run returns), and so the wait. Meanwhile the
            // page says what it waits for (the first summary replaces it).
            broadcaster.summary(
                JSON.object([("type", .string("waiting")), ("grpc_subscribers", .int(Int64(grpcWait))), ("address", .string("grpc://\(grpc ?? "")"))])
                    .render(pretty: false))
            let deadline = Date().addingTimeInterval(120)
            var stopped = false
            while events.subscriberCount < grpcWait && Date() < deadline {
                if done.wait(timeout: .now() + .milliseconds(10)) == .success {
                    stopped = true
                    break
                }
            }
            if stopped { done.signal() }
        }
        thread.start()
        done.wait()
        events?.finishAll()
        grpcTask?.cancel()
        session.stop()
        while !session.isFinished { usleep(20_000) }
        broadcaster.finishAll()
        if let e = serverError { throw BadInput(message: e) }
        if let e = session.error { throw BadInput(message: e) }
        let st = try store.stats()
        print("stopped: \(st.packets) packets stored in \(dbPath)\(temp != nil ? " (temporary, removed)" : "")")
    }
}
