#!/bin/bash
# SPDX-License-Identifier: MIT
# make deb, as an operator meets it: lintian has no error or warning; in a private mount
# namespace whose /usr, /etc and /var are overlays (what dpkg writes stays in the test, and
# other users of this machine see nothing): install, the binary runs, the packaged config
# passes --check-config, the unit passes `systemd-analyze verify`, an edited conffile
# survives an upgrade, remove keeps the config, purge leaves nothing behind (every file the
# overlays caught is dpkg's own bookkeeping). PID 1 need not be systemd.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
fail() { echo "FAIL deb: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg, mount namespaces)"
T=$(mktemp -d /tmp/amx-deb.XXXXXX) || fail "no work dir"
trap 'rm -rf "$T"' EXIT
ver=$(sed -n 's/^#define AMX_VERSION "\(.*\)"/\1/p' src/core/event.h)
arch=$(dpkg --print-architecture)
make -s deb DEB_DIR="$T" >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make deb failed"; }
make -s deb DEB_DIR="$T" DEB_VERSION="$ver+1" >>"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make deb (upgrade) failed"; }
v1=$T/amexbpf_${ver}_$arch.deb
v2=$T/amexbpf_${ver}+1_$arch.deb
[ -f "$v1" ] && [ -f "$v2" ] || fail "make deb did not write $v1"
lintian --tag-display-limit 0 "$v1" >"$T/lintian.log" 2>&1
grep -E '^[EW]: ' "$T/lintian.log" && fail "lintian reports errors or warnings"
echo "lintian: no error, no warning ($(grep -c '^[IP]: ' "$T/lintian.log") info tags)"
for f in etc/amexbpf/amexbpf.conf etc/logrotate.d/amexbpf; do
	dpkg-deb -I "$v1" conffiles | grep -qx "/$f" || fail "/$f is not a conffile"
done
dpkg-deb -f "$v1" Depends | grep -q libbpf1 || fail "Depends does not name libbpf1"

cat >"$T/inside.sh" <<'IN'
set -uo pipefail
fail() { echo "FAIL deb: $*"; exit 1; }
for d in usr etc var; do
	mkdir -p "$T/ov/$d/u" "$T/ov/$d/w"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ov/$d/u,workdir=$T/ov/$d/w" "/$d" || fail "overlay on /$d"
done
mount -t tmpfs tmpfs /run || fail "tmpfs on /run"
dpkg -i "$v1" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i failed"; }
[ "$(/usr/sbin/amexbpf --version)" = "amexbpf $ver" ] || fail "the installed binary says: $(/usr/sbin/amexbpf --version 2>&1)"
out=$(/usr/sbin/amexbpf run --check-config --config /etc/amexbpf/amexbpf.conf --pm2 "$PM2") || fail "the packaged config: $out"
grep -qx 'textfile-dir = /var/lib/prometheus/node-exporter' /etc/amexbpf/amexbpf.conf || fail "the packaged config writes no textfile"
systemd-analyze verify --man=no /lib/systemd/system/amexbpf.service >"$T/verify.log" 2>&1 || { cat "$T/verify.log"; fail "systemd-analyze verify"; }
[ ! -s "$T/verify.log" ] || { cat "$T/verify.log"; fail "systemd-analyze verify warns"; }
[ "$(stat -c %a /var/lib/amexbpf)" = 700 ] && [ -d /var/log/amexbpf ] || fail "state or log directory missing"
[ -e /etc/systemd/system/multi-user.target.wants/amexbpf.service ] || fail "the unit is not enabled for the next boot under systemd"
man -w amexbpf >/dev/null 2>&1 || [ -f /usr/share/man/man8/amexbpf.8.gz ] || fail "no man page"
echo "; mine" >>/etc/amexbpf/amexbpf.conf
touch /var/log/amexbpf/events.ndjson /var/lib/amexbpf/budget
dpkg -i "$v2" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "upgrade failed"; }
[ "$(dpkg-query -W -f '${Version}' amexbpf)" = "$ver+1" ] || fail "not upgraded"
grep -qx '; mine' /etc/amexbpf/amexbpf.conf || fail "the upgrade overwrote the edited config"
[ -e /var/lib/amexbpf/budget ] || fail "the upgrade lost the state"
dpkg -r amexbpf >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -r failed"; }
[ ! -e /usr/sbin/amexbpf ] || fail "remove left the binary"
grep -qx '; mine' /etc/amexbpf/amexbpf.conf || fail "remove took the config"
dpkg -P amexbpf >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -P failed"; }
# What the overlays caught, less dpkg's own records: must be nothing.
# (whiteouts, character devices, are what purge deleted of the real tree: not left behind).
left=$(for d in usr etc var; do
	(cd "$T/ov/$d/u" && find . -mindepth 1 ! -type d ! -type c -printf "/$d/%P\n"
	 find . -mindepth 1 -type d -printf '%P\n' | while read -r p; do [ -e "$LOWER/$d/$p" ] || echo "/$d/$p/"; done)
done | grep -vE '^/var/lib/dpkg/|^/var/log/(dpkg|alternatives)\.log$|^/var/cache/(debconf|man)/' | sort)
[ -z "$left" ] || fail "purge left: $(echo $left)"
echo "install, upgrade with an edited conffile, remove and purge: clean"
IN
# LOWER: the real tree, seen through a bind mount made inside the namespace before the overlays.
T=$T v1=$v1 v2=$v2 ver=$ver PM2=$REPO/tests/pm2/node_modules/.bin/pm2 \
	unshare -m --propagation private bash -c '
	mkdir -p "$T/lower/r" && mount --bind / "$T/lower/r" && export LOWER=$T/lower/r && bash "$T/inside.sh"'
