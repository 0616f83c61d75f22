#!/bin/bash
# SPDX-License-Identifier: MIT
# An app whose name is shell code: amexbpf passes it as one argv word and runs no shell.
source "$(dirname "$0")/lib.sh"

setup_test
PWNED1=/tmp/amx-pwned-$$
PWNED2=/tmp/amx-pwned2-$$
remove_pwned_files() {
	rm -f "$PWNED1" "$PWNED2"
}
CLEANUP_HOOKS+=(remove_pwned_files)
NAME="x;touch $PWNED1;\$(touch $PWNED2)"
EV_NAME=$NAME

pm2u_env PORT="$PORT" -- start "$T/app/server.js" --name "$NAME" >/dev/null || fail "pm2 start --name <hostile> failed"
pm2u save >/dev/null || fail "pm2 save failed"
wait_http "$PORT" 20
[ "$(curl -fsS --max-time 2 "http://127.0.0.1:$PORT/" | jq -r .name)" = "$NAME" ] || fail "the app does not carry the hostile name"
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"

start_amexbpf --manual-grace 0
mark_events
pm2u stop "$NAME" >/dev/null || fail "pm2 stop <hostile> failed"

wait_event app-stopped '.service.name == $name' 5 >/dev/null
ev=$(wait_event recovery-started '.service.name == $name and .amexbpf.tier == 1' 10)
jq -e --arg name "$NAME" '.amexbpf.command | any(.[]; . == $name)' <<<"$ev" >/dev/null ||
	fail "recovery-started command $(jq -c .amexbpf.command <<<"$ev") lacks the name as one element"
wait_event recovery-succeeded '.service.name == $name and .amexbpf.tier == 1' 15 >/dev/null
wait_http "$PORT" 10
record_pid "$(app_pid "$PORT")"

[ ! -e "$PWNED1" ] || fail "$PWNED1 exists: a shell ran the app name"
[ ! -e "$PWNED2" ] || fail "$PWNED2 exists: a shell ran the app name"

check_contract
