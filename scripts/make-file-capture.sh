#!/usr/bin/env bash
# Records Fixtures/http-files.pcap: files downloaded over HTTP between two network namespaces,
# nginx serving and curl fetching (MTU 1500, offloads off, so bodies span many segments). What
# crosses the wire:
# - report.pdf and tool.exe (Content-Length), both over one kept-alive connection;
# - notes.txt with curl --compressed: nginx sends it gzip-coded and chunked;
# - invoice.txt under a Content-Disposition name that climbs out of any folder
#   (../../../tmp/evil.sh);
# - bomb.txt: 512 MB of zeros, gzip-coded (about 500 KB on the wire), which curl does not decode.
# The files' bytes are deterministic (AES-CTR of zeros under a fixed key), so their SHA-256 are
# fixed; the script prints them. Root, with nginx and ethtool; traffic stays in the namespaces.
# Usage: make-file-capture.sh OUT.pcap
set -euo pipefail
. "$(dirname "$0")/netns-pair.sh"
out=$(realpath -m "$1")
work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  netns_del al-file
  rm -rf "$work"
}
pids=()
trap cleanup EXIT
cd "$work"
mkdir -p www/dl
{ printf '%%PDF-1.4\n'; fixture_bytes 120000 01010101010101010101010101010101; } | head -c 120009 >www/dl/report.pdf
{ printf 'MZ'; fixture_bytes 70000 02020202020202020202020202020202; } >www/dl/tool.exe
for i in $(seq 1 3000); do echo "line $i: the quick brown fox jumps over the lazy dog"; done >www/dl/notes.txt
printf '#!/bin/sh\necho "this file named itself ../../../tmp/evil.sh"\n' >www/dl/invoice.txt
head -c 536870912 /dev/zero | gzip -9 >www/dl/bomb.txt
sha256sum www/dl/report.pdf www/dl/tool.exe www/dl/notes.txt www/dl/invoice.txt

cat >nginx.conf <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  default_type application/octet-stream;
  types { text/plain txt; application/pdf pdf; }
  gzip on;
  gzip_types text/plain;
  gzip_min_length 100;
  server {
    listen 10.78.0.2:80;
    root $work/www;
    location = /dl/invoice.txt { add_header Content-Disposition 'attachment; filename="../../../tmp/evil.sh"'; }
    location = /dl/bomb.txt { gzip off; add_header Content-Encoding gzip; }
  }
}
CONF

netns_pair al-file 10.78.0.

record_capture al-file
ip netns exec al-file-v nginx -c "$work/nginx.conf"
sleep 1
c() { ip netns exec al-file-a curl -s --max-time 20 "$@"; }
c -o /dev/null -o /dev/null http://10.78.0.2/dl/report.pdf http://10.78.0.2/dl/tool.exe
sleep 0.3
c --compressed -o /dev/null http://10.78.0.2/dl/notes.txt
sleep 0.3
c -o /dev/null http://10.78.0.2/dl/invoice.txt
sleep 0.3
c -o /dev/null http://10.78.0.2/dl/bomb.txt
record_end "$out"
