import AetherCore
import CPcap

#if canImport(Glibc)
    import Glibc
#endif

/// What one step of a source gave.
public enum SourceStep: Sendable {
    /// `packet` holds the next packet (valid until the following step).
    case packet
    /// Nothing arrived for a while (a quiet interface); the caller may tick its clocks.
    case idle
    /// The source is exhausted or was stopped.
    case end
}

/// Where packets come from: a capture file, a paced replay of one, or a live interface. Every
/// mode of the tool reads through this one shape.
public protocol PacketSource: AnyObject {
    /// What the capture row calls it (a path, `replay:PATH`, `live:IFACE`).
    var label: String { get }
    var linkTypes: [UInt32] { get }
    var packet: RawPacket { get }
    /// Packets the capture lost before we saw them (kernel or interface), when it knows.
    var drops: UInt64 { get }
    func step() throws -> SourceStep
}

extension CaptureReader: PacketSource {
    public var label: String { path }
    public var drops: UInt64 { 0 }
    public func step() throws -> SourceStep { try next() ? .packet : .end }
}

/// A capture file replayed in event time scaled by `speed` (0: as fast as it reads). A wait is
/// cut into short sleeps and asks `shouldStop` between them, so a stop is seen within 0.2 s.
public final class PacedReplay: PacketSource {
    public let reader: CaptureReader
    public let speed: Double
    private let shouldStop: () -> Bool
    private var startWall = 0.0
    private var firstTimestamp: Int64?

    public init(path: String, speed: Double, shouldStop: @escaping () -> Bool = { false }) throws {
        reader = try CaptureReader(path: path)
        self.speed = speed
        self.shouldStop = shouldStop
    }

    public var label: String { "replay:\(reader.path)" }
    public var linkTypes: [UInt32] { reader.linkTypes }
    public var packet: RawPacket { reader.packet }
    public var drops: UInt64 { 0 }

    public func step() throws -> SourceStep {
        guard !shouldStop(), try reader.next() else { return .end }
        guard speed > 0 else { return .packet }
        let t = reader.packet.timestamp
        if firstTimestamp == nil {
            firstTimestamp = t
            startWall = monotonicSeconds()
        }
        let due = Double(t - firstTimestamp!) / 1e9 / speed
        while !shouldStop() {
            let wait = due - (monotonicSeconds() - startWall)
            if wait <= 0 { break }
            usleep(UInt32(min(wait, 0.2) * 1e6))
        }
        return .packet
    }
}

public struct LiveCaptureError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// A live interface through libpcap: immediate mode, nanosecond stamps where the kernel gives
/// them, an optional BPF filter compiled by libpcap, non-blocking reads that wait in poll() so a
/// quiet interface still reports `.idle` every 100 ms.
public final class LiveCapture: PacketSource {
    public let name: String
    private let handle: OpaquePointer
    private let linkType: UInt32
    private let nanos: Bool
    private let fd: Int32
    private var raw = RawPacket()

    public init(interface name: String, bufferMB: Int, filter: String?) throws {
        self.name = name
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let h = pcap_create(name, &errbuf) else { throw LiveCaptureError(message: "\(name): \(String(cString: errbuf))") }
        handle = h
        pcap_set_snaplen(h, 262_144)
        pcap_set_immediate_mode(h, 1)
        pcap_set_timeout(h, 100)
        pcap_set_buffer_size(h, Int32(bufferMB) << 20)
        _ = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let rc = pcap_activate(h)
        if rc < 0 {
            let message = "\(name): cannot capture: \(String(cString: pcap_geterr(h)))"
            pcap_close(h)
            throw LiveCaptureError(message: message)
        }
        if let filter {
            var prog = bpf_program()
            guard pcap_compile(h, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let message = "--filter: \(String(cString: pcap_geterr(h)))"
                pcap_close(h)
                throw LiveCaptureError(message: message)
            }
            defer { pcap_freecode(&prog) }
            guard pcap_setfilter(h, &prog) == 0 else {
                let message = "--filter: \(String(cString: pcap_geterr(h)))"
                pcap_close(h)
                throw LiveCaptureError(message: message)
            }
        }
        linkType = UInt32(pcap_datalink(h))
        nanos = pcap_get_tstamp_precision(h) == Int32(PCAP_TSTAMP_PRECISION_NANO)
        // In immediate mode Linux libpcap ignores the read timeout and blocks; read without
        // blocking and wait in poll() instead, so quiet seconds still tick and Ctrl-C is seen.
        guard pcap_setnonblock(h, 1, &errbuf) == 0 else {
            pcap_close(h)
            throw LiveCaptureError(message: "\(name): \(String(cString: errbuf))")
        }
        fd = pcap_get_selectable_fd(h)
    }

    deinit { pcap_close(handle) }

    public var label: String { "live:\(name)" }
    public var linkTypes: [UInt32] { [linkType] }
    public var packet: RawPacket { raw }

    public var drops: UInt64 {
        var st = pcap_stat()
        return pcap_stats(handle, &st) == 0 ? UInt64(st.ps_drop) + UInt64(st.ps_ifdrop) : 0
    }

    public func step() throws -> SourceStep {
        if try read() { return .packet }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 100)
        return try read() ? .packet : .idle
    }

    private func read() throws -> Bool {
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let r = pcap_next_ex(handle, &hdr, &data)
        if r == 1, let hdr, let data {
            let sec = Int64(hdr.pointee.ts.tv_sec), frac = Int64(hdr.pointee.ts.tv_usec)
            raw.timestamp = sec * 1_000_000_000 + (nanos ? frac : frac * 1000)
            raw.capturedLength = hdr.pointee.caplen
            raw.wireLength = hdr.pointee.len
            raw.linkType = linkType
            raw.bytes = UnsafeRawBufferPointer(start: data, count: Int(hdr.pointee.caplen))
            return true
        }
        if r < 0 { throw LiveCaptureError(message: "\(name): \(String(cString: pcap_geterr(handle)))") }
        return false
    }
}

/// Seconds on a clock that never jumps (pacing, progress).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
