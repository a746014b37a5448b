/// A capture that could not be read, or could be read only up to a point.
/// `offset` is the byte offset in the (uncompressed) capture stream where the fault is.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case notFound, unreadable, unsupportedFormat, corrupt, truncated
    }
    public var kind: Kind
    public var path: String
    public var offset: UInt64?
    public var message: String

    public init(_ kind: Kind, path: String, offset: UInt64? = nil, _ message: String) {
        self.kind = kind; self.path = path; self.offset = offset; self.message = message
    }

    public var description: String {
        if let offset { return "\(path): \(message) at byte \(offset)" }
        return "\(path): \(message)"
    }
}
