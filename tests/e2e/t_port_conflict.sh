#!/bin/bash
# SPDX-License-Identifier: MIT
# Port conflict with another process: the app is killed and, before PM2's restart listens,
# a listener of another user (amxtest2, named "portholder") takes its port. Every copy PM2
# starts dies with EADDRINUSE. amexbpf says port-conflict naming that listener's pid, name
# and uid, parks the app's recovery with reason port-conflict, and runs no tier while the
# port is held, however long PM2 loops and after it gives up; status says so. Once the port is free, the
# next look at it (every 10 s) runs tier 1 and the app serves again.
source "$(dirname "$0")/lib.sh"

export AMX_MAX_RESTARTS=3 AMX_MIN_UPTIME=10s
setup_test
ensure_second_user
start_app
start_amexbpf --grace 1
wait_event monitor-started "" 15 >/dev/null

HOLDER_PID=""
stop_holder() {
	[ -n "$HOLDER_PID" ] && kill -KILL "$HOLDER_PID" 2>/dev/null
	return 0
}
CLEANUP_HOOKS+=(stop_holder)

# The listener retries its bind every millisecond; PM2's new copy needs a Node start-up
# (tens of ms at least) before it listens: the listener wins by a wide margin.
as_second_user /usr/bin/node -e '
	process.title = "portholder";
	const net = require("net"), port = Number(process.argv[1]);
	const attempt = () => {
		const s = net.createServer();
		s.once("error", () => setTimeout(attempt, 1));
		s.listen(port, "127.0.0.1", () => console.log("held"));
	};
	console.log("waiting " + process.pid);
	attempt();
' "$PORT" >"$T/holder.out" 2>&1 &
deadline=$(($(now_ms) + $(scaled 10) * 1000))
until grep -q "^waiting [0-9]*$" "$T/holder.out" 2>/dev/null; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the listener did not start: $(cat "$T/holder.out")"
	sleep 0.02
done
HOLDER_PID=$(sed -n 's/^waiting //p' "$T/holder.out")

app=$(app_pid "$PORT")
mark_events
kill -KILL "$app"
deadline=$(($(now_ms) + $(scaled 10) * 1000))
until grep -qx held "$T/holder.out" 2>/dev/null; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the listener never took port $PORT"
	sleep 0.02
done
log "pid $HOLDER_PID ($TEST_USER2) holds port $PORT"

only_app=".service.name == \"$APP_NAME\""
ev=$(wait_event port-conflict "$only_app" 20)
[ "$(jq_field "$ev" .amexbpf.port)" = "$PORT" ] || fail "port-conflict names port $(jq_field "$ev" .amexbpf.port), not $PORT"
[ "$(jq_field "$ev" .amexbpf.holder.pid)" = "$HOLDER_PID" ] ||
	fail "holder pid $(jq_field "$ev" .amexbpf.holder.pid), expected $HOLDER_PID"
[ "$(jq_field "$ev" .amexbpf.holder.name)" = portholder ] ||
	fail "holder name $(jq_field "$ev" .amexbpf.holder.name), expected portholder"
[ "$(jq_field "$ev" .amexbpf.holder.uid)" = "$(id -u "$TEST_USER2")" ] ||
	fail "holder uid $(jq_field "$ev" .amexbpf.holder.uid), expected $(id -u "$TEST_USER2")"
[ "$(jq_field "$ev" .amexbpf.holder.orphan)" = false ] || fail "holder taken for an orphan of the app"
[ "$(jq_field "$ev" .event.kind)" = alert ] || fail "port-conflict is not an alert"
ev=$(wait_event recovery-parked "$only_app and .event.reason == \"port-conflict\"" 5)
[ "$(jq_field "$ev" .amexbpf.port)" = "$PORT" ] || fail "recovery-parked names port $(jq_field "$ev" .amexbpf.port)"

# PM2 loops until it gives up (3 restarts); amexbpf runs nothing meanwhile, nor after.
deadline=$(($(now_ms) + $(scaled 30) * 1000))
until [ "$(pm2u jlist 2>/dev/null | jq -r --arg n "$APP_NAME" '.[] | select(.name == $n) | .pm2_env.status')" = errored ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "PM2 did not give up on $APP_NAME"
	sleep 0.2
done
log "PM2 gave up on $APP_NAME"
no_event recovery-started "$only_app" 5
[ "$(count_events port-conflict "$only_app")" = 1 ] || fail "port-conflict said $(count_events port-conflict "$only_app") times, once expected"
[ "$(count_events recovery-parked "$only_app")" = 1 ] || fail "recovery-parked said more than once"
kill -0 "$HOLDER_PID" 2>/dev/null || fail "the listener $HOLDER_PID is gone: amexbpf must never stop another process"
st=$("$AMX_BIN" status --json --socket "$SOCK" | jq -c ".homes[0].apps[] | select(.name == \"$APP_NAME\")")
said=$(jq -r '"\(.parked) \(.port_conflict.port) \(.port_conflict.holder_pid)"' <<<"$st")
[ "$said" = "true $PORT $HOLDER_PID" ] || fail "status does not say parked for port $PORT held by $HOLDER_PID: $st"

# The port freed: tier 1 within the next look (10 s) and its command, and the app serves.
kill -KILL "$HOLDER_PID"
wait_gone "$HOLDER_PID" 5
HOLDER_PID=""
wait_event recovery-started "$only_app and .amexbpf.tier == 1" 15 >/dev/null
wait_event recovery-succeeded "$only_app" 30 >/dev/null
wait_http "$PORT" 10
record_pid "$(app_pid "$PORT")"
check_contract
