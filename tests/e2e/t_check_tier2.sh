#!/bin/bash
# SPDX-License-Identifier: MIT
# `amexbpf check` with the PM2 daemon killed: tier 2 through the daemon's command builder
# (`pm2 resurrect` as the owner; systemd is not the init here), exit 1, the app back; the
# attempt goes into the home's budget in the state directory, so with a budget of 1 the
# next kill parks (exit 2, says so) and starts no daemon.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
args=(--pm2-home "$PM2_HOME" --pm2 "$PM2_BIN" --state-dir "$T/state" --budget 1/600)

killed=""
kill_god() {
	killed=$(god_pid)
	kill -9 "$killed"
	wait_gone "$killed" 5
}

# running PID: alive and not a zombie (PID 1 here does not reap the killed daemon).
running() {
	local state
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

old=$(app_pid "$PORT")
kill_god
run_check 1 "${args[@]}"
check_said "PM2 daemon down"
check_said "tier 2 for the PM2 daemon \(attempt 1\): [^ ]*pm2 resurrect\$"
check_said "the PM2 daemon is back \(tier 2, attempt 1,"
check_said "$APP_NAME is back \(tier 2, attempt 1,"
new=$(wait_http_new_pid "$PORT" "$old" 20)
record_pid "$new"
record_pid "$(god_pid)"
[ "$(uid_of "$(god_pid)")" = "$(id -u "$TEST_USER")" ] || fail "check started the daemon as another user"
jq -e '.daemon | length == 1' "$T"/state/home*+budget.json >/dev/null ||
	fail "the tier 2 attempt is not kept in the budget file"

kill_god
run_check 2 "${args[@]}"
check_said "restart budget of the PM2 daemon spent \(1 attempts in 600 s\): parked"
grep -q "tier 2 for" "$T/check.err" && fail "check ran tier 2 with the budget spent"
god=$(cat "$PM2_HOME/pm2.pid" 2>/dev/null || true)
[ -z "$god" ] || [ "$god" = "$killed" ] || ! running "$god" ||
	fail "a PM2 daemon runs (pid $god) although check parked"
exit 0
