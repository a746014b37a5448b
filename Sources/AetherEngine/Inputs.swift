import AetherCapture
#if canImport(Glibc)
    import Glibc
#endif

/// Expands files and folders into capture files; a folder contributes its regular files,
/// recursively, skipping hidden ones and our own ground-truth JSON.
package func expandInputs(_ paths: [String]) throws -> [String] {
    var out: [String] = []
    for p in paths {
        var st = stat()
        guard stat(p, &st) == 0 else { throw CaptureError(.notFound, path: p, "no such file or directory") }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(p) else {
                throw CaptureError(.unreadable, path: p, "cannot read directory: \(String(cString: strerror(errno)))")
            }
            var names: [String] = []
            while let e = readdir(dir) {
                let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                if name.hasPrefix(".") || name.hasSuffix(".json") || name.hasSuffix(".log") || name.hasSuffix(".md") || name.hasSuffix(".tsv") { continue }
                names.append(name)
            }
            closedir(dir)
            let base = p.hasSuffix("/") ? p : p + "/"
            out += try expandInputs(names.sorted().map { base + $0 })
        } else {
            if access(p, R_OK) != 0 { throw CaptureError(.unreadable, path: p, "not readable: \(String(cString: strerror(errno)))") }
            out.append(p)
        }
    }
    return out
}

/// Orders capture files into one timeline by their first packet's timestamp.
/// Files that cannot be opened keep their place at the end, so their error is still reported.
package func orderByFirstTimestamp(_ paths: [String]) -> [String] {
    var keyed: [(Int64, Int, String)] = []
    for (i, p) in paths.enumerated() {
        var first = Int64.max
        if let r = try? CaptureReader(path: p, hashing: false), (try? r.next()) == true { first = r.packet.timestamp }
        keyed.append((first, i, p))
    }
    return keyed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { $0.2 }
}
