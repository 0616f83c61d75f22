#!/bin/bash
# SPDX-License-Identifier: MIT
# `pm2 stop` with --manual-grace 0: amexbpf reports the stop, then brings the app back with
# tier 1 (pm2 restart) run as the PM2_HOME owner.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf --manual-grace 0

mark_events
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop $APP_NAME failed"

wait_event app-stopped ".service.name == \"$APP_NAME\"" 5 >/dev/null
ev=$(wait_event recovery-started ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 10)
[ "$(jq_field "$ev" .amexbpf.run_as)" = "$TEST_USER" ] || fail "tier 1 runs as $(jq_field "$ev" .amexbpf.run_as), expected $TEST_USER"
jq -e --arg app "$APP_NAME" '.amexbpf.command | any(.[]; . == "restart") and any(.[]; . == $app)' <<<"$ev" >/dev/null ||
	fail "tier 1 command is $(jq -c .amexbpf.command <<<"$ev"), expected pm2 restart $APP_NAME"

ev=$(wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 15)
wait_http "$PORT" 10
pid=$(app_pid "$PORT")
record_pid "$pid"
reported=$(jq_field "$ev" '.process.pid // empty')
[ -z "$reported" ] || [ "$reported" = "$pid" ] || fail "recovery-succeeded says pid $reported, the app answers with $pid"

check_contract
