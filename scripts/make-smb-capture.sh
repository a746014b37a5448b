#!/usr/bin/env bash
# Records Fixtures/smb-files.pcap: files copied over SMB2/3 between two network namespaces,
# Samba's smbd serving a guest share and smbclient copying (MTU 1500, offloads off). What
# crosses the wire:
# - budget.xlsx (a zip) and tool.dll (MZ) read from the share (smbclient get: READ requests,
#   several outstanding at once);
# - exfil.7z written to the share (put: WRITE requests).
# The files' bytes are deterministic (AES-CTR of zeros under a fixed key), so their SHA-256 are
# fixed; the script prints them. Root, with samba, smbclient and ethtool; traffic stays in the
# namespaces.
# Usage: make-smb-capture.sh OUT.pcap
set -euo pipefail
. "$(dirname "$0")/netns-pair.sh"
out=$(realpath -m "$1")
record_begin al-smb
mkdir -p share run lock state cache private got
chmod 777 share
{ printf 'PK\003\004'; fixture_bytes 300000 08080808080808080808080808080808; } >share/budget.xlsx
{ printf 'MZ'; fixture_bytes 45000 09090909090909090909090909090909; } >share/tool.dll
{ printf '7z\274\257\047\034'; fixture_bytes 150000 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a; } >exfil.7z
sha256sum share/budget.xlsx share/tool.dll exfil.7z

cat >smb.conf <<CONF
[global]
  workgroup = TEST
  server role = standalone server
  map to guest = Bad User
  smb ports = 445
  interfaces = 10.81.0.2/24
  bind interfaces only = yes
  disable netbios = yes
  pid directory = $work/run
  lock directory = $work/lock
  state directory = $work/state
  cache directory = $work/cache
  private dir = $work/private
  log file = $work/smbd.log
  server min protocol = SMB2
[share]
  path = $work/share
  guest ok = yes
  read only = no
  force user = root
CONF

netns_pair al-smb 10.81.0.

record_capture al-smb
# Its own session: smbd signals its whole process group when it ends.
ip netns exec al-smb-v setsid smbd --foreground --no-process-group -s "$work/smb.conf" &
pids+=($!)
sleep 2
ip netns exec al-smb-a smbclient //10.81.0.2/share -N -s "$work/smb.conf" \
  -c "get budget.xlsx $work/got/budget.xlsx; get tool.dll $work/got/tool.dll; put exfil.7z exfil.7z" >/dev/null
sleep 1
cmp share/budget.xlsx got/budget.xlsx
cmp exfil.7z share/exfil.7z
record_end "$out"
