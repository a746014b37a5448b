#!/usr/bin/env bash
# Records Fixtures/tls12-certificates.pcap: TLS 1.2 sessions between two network namespaces
# (MTU 1500, so a server's certificates span TCP segments), with openssl's own server and client.
# One server presents a self-signed RSA-4096 certificate valid for 3 days with 41 names
# (c2.evil.test; over 2 KB, so it spans two segments), the other
# an EC leaf with its CA (www.example.test), and a third a leaf of the same CA that expired in 2024
# (old.example.test: `openssl ca` sets its dates). Root, with ethtool (segmentation offload off, so
# the capture has the segments the wire had); traffic stays inside the namespaces.
# Usage: make-tls-capture.sh OUT.pcap
set -euo pipefail
. "$(dirname "$0")/netns-pair.sh"
out=$(realpath -m "$1")
record_begin al-tls
san="DNS:c2.evil.test"
for i in $(seq 1 40); do san="$san,DNS:node$i.c2.evil.test"; done
openssl req -x509 -newkey rsa:4096 -nodes -keyout self.key -out self.pem -days 3 -subj "/CN=c2.evil.test/O=Aether Test" \
  -addext "subjectAltName=$san" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -days 3650 -subj "/C=US/O=Aether Test CA/CN=Aether Root" -out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
openssl req -new -key leaf.key -subj "/CN=www.example.test/O=Example, Inc." -out leaf.csr 2>/dev/null
printf "subjectAltName=DNS:www.example.test,IP:10.77.0.2\n" >ext.cnf
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x0100 -days 90 -extfile ext.cnf -out leaf.pem 2>/dev/null
cat leaf.pem ca.pem >chain.pem
# The expired leaf: `openssl ca` takes explicit dates, which `openssl x509 -req` does not.
mkdir -p ca/newcerts && touch ca/index.txt && echo 1000 >ca/serial
cat >ca.cnf <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ./ca
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = policy_any
copy_extensions = copy
[ policy_any ]
commonName = supplied
CNF
openssl ecparam -name prime256v1 -genkey -noout -out old.key
openssl req -new -key old.key -subj "/CN=old.example.test" -addext "subjectAltName=DNS:old.example.test" -out old.csr 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in old.csr -out old.pem -notext \
  -startdate 20240101000000Z -enddate 20240401000000Z 2>/dev/null

netns_pair al-tls 10.77.0.

record_capture al-tls
ip netns exec al-tls-v openssl s_server -accept 10.77.0.2:8443 -cert self.pem -key self.key -tls1_2 -quiet >/dev/null 2>&1 &
pids+=($!)
ip netns exec al-tls-v openssl s_server -accept 10.77.0.2:443 -cert leaf.pem -key leaf.key -cert_chain ca.pem -tls1_2 -quiet >/dev/null 2>&1 &
pids+=($!)
ip netns exec al-tls-v openssl s_server -accept 10.77.0.2:9443 -cert old.pem -key old.key -cert_chain ca.pem -tls1_2 -quiet >/dev/null 2>&1 &
pids+=($!)
sleep 1
for port in 8443 443 8443 9443; do
  case $port in 443) name=www.example.test ;; 9443) name=old.example.test ;; *) name=c2.evil.test ;; esac
  echo "GET / HTTP/1.0" | ip netns exec al-tls-a timeout 3 openssl s_client -connect 10.77.0.2:$port -servername $name -tls1_2 -quiet >/dev/null 2>&1 || true
  sleep 0.3
done
record_end "$out"
