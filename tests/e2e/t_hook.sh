#!/bin/bash
# SPDX-License-Identifier: MIT
# The notification hook: it gets the alert's JSON on stdin within a second, as nobody; a
# crash loop starts no more hooks than the rate limit allows and the rest are folded (and
# counted); a hook that hangs is killed, its whole process group, at its time-out.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
mkdir -p "$T/hooks" "$T/out"
chown nobody "$T/out"
cat >"$T/hooks/save.sh" <<HOOK
#!/bin/sh
# one file per run: the event as received, and who ran it
f=$T/out/\$(date +%s%N)
cat >"\$f.json"
id -un >"\$f.user"
HOOK
chmod 755 "$T/hooks/save.sh"

# refused at start-up: writable by others, relative, missing
cp "$T/hooks/save.sh" "$T/hooks/open.sh"
chmod 777 "$T/hooks/open.sh"
for bad in "$T/hooks/open.sh:64" "hooks/save.sh:64" "$T/hooks/none.sh:66"; do
	set +e
	"$AMX_BIN" run --pm2-home "$PM2_HOME" --events "$T/refused.ndjson" --state-dir "$T/state" \
		--socket "$T/refused.sock" --pm2 "$PM2_BIN" --notify-exec "${bad%:*}" 2>"$T/refused.err"
	rc=$?
	set -e
	[ "$rc" = "${bad##*:}" ] || fail "--notify-exec ${bad%:*} gave exit $rc, expected ${bad##*:}"
	[ "$(wc -l <"$T/refused.err")" = 1 ] || fail "--notify-exec ${bad%:*}: not one line: $(cat "$T/refused.err")"
done

start_amexbpf --notify-exec "$T/hooks/save.sh" --notify-level error --notify-interval 2
# One alert: the God daemon killed. The hook runs within a second of the kill.
god=$(god_pid)
mark_events
t0=$(now_ms)
kill -9 "$god"
until ls "$T"/out/*.user >/dev/null 2>&1; do
	[ $(($(now_ms) - t0)) -lt 3000 ] || fail "the hook did not run within 3 s of the alert"
	sleep 0.01
done
took=$(($(now_ms) - t0))
f=$(ls "$T"/out/*.json | head -n 1)
[ "$(jq -r .event.action "$f")" = process-exited ] || [ "$(jq -r .event.action "$f")" = pm2-daemon-down ] ||
	fail "the hook got $(jq -r .event.action "$f")"
[ "$(cat "${f%.json}.user")" = nobody ] || fail "the hook ran as $(cat "${f%.json}.user")"
[ "$took" -le 1000 ] || fail "the hook ran $took ms after the kill (goal: within a second)"
log "hook ran $took ms after the kill, as nobody"
wait_event recovery-succeeded ".amexbpf.tier == 2 and .amexbpf.pm2.app == null" 30 >/dev/null
wait_http "$PORT" 20
record_pid "$(god_pid)"

# A crash loop: 8 kills in a row, each an error-level process-exited.
sleep 2.5 # the interval since the last run has passed
rm -f "$T"/out/*
mark_events
start=$(now_ms)
for i in $(seq 1 8); do
	old=$(app_pid "$PORT")
	kill -9 "$old"
	wait_http_new_pid "$PORT" "$old" 10 >/dev/null
done
sleep 2.5 # the last folded run is due
span=$(($(now_ms) - start))
# a run for an event from before the loop (the daemon kill's tail) is not the loop's
for f in "$T"/out/*.json; do
	[ "$(jq .event.sequence "$f")" -gt "$EVENT_CURSOR" ] || rm -f "$f"
done
runs=$(ls "$T"/out/*.json | wc -l)
# every event the hook is for: alerts, and error or critical ones (--notify-level error)
wanted=$(tail -n +"$((EVENT_CURSOR + 1))" "$EVENTS" |
	jq -s 'map(select(.event.kind == "alert" or .log.level == "error" or .log.level == "critical")) | length')
folded=$(cat "$T"/out/*.json | jq -s 'map(.amexbpf.notify.folded) | add')
allowed=$((span / 2000 + 1))
log "crash loop: $wanted alert or error events in $span ms -> $runs hook runs, $folded folded (allowed $allowed runs)"
[ "$runs" -le "$allowed" ] || fail "$runs hook runs in $span ms with --notify-interval 2"
[ $((runs + folded)) = "$wanted" ] || fail "$runs runs + $folded folded != $wanted events"
stop_amexbpf

# A hook that hangs (and leaves a child behind): its group is killed at the time-out.
cat >"$T/hooks/hang.sh" <<HOOK
#!/bin/sh
echo \$\$ >$T/out/hang.pid
sleep 300 &
echo \$! >$T/out/child.pid
wait
HOOK
chmod 755 "$T/hooks/hang.sh"
rm -f "$T"/out/*
start_amexbpf --notify-exec "$T/hooks/hang.sh" --notify-timeout 1
god=$(god_pid)
kill -9 "$god"
deadline=$(($(now_ms) + 3000))
until [ -s "$T/out/child.pid" ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the hanging hook did not start"
	sleep 0.02
done
wait_gone "$(cat "$T/out/hang.pid")" 3
wait_gone "$(cat "$T/out/child.pid")" 3
grep -q "notify: .*hang.sh still runs after 1000 ms: killing its process group" "$T/amexbpf.log" ||
	fail "the time-out is not logged"
wait_event recovery-succeeded ".amexbpf.tier == 2 and .amexbpf.pm2.app == null" 30 >/dev/null
record_pid "$(god_pid)"
check_contract
