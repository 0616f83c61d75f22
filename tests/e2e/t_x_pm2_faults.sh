#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the pm2 command of tiers 1 and 3 exits non-zero, hangs (cut at --action-timeout
# with its whole process group), and is missing; then works again. Each time: a
# recovery-failed saying why, amexbpf alive, and finally the app back. Every pm2 call ran
# as the owner with a clean environment and no inherited descriptors (privilege rules).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
install_pm2_wrapper
PM2_BIN_REAL=$PM2_BIN
PM2_BIN=$T/bin/pm2 start_amexbpf --manual-grace 0 --action-timeout 2 --verify-timeout 3 --budget 20/600
PM2_BIN=$PM2_BIN_REAL

# Non-zero exit.
echo fail >"$T/pm2-mode"
mark_events
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop failed"
ev=$(wait_event recovery-failed ".service.name == \"$APP_NAME\"" 15)
jq -e '(.amexbpf.output // "" | test("simulated failure")) or (.amexbpf.reason // "" | test("3"))' <<<"$ev" >/dev/null ||
	fail "recovery-failed does not carry pm2's output or exit status: $ev"

# Hang: killed at the time-out, grandchild included.
echo hang >"$T/pm2-mode"
mark_events
ev=$(wait_event recovery-failed ".service.name == \"$APP_NAME\" and (tojson | test(\"timed out\"))" 30)
log "hang reported: $(jq -c '.amexbpf.reason // .message' <<<"$ev")"
[ -s "$T/hang.pids" ] || fail "the hanging pm2 never ran"
for pid in $(cat "$T/hang.pids"); do
	wait_gone "$pid" 5
done

# Missing binary.
mv "$T/bin/pm2" "$T/bin/pm2.away"
mark_events
wait_event recovery-failed ".service.name == \"$APP_NAME\"" 30 >/dev/null
amexbpf_alive || fail "amexbpf died with pm2 missing"

# Back to normal: recovered.
mv "$T/bin/pm2.away" "$T/bin/pm2"
echo pass >"$T/pm2-mode"
mark_events
wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" 60 >/dev/null
wait_http "$PORT" 15
record_pid "$(app_pid "$PORT")"
assert_pm2_calls_unprivileged
check_contract
