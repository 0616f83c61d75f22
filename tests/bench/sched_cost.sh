#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (issue 16): what amexbpf under its scheduling class costs the host. Windows of
# WINDOW_S seconds alternate, in one run, between amexbpf running (--sched SCHED, default
# deadline, watching the test app) and no amexbpf at all, PAIRS times. In each window: (a)
# fork+exit throughput (a process forks children that exit at once, counted), then (b) the
# test app's request throughput (PM2 fork mode, a keep-alive Node client, one request in
# flight). Prints each window and the ratio of the medians (with / without). LOAD=1 adds a
# CPU-bound process per CPU for the whole run (every CPU busy, as a host in trouble is),
# not pinned away from anything: what the class costs when it has something to preempt.
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=bench-sched-cost
PAIRS=${PAIRS:-4}
WINDOW_S=${WINDOW_S:-3}
SCHED=${SCHED:-fifo}
LOAD=${LOAD:-0}

setup_test
start_app
LOAD_PIDS=()
stop_load() {
	[ "${#LOAD_PIDS[@]}" -eq 0 ] || kill -KILL "${LOAD_PIDS[@]}" 2>/dev/null || true
	for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	LOAD_PIDS=()
	return 0
}
CLEANUP_HOOKS+=(stop_load)
if [ "$LOAD" = 1 ]; then
	for _ in $(seq 1 "$(nproc)"); do
		(while :; do :; done) &
		LOAD_PIDS+=($!)
	done
	sleep 2
fi
echo "start $(cut -d' ' -f1-3 /proc/loadavg)" >"$T/load"

forks() {
	python3 - "$WINDOW_S" <<'PY'
import os, sys, time
end, n = time.monotonic() + float(sys.argv[1]), 0
while time.monotonic() < end:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    n += 1
print("%.0f" % (n / float(sys.argv[1])))
PY
}
requests() {
	node -e '
		const http = require("http");
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		const [port, secs] = process.argv.slice(1).map(Number);
		const end = Date.now() + secs * 1000;
		let n = 0;
		const one = () => http.get({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
			res.resume();
			res.on("end", () => { n++; if (Date.now() < end) one(); else { console.log((n / secs).toFixed(0)); process.exit(0); } });
		});
		one();
	' "$PORT" "$WINDOW_S"
}

# The steady state, not start-up: after monitor-started amexbpf still checks each home's
# pm2 and node (a Node process, about a CPU second on this VM), so the window starts once
# it has had no child for a second (at most 20 s).
settle() {
	local quiet=0 i
	for i in $(seq 1 200); do
		if [ -z "$(pgrep -P "$AMX_PID")" ]; then
			quiet=$((quiet + 1))
			[ "$quiet" -ge 10 ] && return 0
		else
			quiet=0
		fi
		sleep 0.1
	done
}

# amexbpf's own CPU time (its threads and the children it reaped), in ms, from /proc: what
# the with-window paid to the daemon itself, beside what its hooks cost the workloads.
amx_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15 + $16 + $17) * 1000 / hz) }' \
		"/proc/$AMX_PID/stat" 2>/dev/null || echo 0
}

with_f=() without_f=() with_r=() without_r=() with_cpu=()
for pair in $(seq 1 "$PAIRS"); do
	# The order alternates too, so that neither side always comes second.
	for side in $([ $((pair % 2)) = 1 ] && echo "with without" || echo "without with"); do
		if [ "$side" = with ]; then
			start_amexbpf --sched "$SCHED"
			settle
		fi
		c0=$([ "$side" = with ] && amx_cpu_ms || echo 0)
		f=$(forks)
		r=$(requests)
		c1=$([ "$side" = with ] && amx_cpu_ms || echo 0)
		[ "$side" = with ] && with_cpu+=($((c1 - c0)))
		[ "$side" = with ] && stop_amexbpf
		if [ "$side" = with ]; then with_f+=("$f") with_r+=("$r"); else without_f+=("$f") without_r+=("$r"); fi
		printf 'pair %d %-8s fork+exit %6d/s   requests %6d/s   amexbpf cpu %5d ms\n' "$pair" "$side" \
			"$f" "$r" "$((c1 - c0))"
	done
done
echo "end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$T/load"
stop_load

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "load average (1/5/15 min): $(tr '\n' ';' <"$T/load")"
printf '%-22s %12s %12s %8s\n' "median of $PAIRS$([ "$LOAD" = 1 ] && echo ", loaded")" "with (--sched $SCHED)" "without" "ratio"
for what in f r; do
	declare -n w=with_$what o=without_$what
	mw=$(median "${w[@]}")
	mo=$(median "${o[@]}")
	printf '%-22s %12d %12d %8.3f\n' "$([ $what = f ] && echo "fork+exit /s" || echo "requests /s")" \
		"$mw" "$mo" "$(awk -v a="$mw" -v b="$mo" 'BEGIN { print a / b }')"
done
# The ratio within each pair (its two windows are seconds apart, so a drift of the host's
# load between pairs cancels), then their median and spread.
for what in f r; do
	declare -n w=with_$what o=without_$what
	ratios=()
	for i in "${!w[@]}"; do ratios+=("$(awk -v a="${w[$i]}" -v b="${o[$i]}" 'BEGIN { printf "%.3f", a / b }')"); done
	printf '%-22s per-pair ratio median %s (min %s, max %s)\n' \
		"$([ $what = f ] && echo "fork+exit" || echo "requests")" "$(median "${ratios[@]}")" \
		"$(printf '%s\n' "${ratios[@]}" | sort -n | head -1)" "$(printf '%s\n' "${ratios[@]}" | sort -n | tail -1)"
done
echo "amexbpf CPU per with-window of $((2 * WINDOW_S)) s (its threads and reaped children), median: $(median "${with_cpu[@]}") ms"
