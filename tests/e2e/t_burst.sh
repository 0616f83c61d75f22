#!/bin/bash
# SPDX-License-Identifier: MIT
# A burst of 10,000 real events (dump.pm2 rewritten as fast as a shell can, each rewrite a
# dump-changed) with two live subscribers and one that never reads: the app killed in the
# middle is still detected and restarted in time, the stuck subscriber is dropped with its
# count, and the two others receive every event, identical to the events file.
source "$(dirname "$0")/lib.sh"

BURST=10000
setup_test
start_app
# The good copy of each dump is written with fsync; on tmpfs that costs nothing, so the
# burst measures amexbpf, not the disk.
mkdir -p "$T/state"
mount -t tmpfs -o size=16m,mode=700 tmpfs "$T/state" || fail "cannot mount a tmpfs for the state dir"
unmount_state() { umount "$T/state" 2>/dev/null || true; }
CLEANUP_HOOKS+=(unmount_state)
# The per-home limit of file-caused events (20 at once) would hold back the burst itself.
export AMEXBPF_TEST_FILE_EVENT_BURST=$((BURST * 2))
start_amexbpf

"$AMX_BIN" events --socket "$SOCK" >"$T/sub1.ndjson" 2>"$T/sub1.err" &
sub1=$!
"$AMX_BIN" events --socket "$SOCK" >"$T/sub2.ndjson" 2>"$T/sub2.err" &
sub2=$!
# The stuck one: socat writes into a FIFO that is open but never read.
mkfifo "$T/stuck.fifo"
exec 9<>"$T/stuck.fifo"
(printf 'EVENTS\n'; sleep 300) 9>&- | socat - "UNIX-CONNECT:$SOCK" >"$T/stuck.fifo" 2>/dev/null 9>&- &
stuck=$!
record_pid "$stuck"
deadline=$(($(now_ms) + 5000))
until [ "$("$AMX_BIN" status --json --socket "$SOCK" | jq .events.subscribers)" = 3 ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the three subscribers did not connect"
	sleep 0.05
done

# The writer: the dump as PM2 wrote it, and the same with one more newline, alternately.
cp "$PM2_HOME/dump.pm2" "$T/dump.a"
chmod 644 "$T/dump.a"
start_seq=$(wc -l <"$EVENTS")
as_test_user bash -c '
	a=$(cat "$1"); b="$a
"
	while [ ! -e "$2" ]; do printf "%s" "$a" >"$3"; printf "%s" "$b" >"$3"; done
' writer "$T/dump.a" "$T/stop" "$PM2_HOME/dump.pm2" &
writer=$!
record_pid "$writer"
started=$(now_ms)

killed=""
while :; do
	n=$(($(wc -l <"$EVENTS") - start_seq))
	if [ -z "$killed" ] && [ "$n" -ge $((BURST / 3)) ]; then
		killed=$(app_pid "$PORT")
		kill_ms=$(now_ms)
		kill -9 "$killed"
		log "killed the app (pid $killed) after $n events of the burst"
	fi
	[ "$n" -ge "$BURST" ] && break
	[ $(($(now_ms) - started)) -lt 120000 ] || fail "only $n events in 120 s"
	sleep 0.05
done
touch "$T/stop"
wait "$writer" || true
burst_ms=$(($(now_ms) - started))
log "$n events in $burst_ms ms"

ev=$(wait_event process-exited ".process.pid == $killed" 10)
lat=$(jq_field "$ev" .amexbpf.detect_latency_us)
ev=$(wait_event pm2-restarted-app ".process.pid != $killed" 10)
new=$(jq_field "$ev" .process.pid)
answered=$(wait_http_new_pid "$PORT" "$killed" 10)
record_pid "$answered"
[ "$answered" = "$new" ] || fail "the app answers with pid $answered, pm2-restarted-app said $new"
log "kill during the burst: detected in $lat us, PM2's restart reported"
# The core's goal is a p99 under 1 ms; one sample may land in the scheduler-tick tail the
# README documents for the quiet daemon too (1.5 to 4 ms), never beyond it. Without BPF
# every fork and exit of the host is read in user space, on 2 cores shared with the
# burst's writer and subscribers: measured 14 us to 6 ms there. A delay behind the burst's
# backlog (thousands of file events) would be tens of ms or more.
max_us=5000
[ "${AMX_MODE:-bpf}" = no-bpf ] && max_us=10000
[ "$lat" -lt "$max_us" ] || fail "detection took $lat us during the burst (bound $max_us us)"
no_event recovery-started "" 1

# The stuck subscriber was dropped, with the count of what it missed, and it was said.
doc=$("$AMX_BIN" status --json --socket "$SOCK")
[ "$(jq .events.subscribers_dropped <<<"$doc")" -ge 1 ] || fail "status counts no dropped subscriber: $(jq -c .events <<<"$doc")"
grep -q "control: dropped a slow subscriber" "$T/amexbpf.log" || fail "the drop is not logged"
# When it reads at last, it finds what it got, then the notice, then the end.
timeout 20 cat "$T/stuck.fifo" >"$T/stuck.out" &
reader=$!
exec 9>&-
wait "$reader" || true
stop_amexbpf
wait "$sub1" "$sub2" 2>/dev/null || true
last=$(tail -n 1 "$T/stuck.out")
[ "$(jq -r .error <<<"$last")" = slow-subscriber ] || fail "the stuck subscriber's last line is not the drop notice: ${last:0:200}"
missed=$(jq -r .missed <<<"$last")
[ "$missed" -gt 0 ] || fail "the drop notice says missed=$missed"
got=$(($(wc -l <"$T/stuck.out") - 1))
log "stuck subscriber: got $got events, then the drop notice (missed $missed)"

# The two live ones have every event, in order, byte for byte as in the file.
for s in sub1 sub2; do
	cmp -s "$T/$s.ndjson" "$EVENTS" ||
		fail "$s differs from the events file ($(wc -l <"$T/$s.ndjson") lines vs $(wc -l <"$EVENTS"))"
done
log "both live subscribers got all $(wc -l <"$EVENTS") events"
check_contract
