#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel's BPF run-time statistics are host-wide (one static key: every BPF program of
# every tool pays two clock reads per run while they are on), so amexbpf keeps them off
# unless --bpf-stats asks. Off: status says bpf.stats false and the programs count no runs
# even after an app's exit went through them. On: the exit hook's runs and time are counted.
# Without BPF there are no programs and nothing to count either way.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
status() { "$AMX_BIN" status --json --socket "$SOCK"; }

kill_app_and_wait() {
	local old
	old=$(app_pid "$PORT")
	mark_events
	kill -KILL "$old"
	wait_event process-exited ".process.pid == $old" 10 >/dev/null
	record_pid "$(wait_http_new_pid "$PORT" "$old" 20)"
}

start_amexbpf
kill_app_and_wait
s=$(status)
[ "$(jq '.bpf.stats' <<<"$s")" = false ] || fail "bpf.stats is not false by default: $(jq -c .bpf <<<"$s")"
[ "$(jq '[.bpf.programs[].run_cnt] | add // 0' <<<"$s")" = 0 ] ||
	fail "programs counted runs with the statistics off: $(jq -c .bpf.programs <<<"$s")"
stop_amexbpf

start_amexbpf --bpf-stats
kill_app_and_wait
s=$(status)
[ "$(jq '.bpf.stats' <<<"$s")" = true ] || fail "bpf.stats is not true under --bpf-stats"
if [ "${AMX_MODE:-bpf}" = no-bpf ]; then
	[ "$(jq '.bpf.programs | length' <<<"$s")" = 0 ] || fail "programs listed without BPF"
else
	runs=$(jq '[.bpf.programs[] | select(.name | startswith("exit_")) | .run_cnt] | add // 0' <<<"$s")
	ns=$(jq '[.bpf.programs[] | select(.name | startswith("exit_")) | .run_time_ns] | add // 0' <<<"$s")
	[ "$runs" -gt 0 ] && [ "$ns" -gt 0 ] ||
		fail "the exit hook counted $runs runs, $ns ns under --bpf-stats: $(jq -c .bpf.programs <<<"$s")"
	log "exit hook under --bpf-stats: $runs runs, $ns ns"
fi
exit 0
