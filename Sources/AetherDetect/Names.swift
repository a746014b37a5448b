import AetherCore
#if canImport(Glibc)
    import Glibc
#endif

enum Names {
    static let secondLevel: Set<String> = ["co", "com", "net", "org", "gov", "ac", "edu", "or", "ne", "go"]

    /// Registered domain (last two labels, three under a country's second level) and the rest.
    static func split(_ name: String) -> (domain: String, sub: String) {
        let u = Array(name.utf8)
        var dots: [Int] = []
        var i = u.count - 1
        while i >= 0 && dots.count < 3 {
            if u[i] == UInt8(ascii: ".") { dots.append(i) }
            i -= 1
        }
        guard !dots.isEmpty else { return (name, "") }
        var n = 2
        if dots.count >= 2 && u.count - dots[0] - 1 == 2 {
            let sld = String(decoding: u[(dots[1] + 1)..<dots[0]], as: UTF8.self)
            if secondLevel.contains(sld) { n = 3 }
        }
        guard dots.count >= n else { return (name, "") }
        let cut = dots[n - 1]
        return (String(decoding: u[(cut + 1)...], as: UTF8.self), String(decoding: u[..<cut], as: UTF8.self))
    }

    /// Shannon entropy in bits per character.
    static func entropy(_ s: String) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        var n = 0
        for b in s.utf8 { counts[Int(b)] += 1; n += 1 }
        guard n > 0 else { return 0 }
        var e = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / Double(n)
            e -= p * log2(p)
        }
        return e
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}
