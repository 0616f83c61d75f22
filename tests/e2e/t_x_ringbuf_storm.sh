#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: an exit storm of watched processes beyond the kernel ring buffer's size.
# 48 apps (/bin/sleep run by PM2, autorestart off so that amexbpf, not PM2, must bring each
# back) are SIGKILLed at once while the ring buffer holds 4 kB (~39 records, the test knob
# AMEXBPF_TEST_RINGBUF_BYTES) and amexbpf is stopped (SIGSTOP: a daemon descheduled at the
# wrong moment; it keeps up with 48 exits otherwise). Asserted: all 48 watched as soon as
# monitor-started is out; one events-lost with source bpf per 1 s window (in BPF mode), the
# re-scan finds every dead app, each one is recovered (none left down), PM2 runs all 48 again
# with new pids, and a later kill is still seen.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

N=48
setup_test
storm=$T/app/storm.config.js
{
	echo "module.exports = { apps: ["
	for i in $(seq 1 "$N"); do
		echo "  { name: 's$i', script: '/bin/sleep', args: '100000', interpreter: 'none', autorestart: false },"
	done
	echo "] };"
} >"$storm"
chmod a+r "$storm"
pm2u start "$storm" >"$T/pm2-start.out" 2>&1 || { cat "$T/pm2-start.out" >&2; fail "pm2 start failed"; }
pm2u save >>"$T/pm2-start.out" 2>&1 || fail "pm2 save failed"
record_pid "$(god_pid)"

export AMEXBPF_TEST_RINGBUF_BYTES=4096
start_amexbpf --manual-grace 0 --grace 1
unset AMEXBPF_TEST_RINGBUF_BYTES
[ "$(ls "$PM2_HOME"/pids/*.pid | wc -l)" -eq "$N" ] || fail "not $N pid files"
# monitor-started comes once the start-up scan has put the running apps in the kernel's
# watched set: status says all N are watched at once, with no wait.
if [ "${AMX_MODE:-bpf}" != no-bpf ]; then
	watched=$("$AMX_BIN" status --json --socket "$SOCK" | jq .bpf.watched)
	[ "$watched" -ge "$N" ] || fail "only $watched processes watched right after monitor-started, not the $N apps"
fi
old=()
for f in "$PM2_HOME"/pids/*.pid; do old+=("$(cat "$f")"); done
mark_events
kill -STOP "$AMX_PID"
kill -KILL "${old[@]}"
for p in "${old[@]}"; do wait_gone "$p" 5; done
kill -CONT "$AMX_PID"
log "killed ${#old[@]} apps at once while amexbpf was stopped"

if [ "${AMX_MODE:-bpf}" != no-bpf ]; then
	lost=$(wait_event events-lost '.amexbpf.lost.source == "bpf"' 10)
	log "events-lost: $(jq_field "$lost" .amexbpf.lost.count) records in $(jq_field "$lost" .amexbpf.lost.window_ms) ms"
	[ "$(jq_field "$lost" .amexbpf.lost.window_ms)" -ge 1000 ] || fail "events-lost did not wait out its 1 s window"
fi
# Every app comes back, by amexbpf's hand (PM2 does not restart them): one recovery each.
deadline=$(($(now_ms) + 120000))
while :; do
	back=$(matching_events recovery-succeeded '.service.name | test("^s[0-9]+$")' |
		jq -r '.service.name' | sort -u | wc -l)
	[ "$back" -eq "$N" ] && break
	[ "$(now_ms)" -lt "$deadline" ] || { show_events 40 >&2; fail "only $back of $N apps recovered"; }
	sleep 0.5
done
log "all $N apps recovered"
online=$(pm2u jlist 2>/dev/null | jq '[.[] | select(.pm2_env.status == "online" and .pid > 0)] | length')
[ "$online" -eq "$N" ] || fail "PM2 runs $online of $N apps online"
for p in "${old[@]}"; do
	kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ] && fail "old pid $p still runs"
done
[ "$(count_events recovery-parked)" -eq 0 ] || fail "an app was parked"
# A later kill is still seen (the re-scan re-armed the watches).
mark_events
p=$(cat "$PM2_HOME/pids/s1-0.pid")
kill -KILL "$p"
wait_event process-exited ".process.pid == $p" 5 >/dev/null
wait_event recovery-succeeded '.service.name == "s1"' 30 >/dev/null
if [ "${AMX_MODE:-bpf}" != no-bpf ]; then
	# One burst, one report: events-lost of one source come at least a window (1 s) apart.
	# @timestamp has microseconds; 990 ms leaves room for rounding, not for a second report.
	gaps=$(jq -R -r 'fromjson? | select(.event.action == "events-lost" and .amexbpf.lost.source == "bpf") |
		."@timestamp"' "$EVENTS" | while read -r t; do date -d "$t" +%s%3N; done |
		awk 'NR > 1 { print $1 - prev } { prev = $1 }')
	for g in $gaps; do
		[ "$g" -ge 990 ] || fail "two events-lost (bpf) $g ms apart: one burst said twice"
	done
fi
check_contract
