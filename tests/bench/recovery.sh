#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark: God daemon SIGKILL -> the app answering HTTP with a new pid.
# Alternates, in one run: (a) amexbpf running and recovering by itself, (b) no amexbpf and a
# bare `pm2 resurrect` typed at the instant of the kill (the best a human or a cron job
# could do). Prints each round and the medians side by side. ROUNDS=5 by default; LOAD=1
# saturates every CPU meanwhile.
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=bench-recovery
ROUNDS=${ROUNDS:-5}
[ "$ROUNDS" -le 64 ] || { echo "recovery.sh: ROUNDS is at most 64 (one restart-budget attempt per round)" >&2; exit 2; }

setup_test
start_app

# LOAD=1: every CPU saturated the whole run (issue 16): a fork storm per CPU, not pinned,
# plus a CPU-bound Node process; both sides of each round see it.
LOAD_PIDS=()
stop_load() {
	[ "${#LOAD_PIDS[@]}" -eq 0 ] || kill -KILL "${LOAD_PIDS[@]}" 2>/dev/null || true
	for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	LOAD_PIDS=()
}
if [ "${LOAD:-0}" = 1 ]; then
	for _ in $(seq 1 "$(nproc)"); do
		(while :; do /bin/true; done) >/dev/null 2>&1 &
		LOAD_PIDS+=($!)
	done
	node -e 'for (;;) {}' &
	LOAD_PIDS+=($!)
	CLEANUP_HOOKS+=(stop_load)
	log "saturated: $((${#LOAD_PIDS[@]} - 1)) fork storms and a busy Node process; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi

with=() without=()
for round in $(seq 1 "$ROUNDS"); do
	# (a) amexbpf
	# Each round spends one attempt of the PM2 daemon's restart budget, and the budget
	# outlives a restart of amexbpf (state dir): the default 5/600 would park round 6.
	start_amexbpf --grace 2 --budget 64/600
	old=$(app_pid "$PORT")
	mark_events
	t0=$(now_ms)
	kill -9 "$(god_pid)"
	new=$(wait_http_new_pid "$PORT" "$old" 30)
	t1=$(now_ms)
	with+=($((t1 - t0)))
	wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" 30 >/dev/null
	record_pid "$new"
	record_pid "$(god_pid)"
	stop_amexbpf

	# (b) bare pm2 resurrect at the instant of the kill
	old=$(app_pid "$PORT")
	t0=$(now_ms)
	kill -9 "$(god_pid)"
	pm2u resurrect >/dev/null 2>&1 || true
	new=$(wait_http_new_pid "$PORT" "$old" 30)
	t1=$(now_ms)
	without+=($((t1 - t0)))
	record_pid "$new"
	record_pid "$(god_pid)"
	printf 'round %d: amexbpf %5d ms   bare pm2 resurrect %5d ms\n' "$round" \
		"${with[-1]}" "${without[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mw=$(median "${with[@]}")
mo=$(median "${without[@]}")
echo
printf '%-44s %10s\n' "God SIGKILL -> app answering (median of $ROUNDS)" "ms"
printf '%-44s %10d\n' "amexbpf (detect + tier 2, no human)" "$mw"
printf '%-44s %10d\n' "bare pm2 resurrect typed at the kill" "$mo"
printf '%-44s %+10d\n' "amexbpf behind the bare resurrect" "$((mw - mo))"
