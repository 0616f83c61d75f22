#!/bin/bash
# SPDX-License-Identifier: MIT
# A crash loop: PM2 gives up (errored), amexbpf tries at most its budget (2 in 20 s), parks
# the app, and once the cause is gone brings it back after the window.
source "$(dirname "$0")/lib.sh"

export AMX_MAX_RESTARTS=2 AMX_MIN_UPTIME=10s
setup_test
start_app
start_amexbpf --budget 2/20 --grace 1

app=$(app_pid "$PORT")
mark_events
touch "$CRASH_FILE"
kill -9 "$app"

only_app=".service.name == \"$APP_NAME\""
wait_event app-errored "$only_app" 15 >/dev/null
wait_event recovery-parked "$only_app" 30 >/dev/null
attempts=$(count_events recovery-started "$only_app")
if [ "$attempts" -lt 1 ] || [ "$attempts" -gt 2 ]; then
	fail "$attempts recovery attempts before parking, expected 1 or 2"
fi
# A tier-1 restart does produce a new live pid (recovery-succeeded, by the contract) that
# dies again at once; what must hold is that the budget caps the attempts, and that parking
# stops them: no recovery-started while parked.
mark_events
no_event recovery-started "$only_app" 3

log "removing the crash file: the app can start again"
mark_events
rm -f "$CRASH_FILE"
wait_event recovery-succeeded "$only_app" 45 >/dev/null
wait_http "$PORT" 10
record_pid "$(app_pid "$PORT")"

check_contract
