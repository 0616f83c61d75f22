#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 12: a checkout below a directory of mode 0700 (a clone in root's home) works. From
# there one end-to-end test passes (its own lib.sh, paths and binaries), and the demo runs:
# its app answers, a killed PM2 daemon comes back through amexbpf (tier 2), the terminal
# holds human lines only, and SIGINT to the demo's process group (what Ctrl-C on a terminal
# does) ends it with status 0 and nothing of it left running.
source "$(dirname "$0")/lib.sh"

setup_test
private_checkout

# One end-to-end test from the clone, in this run's mode (AMX_MODE is inherited).
rc=0
T=t_a_kill_app "$CLONE/tests/run.sh" e2e >"$T/nested.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ "$(tail -n 1 "$T/nested.out")" != "1 passed, 0 failed" ]; then
	cat "$T/nested.out" >&2
	fail "t_a_kill_app from $CLONE: exit $rc"
fi
log "t_a_kill_app passed from $CLONE"

# The demo, as `make run` starts it but without a terminal: a session of its own, SIGINT not
# ignored (bash ignores it in background jobs), the rest of the world's sockets left alone.
DEMO_PORT=$(free_port)
DEMO_PID=""
DEMO_HOME=""
stop_demo() { # clean-up hook: only if the test failed before the demo ended
	[ -n "$DEMO_PID" ] && kill -KILL -- -"$DEMO_PID" 2>/dev/null
	[ -n "$DEMO_HOME" ] && PM2_HOME=$DEMO_HOME kill_test_processes
	return 0
}
CLEANUP_HOOKS+=(stop_demo)
setsid env --default-signal=INT AMX_DEMO=app AMX_DEMO_PORT="$DEMO_PORT" AMX_DEMO_SOCKET="$T/demo.sock" \
	AMX_DEMO_TOP=0 "$CLONE/tests/demo.sh" >"$T/demo.out" 2>&1 </dev/null &
DEMO_PID=$!

# Up when it says how to stop it (amexbpf's monitor-started came before).
deadline=$(($(now_ms) + 60000))
until grep -q '^Ctrl-C here stops the demo' "$T/demo.out"; do
	if ! kill -0 "$DEMO_PID" 2>/dev/null || [ "$(now_ms)" -gt "$deadline" ]; then
		cat "$T/demo.out" >&2
		fail "the demo from $CLONE did not come up within 60 s"
	fi
	sleep 0.1
done
DEMO_HOME=$(sed -n 's/^amexbpf demo: .*(PM2_HOME=\(.*\))$/\1/p' "$T/demo.out")
[ -d "$DEMO_HOME" ] || { cat "$T/demo.out" >&2; fail "the demo did not name its PM2_HOME"; }
EVENTS=$CLONE/.output/demo/events.ndjson
grep -qF "The events are also written to $EVENTS." "$T/demo.out" || fail "the demo did not name its events file"
app_before=$(app_pid "$DEMO_PORT")
god_before=$(cat "$DEMO_HOME/pm2.pid")
amx=$("$AMX_BIN" status --json --socket "$T/demo.sock" | jq -r .pid) || fail "the demo's amexbpf does not answer on its socket"

# A recovery: kill the PM2 daemon, amexbpf resurrects it and the app.
mark_events
kill -9 "$god_before"
wait_event recovery-succeeded '.service.name == "demo-api"' 30 >/dev/null
wait_http_new_pid "$DEMO_PORT" "$app_before" 10 >/dev/null
god_after=$(cat "$DEMO_HOME/pm2.pid")
[ "$god_after" != "$god_before" ] || fail "the PM2 daemon's pid did not change"
app_after=$(app_pid "$DEMO_PORT")
# The terminal's lines: the recovery in words, and no NDJSON.
deadline=$(($(now_ms) + 5000))
until grep -q 'recovery-succeeded demo-api' "$T/demo.out"; do
	[ "$(now_ms)" -lt "$deadline" ] || { cat "$T/demo.out" >&2; fail "no human line for the recovery"; }
	sleep 0.05
done
! grep -q '^{' "$T/demo.out" || fail "NDJSON on the demo's terminal: $(grep -m1 '^{' "$T/demo.out")"

# Ctrl-C: status 0, nothing left.
kill -INT -- -"$DEMO_PID"
wait_gone "$DEMO_PID" 30
rc=0
wait "$DEMO_PID" || rc=$?
DEMO_PID_DONE=$DEMO_PID
DEMO_PID=""
[ "$rc" -eq 0 ] || { cat "$T/demo.out" >&2; fail "the demo exited $rc after SIGINT, expected 0"; }
for pid in "$amx" "$god_after" "$app_after"; do
	wait_gone "$pid" 10
done
[ -z "$(PM2_HOME=$DEMO_HOME test_process_pids)" ] || fail "processes of the demo's PM2 are left: $(PM2_HOME=$DEMO_HOME test_process_pids | xargs)"
for dir in /proc/[0-9]*; do
	sid=$(awk '{ sub(/.*\) /, ""); print $4 }' "$dir/stat" 2>/dev/null) || continue
	[ "$sid" != "$DEMO_PID_DONE" ] || fail "process ${dir#/proc/} of the demo's session is left: $(tr '\0' ' ' <"$dir/cmdline")"
done
[ ! -e "$(dirname "$DEMO_HOME")" ] || fail "the demo's work dir $(dirname "$DEMO_HOME") is left"
[ -z "$(ss -Htln "sport = :$DEMO_PORT")" ] || fail "port $DEMO_PORT is still open"
! compgen -G "$PM2_PLACE/users/$DEMO_PID_DONE.*" >/dev/null || fail "the demo did not give back the PM2 copy"
tail -n 1 "$T/demo.out" | grep -q '^demo stopped' || fail "the demo's last line: $(tail -n 1 "$T/demo.out")"
