#!/bin/bash
# SPDX-License-Identifier: MIT
# Recovery verified by serving (issue 15). The demo app listens on 127.0.0.1:$PORT:
# - status shows its port;
# - the PM2 daemon SIGKILLed: tier 2's recovery-succeeded says serving: true with that port,
#   after app-listening of the new process (its cold start as event.duration);
# - `pm2 stop` (manual grace 0) with the app made not to listen: tier 1's new pid runs but
#   does not listen within --verify-timeout, a failed attempt with that reason; once it may
#   listen again, the next attempt succeeds, serving.
source "$(dirname "$0")/lib.sh"

VERIFY_S=$(scaled 3)

setup_test
start_app
start_amexbpf --manual-grace 0 --verify-timeout "$VERIFY_S"

# status: the app's port, read from /proc when its pid was first seen.
"$AMX_BIN" status --socket "$SOCK" --json >"$T/status.json" || fail "status failed"
jq -e --arg app "$APP_NAME" --argjson port "$PORT" \
	'[.. | objects | select(.name? == $app)][0] | [.. | .ports? // empty | .[]] | index($port) != null' \
	"$T/status.json" >/dev/null || { cat "$T/status.json" >&2; fail "status does not show port $PORT for $APP_NAME"; }
"$AMX_BIN" status --socket "$SOCK" >"$T/status.txt" || fail "status failed"
grep -q ":$PORT" "$T/status.txt" || { cat "$T/status.txt" >&2; fail "status (text) does not show :$PORT"; }

log "PM2 daemon SIGKILLed: tier 2 succeeds once the new app listens on $PORT"
god=$(god_pid)
old_app=$(app_pid "$PORT")
mark_events
kill -9 "$god"
ev=$(wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 25)
[ "$(jq_field "$ev" .amexbpf.serving)" = true ] || fail "recovery-succeeded does not say serving: true: $ev"
[ "$(jq -c .amexbpf.listen.ports <<<"$ev")" = "[$PORT]" ] ||
	fail "recovery-succeeded lists ports $(jq -c .amexbpf.listen.ports <<<"$ev"), expected [$PORT]"
new_pid=$(jq_field "$ev" .process.pid)
record_pid "$new_pid"
[ "$(jq_field "$ev" '.event.duration > 0')" = true ] || fail "recovery-succeeded without a duration"
# What a user checks: the port answers, from the pid the event names.
[ "$(wait_http_new_pid "$PORT" "$old_app" 10)" = "$new_pid" ] || fail "the app answering is not pid $new_pid"
lev=$(wait_event app-listening ".process.pid == $new_pid" 5)
[ "$(jq_field "$lev" .amexbpf.listen.port)" = "$PORT" ] || fail "app-listening names port $(jq_field "$lev" .amexbpf.listen.port)"
[ "$(jq_field "$lev" .amexbpf.listen.address)" = 127.0.0.1 ] || fail "app-listening names address $(jq_field "$lev" .amexbpf.listen.address)"
[ "$(jq_field "$lev" '.event.duration > 0 and .amexbpf.listen.first')" = true ] || fail "app-listening without its cold start: $lev"
# The listen came before the success (the success waits for it).
[ "$(jq_field "$lev" .event.sequence)" -lt "$(jq_field "$ev" .event.sequence)" ] ||
	fail "recovery-succeeded (#$(jq_field "$ev" .event.sequence)) came before app-listening (#$(jq_field "$lev" .event.sequence))"
log "tier 2 serving after $(( $(jq_field "$ev" .event.duration) / 1000000 )) ms; cold start $(( $(jq_field "$lev" .event.duration) / 1000000 )) ms"

log "a new pid that does not listen within $VERIFY_S s is a failed attempt"
record_pid "$(god_pid)"
touch "$NOLISTEN_FILE"
chmod 644 "$NOLISTEN_FILE"
mark_events
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop $APP_NAME failed"
ev=$(wait_event recovery-failed ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" $((VERIFY_S + 20)))
reason=$(jq_field "$ev" .event.reason)
[[ $reason =~ ^pid\ [0-9]+\ did\ not\ listen\ within\ $VERIFY_S\ s$ ]] || fail "recovery-failed says: $reason"
stuck=${reason#pid }
stuck=${stuck%% *}
record_pid "$stuck"
no_event recovery-succeeded ".service.name == \"$APP_NAME\"" 0.5
rm -f "$NOLISTEN_FILE"
ev=$(wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" $((VERIFY_S * 3 + 30)))
[ "$(jq_field "$ev" .amexbpf.serving)" = true ] || fail "the next attempt's success does not say serving: true: $ev"
[ "$(jq -c .amexbpf.listen.ports <<<"$ev")" = "[$PORT]" ] || fail "recovery-succeeded lists $(jq -c .amexbpf.listen.ports <<<"$ev")"
pid=$(jq_field "$ev" .process.pid)
record_pid "$pid"
[ "$(app_pid "$PORT")" = "$pid" ] || fail "the app answering is not pid $pid"

check_contract
