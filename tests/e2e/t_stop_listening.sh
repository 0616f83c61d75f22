#!/bin/bash
# SPDX-License-Identifier: MIT
# An app that stops serving without dying (issue 15). The demo app closes its server once
# CLOSE_FILE exists and runs on:
# - app killed first: PM2's restart serves again on $PORT (a port a recovery waits for);
# - then it closes its server: app-stopped-listening names the port (and, with BPF, the
#   address), the port refuses connections, the process still runs, status no longer lists
#   the port;
# - past the 5 s a graceful shutdown is given, it is killed and comes back without a port:
#   PM2's restart is said at once, not held for the port it closed on purpose (serving
#   absent), and no recovery runs.
source "$(dirname "$0")/lib.sh"

VERIFY_S=$(scaled 3)

setup_test
start_app
start_amexbpf --verify-timeout "$VERIFY_S"

status_ports() {
	"$AMX_BIN" status --socket "$SOCK" --json |
		jq -c --arg app "$APP_NAME" '[.homes[].apps[] | select(.name == $app)][0] | [.ports[], (.instances[].ports[])]'
}

log "app SIGKILLed: PM2's restart serves on $PORT again"
old=$(app_pid "$PORT")
mark_events
kill -9 "$old"
ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 20)
[ "$(jq_field "$ev" .amexbpf.serving)" = true ] || fail "pm2-restarted-app does not say serving: true: $ev"
pid=$(jq_field "$ev" .process.pid)
record_pid "$pid"
[ "$(app_pid "$PORT")" = "$pid" ] || fail "the app answering is not pid $pid"
[ "$(status_ports)" = "[$PORT,$PORT]" ] || fail "status lists ports $(status_ports), expected $PORT (app and instance)"

log "the app closes its server and runs on"
mark_events
touch "$CLOSE_FILE"
chmod 644 "$CLOSE_FILE"
# Without BPF the host's tables are read every 5 s.
ev=$(wait_event app-stopped-listening ".process.pid == $pid" 15)
[ "$(jq_field "$ev" .amexbpf.listen.port)" = "$PORT" ] || fail "app-stopped-listening names port $(jq_field "$ev" .amexbpf.listen.port)"
if [ "${AMX_MODE:-bpf}" = bpf ]; then
	[ "$(jq_field "$ev" .amexbpf.listen.address)" = 127.0.0.1 ] ||
		fail "app-stopped-listening names address $(jq_field "$ev" .amexbpf.listen.address)"
fi
# What a user checks: nothing answers on the port, the process runs, status has no port.
! curl -fsS --max-time 1 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 || fail "port $PORT still answers"
kill -0 "$pid" || fail "the app (pid $pid) died: it should run on without its server"
[ "$(status_ports)" = "[]" ] || fail "status still lists ports $(status_ports) after the close"
"$AMX_BIN" status --socket "$SOCK" >"$T/status.txt" || fail "status failed"
! grep -q "listening :$PORT" "$T/status.txt" || { cat "$T/status.txt" >&2; fail "status (text) still says listening :$PORT"; }

# The close must be older than the 5 s kept for a graceful shutdown (a port closed just
# before a death is still wanted from the next life): this wait is the scenario itself.
sleep 6
log "killed long after it closed, back without a port: PM2's restart is not held for it"
touch "$NOLISTEN_FILE"
chmod 644 "$NOLISTEN_FILE"
mark_events
kill -9 "$pid"
ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10)
[ "$(jq_field "$ev" '.amexbpf.serving == null')" = true ] ||
	fail "pm2-restarted-app waited for the port closed on purpose: $ev"
new=$(jq_field "$ev" .process.pid)
record_pid "$new"
# --verify-timeout is 3 s: a wait for the port would say 'serving: false' or start a tier by now.
no_event recovery-started ".service.name == \"$APP_NAME\"" $((VERIFY_S + 2))
[ "$(count_events pm2-restarted-app ".service.name == \"$APP_NAME\"")" = 1 ] || fail "PM2's restart said more than once"
kill -0 "$new" || fail "the new copy (pid $new) does not run"

check_contract
