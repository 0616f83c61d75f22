#!/bin/bash
# SPDX-License-Identifier: MIT
# amexbpf itself SIGKILLed and started again (issue 6): while all is healthy, the new run
# does nothing at all (no recovery, same app and PM2 daemon pids); with a crash-looping app
# whose restart budget was spent before the kill, the app stays parked after it: the spent
# budget is read back from the state directory, and no new attempt is made.
source "$(dirname "$0")/lib.sh"

export AMX_MAX_RESTARTS=2 AMX_MIN_UPTIME=10s
setup_test
start_app

kill_amexbpf() {
	local pid=$AMX_PID
	AMX_PID=""
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

app_status() { # the app's object in `amexbpf status --json`
	"$AMX_BIN" status --json --socket "$SOCK" | jq -c ".homes[0].apps[] | select(.name == \"$APP_NAME\")"
}

only_app=".service.name == \"$APP_NAME\""
# A long window: nothing frees an attempt while the test runs.
ARGS=(--budget 2/600 --grace 1 --manual-grace 0)

# 1. Healthy: SIGKILL, start again, nothing happens.
start_amexbpf "${ARGS[@]}"
app=$(app_pid "$PORT")
god=$(god_pid)
kill_amexbpf
start_amexbpf "${ARGS[@]}"
for a in recovery-started pm2-daemon-down app-errored app-stopped process-exited; do
	[ "$(count_events "$a")" -eq 0 ] || fail "the restarted daemon emitted $a"
done
no_event recovery-started "" 5
[ "$(count_events process-exited)" -eq 0 ] || fail "something exited after the restart"
[ "$(app_pid "$PORT")" = "$app" ] || fail "the app's pid changed: $app -> $(app_pid "$PORT")"
[ "$(god_pid)" = "$god" ] || fail "the PM2 daemon's pid changed: $god -> $(god_pid)"
st=$(app_status)
[ "$(jq -r .status <<<"$st")" = online ] || fail "status after the restart: $st"
[ "$(jq -r .budget_left <<<"$st")" = 2 ] || fail "a healthy app's budget is not whole: $st"

# 2. A crash loop until the budget is spent and the app parked.
mark_events
touch "$CRASH_FILE"
kill -9 "$app"
wait_event recovery-parked "$only_app" 60 >/dev/null
attempts=$(count_events recovery-started "$only_app")
[ "$attempts" -ge 1 ] && [ "$attempts" -le 2 ] || fail "$attempts attempts before parking"
budget_file=$(ls "$T"/state/home*+budget.json)
jq -e ".apps[\"$APP_NAME\"] | length == 2" "$budget_file" >/dev/null ||
	fail "the state directory does not hold the 2 attempts: $(cat "$budget_file")"
st=$(app_status)
[ "$(jq -r .budget_left <<<"$st")" = 0 ] || fail "budget left before the kill: $st"

# SIGKILL and start again: still parked, no new attempt.
kill_amexbpf
start_amexbpf "${ARGS[@]}"
grep -q "recovery attempt(s) of the previous run still count" "$T/amexbpf.log" ||
	fail "the restarted daemon did not read the budgets back"
wait_event recovery-parked "$only_app" 20 >/dev/null
no_event recovery-started "$only_app" 5
[ "$(count_events recovery-started)" -eq 0 ] || fail "the restarted daemon made an attempt"
st=$(app_status)
[ "$(jq -r .budget_left <<<"$st")" = 0 ] || fail "the budget was renewed by the restart: $st"

rm -f "$CRASH_FILE"
check_contract
