# Sourced by the fixture recorders: two network namespaces joined by a veth pair (MTU 1500,
# segmentation and receive offloads off, so a capture has the segments the wire had).
# netns_pair NAME NET: namespaces NAME-a (NET.1, device NAME0) and NAME-v (NET.2, device NAME1),
# for example netns_pair al-file 10.78.0. Needs root, iproute2 and ethtool.
netns_pair() {
  local n=$1 net=$2
  ip netns add "$n-a"
  ip netns add "$n-v"
  ip link add "${n}0" type veth peer name "${n}1"
  ip link set "${n}0" netns "$n-a"
  ip link set "${n}1" netns "$n-v"
  ip -n "$n-a" addr add "${net}1/24" dev "${n}0"
  ip -n "$n-v" addr add "${net}2/24" dev "${n}1"
  ip -n "$n-a" link set "${n}0" up mtu 1500
  ip -n "$n-v" link set "${n}1" up mtu 1500
  ip -n "$n-v" link set lo up
  ip netns exec "$n-a" ethtool -K "${n}0" tso off gso off gro off >/dev/null
  ip netns exec "$n-v" ethtool -K "${n}1" tso off gso off gro off >/dev/null
}

# netns_del NAME: removes what netns_pair NAME made (the veth goes with its namespaces).
netns_del() {
  ip netns del "$1-a" 2>/dev/null || true
  ip netns del "$1-v" 2>/dev/null || true
}

# record_begin NAME: a private work folder (the current folder from here on, readable by the
# servers' own users) and, at exit, the end of what the recording started: the processes in
# `pids`, the namespace pair NAME and the folder. Sets `work` and `pids`.
record_begin() {
  work=$(mktemp -d)
  chmod 755 "$work"
  pids=()
  rec_pair=$1
  trap 'kill "${pids[@]}" 2>/dev/null || true; netns_del "$rec_pair"; rm -rf "$work"' EXIT
  cd "$work"
}

# fixture_bytes N KEY: N deterministic bytes (AES-CTR of zeros under KEY, 32 hex digits), so a
# recorded file's SHA-256 is the same on every machine.
fixture_bytes() {
  head -c "$1" /dev/zero | openssl enc -aes-128-ctr -K "$2" -iv 00000000000000000000000000000000 2>/dev/null
}

# record_capture NAME: tcpdump on NAME's server side (device NAME1, TCP only, whole packets) into
# the work folder, its pid first in `pids`; record_end OUT stops it and copies the capture to OUT.
record_capture() {
  ip netns exec "$1-v" tcpdump -i "${1}1" -w "$work/cap.pcap" -U -s 0 tcp 2>/dev/null &
  pids=("$!" "${pids[@]}")
  sleep 1
}

record_end() {
  sleep 1
  kill "${pids[0]}"
  wait "${pids[0]}" 2>/dev/null || true
  cp "$work/cap.pcap" "$1"
  echo "wrote $1"
}
