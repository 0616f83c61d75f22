#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP: a good config file is applied (config-reloaded, and the new manual grace of 0
# makes a `pm2 stop` recovered at once); a broken one is refused with its line number
# (config-invalid) and the running settings stay; the events file moved away by logrotate
# is replaced by a new one.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

conf=$T/amexbpf.conf
printf '[amexbpf]\ngrace = 2\n' >"$conf"
start_amexbpf --config "$conf"
ev=$(wait_event monitor-started)

# A good config: manual grace 0 from now on.
printf '[amexbpf]\ngrace = 2\nmanual-grace = 0\n' >"$conf"
mark_events
kill -HUP "$AMX_PID"
wait_event config-reloaded "" 5 >/dev/null
old=$(app_pid "$PORT")
pm2u stop "$APP_NAME" >/dev/null
wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 20 >/dev/null
record_pid "$(wait_http_new_pid "$PORT" "$old" 10)"

# A broken config: refused, line 3 named, and manual grace 0 still holds.
printf '[amexbpf]\ngrace = 2\nmanual-grace = soon\nbogus = 1\n' >"$conf"
mark_events
kill -HUP "$AMX_PID"
ev=$(wait_event config-invalid "" 5)
reason=$(jq_field "$ev" '.event.reason')
grep -q "amexbpf.conf:3: bad value for manual-grace" <<<"$reason" || fail "config-invalid reason: $reason"
grep -q "amexbpf.conf:4: unknown key" <<<"$reason" || fail "config-invalid reason: $reason"
[ "$(jq_field "$ev" .event.kind)" = alert ] || fail "config-invalid is not an alert"
old=$(app_pid "$PORT")
pm2u stop "$APP_NAME" >/dev/null
wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 20 >/dev/null
record_pid "$(wait_http_new_pid "$PORT" "$old" 10)"
amexbpf_alive || fail "amexbpf died on a broken config"

check_contract

# logrotate: the file is moved away, SIGHUP, and a new file takes the next events.
printf '[amexbpf]\nmanual-grace = 0\n' >"$conf"
last=$(tail -n 1 "$EVENTS" | jq .event.sequence)
mv "$EVENTS" "$T/rotated.ndjson.1"
kill -HUP "$AMX_PID"
EVENT_CURSOR=0
ev=$(wait_event config-reloaded "" 5)
[ "$(jq_field "$ev" .event.sequence)" -eq $((last + 1)) ] || fail "the new file starts at sequence $(jq_field "$ev" .event.sequence), expected $((last + 1))"
[ "$(tail -n 1 "$T/rotated.ndjson.1" | jq .event.sequence)" -eq "$last" ] || fail "events after the move went to the rotated file"
stop_amexbpf
# The new file starts mid-sequence by design: keep it out of check_contract's glob.
mv "$EVENTS" "$T/rotated.ndjson.0"
exit 0
