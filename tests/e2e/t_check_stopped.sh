#!/bin/bash
# SPDX-License-Identifier: MIT
# `amexbpf check` asks PM2 before it acts on an app it does not find running, as the daemon
# does: `pm2 stop` of an app that dump.pm2 saved online -> PM2 says stopped -> check says so,
# restarts it (tier 1: one pass cannot wait out a manual grace) and exits 1; the next run
# finds it healthy and exits 0.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
args=(--pm2-home "$PM2_HOME" --pm2 "$PM2_BIN" --state-dir "$T/state")

old=$(app_pid "$PORT")
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop $APP_NAME failed"
wait_gone "$old" 10
run_check 1 "${args[@]}"
check_said "$APP_NAME is not online"
check_said "$APP_NAME is stopped in PM2 but saved online in dump.pm2"
check_said "tier 1 for $APP_NAME \(attempt 1\): [^ ]*pm2 restart $APP_NAME\$"
check_said "$APP_NAME is back \(tier 1, attempt 1,"
record_pid "$(wait_http_new_pid "$PORT" "$old" 20)"
run_check 0 "${args[@]}"
check_said "healthy"
exit 0
