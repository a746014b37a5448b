import AetherCore
import AetherDecode
import AetherStore

/// Files over one SMB2/3 connection: a CREATE names a file and gives its id, READ responses and
/// WRITE requests carry its bytes at offsets, CLOSE ends it. Bytes are taken in offset order;
/// a piece ahead of the next offset is held (`maxHeld` pieces, `maxHeldBytes` in all), a piece
/// already seen is skipped, and a gap that never fills makes the file not whole. A file read
/// in full is whole when its bytes reach the size its CREATE gave. What is held is bounded:
/// `maxOpen` files and `maxPending` requests, and held pieces count against the budget all
/// followed connections share.
final class SMBSession {
    static let maxOpen = 256
    static let maxPending = 1024
    static let maxHeld = 32
    static let maxHeldBytes = 16 << 20

    private final class File {
        let name: String
        let size: UInt64
        var transfer: FileTransfer?
        var next: UInt64 = 0
        var held: [(offset: UInt64, bytes: [UInt8])] = []
        var heldBytes = 0
        var lost = false
        init(name: String, size: UInt64) {
            self.name = name
            self.size = size
        }
    }

    private var creates: [UInt64: String] = [:]
    private var reads: [UInt64: (file: SMB2Stream.FileID, offset: UInt64)] = [:]
    private var open: [SMB2Stream.FileID: File] = [:]
    /// Makes a file's transfer (its row's known part: name, direction, declared size).
    private let begin: (_ name: String, _ upload: Bool, _ size: UInt64?) -> FileTransfer
    /// A file ended: whole or not.
    private let end: (FileTransfer, Bool) -> Void
    private unowned let held: FileBudget

    init(held: FileBudget, begin: @escaping (String, Bool, UInt64?) -> FileTransfer, end: @escaping (FileTransfer, Bool) -> Void) {
        self.held = held
        self.begin = begin
        self.end = end
    }

    func handle(_ piece: SMB2Stream.Piece) {
        switch piece {
        case .create(let id, let name):
            if creates.count < Self.maxPending { creates[id] = name }
        case .created(let id, let file, let size):
            guard let name = creates.removeValue(forKey: id), open.count < Self.maxOpen else { return }
            let last = name.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last.map(String.init) ?? ""
            if !last.isEmpty { open[file] = File(name: String(last.prefix(1024)), size: size) }
        case .read(let id, let file, let offset):
            if open[file] != nil && reads.count < Self.maxPending { reads[id] = (file, offset) }
        case .readData(let id, let data):
            guard let r = reads[id], let f = open[r.file] else { return }
            add(f, at: r.offset, data, upload: false)
            reads[id] = (r.file, r.offset + UInt64(data.count))
        case .writeData(let file, let offset, let data):
            guard let f = open[file] else { return }
            add(f, at: offset, data, upload: true)
        case .close(let file):
            guard let f = open.removeValue(forKey: file) else { return }
            finish(f)
        }
    }

    /// The connection ended: files still open are not known to be whole.
    func finishAll() {
        for (_, f) in open.sorted(by: { ($0.key.persistent, $0.key.volatile) < ($1.key.persistent, $1.key.volatile) }) {
            f.lost = true
            finish(f)
        }
        open = [:]
    }

    /// A gap in the connection: no file open now can be whole, and the messages cannot be followed.
    func loseAll(_ bytes: Int64) {
        for f in open.values where !f.lost {
            f.lost = true
            f.transfer?.lose(bytes, why: "the capture lacks \(bytes) bytes of the connection")
        }
    }

    private func drop(_ f: File) {
        held.release(f.heldBytes)
        f.heldBytes = 0
    }

    private func finish(_ f: File) {
        defer { drop(f) }
        guard let t = f.transfer else { return }
        if !f.held.isEmpty, let first = f.held.map(\.offset).min() { t.lose(Int64(first - f.next), why: "the capture lacks \(first - f.next) bytes of it") }
        end(t, !f.lost && f.held.isEmpty)
    }

    private func add(_ f: File, at offset: UInt64, _ data: UnsafeRawBufferPointer, upload: Bool) {
        if f.transfer == nil {
            // A read's size is the file's; a write's is what it comes to.
            f.transfer = begin(f.name, upload, upload || f.size == 0 ? nil : f.size)
        }
        guard let t = f.transfer, !f.lost, !data.isEmpty else { return }
        let end = offset + UInt64(data.count)
        if end <= f.next { return }
        if offset > f.next {
            guard f.held.count < Self.maxHeld, f.heldBytes + data.count <= Self.maxHeldBytes, held.reserve(data.count) else {
                t.lose(Int64(offset - f.next), why: "the capture lacks \(offset - f.next) bytes of it")
                f.lost = true
                f.held = []
                drop(f)
                return
            }
            f.held.append((offset, Array(data)))
            f.heldBytes += data.count
            return
        }
        t.add(UnsafeRawBufferPointer(rebasing: data[Int(f.next - offset)...]))
        f.next = end
        // Held pieces that now follow on.
        while let i = f.held.firstIndex(where: { $0.offset <= f.next }) {
            let h = f.held.remove(at: i)
            f.heldBytes -= h.bytes.count
            held.release(h.bytes.count)
            let hEnd = h.offset + UInt64(h.bytes.count)
            if hEnd > f.next {
                h.bytes.withUnsafeBytes { t.add(UnsafeRawBufferPointer(rebasing: $0[Int(f.next - h.offset)...])) }
                f.next = hEnd
            }
        }
    }
}
