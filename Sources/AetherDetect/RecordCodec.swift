import AetherCore
import AetherDecode
import AetherFlows

extension RecordReader {
    func dns(_ o: JSON) throws -> DNSMessage {
        var m = DNSMessage()
        m.id = try uint("id", in: o)
        m.isResponse = o["qr"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false
        m.opcode = try uint("oc", in: o)
        m.rcode = try uint("rc", in: o)
        m.truncatedFlag = o["tc"].map { if case .bool(let b) = $0 { return b } else { return false } } ?? false
        m.questionCount = try uint("qd", in: o)
        m.answerCount = try uint("an", in: o)
        m.name = o["n"]?.string ?? ""
        m.qtype = try uint("qt", in: o)
        for a in o["ans"]?.array ?? [] {
            guard let f = a.array, f.count == 5, let type = f[0].int, let ttl = f[1].int, let length = f[2].int, let digest = f[3].int,
                let data = f[4].string, let t16 = UInt16(exactly: type), let ttl32 = UInt32(exactly: ttl), (0...65_535).contains(length)
            else { throw fail("malformed DNS answer") }
            var ans = DNSAnswer(type: t16, ttl: ttl32, data: data)
            ans.length = Int(length)
            ans.digest = UInt64(bitPattern: digest)
            m.answers.append(ans)
        }
        return m
    }
}
