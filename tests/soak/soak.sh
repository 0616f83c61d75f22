#!/bin/bash
# SPDX-License-Identifier: MIT
# Soak: amexbpf runs for SOAK_SECONDS (default 120) against one app while a random fault from
# the matrix lands every SOAK_EVERY seconds (default 3): the app SIGKILLed, the God daemon
# SIGKILLed, both at once, `pm2 stop`, dump.pm2 overwritten with garbage, a burst of pid
# files. After each fault the app must serve again within 40 s (else: a missed recovery).
# At the end: zero missed recoveries, and amexbpf's RSS, heap and descriptor count flat (the
# last sample within 1 MB RSS / 256 kB of heap in use / 0 fds of the sample after the first
# cycle, the event history's own growth set aside). Prints one figures line:
#   soak: N s, F faults (kinds...), 0 missed, RSS a->b kB, fds c->d, recovery p50/max ms
# Run by tests/e2e/t_z_soak.sh in `make test`; `make soak SOAK_SECONDS=1800` for the record.
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/faults.sh"

SOAK_SECONDS=${SOAK_SECONDS:-120}
SOAK_EVERY=${SOAK_EVERY:-3}

AMX_MIN_UPTIME=100 AMX_MAX_RESTARTS=100000 setup_test
start_app
start_amexbpf --manual-grace 0 --budget 64/60

# fault KIND: inject one fault; prints nothing.
fault() {
	local god app
	god=$(cat "$PM2_HOME/pm2.pid" 2>/dev/null || true)
	app=$(cat "$PM2_HOME"/pids/*.pid 2>/dev/null | head -n 1 || true)
	case "$1" in
	kill-app) [ -n "$app" ] && kill -KILL "$app" 2>/dev/null ;;
	kill-god) [ -n "$god" ] && kill -KILL "$god" 2>/dev/null ;;
	kill-both) [ -n "$god" ] && [ -n "$app" ] && kill -KILL "$god" "$app" 2>/dev/null ;;
	stop) pm2u stop "$APP_NAME" >/dev/null 2>&1 ;;
	garbage-dump)
		as_test_user bash -c "printf 'not json{' >'$PM2_HOME/dump.tmp' && mv -f '$PM2_HOME/dump.tmp' '$PM2_HOME/dump.pm2'"
		[ -n "$god" ] && kill -KILL "$god" 2>/dev/null ;;
	pid-burst) as_test_user bash -c "for i in \$(seq 1 100); do echo 1 >'$PM2_HOME/pids/b-\$i.pid'; done; rm -f '$PM2_HOME'/pids/b-*.pid" ;;
	esac
	return 0
}

kinds=(kill-app kill-god kill-both stop garbage-dump pid-burst)
# The control socket keeps the last 4096 events for replay by design: RSS grows by what that
# history holds until it is full. What it holds is read from the daemon's status, and the
# flat-RSS check is on the growth beyond it.
# One status query per cycle: "history_kB heap_in_use_kB heap_free_kB". In-use bytes that
# stay flat while RSS grows mean fragmentation; in-use bytes that climb mean a leak.
# SOAK_TRACE=FILE keeps every cycle's sample (seconds, RSS, these three) for a plot.
memory_sample() {
	"$AMX_BIN" status --json --socket "$SOCK" 2>/dev/null |
		jq -r '[(.events.history.bytes // 0), (.memory.heap_in_use_bytes // 0), (.memory.heap_free_bytes // 0)] | map(. / 1024 | floor) | @tsv' ||
		echo "0	0	0"
}

declare -A done_kinds=()
faults=0
missed=0
times=()
rss0=""
fds0=""
end=$(($(now_ms) + SOAK_SECONDS * 1000))
while [ "$(now_ms)" -lt "$end" ]; do
	kind=${kinds[RANDOM % ${#kinds[@]}]}
	t0=$(now_ms)
	fault "$kind"
	faults=$((faults + 1))
	done_kinds[$kind]=$((${done_kinds[$kind]:-0} + 1))
	# wait_http fails the script; a soak counts misses instead.
	ok=0
	deadline=$((t0 + 40000))
	sleep 0.3 # let the fault land before probing (an old pid may still answer)
	while [ "$(now_ms)" -lt "$deadline" ]; do
		if curl -fsS --max-time 0.5 "http://127.0.0.1:$PORT/" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.05
	done
	if [ "$ok" -eq 1 ]; then
		times+=($(($(now_ms) - t0)))
	else
		missed=$((missed + 1))
		log "MISSED: $kind, the app did not serve within 40 s"
	fi
	amexbpf_alive || fail "amexbpf died during the soak (after $kind)"
	# A fault that restored the dump must not leave garbage for the next kill.
	rss=$(rss_kb "$AMX_PID")
	fds=$(fd_count "$AMX_PID")
	read -r hist heap heapfree <<<"$(memory_sample)"
	[ -z "${SOAK_TRACE:-}" ] || echo "$(( ($(now_ms) - end) / 1000 + SOAK_SECONDS )) $rss $hist $heap $heapfree" >>"$SOAK_TRACE"
	if [ -z "$rss0" ]; then
		rss0=$rss
		fds0=$fds
		hist0=$hist
		heap0=$heap
	fi
	rss_last=$rss
	fds_last=$fds
	hist_last=$hist
	heap_last=$heap
	heapfree_last=$heapfree
	sleep "$SOAK_EVERY"
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
p50=$(awk -v n="${#times[@]}" 'NR == int((n + 1) / 2) { print }' <<<"$sorted")
max=$(tail -n 1 <<<"$sorted")
summary=""
for k in "${kinds[@]}"; do summary+="$k=${done_kinds[$k]:-0} "; done
echo "soak: ${SOAK_SECONDS} s, $faults faults (${summary% }), $missed missed, RSS $rss0->$rss_last kB (event history $hist0->$hist_last kB, heap in use $heap0->$heap_last kB, free $heapfree_last kB), fds $fds0->$fds_last, back serving p50 ${p50} ms max ${max} ms"
[ "$missed" -eq 0 ] || fail "$missed missed recoveries"
growth=$(( (rss_last - rss0) - (hist_last - hist0) ))
# Under ASan (make test SANITIZE=...) freed blocks wait in its quarantine, so RSS grows by
# design and malloc's figures are not reported; LeakSanitizer at exit judges leaks there.
[ -n "${ASAN_OPTIONS:-}" ] || [ "$growth" -le 1024 ] ||
	fail "RSS grew from $rss0 to $rss_last kB, $growth kB beyond the event history's own growth"
# The heap's in-use bytes (malloc's own count) beyond the history: a leak shows here even
# when RSS hides it in pages malloc already held.
heap_growth=$(( (heap_last - heap0) - (hist_last - hist0) ))
[ "$heap_growth" -le 256 ] ||
	fail "heap in use grew from $heap0 to $heap_last kB, $heap_growth kB beyond the event history's own growth"
[ "$fds_last" -le "$fds0" ] || fail "descriptors grew from $fds0 to $fds_last"
# The events file is not checked for contract gaps here: t_* tests do that; a soak checks
# that every line still parses.
jq -e . "$EVENTS" >/dev/null 2>&1 || fail "the events file holds a broken line"
