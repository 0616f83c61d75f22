#!/bin/bash
# SPDX-License-Identifier: MIT
# Port conflict with an orphaned copy of the same app: the app outlives its killed PM2
# daemon (re-parented, still on its port) while amexbpf is not running, and a hand-typed
# `pm2 resurrect` starts a copy that crash-loops on EADDRINUSE. amexbpf, started then,
# does not know the orphan as the app's process; its error log and the socket tables name
# it. It is the owner's, started by PM2 as this app of this home, runs its script from its
# cwd and is not the new daemon's child: port-conflict says kind orphan, amexbpf stops it,
# PM2's next restart takes the port and the app serves. Nothing parks.
source "$(dirname "$0")/lib.sh"

export AMX_SURVIVE_ORPHAN=1 AMX_MAX_RESTARTS=1000 AMX_MIN_UPTIME=1s AMX_RESTART_DELAY=200
setup_test
start_app

orphan=$(app_pid "$PORT")
record_pid "$orphan"
god=$(god_pid)
kill -KILL "$god"
wait_gone "$god" 5
# The orphan answers on its port after its daemon is gone (the fault this test needs).
[ "$(app_pid "$PORT")" = "$orphan" ] || fail "the orphan $orphan does not hold port $PORT"
pm2u resurrect >"$T/resurrect.out" 2>&1 || { cat "$T/resurrect.out" >&2; fail "pm2 resurrect failed"; }
record_pid "$(god_pid)"
# The resurrected copy fails on the port (its error log says so) while the orphan answers.
deadline=$(($(now_ms) + $(scaled 20) * 1000))
until cat "$PM2_HOME"/logs/*-error*.log 2>/dev/null | grep -q EADDRINUSE; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the resurrected copy did not fail on port $PORT"
	sleep 0.05
done
log "orphan $orphan holds port $PORT; the resurrected copy crash-loops"

start_amexbpf --grace 1
only_app=".service.name == \"$APP_NAME\""
ev=$(wait_event port-conflict "$only_app" 20)
[ "$(jq_field "$ev" .amexbpf.holder.pid)" = "$orphan" ] ||
	fail "holder pid $(jq_field "$ev" .amexbpf.holder.pid), expected the orphan $orphan"
[ "$(jq_field "$ev" .amexbpf.holder.orphan)" = true ] || fail "holder not taken for an orphan of the app"
[ "$(jq_field "$ev" .amexbpf.holder.uid)" = "$(id -u "$TEST_USER")" ] || fail "holder uid $(jq_field "$ev" .amexbpf.holder.uid)"
[ "$(jq_field "$ev" .amexbpf.holder.stopped)" = true ] || fail "the orphan was not stopped: $ev"
[ "$(jq_field "$ev" .amexbpf.port)" = "$PORT" ] || fail "port-conflict names port $(jq_field "$ev" .amexbpf.port)"
wait_gone "$orphan" 5
new=$(wait_http_new_pid "$PORT" "$orphan" 20)
record_pid "$new"
log "the app serves again as pid $new"
no_event recovery-parked "$only_app" 2
check_contract
