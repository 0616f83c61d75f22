#!/bin/bash
# SPDX-License-Identifier: MIT
# Cause of death: a SIGKILL sent by a renamed kill binary run as the test user is `killed`
# and names that process (pid, name, uid), taken by BPF at signal_generate; `pm2 restart`
# is `pm2` and names the PM2 daemon. Without BPF: `killed` by the exit status alone, no
# killer; PM2's restart cannot be told apart there, so only the field's presence is checked.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf

# ---- a kill by another process, run as the test user
old=$(app_pid "$PORT")
mkdir "$T/k" && chown "$TEST_USER" "$T/k" && cp /bin/kill "$T/k/amx-slayer" && chmod 755 "$T/k/amx-slayer" ||
	fail "cannot copy /bin/kill"
mark_events
as_test_user bash -c 'echo $$ >"$1"; exec "$2" -KILL "$3"' _ "$T/k/killer.pid" "$T/k/amx-slayer" "$old" ||
	fail "the renamed kill failed"
killer=$(cat "$T/k/killer.pid")
ev=$(wait_event process-exited ".process.pid == $old" 5)
[ "$(jq_field "$ev" .amexbpf.cause)" = killed ] || fail "cause $(jq_field "$ev" .amexbpf.cause), expected killed"
if [ "${AMX_MODE:-bpf}" = no-bpf ]; then
	[ "$(jq_field "$ev" .amexbpf.killer)" = null ] || fail "no-bpf names a killer: $(jq_field "$ev" .amexbpf.killer)"
else
	[ "$(jq_field "$ev" .amexbpf.killer.pid)" = "$killer" ] || fail "killer pid $(jq_field "$ev" .amexbpf.killer.pid), expected $killer"
	[ "$(jq_field "$ev" .amexbpf.killer.name)" = amx-slayer ] || fail "killer name $(jq_field "$ev" .amexbpf.killer.name), expected amx-slayer"
	[ "$(jq_field "$ev" .amexbpf.killer.uid)" = "$(id -u "$TEST_USER")" ] || fail "killer uid $(jq_field "$ev" .amexbpf.killer.uid), expected $(id -u "$TEST_USER")"
fi
ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10)
new=$(jq_field "$ev" .process.pid)
wait_http_new_pid "$PORT" "$old" 10 >/dev/null
record_pid "$new"

# ---- pm2 restart: the PM2 daemon sends the signal
god=$(god_pid)
mark_events
pm2u restart "$APP_NAME" >"$T/restart.out" 2>&1 || { cat "$T/restart.out" >&2; fail "pm2 restart failed"; }
ev=$(wait_event process-exited ".process.pid == $new" 10)
cause=$(jq_field "$ev" .amexbpf.cause)
if [ "${AMX_MODE:-bpf}" = no-bpf ]; then
	[ -n "$cause" ] && [ "$cause" != null ] || fail "no cause on process-exited"
else
	[ "$cause" = pm2 ] || fail "cause $cause after pm2 restart, expected pm2: $ev"
	[ "$(jq_field "$ev" .amexbpf.killer.pid)" = "$god" ] || fail "killer pid $(jq_field "$ev" .amexbpf.killer.pid), expected the daemon $god"
	[ "$(jq_field "$ev" .amexbpf.killer.uid)" = "$(id -u "$TEST_USER")" ] || fail "killer uid is not the test user's"
	case "$(jq_field "$ev" .amexbpf.killer.name)" in
	PM2*) ;;
	*) fail "killer name $(jq_field "$ev" .amexbpf.killer.name), expected the PM2 daemon's" ;;
	esac
fi
record_pid "$(wait_http_new_pid "$PORT" "$new" 10)"
check_contract
