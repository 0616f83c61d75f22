#!/bin/bash
# SPDX-License-Identifier: MIT
# `pm2 reload` of a fork-mode app: PM2 7 runs it as a restart (its daemon SIGINTs the old
# process, then starts a new one for the same pid file; see docs/design.md). The operator
# sees the old process's exit caused by PM2 (with BPF: the PM2 daemon named as the sender),
# PM2's restart of the app, the new pid over HTTP, and no recovery of amexbpf's own.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf
wait_event monitor-started >/dev/null
old=$(app_pid "$PORT")
god=$(god_pid)
mark_events
pm2u reload "$APP_NAME" >"$T/reload.out" 2>&1 || { cat "$T/reload.out" >&2; fail "pm2 reload failed"; }
ev=$(wait_event process-exited ".process.pid == $old" 10)
[ "$(jq_field "$ev" .amexbpf.signal)" = SIGINT ] || fail "signal $(jq_field "$ev" .amexbpf.signal), expected SIGINT"
if [ "${AMX_MODE:-bpf}" != no-bpf ]; then
	[ "$(jq_field "$ev" .amexbpf.cause)" = pm2 ] || fail "cause $(jq_field "$ev" .amexbpf.cause), expected pm2"
	[ "$(jq_field "$ev" .amexbpf.killer.pid)" = "$god" ] ||
		fail "killer pid $(jq_field "$ev" .amexbpf.killer.pid), expected the PM2 daemon $god"
fi
ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10)
fresh=$(jq_field "$ev" .process.pid)
record_pid "$fresh"
[ "$(wait_http_new_pid "$PORT" "$old" 10)" = "$fresh" ] || fail "the app over HTTP is not pid $fresh"
# Past the grace (2 s by default) nothing else is done about it.
no_event recovery-started "" 4
