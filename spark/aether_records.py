"""What the Spark job does between `aether shard` and `aether detect`, in plain Python so that it
can be tested without Spark: find the fragments that continue a connection cut at a file
boundary, and the partition host of every event record.

A shard's end-of-input flush writes each connection still open as a cut record (`cut.jsonl`):
its 5-tuple, last packet time `lt` and idle timeout `to`. The next file's fragment of the same
5-tuple continues it when its first packet comes within that timeout, unless it is a TCP
fragment opening with a fresh SYN where the old connection had ended (one connection table
reading both files would have kept going in every other case). A chain
over several files is followed to its root, whose originator is the partition host of every
fragment's events.
"""

import json
import re

TCP = 6


def five_tuple(c):
    """The 5-tuple of a connection snapshot, without direction."""
    a = (c["oh"], c["op"])
    b = (c["rh"], c["rp"])
    return (c["pr"],) + (a + b if a <= b else b + a)


ENDED = (5, 6)  # EndpointState closed, reset


def opens_with_syn(history):
    """The fragment's first packet was a pure SYN from its originator."""
    h = history[1:] if history.startswith("^") else history
    return h[:1] == "S"


def head_candidate(finished, file_first_ns, longest_timeout_ns):
    """A finished record of a connection that began early enough in its file to continue one."""
    c = finished["c"]
    return c["ts"] - file_first_ns <= longest_timeout_ns


def continues(cut, head):
    """Whether the fragment `head` (next file, same 5-tuple) continues the cut connection."""
    ac, c = cut["c"], head["c"]
    gap = c["ts"] - ac["lt"]
    if gap < 0 or gap > cut["to"]:
        return False
    # A fresh SYN starts a new connection only where the old one had ended (Zeek's connection
    # reuse); a retransmitted SYN or one into a live connection goes on with it.
    return not (c["pr"] == TCP and opens_with_syn(c["hi"]) and (ac.get("os") in ENDED or ac.get("rs") in ENDED))


def cut_key(r):
    """Where a cut record meets its continuation: (its file, 5-tuple)."""
    return (r["f"], five_tuple(r["c"]))


def head_key(r):
    """Where a head record meets the connection it may continue: (previous file, 5-tuple)."""
    return (r["f"] - 1, five_tuple(r["c"]))


def earliest(pairs):
    """[(cut, head)] that continue → {later id: earlier id}, the earliest head per cut."""
    best = {}
    for a, b in pairs:
        key = a["c"]["id"]
        if key not in best or b["c"]["ts"] < best[key][0]:
            best[key] = (b["c"]["ts"], b["c"]["id"])
    return {later: earlier for earlier, (_, later) in best.items()}


def find_matches(cuts, heads):
    """cuts: cut records of every file; heads: finished records (cut or not) that may continue
    one. Returns {later id: earlier id}. (The job does the same as a join in Spark.)"""
    open_at_end = {cut_key(r): r for r in cuts}
    pairs = [(open_at_end[head_key(h)], h) for h in heads if head_key(h) in open_at_end]
    return earliest([(a, b) for a, b in pairs if continues(a, b)])


def root_hosts(matches, cuts):
    """{fragment id: the originator of its chain's root} for every later fragment."""
    origin = {r["c"]["id"]: r["c"]["oh"] for r in cuts}
    return {later: origin.get(root) for later, root in roots(matches).items()}


def route(record, roots):
    """The partition host of an event record: its own `h`, unless it belongs to a fragment
    that continues another, whose events go where the chain's root went."""
    c = record.get("c")
    if c is not None and c["id"] in roots and roots[c["id"]]:
        return roots[c["id"]]
    if record.get("e") == "tlsHello" and record.get("fid") in roots and roots[record["fid"]]:
        return roots[record["fid"]]
    return record["h"]


_HEAD = re.compile(r'^\{"h":"([^"]*)","t":(-?\d+),"q":(\d+),"f":(\d+),"e":"(\w+)"')
_CONN_ID = re.compile(r'"c":\{"id":(-?\d+)')
_FLOW = re.compile(r'"fid":(-?\d+)')


def route_line(line, roots):
    """(host, t, q, f) of an event record line as aether writes it, without parsing it whole
    (this runs once per event); any other shape of line is parsed as JSON."""
    m = _HEAD.match(line)
    if m is None:
        r = json.loads(line)
        return route(r, roots), r["t"], r["q"], r["f"]
    host = m.group(1)
    if roots:
        c = _CONN_ID.search(line)
        ident = int(c.group(1)) if c else None
        if ident is None and m.group(5) == "tlsHello":
            fid = _FLOW.search(line)
            ident = int(fid.group(1)) if fid else None
        if ident in roots and roots[ident]:
            host = roots[ident]
    return host, int(m.group(2)), int(m.group(3)), int(m.group(4))


def sort_key(record):
    return (record["t"], record["f"], record["q"])


def match_lines(matches):
    return [json.dumps({"b": b, "a": a}) for b, a in sorted(matches.items())]


def roots(matches):
    """{later fragment id: the id of its chain's root}."""
    out = {}
    for later in matches:
        x = later
        for _ in range(1 << 20):
            if x not in matches:
                break
            x = matches[x]
        out[later] = x
    return out


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def connection_uid(i):
    """The uid aether gives connection id `i` (AetherStore's connectionUID)."""
    mask = (1 << 64) - 1
    v = (i * 0x9E3779B97F4A7C15) & mask
    s = "C"
    for _ in range(17):
        s += _ALPHABET[v % 62]
        v //= 62
        if v == 0:
            v = (i + 0x1234567) & mask
    return s
