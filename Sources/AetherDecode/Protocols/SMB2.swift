import AetherCore

extension AppProtocol {
    /// SMB over NetBIOS session service: an SMB1 or SMB2 header from either side; the session
    /// setup's NT status says how a login ended.
    public static let smb = AppProtocol(
        "smb", .smb, ports: [139, 445],
        probe: { p, _ in p.count >= 8 && p[0] == 0 && (p[4] == 0xFE || p[4] == 0xFF) && p[5] == 0x53 && p[6] == 0x4D && p[7] == 0x42 },
        outcome: { p in
            // SMB1: status at 9 (NT status, little-endian), command 0x73 SESSION_SETUP_ANDX at 8.
            if p.count >= 13, p[4] == 0xFF, p[5] == 0x53, p[8] == 0x73 {
                let status = UInt32(p[9]) | UInt32(p[10]) << 8 | UInt32(p[11]) << 16 | UInt32(p[12]) << 24
                if status == 0xC000_006D { return .failed }
                if status == 0 { return .succeeded }
            }
            // SMB2 header after the 4-byte NetBIOS length: status at 8, command at 12 (1: SESSION_SETUP).
            if p.count >= 18, p[4] == 0xFE, p[5] == 0x53, p[16] == 1 {
                let status = UInt32(p[12]) | UInt32(p[13]) << 8 | UInt32(p[14]) << 16 | UInt32(p[15]) << 24
                if status == 0xC000_006D || status == 0xC000_0064 || status == 0xC000_006A { return .failed }
                if status == 0 { return .succeeded }
            }
            return .none
        })
}

/// SMB2/3 messages of one direction of a connection (MS-SMB2 over direct TCP, RFC 1002 session
/// framing), fed its bytes in order, as far as files need them: CREATE (a name, then its file
/// id and size), READ and WRITE (a file's bytes at an offset) and CLOSE. A READ response's or a
/// WRITE request's data is handed on in pieces as it comes, never held whole (a read may be 8 MB);
/// any other message is read whole to `maxMessage` bytes and skipped past that. Encrypted
/// messages (SMB3 transform headers) cannot be read and are skipped.
public struct SMB2Stream {
    public struct FileID: Hashable, Sendable {
        public var persistent: UInt64, volatile: UInt64
    }

    public enum Piece {
        case create(messageID: UInt64, name: String)
        /// A CREATE succeeded: the file's id and its size then.
        case created(messageID: UInt64, file: FileID, size: UInt64)
        case read(messageID: UInt64, file: FileID, offset: UInt64)
        /// A piece of a READ response's data, in order.
        case readData(messageID: UInt64, UnsafeRawBufferPointer)
        /// A piece of a WRITE's data, at `offset` in the file.
        case writeData(file: FileID, offset: UInt64, UnsafeRawBufferPointer)
        case close(file: FileID)
    }

    public static let maxMessage = 64 * 1024
    /// Bytes of a message read before it is known whether its data is streamed.
    static let headBytes = 128

    /// Offsets in the SMB2 header and the bodies read (from the header's start).
    private enum Field {
        static let command = 12, flags = 16, next = 20, messageID = 24, status = 8
        static let body = 64
    }

    private var frame: [UInt8] = []
    /// The message under way: its length, the bytes of it read so far, and what is done with it.
    private var length = 0
    private var done = 0
    private var buffer: [UInt8] = []
    private enum Use { case head, whole, skip, stream(start: Int, end: Int, read: UInt64?, file: FileID, offset: UInt64) }
    private var use = Use.head
    public private(set) var isLost = false

    public init() {}

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Piece) -> Void) {
        var p = bytes[...]
        while !p.isEmpty && !isLost {
            if length == 0 {
                // The 4-byte session header: type 0 and a 24-bit length (keep-alives are type 0x85).
                let n = min(4 - frame.count, p.count)
                frame.append(contentsOf: p.prefix(n))
                p = p.dropFirst(n)
                guard frame.count == 4 else { return }
                length = Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
                if frame[0] != 0 && frame[0] != 0x85 { isLost = true }
                frame.removeAll(keepingCapacity: true)
                done = 0
                buffer.removeAll(keepingCapacity: true)
                use = length < Field.body ? .skip : .head
                continue
            }
            let n = min(length - done, p.count)
            take(UnsafeRawBufferPointer(rebasing: p.prefix(n)), emit)
            p = p.dropFirst(n)
            if done == length { length = 0 }
        }
    }

    /// The next bytes of the message under way (`done` of it read before them).
    private mutating func take(_ piece: UnsafeRawBufferPointer, _ emit: (Piece) -> Void) {
        var piece = piece[...]
        while !piece.isEmpty {
            switch use {
            case .skip:
                done += piece.count
                return
            case .head, .whole:
                let limit: Int
                if case .head = use { limit = min(Self.headBytes, length) } else { limit = length }
                let n = min(limit - buffer.count, piece.count)
                buffer.append(contentsOf: piece.prefix(n))
                piece = piece.dropFirst(n)
                done += n
                guard buffer.count == limit else { continue }
                if case .head = use {
                    decide(emit)
                } else {
                    messages(emit)
                    use = .skip
                }
            case .stream:
                let data = UnsafeRawBufferPointer(rebasing: piece)
                stream(data, at: done, emit)
                done += piece.count
                return
            }
        }
    }

    /// What of `bytes` (at `at` in the message) is the streamed data.
    private func stream(_ bytes: UnsafeRawBufferPointer, at: Int, _ emit: (Piece) -> Void) {
        guard case .stream(let start, let end, let read, let file, let offset) = use else { return }
        let lo = max(start, at), hi = min(end, at + bytes.count)
        guard lo < hi else { return }
        let data = UnsafeRawBufferPointer(rebasing: bytes[(lo - at)..<(hi - at)])
        if let read {
            emit(.readData(messageID: read, data))
        } else {
            emit(.writeData(file: file, offset: offset + UInt64(lo - start), data))
        }
    }

    /// With the head read: stream a READ response's or a WRITE's data, read other messages whole.
    private mutating func decide(_ emit: (Piece) -> Void) {
        let h = buffer
        guard h.count >= Field.body + 8, h[0] == 0xFE, h[1] == 0x53, h[2] == 0x4D, h[3] == 0x42 else {
            use = .skip
            return
        }
        let command = Self.u16(h, Field.command), response = Self.u32(h, Field.flags) & 1 != 0
        let single = Self.u32(h, Field.next) == 0
        let b = Field.body
        if single && command == 8 && response && Self.u32(h, Field.status) == 0 && h.count >= b + 8 {
            let start = Int(h[b + 2]), count = Int(Self.u32(h, b + 4))
            if start >= b + 16 && start + count <= length {
                use = .stream(start: start, end: start + count, read: Self.u64(h, Field.messageID), file: FileID(persistent: 0, volatile: 0), offset: 0)
                h.withUnsafeBytes { stream($0, at: 0, emit) }
                return
            }
        }
        if single && command == 9 && !response && h.count >= b + 32 {
            let start = Int(Self.u16(h, b + 2)), count = Int(Self.u32(h, b + 4))
            let file = FileID(persistent: Self.u64(h, b + 16), volatile: Self.u64(h, b + 24))
            if start >= b + 48 && start + count <= length {
                use = .stream(start: start, end: start + count, read: nil, file: file, offset: Self.u64(h, b + 8))
                h.withUnsafeBytes { stream($0, at: 0, emit) }
                return
            }
        }
        if length <= Self.maxMessage {
            use = .whole
            if buffer.count == length {
                messages(emit)
                use = .skip
            }
        } else {
            use = .skip
        }
    }

    /// A whole message, and those compounded with it (NextCommand).
    private func messages(_ emit: (Piece) -> Void) {
        var at = 0
        let m = buffer
        while at + Field.body + 8 <= m.count {
            let h = Array(m[at...])
            guard h[0] == 0xFE, h[1] == 0x53, h[2] == 0x4D, h[3] == 0x42 else { return }
            one(h, emit)
            let next = Int(Self.u32(h, Field.next))
            guard next >= Field.body, next % 8 == 0 else { return }
            at += next
        }
    }

    private func one(_ h: [UInt8], _ emit: (Piece) -> Void) {
        let command = Self.u16(h, Field.command), response = Self.u32(h, Field.flags) & 1 != 0
        let id = Self.u64(h, Field.messageID), ok = Self.u32(h, Field.status) == 0
        let b = Field.body
        switch (command, response) {
        case (5, false) where h.count >= b + 48:
            let at = Int(Self.u16(h, b + 44)), n = Int(Self.u16(h, b + 46))
            guard at >= b, n % 2 == 0, at + n <= h.count else { return }
            var units: [UInt16] = []
            for i in stride(from: at, to: at + n, by: 2) { units.append(UInt16(h[i]) | UInt16(h[i + 1]) << 8) }
            emit(.create(messageID: id, name: String(decoding: units, as: UTF16.self)))
        case (5, true) where ok && h.count >= b + 80:
            emit(.created(messageID: id, file: FileID(persistent: Self.u64(h, b + 64), volatile: Self.u64(h, b + 72)), size: Self.u64(h, b + 48)))
        case (8, false) where h.count >= b + 32:
            emit(.read(messageID: id, file: FileID(persistent: Self.u64(h, b + 16), volatile: Self.u64(h, b + 24)), offset: Self.u64(h, b + 8)))
        case (8, true) where ok && h.count >= b + 8:
            let start = Int(h[b + 2]), count = Int(Self.u32(h, b + 4))
            guard start >= b + 16, start + count <= h.count else { return }
            h.withUnsafeBytes { emit(.readData(messageID: id, UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)]))) }
        case (9, false) where h.count >= b + 32:
            let start = Int(Self.u16(h, b + 2)), count = Int(Self.u32(h, b + 4))
            guard start >= b + 48, start + count <= h.count else { return }
            let file = FileID(persistent: Self.u64(h, b + 16), volatile: Self.u64(h, b + 24))
            h.withUnsafeBytes { emit(.writeData(file: file, offset: Self.u64(h, b + 8), UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)]))) }
        case (6, false) where h.count >= b + 24:
            emit(.close(file: FileID(persistent: Self.u64(h, b + 8), volatile: Self.u64(h, b + 16))))
        default:
            return
        }
    }

    static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { at + 2 <= b.count ? UInt16(b[at]) | UInt16(b[at + 1]) << 8 : 0 }
    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { at + 4 <= b.count ? UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 : 0 }
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { at + 8 <= b.count ? UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 : 0 }
}
