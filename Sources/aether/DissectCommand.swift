import AetherCapture
import AetherCore
import AetherDecode
import AetherEngine
import ArgumentParser

/// What the decoder makes of each packet, in tshark's field names, for comparing with
/// `tshark -T fields` and for seeing why a packet was not decoded.
struct Dissect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Each packet's addresses and ports as decoded (TSV, tshark's field names), and why one was not decoded.")
    @Argument(help: "pcap, pcapng or gzip file") var capture: String

    func run() throws {
        let reader = try CaptureReader(path: capture, hashing: false)
        var m = PacketMeta()
        let decoder = Decoder()
        print((["frame.number"] + DecodedFields.names + ["aether.undecoded"]).joined(separator: "\t"))
        var frame = 0
        do {
            while try reader.next() {
                frame += 1
                decoder.decode(reader.packet, into: &m)
                let reason = m.undecoded == 0 ? "" : Undecoded.describe(m.undecoded)
                print((["\(frame)"] + DecodedFields.values(m) + [reason]).joined(separator: "\t"))
            }
        } catch {
            printError("aether: \(capture): \(error) (after \(frame) packets)")
            throw ExitCode(1)
        }
    }
}
