#!/bin/bash
# SPDX-License-Identifier: MIT
# make install / uninstall with DESTDIR and PREFIX; the unit passes `systemd-analyze verify`;
# the installed example config passes --check-config; a broken one is rejected with each
# problem's line number and exit 78; the man page documents every option of --help.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root"
T=$(mktemp -d /tmp/amx.XXXXXX) || fail "cannot create a work dir"
trap 'rm -rf "$T"' EXIT
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (make deps)"

# DESTDIR + PREFIX: the layout.
dest=$T/dest
make -s -C "$REPO" install DESTDIR="$dest" PREFIX=/usr >"$T/install.out" 2>&1 || { cat "$T/install.out" >&2; fail "make install failed"; }
for f in usr/sbin/amexbpf:755 usr/lib/systemd/system/amexbpf.service:644 usr/share/man/man8/amexbpf.8:644 \
	etc/logrotate.d/amexbpf:644 etc/amexbpf/amexbpf.conf:644; do
	[ -f "$dest/${f%%:*}" ] || fail "make install did not lay out /${f%%:*}"
	[ "$(stat -c %a "$dest/${f%%:*}")" = "${f##*:}" ] || fail "/${f%%:*} has mode $(stat -c %a "$dest/${f%%:*}")"
done
grep -qx 'ExecStart=/usr/sbin/amexbpf run --config /etc/amexbpf/amexbpf.conf' "$dest/usr/lib/systemd/system/amexbpf.service" ||
	fail "ExecStart does not name the installed binary and config"
# A second install keeps an operator's config; uninstall removes everything else.
echo '; mine' >>"$dest/etc/amexbpf/amexbpf.conf"
make -s -C "$REPO" install DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1 || fail "second make install failed"
grep -q '; mine' "$dest/etc/amexbpf/amexbpf.conf" || fail "make install overwrote an existing config"
make -s -C "$REPO" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1 || fail "make uninstall failed"
left=$(cd "$dest" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./etc/amexbpf/amexbpf.conf " ] || fail "after uninstall, left: $left"

# The default --sched is real-time: the unit must let the daemon set it (CAP_SYS_NICE, no
# RestrictRealtime=) and must not set a unit-wide policy its children would inherit.
unit=$REPO/src/dist/amexbpf.service
grep -q '^CapabilityBoundingSet=.*CAP_SYS_NICE' "$unit" || fail "the unit lacks CAP_SYS_NICE (--sched)"
! grep -qE '^(RestrictRealtime=yes|CPUSchedulingPolicy=|Nice=)' "$unit" ||
	fail "the unit restricts or sets the scheduling class that --sched sets"

# PREFIX only, so that the paths in the unit exist: systemd-analyze verify.
p=$T/prefix
make -s -C "$REPO" install PREFIX="$p" SYSCONFDIR="$p/etc" >/dev/null 2>&1 || fail "make install PREFIX=$p failed"
systemd-analyze verify --man=no "$p/lib/systemd/system/amexbpf.service" >"$T/verify.out" 2>&1 ||
	{ cat "$T/verify.out" >&2; fail "systemd-analyze verify rejects the unit"; }
[ ! -s "$T/verify.out" ] || { cat "$T/verify.out" >&2; fail "systemd-analyze verify warns"; }
out=$("$p/sbin/amexbpf" run --check-config --config "$p/etc/amexbpf/amexbpf.conf" --pm2 "$PM2_BIN") ||
	fail "the installed example config does not pass --check-config"
[ "$out" = "$p/etc/amexbpf/amexbpf.conf: valid" ] || fail "--check-config printed: $out"
# Every option the example documents, uncommented, is valid as well.
sed -n 's/^;\([a-z0-9-]* = .*\)/\1/p; s/^;\(\[.*\]\)$/\1/p; /^\[amexbpf\]/p' "$p/etc/amexbpf/amexbpf.conf" |
	sed "s|/srv/app/ecosystem.config.js|$REPO/tests/app/ecosystem.config.js|; s|/home/deploy/app/ecosystem.config.js|$REPO/tests/app/ecosystem.config.js|; s|^pm2 = .*|pm2 = $PM2_BIN|; s|^node = .*|node = $(command -v node)|" >"$T/all.conf"
grep -q '^budget = ' "$T/all.conf" || fail "could not uncomment the example"
"$AMX_BIN" run --check-config --config "$T/all.conf" >/dev/null 2>"$T/all.err" ||
	{ cat "$T/all.conf" "$T/all.err" >&2; fail "the example with every key uncommented does not validate"; }

# A config with one mistake of each kind: every line named, exit 78.
cat >"$T/bad.conf" <<'CONF'
[amexbpf]
grace = soon
colour = blue
[app web]
memory-limit = 12Q
probe = ftp://nowhere
ecosystem = /no/such/file.js
budget = 1/10
budget = 2/10
[frob]
junk without equals
CONF
rc=0
"$AMX_BIN" run --check-config --config "$T/bad.conf" --pm2 "$PM2_BIN" >/dev/null 2>"$T/bad.err" || rc=$?
[ "$rc" -eq 78 ] || fail "a broken config exits $rc, expected 78"
for line in 2 3 5 6 7 9 11; do
	grep -q "^$T/bad.conf:$line: " "$T/bad.err" || { cat "$T/bad.err" >&2; fail "no problem reported on line $line"; }
done
# The daemon itself refuses to start on it, the same way.
rc=0
"$AMX_BIN" run --config "$T/bad.conf" --pm2 "$PM2_BIN" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 78 ] || fail "amexbpf run with a broken config exits $rc, expected 78"
rc=0
"$AMX_BIN" run --check-config --config "$T/missing.conf" --pm2 "$PM2_BIN" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 66 ] || fail "a missing --config exits $rc, expected 66"

# The man page documents every option of --help, of run and of the clients.
sed 's/\\-/-/g' "$REPO/src/dist/amexbpf.8" >"$T/man.txt"
for cmd in run events status top; do
	for opt in $("$AMX_BIN" $cmd --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		grep -qF -- "$opt" "$T/man.txt" || fail "amexbpf.8 does not document $opt of $cmd"
	done
	grep -qF "amexbpf $cmd" "$T/man.txt" || fail "amexbpf.8 does not name the command $cmd"
done
# The example config has a key for every option of run (per app: memory-limit, probe),
# and each of them validates (above). The options are the lines that start with one.
for opt in $("$AMX_BIN" run --help | grep -oE -- '^ +(-[a-z], )?--[a-z][a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u); do
	key=${opt#--}
	case $key in
	config | check-config | help) continue ;;
	no-bpf) key=bpf ;;
	no-journal) key=journal ;;
	esac
	grep -q "^;$key = " "$p/etc/amexbpf/amexbpf.conf" || fail "the example config has no key for $opt"
done
echo "ok $TEST_NAME" >&2
