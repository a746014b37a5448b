import AetherStore

extension Report {
    package static let listedFiles = 60

    /// Files that crossed the wire: distinct contents, the runnable and the incomplete first.
    func files() throws -> [Node] {
        let (files, transfers, distinct) = try store.reportFiles(limit: Self.listedFiles)
        if files.isEmpty {
            return [
                E.el(
                    "p", [], text: "No file was seen in clear (HTTP bodies, FTP transfers, mail attachments and SMB copies; TLS and SMB3 encryption hide them)."
                )
            ]
        }
        let shown = files.count < distinct ? " The \(files.count) listed first are programs, scripts, archives and files not whole." : ""
        return [
            E.el(
                "p", [],
                text:
                    "\(transfers) transfer(s) of \(distinct) distinct file(s), typed by content and hashed (aether export gives files.log; aether extract --db \(storePath) writes kept ones out).\(shown)"
            ),
            E.table(
                id: "files", headers: ["first seen", "name", "type", "size", "sent by", "SHA-256", "transfers", "flags"],
                rows: files.map { r in
                    let f = r.first
                    let sender = f.isOrig ? "\(f.origH) (upload to \(f.respH):\(f.respP))" : "\(f.respH):\(f.respP) (to \(f.origH))"
                    var flags: [String] = []
                    if Store.runnable.contains(f.mimeType) { flags.append("runs or unpacks") }
                    if let p = f.problem { flags.append(p) }
                    if r.clients > 1 { flags.append("\(r.clients) hosts") }
                    return [
                        .text(ts(f.ts)), E.el("code", [], text: String((f.name ?? "").prefix(120))), .text(f.mimeType), .text("\(f.size)"),
                        E.el("code", [], text: sender), E.el("code", [], text: f.sha256.isEmpty ? "(not whole)" : f.sha256),
                        .text("\(r.transfers)"), .text(flags.joined(separator: "; ")),
                    ]
                }, numeric: [3, 6]),
        ]
    }
}
