#!/usr/bin/env bash
# Records Fixtures/ftp-files.pcap: files over FTP between two network namespaces, vsftpd serving
# (anonymous) and curl as the client (MTU 1500, offloads off). What crosses the wire:
# - setup.exe downloaded in passive mode (EPSV);
# - data.bin downloaded in active mode (EPRT: the server opens the data connection);
# - loot.zip uploaded (STOR, passive);
# - a directory listing (LIST), which is not a file.
# The files' bytes are deterministic (AES-CTR of zeros under a fixed key), so their SHA-256 are
# fixed; the script prints them. Root, with vsftpd, curl and ethtool; traffic stays in the
# namespaces.
# Usage: make-ftp-capture.sh OUT.pcap
set -euo pipefail
. "$(dirname "$0")/netns-pair.sh"
out=$(realpath -m "$1")
record_begin al-ftp
# vsftpd refuses a root the anonymous user can write to; uploads go to a folder below it.
mkdir -p root/pub root/upload empty
chown ftp root/upload
{ printf 'MZ'; fixture_bytes 90000 03030303030303030303030303030303; } >root/pub/setup.exe
fixture_bytes 250000 04040404040404040404040404040404 >root/pub/data.bin
{ printf 'PK\003\004'; fixture_bytes 40000 05050505050505050505050505050505; } >loot.zip
sha256sum root/pub/setup.exe root/pub/data.bin loot.zip

cat >vsftpd.conf <<CONF
listen=YES
listen_address=10.79.0.2
anonymous_enable=YES
anon_root=$work/root
no_anon_password=YES
write_enable=YES
anon_upload_enable=YES
anon_umask=022
local_enable=NO
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40100
port_enable=YES
connect_from_port_20=NO
secure_chroot_dir=$work/empty
seccomp_sandbox=NO
background=NO
xferlog_enable=NO
CONF

netns_pair al-ftp 10.79.0.

record_capture al-ftp
ip netns exec al-ftp-v vsftpd "$work/vsftpd.conf" &
pids+=($!)
sleep 1
c() { ip netns exec al-ftp-a curl -s --max-time 20 "$@"; }
c -o /dev/null ftp://10.79.0.2/pub/setup.exe
sleep 0.3
c -P - -o /dev/null ftp://10.79.0.2/pub/data.bin
sleep 0.3
c -T loot.zip ftp://10.79.0.2/upload/
sleep 0.3
c -o /dev/null ftp://10.79.0.2/pub/
sleep 1
cmp loot.zip root/upload/loot.zip
record_end "$out"
