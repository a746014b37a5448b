#!/usr/bin/env bash
# Records Fixtures/smtp-files.pcap: mail with attachments through Debian's exim (its own
# configuration: accept for any recipient, deliver nowhere) between two network namespaces,
# curl as the client (MTU 1500, offloads off). What crosses the wire, in two messages over two
# connections:
# - invoice.pdf (base64) and payload.exe (base64, a second part), with a text body;
# - a nested multipart/mixed inside multipart/alternative holding notes.txt
#   (quoted-printable), and a line that starts with a dot (dot-stuffed on the wire).
# The attachments' bytes are deterministic (AES-CTR of zeros under a fixed key), so their
# SHA-256 are fixed; the script prints them. Root, with exim4-daemon-light, curl and ethtool;
# traffic stays in the namespaces.
# Usage: make-smtp-capture.sh OUT.pcap
set -euo pipefail
. "$(dirname "$0")/netns-pair.sh"
out=$(realpath -m "$1")
record_begin al-smtp
mkdir -p spool log
# exim writes its spool and logs as its own user.
chown Debian-exim spool log 2>/dev/null || chmod 777 spool log
{ printf '%%PDF-1.5\n'; fixture_bytes 60000 06060606060606060606060606060606; } >invoice.pdf
{ printf 'MZ'; fixture_bytes 30000 07070707070707070707070707070707; } >payload.exe
# Mail text's line breaks are CR LF: what a reader decodes from quoted-printable.
for i in $(seq 1 400); do printf 'note %d: caf\xc3\xa9 = price\r\n' "$i"; done >notes.txt
sha256sum invoice.pdf payload.exe notes.txt

cat >exim.conf <<CONF
primary_hostname = mail.example.test
spool_directory = $work/spool
log_file_path = $work/log/%slog
local_interfaces = 10.80.0.2
daemon_smtp_ports = 25
acl_smtp_rcpt = accept_all
message_size_limit = 20M
begin acl
accept_all:
  accept
begin routers
nowhere:
  driver = redirect
  data = :blackhole:
CONF

# Quoted-printable of the text's lines; the empty line after them makes the last CR LF content
# (the one before a boundary is the delimiter's).
qp() { python3 -c 'import quopri,sys; sys.stdout.write(quopri.encodestring(open(sys.argv[1],"rb").read().replace(b"\r\n", b"\n")).decode())' "$1"; }
{
  printf 'From: a@example.test\r\nTo: b@example.test\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: multipart/mixed; boundary="=-b1"\r\n\r\n'
  printf 'preamble\r\n--=-b1\r\nContent-Type: text/plain\r\n\r\nPlease see attached.\r\n.a line that starts with a dot\r\n'
  printf -- '--=-b1\r\nContent-Type: application/pdf; name="invoice.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
  printf 'Content-Disposition: attachment; filename="invoice.pdf"\r\n\r\n'
  base64 -w 76 invoice.pdf | sed 's/$/\r/'
  printf -- '--=-b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n'
  printf 'Content-Disposition: attachment;\r\n filename=payload.exe\r\n\r\n'
  base64 -w 76 payload.exe | sed 's/$/\r/'
  printf -- '--=-b1--\r\n'
} >m1.eml
{
  printf 'From: a@example.test\r\nTo: b@example.test\r\nSubject: notes\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: multipart/alternative; boundary=outer\r\n\r\n'
  printf -- '--outer\r\nContent-Type: text/plain\r\n\r\nplain\r\n'
  printf -- '--outer\r\nContent-Type: multipart/mixed; boundary="inner"\r\n\r\n'
  printf -- '--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n'
  printf -- '--inner\r\nContent-Type: text/plain; charset=utf-8; name="notes.txt"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
  qp notes.txt | sed 's/$/\r/'
  printf '\r\n'
  printf -- '--inner--\r\n--outer--\r\n'
} >m2.eml

netns_pair al-smtp 10.80.0.

record_capture al-smtp
ip netns exec al-smtp-v exim -C "$work/exim.conf" -bd -oX 25 &
pids+=($!)
sleep 1
for m in m1.eml m2.eml; do
  ip netns exec al-smtp-a curl -s --max-time 20 smtp://10.80.0.2 --mail-from a@example.test --mail-rcpt b@example.test -T "$m"
  sleep 0.3
done
record_end "$out"
