#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: pids/ removed under a running PM2. Kills are still seen (the kernel side
# does not need pid files) and PM2's own restart reported; a daemon kill is recovered by
# tier 2, whose new daemon makes pids/ again; amexbpf watches the new pids/ and the app it
# starts is watched: a later kill is reported.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
start_amexbpf
mark_events
as_test_user rm -rf "$PM2_HOME/pids"
app=$(app_pid "$PORT")
kill -KILL "$app"
wait_event process-exited ".process.pid == $app" 5 >/dev/null
wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10 >/dev/null
app=$(wait_http_new_pid "$PORT" "$app" 15)
record_pid "$app"
[ -d "$PM2_HOME/pids" ] && log "PM2 made pids/ again by itself" || log "pids/ stays missing while the daemon runs"

mark_events
god=$(god_pid)
kill -KILL "$god"
wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 2" 30 >/dev/null
g=$(wait_live_god "$god" 10)
record_pid "$g"
new=$(wait_http_new_pid "$PORT" "$app" 20)
record_pid "$new"
[ -d "$PM2_HOME/pids" ] || fail "pids/ was not made again by the new daemon"
ls "$PM2_HOME"/pids/*.pid >/dev/null 2>&1 || fail "no pid file in the new pids/"
kill_app_expect_pm2_restart "$new"
check_contract
