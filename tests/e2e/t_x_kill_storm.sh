#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the app SIGKILLed every 150 ms for 10 s. Detected: one process-exited per
# kill that hit a live app pid, none lost (events-lost never appears). Done: nothing but
# reporting while PM2 keeps restarting it. At the end the app serves HTTP.
source "$(dirname "$0")/lib.sh"

AMX_MIN_UPTIME=100 AMX_MAX_RESTARTS=1000 setup_test
start_app
start_amexbpf
mark_events

killed=()
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt "$end" ]; do
	# The app's current pid from PM2's pid file (HTTP may not be up yet between restarts).
	pid=$(cat "$PM2_HOME"/pids/*.pid 2>/dev/null | head -n 1)
	if [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(uid_of "$pid")" = "$(id -u "$TEST_USER")" ] &&
		! printf '%s\n' "${killed[@]}" | grep -qx "$pid" && kill -KILL "$pid" 2>/dev/null; then
		killed+=("$pid")
	fi
	sleep 0.15
done
log "killed ${#killed[@]} app pids"
[ "${#killed[@]}" -ge 20 ] || fail "only ${#killed[@]} kills landed in 10 s"

for pid in "${killed[@]}"; do
	wait_event process-exited ".process.pid == $pid and .amexbpf.signal == \"SIGKILL\"" 5 >/dev/null
done
[ "$(count_events events-lost)" -eq 0 ] || fail "events were lost"
wait_http "$PORT" 30
record_pid "$(app_pid "$PORT")"
amexbpf_alive || fail "amexbpf died"
check_contract
