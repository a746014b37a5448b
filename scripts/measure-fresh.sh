#!/usr/bin/env bash
# Times `make run` and `bash .ci/run` on a fresh Debian 12 that has only the Swift toolchain and
# what the toolchain itself needs: no project package, no SwiftPM cache, no `.build`. The machine
# is a debootstrap chroot in DIR (root; Debian's mirror for the packages, the local Swift package
# mirror and toolchain bind-mounted read-only as they are on a machine of this kind).
#   sudo scripts/measure-fresh.sh DIR [REV]      DIR new (or made by this script only); REV defaults to HEAD
# Prints the two times; the logs stay in DIR/root/run.log and DIR/root/ci.log. `umount -R` the
# mounts under DIR (listed at the end) before removing it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: measure-fresh.sh DIR [REV]}; rev=${2:-HEAD}
[ "$(id -u)" = 0 ] || { echo "measure-fresh.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
[ -x "$dir/bin/bash" ] || debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >/dev/null
# The host's Debian sources, name servers, certificate authorities and pip settings: the network
# a machine of this kind has.
cp /etc/apt/sources.list.d/debian.sources "$dir/etc/apt/sources.list.d/" && rm -f "$dir/etc/apt/sources.list"
cp /etc/resolv.conf "$dir/etc/"
mkdir -p "$dir/usr/local/share/ca-certificates" && cp /usr/local/share/ca-certificates/* "$dir/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/pip.conf "$dir/etc/pip.conf" 2>/dev/null || true
cp /etc/gitconfig "$dir/etc/gitconfig" 2>/dev/null || true
for m in /opt/swift /opt/swift-packages /opt/wheels; do
  [ -d "$m" ] || continue
  mkdir -p "$dir$m"; mountpoint -q "$dir$m" || mount --bind "$m" "$dir$m"
done
mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
mountpoint -q "$dir/dev" || mount --rbind /dev "$dir/dev"
mountpoint -q "$dir/sys" || mount --rbind /sys "$dir/sys"
mountpoint -q "$dir/run" || mount -t tmpfs tmpfs "$dir/run"
mkdir -p "$dir/run/netns"
shared=$(cd .. && pwd)/shared
if [ -d "$shared" ]; then mkdir -p "$dir/root/shared"; mountpoint -q "$dir/root/shared" || mount --bind "$shared" "$dir/root/shared"; fi
# What Swift's own installation needs on Debian 12 (swift.org's list), not timed: a machine with
# the toolchain has it.
chroot "$dir" /bin/bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends \
  ca-certificates binutils gcc git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev libstdc++-12-dev \
  libxml2-dev libncurses-dev libz3-dev pkg-config tzdata unzip make python3 procps >/dev/null && update-ca-certificates >/dev/null'
env_line="PATH=/opt/swift/usr/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root CI=true TERM=dumb"
for v in SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE CURL_CA_BUNDLE PIP_FIND_LINKS PIP_DEFAULT_TIMEOUT NODE_EXTRA_CA_CERTS; do
  [ -n "${!v:-}" ] && env_line="$env_line $v=${!v}"
done
# Each job starts from that state: what the one before installed is purged first (the state is
# kept from the first run in DIR). JOBS="ci" times one of them.
[ -s "$dir/root/baseline-packages" ] || chroot "$dir" dpkg-query -W -f '${Package}\n' | sort > "$dir/root/baseline-packages"
for job in ${JOBS:-run ci}; do
  chroot "$dir" /bin/bash -c 'added=$(dpkg-query -W -f "\${Package}\n" | sort | comm -13 /root/baseline-packages -); \
    [ -z "$added" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $added >/dev/null 2>&1; true'
  rm -rf "$dir/root/$job" "$dir/root/.cache/org.swift.swiftpm"
  git clone -q . "$dir/root/$job" && git -C "$dir/root/$job" checkout -q "$rev"
  cmd=$([ $job = run ] && echo "make run" || echo "bash .ci/run")
  # shellcheck disable=SC2086
  chroot "$dir" /usr/bin/env -i $env_line /bin/bash -c "cd /root/$job && s=\$(date +%s); $cmd > /root/$job.log 2>&1; rc=\$?; \
    echo \"$cmd: exit \$rc, \$((\$(date +%s) - s)) s\" | tee -a /root/$job.log"
done
tail -1 "$dir/root/ci.log" | grep -q . && grep -E "passed, [0-9]+ failed" "$dir/root/ci.log" | tail -1
echo "mounts under $dir:"; findmnt -rn -o TARGET | grep "^$dir" || true
