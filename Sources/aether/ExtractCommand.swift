import AetherCapture
import AetherCore
import AetherEngine
import AetherStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `aether extract`: files the store kept, written into a new folder under the evidence rules.
/// The folder must not exist and is made by this command; each file is created inside it
/// (`openat`, O_EXCL, O_NOFOLLOW), named by its id and a safe form of the name the protocol
/// gave, so no name reaches outside it or replaces anything. Each file's SHA-256 is checked
/// against the store's before it is written.
struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract", abstract: "Write files that crossed the wire (kept in the store) into a new folder.")
    @OptionGroup var store: StoreOption
    @Option(name: .customLong("file"), help: "file id (repeatable; see the report's Files section)") var ids: [Int64] = []
    @Flag(help: "every file the store kept") var all = false
    @Option(name: [.short, .customLong("output")], help: "folder to create (must not exist)") var output: String

    func validate() throws {
        if ids.isEmpty == !all { throw ValidationError("give --file ID (repeatable) or --all") }
    }

    func run() throws {
        let s = try openStore(store.db, readOnly: true)
        var files: [StoredFile] = []
        if all {
            files = try s.files()
        } else {
            for id in ids {
                guard let f = try s.files(id: id).first else { throw BadInput(message: "no file \(id) in \(store.db)") }
                files.append(f)
            }
        }
        guard mkdir(output, 0o700) == 0 else {
            throw BadInput(message: "\(output): \(String(cString: strerror(errno))); extract writes a new folder")
        }
        let dir = open(output, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dir >= 0 else { throw BadInput(message: "\(output): \(String(cString: strerror(errno)))") }
        defer { close(dir) }
        var written = 0, skipped = 0
        for f in files {
            let shown = VisibleText.of(f.name ?? "")
            guard f.extracted, let bytes = try s.fileContent(f.id) else {
                let why = f.problem ?? (f.size > FileLimits.keptFileBytes ? "larger than the 64 MB kept" : "ingest with --keep-files to keep content")
                print("file \(f.id) \(shown): not kept (\(VisibleText.of(why)))")
                skipped += 1
                continue
            }
            guard sha256Hex(bytes: bytes) == f.sha256 else { throw BadInput(message: "file \(f.id): its stored bytes do not match its SHA-256") }
            let name = "\(f.id)-\(Self.safeName(f.name))"
            let fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw BadInput(message: "\(output)/\(name): \(String(cString: strerror(errno)))") }
            let ok = bytes.withUnsafeBytes { EvidenceFiles.writeAll(fd, $0) }
            close(fd)
            guard ok else { throw BadInput(message: "\(output)/\(name): write failed") }
            print("file \(f.id) \(shown) -> \(name) (\(bytes.count) bytes, sha256 \(f.sha256))")
            written += 1
        }
        print("extracted \(written) file(s) to \(output)" + (skipped > 0 ? "; \(skipped) not kept" : ""))
    }

    /// A name that stays inside the folder: its last path part (either slash), letters, digits,
    /// dot, dash and underscore only, no leading dot, at most 100 characters.
    static func safeName(_ name: String?) -> String {
        let last = (name ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var out = ""
        for u in last.unicodeScalars.prefix(100) {
            let keep = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "." || u == "-" || u == "_"
            out.unicodeScalars.append(keep ? u : "_")
        }
        while out.hasPrefix(".") { out.removeFirst() }
        return out.isEmpty ? "file" : out
    }
}
