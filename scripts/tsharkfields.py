"""The one description of what tshark is asked about a packet, for the differential test
(diff-tshark.py) and the specification fixtures (make-spec-fixtures.py, make-encap-captures.py):
the addresses of every IP layer, TCP and UDP ports and the ARP sender, every occurrence,
outermost first, as `aether dissect` prints them (AetherDecode's DecodedFields)."""
import subprocess

FIELDS = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "arp.src.proto_ipv4"]
# aether's decoder does not reassemble fragments, so neither does tshark here; nor does tshark
# inflate HTTP bodies (on Fixtures/http-files.pcap's decompression bomb that took it 85 s, then it
# crashed 409 packets into 615).
COMMAND = ["tshark", "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "http.decompress_body:FALSE", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]


def run(path, with_frame_number=False, check=False):
    """tshark's fields for each packet of `path` (the CompletedProcess; stdout one line a packet)."""
    fields = (["frame.number"] if with_frame_number else []) + FIELDS
    return subprocess.run(COMMAND + sum((["-e", f] for f in fields), []) + ["-r", path], capture_output=True, text=True, check=check)


def write_spec(path, tsv):
    """The fixture beside a capture: a header line, then tshark's fields with frame numbers."""
    with open(tsv, "w") as f:
        f.write("\t".join(["frame.number"] + FIELDS) + "\n" + run(path, with_frame_number=True, check=True).stdout)
