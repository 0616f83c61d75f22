#!/bin/bash
# SPDX-License-Identifier: MIT
# The start-up self-test: monitor-started names pm2's version (read by node as the home's
# owner, without starting a daemon); a pm2 whose package the owner cannot read stops
# amexbpf before monitor-started, with one line saying why. And the automatic fallback:
# without CAP_BPF (and CAP_SYS_ADMIN, CAP_PERFMON) amexbpf runs on the process connector
# and says so.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

start_amexbpf
ev=$(wait_event monitor-started)
[ "$(jq_field "$ev" .amexbpf.pm2.version)" = "$(jq -r .version "$(dirname "$(readlink -f "$PM2_BIN")")/../package.json")" ] ||
	fail "monitor-started names pm2 version $(jq_field "$ev" .amexbpf.pm2.version)"
stop_amexbpf

# A pm2 the owner cannot use: its package.json is root's alone. (Each run has a private
# socket: the default one may be served by a demo or an installed daemon.)
fake=$T/fakepm2
mkdir -p "$fake/bin"
printf '#!/usr/bin/env node\nconsole.log("never run");\n' >"$fake/bin/pm2"
chmod 755 "$fake/bin/pm2"
echo '{"name":"pm2","version":"0.0.0"}' >"$fake/package.json"
chmod 600 "$fake/package.json"
god=$(god_pid)
rc=0
"$AMX_BIN" run --pm2-home "$PM2_HOME" --events "$T/events.fake.ndjson" --state-dir "$T/state" \
	--socket "$T/fake.sock" --pm2 "$fake/bin/pm2" >/dev/null 2>"$T/fake.err" </dev/null || rc=$?
[ "$rc" -eq 66 ] || { cat "$T/fake.err" >&2; fail "a pm2 the owner cannot read: exit $rc, expected 66"; }
grep -q "^amexbpf: self-test: node cannot read pm2's $fake/package.json as $TEST_USER" "$T/fake.err" ||
	{ cat "$T/fake.err" >&2; fail "the self-test did not say what is wrong"; }
[ ! -s "$T/events.fake.ndjson" ] || fail "events were written before the self-test passed"
rm -f "$T/events.fake.ndjson"
[ "$(god_pid)" = "$god" ] && kill -0 "$god" || fail "the self-test disturbed the PM2 daemon"

# No CAP_BPF: the fallback is chosen by itself (unless the mode says otherwise).
if [ "${AMX_MODE:-bpf}" != no-bpf ]; then
	AMX_BIN_SAVED=$AMX_BIN
	wrapper=$T/amexbpf-nobpfcap
	printf '#!/bin/sh\nexec setpriv --bounding-set -bpf,-perfmon,-sys_admin --inh-caps -all %s "$@"\n' "$AMX_BIN_SAVED" >"$wrapper"
	chmod 755 "$wrapper"
	AMX_BIN=$wrapper
	start_amexbpf
	ev=$(wait_event monitor-started)
	[ "$(jq_field "$ev" .amexbpf.source)" = proc-connector ] || fail "without CAP_BPF the source is $(jq_field "$ev" .amexbpf.source)"
	grep -q 'BPF off (.*): using the netlink process connector; lost: no OOM attribution' "$T/amexbpf.log" ||
		fail "no line saying what is lost without BPF"
	old=$(app_pid "$PORT")
	kill -9 "$old"
	wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10 >/dev/null
	record_pid "$(wait_http_new_pid "$PORT" "$old" 10)"
	stop_amexbpf
	# bpf = required refuses to run on the fallback: 69
	printf '[amexbpf]\nbpf = required\n' >"$T/required.conf"
	rc=0
	"$AMX_BIN" run --config "$T/required.conf" --pm2-home "$PM2_HOME" --events - --state-dir "$T/state" \
		--socket "$T/required.sock" --pm2 "$PM2_BIN" >/dev/null 2>"$T/required.err" </dev/null || rc=$?
	[ "$rc" -eq 69 ] || { cat "$T/required.err" >&2; fail "bpf = required without CAP_BPF: exit $rc, expected 69"; }
	AMX_BIN=$AMX_BIN_SAVED
fi

check_contract
