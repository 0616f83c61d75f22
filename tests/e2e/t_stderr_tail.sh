#!/bin/bash
# SPDX-License-Identifier: MIT
# The app's last words: an app that throws at start crash-loops until PM2 gives up; its
# process-exited and app-errored carry the exception line from its PM2 error log
# (amexbpf.stderr_tail, read as the owner).
source "$(dirname "$0")/lib.sh"

export AMX_MAX_RESTARTS=2 AMX_MIN_UPTIME=10s
setup_test
start_app
start_amexbpf --budget 1/60 --grace 1

app=$(app_pid "$PORT")
mark_events
echo throw >"$CRASH_FILE"
kill -9 "$app"

only_app=".service.name == \"$APP_NAME\""
said='(.amexbpf.stderr_tail // []) | any(test("thrown at start"))'
ev=$(wait_event app-errored "$only_app" 20)
jq -e "$said" <<<"$ev" >/dev/null || fail "app-errored has no exception line: $(jq -c .amexbpf.stderr_tail <<<"$ev")"
n=$(jq '.amexbpf.stderr_tail | length' <<<"$ev")
[ "$n" -le 20 ] || fail "stderr_tail has $n lines, at most 20 allowed"
ev=$(wait_event process-exited "$only_app and .process.exit_code == 1 and ($said)" 5)
[ "$(jq_field "$ev" .amexbpf.cause)" = exit ] || fail "cause $(jq_field "$ev" .amexbpf.cause), expected exit"
# the SIGKILL that started it carries the tail too (a signal), and a clean exit never does
no_event process-exited "$only_app and .process.exit_code == 0 and .amexbpf.stderr_tail" 1

rm -f "$CRASH_FILE"
pm2u restart "$APP_NAME" >"$T/restart.out" 2>&1 || true
wait_http "$PORT" 20
record_pid "$(app_pid "$PORT")"
check_contract
