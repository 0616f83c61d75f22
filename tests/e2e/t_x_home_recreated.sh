#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: PM2_HOME deleted and made again (`pm2 kill; rm -rf ~/.pm2; pm2 start ...;
# pm2 save`). amexbpf honours the kill, loses its watches with the directory, finds the new
# directory within about a second and watches it again: the new daemon and dump are seen,
# then a daemon kill is recovered (tier 2) and an app kill is reported.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
start_amexbpf --manual-grace 120
god=$(god_pid)
mark_events
pm2u kill >/dev/null 2>&1 || fail "pm2 kill failed"
wait_event pm2-daemon-down ".amexbpf.intentional == true and .amexbpf.pm2.daemon_pid == $god" 10 >/dev/null
rm -rf "$PM2_HOME"
log "deleted $PM2_HOME"
sleep 1.5 # amexbpf looks for a missing home each second: let it miss it at least once
mkdir "$PM2_HOME"
chown "$TEST_USER:$TEST_USER" "$PM2_HOME"
mark_events
start_app
# The dump written into the new directory is seen: the watch is back.
wait_event dump-changed "" 10 >/dev/null
g=$(god_pid)
amexbpf_alive || fail "amexbpf died"
[ "$(count_events recovery-started)" -eq 0 ] || fail "a recovery ran while the home was made again"

mark_events
app=$(app_pid "$PORT")
kill -KILL "$g"
wait_event pm2-daemon-down ".amexbpf.pm2.daemon_pid == $g" 5 >/dev/null
wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 2" 30 >/dev/null
g2=$(wait_live_god "$g" 10)
record_pid "$g2"
new=$(wait_http_new_pid "$PORT" "$app" 20)
record_pid "$new"
kill_app_expect_pm2_restart "$new"
check_contract
