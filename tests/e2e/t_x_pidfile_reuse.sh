#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: pm2.pid points at a reused pid. The God daemon is SIGKILLed while amexbpf is
# not running; an unrelated process of the same user is then forced onto the old daemon's pid
# (ns_last_pid). amexbpf starting up must not take it for the daemon: it resurrects (tier 2),
# and the unrelated process is left untouched (still alive, same start time).
source "$(dirname "$0")/lib.sh"

setup_test
start_app
god=$(god_pid)
kill -KILL "$god"
wait_gone "$god" 5
# The number is free only once the zombie is reaped (by the suite's subreaper): wait_gone
# counts a zombie as gone, and 50 placements can all run before the reaper does.
deadline=$(($(now_ms) + 5000))
while [ -e "/proc/$god" ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the killed God daemon $god was not reaped within 5 s"
	sleep 0.02
done
app=$(cat "$PM2_HOME"/pids/*.pid | head -n 1)
[ -n "$app" ] && kill -KILL "$app" 2>/dev/null || true

# Force the reuse: the next pid the kernel hands out is $god. Any fork elsewhere on the
# machine between the write and ours wins the pid instead: on a host busy with other test
# suites 5 tries were not always enough, so try up to 50.
impostor=""
for _ in $(seq 1 50); do
	echo $((god - 1)) >/proc/sys/kernel/ns_last_pid
	setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups sleep 600 &
	if [ "$!" = "$god" ]; then
		impostor=$!
		break
	fi
	# SIGKILL, not SIGTERM: a child not yet exec'd is still a copy of this script, whose
	# TERM trap would run the test's clean-up (and remove its work dir) from the copy.
	kill -KILL "$!"
done
[ -n "$impostor" ] || fail "could not place a process on pid $god"
record_pid "$impostor"
start_time=$(awk '{ print $22 }' "/proc/$impostor/stat")
[ "$(cat "$PM2_HOME/pm2.pid")" = "$impostor" ] || fail "pm2.pid no longer names $god"

start_amexbpf
wait_event recovery-started '.amexbpf.tier == 2' 10 >/dev/null
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 30 >/dev/null
wait_http "$PORT" 15
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"
[ -d "/proc/$impostor" ] || fail "the unrelated process on the reused pid was killed"
[ "$(awk '{ print $22 }' "/proc/$impostor/stat")" = "$start_time" ] || fail "pid $impostor changed hands"
if jq -e --argjson p "$impostor" 'select(.event.action == "pm2-daemon-down" or .event.action == "process-exited") | select(.process.pid == $p)' "$EVENTS" >/dev/null 2>&1; then
	fail "amexbpf reported the unrelated process as a PM2 process"
fi
kill "$impostor"
check_contract
