#!/usr/bin/env bash
# Records Fixtures/demo.pcapng: real traffic between two network namespaces, as root.
#   workstation 10.66.0.1  ── veth ──  server 10.66.0.2 (also 203.0.113.50/.99, "external")
# Normal traffic: HTTP with curl, DNS lookups. Incidents, in this order:
#   port_scan  nmap -sS of 1000 ports of 10.66.0.2
#   host_sweep nmap -sS -Pn of port 445 on 10.77.0.1-60 (routed to the server, which drops it)
#   udp_scan   nmap -sU of 100 ports of 10.66.0.2 (ICMP port unreachable answers)
#   ping_sweep one echo to each of 10.77.0.1-40
#   suspicious_outbound  a session to 203.0.113.50:4444 (reverse shell)
#   dga        60 random names, all NXDOMAIN
#   brute_force 20 FTP sessions with 3 failed logins each
#   beacon     14 short sessions to 203.0.113.99:443 every 5 s, through the whole recording
set -euo pipefail
out=${1:-Fixtures/demo.pcapng}
here=$(cd "$(dirname "$0")" && pwd)
A=aeth-ws B=aeth-srv
cleanup() {
  [ -n "${cap:-}" ] && kill "$cap" 2>/dev/null || true
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $A; ip netns add $B
ip link add veth-ws netns $A type veth peer name veth-srv netns $B
ip -n $A addr add 10.66.0.1/24 dev veth-ws
ip -n $B addr add 10.66.0.2/24 dev veth-srv
ip -n $B addr add 203.0.113.50/32 dev veth-srv
ip -n $B addr add 203.0.113.99/32 dev veth-srv
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set veth-ws up; ip -n $B link set veth-srv up
ip -n $A route add 203.0.113.0/24 via 10.66.0.2
ip -n $A route add 10.77.0.0/24 via 10.66.0.2
ip netns exec $B sysctl -qw net.ipv4.icmp_ratelimit=0
ip netns exec $B sysctl -qw net.ipv4.ip_forward=0
# Unrouted sweep targets are dropped silently, as a firewall would.
ip -n $B route add blackhole 10.77.0.0/24

ip netns exec $B python3 "$here/demo_servers.py" 10.66.0.2 & srv=$!
tmp=$(mktemp -d)
ip netns exec $A dumpcap -q -i veth-ws -w "$tmp/demo.pcapng" & cap=$!
sleep 2
run() { ip netns exec $A "$@"; }
run python3 "$here/demo_client.py" 10.66.0.2 beacon & beacon=$!
run curl -s -o /dev/null http://10.66.0.2/ ; run curl -s -o /dev/null http://10.66.0.2/index.html
run python3 "$here/demo_client.py" 10.66.0.2 dns
run nmap -n -sS -T4 -p 1-1000 --max-retries 0 10.66.0.2 >/dev/null
run nmap -n -sS -Pn -T4 -p 445 --max-retries 0 10.77.0.1-60 >/dev/null
run nmap -n -sU -T5 -p 1-100 --max-retries 0 10.66.0.2 >/dev/null || true
for i in $(seq 1 40); do run ping -c 1 -W 0.05 10.77.0.$i >/dev/null || true; done
run python3 "$here/demo_client.py" 10.66.0.2 revshell
run python3 "$here/demo_client.py" 10.66.0.2 dga
run python3 "$here/demo_client.py" 10.66.0.2 ftpbrute
run curl -s -o /dev/null http://10.66.0.2/later
wait "$beacon"
sleep 1
kill -INT "$cap"; wait "$cap" || true; cap=
mkdir -p "$(dirname "$out")"
cp "$tmp/demo.pcapng" "$out"
rm -rf "$tmp"
ls -l "$out"
