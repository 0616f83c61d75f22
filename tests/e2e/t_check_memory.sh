#!/bin/bash
# SPDX-License-Identifier: MIT
# `amexbpf check` takes the memory limits of `amexbpf run` and recovers through the daemon's
# policy: a healthy ~40 MB app is left alone under the default 1 GB; --memory-limit APP=5M,
# and [app APP] memory_limit = 5M in the config file, each restart it (tier 1) and exit 1;
# with the restart budget spent by an earlier run (kept in the state directory, as cron runs
# share it), check parks (exit 2, says so) and leaves the app alone.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
common=(--pm2-home "$PM2_HOME" --pm2 "$PM2_BIN")

# restarted_by_check OLD: check restarted the app (tier 1): it answers from another pid.
restarted_by_check() {
	check_said "$APP_NAME uses [0-9]+ MiB, over its limit of 5 MiB"
	check_said "tier 1 for $APP_NAME \(attempt 1\): [^ ]*pm2 restart $APP_NAME\$"
	check_said "$APP_NAME is back \(tier 1, attempt 1,"
	local new
	new=$(wait_http_new_pid "$PORT" "$1" 20)
	record_pid "$new"
	echo "$new"
}

pid=$(app_pid "$PORT")
log "app RSS $(($(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") / 1024)) MiB"
run_check 0 "${common[@]}" --state-dir "$T/state-default"
check_said "healthy"
[ "$(app_pid "$PORT")" = "$pid" ] || fail "check restarted a healthy app"

# --memory-limit
run_check 1 "${common[@]}" --state-dir "$T/state-flag" --memory-limit "$APP_NAME=5M"
pid=$(restarted_by_check "$pid")

# [app NAME] memory_limit in the config file
cat >"$T/amexbpf.conf" <<CONF
[app $APP_NAME]
memory_limit = 5M
CONF
run_check 1 "${common[@]}" --state-dir "$T/state-conf" --config "$T/amexbpf.conf"
pid=$(restarted_by_check "$pid")

# A budget of 1 attempt: the first run spends it, the second parks.
budget=(--state-dir "$T/state-budget" --budget 1/600 --memory-limit "$APP_NAME=5M")
run_check 1 "${common[@]}" "${budget[@]}"
pid=$(restarted_by_check "$pid")
jq -e ".apps[\"$APP_NAME\"] | length == 1" "$T"/state-budget/home*+budget.json >/dev/null ||
	fail "the attempt is not kept in the state directory's budget file"
run_check 2 "${common[@]}" "${budget[@]}"
check_said "restart budget of $APP_NAME spent \(1 attempts in 600 s\): parked"
grep -q "tier 1 for" "$T/check.err" && fail "check ran tier 1 with the budget spent"
[ "$(app_pid "$PORT")" = "$pid" ] || fail "check restarted the app with the budget spent"
exit 0
