#!/bin/bash
# SPDX-License-Identifier: MIT
# After a "reboot" (God and app SIGKILLed while amexbpf was not running, so pm2.pid and the
# pid files are stale), a fresh amexbpf resurrects the saved apps.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

god=$(god_pid)
old_app=$(app_pid "$PORT")
kill -9 "$god" "$old_app"
wait_gone "$god" 5
wait_gone "$old_app" 5
[ -s "$PM2_HOME/pm2.pid" ] || fail "pm2.pid vanished after SIGKILL (expected it stale)"

start_amexbpf
wait_event recovery-succeeded '.amexbpf.tier == 2' 20 >/dev/null
new_app=$(wait_http_new_pid "$PORT" "$old_app" 20)
record_pid "$new_app"
record_pid "$(god_pid)"
[ "$(uid_of "$new_app")" = "$(id -u "$TEST_USER")" ] || fail "the resurrected app runs as uid $(uid_of "$new_app")"

check_contract
