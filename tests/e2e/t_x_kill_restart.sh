#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the app SIGKILLed as soon as amexbpf names its new pid, 100 times. PM2
# forks and execs the next copy within a few milliseconds of each kill, so the new copy's
# fork, exec and pid file race the old copy's exit to amexbpf. Detected: every kill, as
# process-exited of that very pid with SIGKILL, before the event that names the next pid
# (by event.sequence); no events-lost. At the end the app serves HTTP.
source "$(dirname "$0")/lib.sh"

KILLS=100
AMX_MAX_RESTARTS=100000 setup_test
start_app
# PM2 restarts it every time; amexbpf's own tiers would only step in if PM2 gave up.
start_amexbpf --budget 64/1

# named PID: the event.sequence of the first event that names PID as the app's new pid
# (PM2 restarted it, or a tier did), within 10 s
named() {
	local deadline=$(($(now_ms) + 10000 * ${AMX_TIMEOUT_SCALE:-1})) ev
	while :; do
		ev=$(matching_events pm2-restarted-app ".process.pid == $1")$(matching_events recovery-succeeded ".process.pid == $1")
		[ -z "$ev" ] || break
		[ "$(now_ms)" -lt "$deadline" ] || fail "no event names pid $1 as the app's within 10 s"
		sleep 0.02
	done
	jq -s 'map(.event.sequence) | min' <<<"$ev"
}

pid=$(app_pid "$PORT")
for i in $(seq 1 "$KILLS"); do
	mark_events
	kill -KILL "$pid"
	ev=$(wait_event process-exited ".process.pid == $pid" 5) || fail "kill $i: no process-exited of pid $pid"
	[ "$(jq -r '.amexbpf.signal' <<<"$ev")" = SIGKILL ] || fail "kill $i: pid $pid reported without SIGKILL: $ev"
	new=$(wait_http_new_pid "$PORT" "$pid" 20)
	named_at=$(named "$new")
	[ "$(jq '.event.sequence' <<<"$ev")" -lt "$named_at" ] ||
		fail "kill $i: pid $new was named before the exit of pid $pid was reported"
	pid=$new
done
log "$KILLS kills, $KILLS exits reported"
EVENT_CURSOR=0 # the whole run
[ "$(count_events events-lost)" -eq 0 ] || fail "events were lost"
[ "$(count_events process-exited '.amexbpf.exit_seen == false')" -eq 0 ] || fail "an exit was found by a re-scan instead of being seen"
record_pid "$pid"
wait_http "$PORT" 10
amexbpf_alive || fail "amexbpf died"
check_contract
