#!/bin/bash
# SPDX-License-Identifier: MIT
# The PM2 God daemon SIGKILLed: amexbpf resurrects it (tier 2) as the PM2_HOME owner, never
# as root. Then `pm2 kill` (intentional): amexbpf waits out --manual-grace before tier 2.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
# The manual grace stretches with the test's deadlines: a slow guest's `pm2 kill` returns
# seconds after the daemon went down, and the grace must outlast the no_event below.
start_amexbpf --manual-grace "$(scaled 3)"

god=$(god_pid)
old_app=$(app_pid "$PORT")
mark_events
kill -9 "$god"

ev=$(wait_event pm2-daemon-down ".amexbpf.pm2.daemon_pid == $god" 5)
[ "$(jq_field "$ev" .amexbpf.intentional)" = false ] || fail "a SIGKILLed daemon is reported as intentional"
ev=$(wait_event recovery-started '.amexbpf.tier == 2' 10)
[ "$(jq_field "$ev" .amexbpf.run_as)" = "$TEST_USER" ] || fail "tier 2 runs as $(jq_field "$ev" .amexbpf.run_as), expected $TEST_USER"
wait_event recovery-succeeded '.amexbpf.tier == 2 and (.service.name == null)' 20 >/dev/null
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 20 >/dev/null

new_app=$(wait_http_new_pid "$PORT" "$old_app" 15)
new_god=$(god_pid)
record_pid "$new_app"
record_pid "$new_god"
[ "$new_god" != "$god" ] || fail "pm2.pid still holds the killed daemon's pid $god"
uid=$(id -u "$TEST_USER")
[ "$(uid_of "$new_god")" = "$uid" ] || fail "the new God daemon $new_god runs as uid $(uid_of "$new_god"), expected $uid"
[ "$(uid_of "$new_app")" = "$uid" ] || fail "the new app $new_app runs as uid $(uid_of "$new_app"), expected $uid"

log "pm2 kill: intentional, recovery only after the manual grace"
mark_events
pm2u kill >/dev/null || fail "pm2 kill failed"
wait_event pm2-daemon-down '.amexbpf.intentional == true' 5 >/dev/null
no_event recovery-started "" 2
wait_event recovery-started '.amexbpf.tier == 2' 10 >/dev/null
wait_event recovery-succeeded '.amexbpf.tier == 2' 20 >/dev/null
wait_http "$PORT" 15
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"

check_contract
