/// A typed view over one header in a frame, in the manner of smoltcp's `wire` module: its field
/// offsets are named once (each view's `Field`), and `init?(_:at:)` makes the one length check
/// (plus any version check in `accepts`) before any field is read; field reads then are plain loads.
protocol WireView {
    /// Bytes that must be present before any field may be read.
    static var minLength: Int { get }
    var frame: Frame { get }
    var offset: Int { get }
    /// Only for `init?(_:at:)`, after the checks (the memberwise initializer of a view).
    init(frame: Frame, offset: Int)
    /// Further checks on the present bytes (a version nibble, a flag); true by default.
    static func accepts(_ frame: Frame, at offset: Int) -> Bool
}

extension WireView {
    @inline(__always) static func accepts(_ frame: Frame, at offset: Int) -> Bool { true }

    @inline(__always) init?(_ frame: Frame, at offset: Int) {
        guard frame.has(offset, Self.minLength), Self.accepts(frame, at: offset) else { return nil }
        self.init(frame: frame, offset: offset)
    }
}
