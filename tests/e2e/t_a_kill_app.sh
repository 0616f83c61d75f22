#!/bin/bash
# SPDX-License-Identifier: MIT
# An app SIGKILLed from outside: amexbpf reports the exit with its signal and PM2's own
# restart with the new pid, and leaves the recovery to PM2 (no recovery-started).
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf

old=$(app_pid "$PORT")
mark_events
kill -9 "$old"

ev=$(wait_event process-exited ".process.pid == $old" 5)
[ "$(jq_field "$ev" .amexbpf.signal)" = SIGKILL ] || fail "process-exited has signal $(jq_field "$ev" .amexbpf.signal), expected SIGKILL"
[ "$(jq_field "$ev" .service.name)" = "$APP_NAME" ] || fail "process-exited names $(jq_field "$ev" .service.name), expected $APP_NAME"
[ "$(jq_field "$ev" .process.exit_code)" = 137 ] || fail "process-exited has exit_code $(jq_field "$ev" .process.exit_code), expected 137"

ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10)
new=$(jq_field "$ev" .process.pid)
[ "$new" != "$old" ] || fail "pm2-restarted-app reports the old pid $old"

answered=$(wait_http_new_pid "$PORT" "$old" 10)
[ "$answered" = "$new" ] || fail "the app answers with pid $answered, pm2-restarted-app said $new"
record_pid "$new"

no_event recovery-started "" 3
check_contract
