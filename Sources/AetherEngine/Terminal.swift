#if canImport(Glibc)
    import Glibc
#endif
import AetherCore

/// What the pipeline prints on a terminal: counts, errors and progress.
/// 1810 → "1,810".
package func grouped(_ n: UInt64) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

/// Writes one line to standard error (fd 2).
package func printError(_ s: String) {
    let line = VisibleText.of(s) + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func fileSize(_ path: String) -> UInt64 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
}

func printProgress(_ s: String) {
    _ = s.withCString { write(2, $0, strlen($0)) }
}
