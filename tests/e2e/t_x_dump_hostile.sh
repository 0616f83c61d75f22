#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: dump.pm2 replaced (by the owner, renamed into place) by a symlink to a
# root-only file, a hard link to it, a FIFO, a 1 GB sparse file and 100,000-deep JSON.
# Detected: dump-invalid with the right problem each time. Done: nothing read with root's
# rights (the secret appears in no event, log or state file), no hang (the next event comes
# at once), memory bounded (RSS stays under 64 MB). Then the God daemon is killed: tier 2
# puts back the last good copy (dump-restored) and the app serves again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
start_amexbpf
secret="AMX-SECRET-$RANDOM$RANDOM"
install -m 600 -o root -g root /dev/null "$T/root-only"
printf '[{"name":"%s"}]\n' "$secret" >"$T/root-only"

# put_dump KIND: the test user builds the replacement beside dump.pm2 and renames it over
# (MOVED_TO), as an attacker owning PM2_HOME could.
put_dump() {
	local tmp=$PM2_HOME/dump.tmp
	rm -f "$tmp"
	case "$1" in
	symlink) as_test_user ln -s "$T/root-only" "$tmp" ;;
	hardlink) ln "$T/root-only" "$tmp" ;; # fs.protected_hardlinks stops the user; root plays the attacker
	fifo) as_test_user mkfifo "$tmp" ;;
	huge) as_test_user truncate -s 1G "$tmp" ;;
	deep) as_test_user bash -c "printf '%.0s[' {1..100000} >'$tmp'" ;;
	esac
	mv -T "$tmp" "$PM2_HOME/dump.pm2"
}

# Never two kinds with the same problem in a row: a repeated problem is reported once.
for kind in symlink huge hardlink deep fifo; do
	mark_events
	put_dump "$kind"
	ev=$(wait_event dump-invalid "" 5)
	log "$kind: $(jq -c .amexbpf.dump.problem <<<"$ev")"
	amexbpf_alive || fail "amexbpf died on a $kind dump"
	rss=$(rss_kb "$AMX_PID")
	[ "$rss" -lt 65536 ] || fail "amexbpf uses $rss kB after a $kind dump"
done

if grep -rqF "$secret" "$T"/events*.ndjson "$T/amexbpf.log" "$T/state" 2>/dev/null; then
	fail "the root-only file's content leaked into events, log or state"
fi

# The daemon dies with a hostile dump in place: the good copy goes back, the app returns.
rm -f "$PM2_HOME/dump.pm2"
as_test_user bash -c "printf '%.0s[' {1..100000} >'$PM2_HOME/dump.pm2'"
mark_events
kill -KILL "$(god_pid)"
wait_event dump-restored "" 10 >/dev/null
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 30 >/dev/null
wait_http "$PORT" 15
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"
check_contract
