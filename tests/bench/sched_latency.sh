#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (issue 16): the daemon's own detection latency, each --sched class side by side
# in ONE run, so that every class sees the same noise. One PM2 home with one app per class
# (sl-off, sl-fifo, ...), and one amexbpf per class watching only its app (--app) with that
# class. The kills go round the classes in a new random order each round; PM2 restarts each
# app by itself (amexbpf's grace is long: it only watches). Meanwhile dump.pm2 is rewritten
# (a rename, the bytes alternating) every DUMP_MS: every daemon sees the same file event.
# Two phases: quiet (nothing of ours), then loaded: a fork storm per CPU (not pinned) plus a
# CPU-bound Node process. Figures: amexbpf.detect_latency_us of process-exited (the kernel's
# exit timestamp to the loop handling it) and, for dump-changed, the rename's wall-clock
# time to the event's @timestamp (both threads' wake-ups: the inotify thread's and the
# loop's). The load average is printed beside each phase.
#   KILLS=500 (per class and phase) CLASSES="off fifo rr deadline slice nice" GAP_MS=40
#   DUMP_MS=250 PHASES="quiet loaded"
#   ALT="NAME:CLASS:BINARY" adds a column NAME: --sched CLASS run by another build, e.g. one
#   made with CFLAGS="-O2 -g -DAMX_SCHED_DL_RUNTIME_NS=2000000ull -DAMX_SCHED_DL_PERIOD_NS=
#   4000000ull" to weigh another deadline budget in the same run.
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=bench-sched
KILLS=${KILLS:-500}
CLASSES=${CLASSES:-off fifo rr deadline slice nice}
GAP_MS=${GAP_MS:-40}
DUMP_MS=${DUMP_MS:-250}
PHASES=${PHASES:-quiet loaded}

ALT_NAME="" ALT_CLASS="" ALT_BIN=""
if [ -n "${ALT:-}" ]; then
	IFS=: read -r ALT_NAME ALT_CLASS ALT_BIN <<<"$ALT"
	CLASSES="$CLASSES $ALT_NAME"
fi
setup_test
cat >"$T/app/keep.js" <<'JS'
'use strict';
setInterval(() => {}, 1 << 30);
JS
chmod a+r "$T/app/keep.js"
node -e '
	const [dir, classes] = process.argv.slice(1);
	const apps = classes.split(" ").map((c) => ({
		name: "sl-" + c, script: dir + "/keep.js", exec_mode: "fork", instances: 1,
		autorestart: true, restart_delay: 0, min_uptime: 100, max_restarts: 1000000,
		pmx: false }));
	process.stdout.write(JSON.stringify({ apps }, null, 1));
' "$T/app" "$CLASSES" >"$T/app/sched.json"
chmod a+r "$T/app/sched.json"
pm2u start "$T/app/sched.json" >"$T/pm2-start.out" 2>&1 || { cat "$T/pm2-start.out" >&2; fail "pm2 start failed"; }
pm2u save >>"$T/pm2-start.out" 2>&1 || fail "pm2 save failed"
record_pid "$(god_pid)"

declare -A DPID EVF PIDF
for c in $CLASSES; do
	EVF[$c]=$T/ev.$c.ndjson
	mkdir -p "$T/state.$c" && chmod 700 "$T/state.$c"
	bin=$AMX_BIN class=$c
	[ "$c" = "$ALT_NAME" ] && bin=$ALT_BIN class=$ALT_CLASS
	# Every rewrite's dump-changed: the per-home limit of file-caused events (20, then one
	# each 3 s) would time 20 of them (root's environment, as t_burst lifts it).
	AMEXBPF_TEST_FILE_EVENT_BURST=1000000 "$bin" run --pm2-home "$PM2_HOME" --app "sl-$c" --sched "$class" --events "${EVF[$c]}" \
		--state-dir "$T/state.$c" --socket "$T/s.$c" --pm2 "$PM2_BIN" --grace 300 \
		--no-journal >/dev/null 2>>"$T/amexbpf.$c.log" </dev/null &
	DPID[$c]=$!
	record_pid "${DPID[$c]}"
done
stop_daemons() {
	for c in "${!DPID[@]}"; do
		kill -TERM "${DPID[$c]}" 2>/dev/null || true
	done
	for c in "${!DPID[@]}"; do
		wait "${DPID[$c]}" 2>/dev/null || true
	done
	DPID=()
}
CLEANUP_HOOKS+=(stop_daemons)
for c in $CLASSES; do
	for _ in $(seq 1 200); do
		grep -q '"monitor-started"' "${EVF[$c]}" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '"monitor-started"' "${EVF[$c]}" 2>/dev/null || fail "amexbpf --sched $c did not start"
	s=$(grep '"monitor-started"' "${EVF[$c]}" | jq -r '.amexbpf.sched')
	log "amexbpf --sched $c (pid ${DPID[$c]}): $s"
	id=$(ls "$PM2_HOME/pids" | sed -n "s/^sl-$c-\([0-9]*\)\.pid$/\1/p" | head -1)
	[ -n "$id" ] || fail "no pid file for sl-$c"
	PIDF[$c]=$PM2_HOME/pids/sl-$c-$id.pid
done

LOAD_PIDS=()
start_load() {
	local i
	for i in $(seq 1 "$(nproc)"); do
		(while :; do /bin/true; done) >/dev/null 2>&1 &
		LOAD_PIDS+=($!)
	done
	node -e 'for (;;) {}' &
	LOAD_PIDS+=($!)
}
stop_load() {
	[ "${#LOAD_PIDS[@]}" -eq 0 ] || kill -KILL "${LOAD_PIDS[@]}" 2>/dev/null || true
	for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	LOAD_PIDS=()
	return 0
}
CLEANUP_HOOKS+=(stop_load)

# The dump rewriter: the same apps, the bytes alternating (a trailing newline or not), by
# rename (IN_MOVED_TO); one line per rename: its wall-clock time in ns.
DUMPER_PID=""
start_dumper() {
	# SCHED_FIFO above the daemons: nothing comes between its timestamp and its rename.
	chrt -f 20 python3 - "$PM2_HOME/dump.pm2" "$DUMP_MS" "$1" <<'PY' &
import os, sys, time
dump, period, log = sys.argv[1], int(sys.argv[2]) / 1000, sys.argv[3]
base = open(dump, "rb").read().rstrip(b"\n")
st = os.stat(dump)
with open(log, "a") as out:
    for i in range(10**9):
        tmp = dump + ".bench"
        with open(tmp, "wb") as f:
            f.write(base + (b"\n" if i % 2 else b""))
        os.chown(tmp, st.st_uid, st.st_gid)
        t = time.time_ns()
        os.rename(tmp, dump)
        out.write("%d\n" % t)
        out.flush()
        time.sleep(period)
PY
	DUMPER_PID=$!
}
stop_dumper() {
	if [ -n "$DUMPER_PID" ]; then kill "$DUMPER_PID" 2>/dev/null; wait "$DUMPER_PID" 2>/dev/null || true; fi
	DUMPER_PID=""
	return 0
}
CLEANUP_HOOKS+=(stop_dumper)

# One phase: KILLS kills of each class's app, the classes in a new order each round.
run_phase() {
	local phase=$1 c pid round=0 gap killed
	gap=$(awk -v m="$GAP_MS" 'BEGIN { printf "%.3f", m / 1000 }')
	declare -A last count
	for c in $CLASSES; do
		last[$c]=0
		count[$c]=0
		wc -l <"${EVF[$c]}" >"$T/cursor.$phase.$c"
	done
	echo "$phase start $(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$T/phases"
	start_dumper "$T/dumps.$phase"
	local done_classes=0 n_classes
	n_classes=$(wc -w <<<"$CLASSES")
	while [ "$done_classes" -lt "$n_classes" ]; do
		round=$((round + 1))
		done_classes=0
		killed=0
		for c in $(shuf -e $CLASSES); do
			if [ "${count[$c]}" -ge "$KILLS" ]; then
				done_classes=$((done_classes + 1))
				continue
			fi
			pid=""
			{ read -r pid <"${PIDF[$c]}"; } 2>/dev/null || true # none, or no newline at its end
			[ -n "$pid" ] && [ "$pid" != "${last[$c]}" ] && [ -e "/proc/$pid" ] || continue
			kill -KILL "$pid" 2>/dev/null || continue
			last[$c]=$pid
			count[$c]=$((count[$c] + 1))
			killed=1
			sleep "$gap"
		done
		[ "$killed" = 1 ] || sleep 0.02 # every app still restarting
		[ $((round % 100)) -eq 0 ] && log "$phase: round $round, $(for c in $CLASSES; do printf '%s %s ' "$c" "${count[$c]}"; done)"
	done
	stop_dumper
	sleep 1 # the last exits handled
	echo "$phase end $(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$T/phases"
}

for phase in $PHASES; do
	log "phase $phase: $KILLS kills per class ($CLASSES)"
	[ "$phase" = loaded ] && { start_load; sleep 5; }
	run_phase "$phase"
	[ "$phase" = loaded ] && stop_load
	for c in $CLASSES; do
		tail -n +"$(($(cat "$T/cursor.$phase.$c") + 1))" "${EVF[$c]}" >"$T/ev.$phase.$c.ndjson"
	done
done
stop_daemons

python3 - "$T" "$CLASSES" "$PHASES" <<'PY'
import json, sys, datetime, bisect
T, classes, phases = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
def fmt(v):
    if not v:
        return "%8s %8s %8s %6s" % ("-", "-", "-", 0)
    return "%8.0f %8.0f %8.0f %6d" % (pct(v, 50), pct(v, 99), max(v), len(v))
def ts_ns(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 10**9 + d.microsecond * 1000
loads = {}
for line in open(T + "/phases"):
    ph, what, _, l1, l5, l15 = line.split()
    loads.setdefault(ph, []).append("%s %s (1/5/15 min)" % (what, " ".join((l1, l5, l15))))
for ph in phases:
    renames = [int(x) for x in open("%s/dumps.%s" % (T, ph))]
    print("\n== %s; load average at %s" % (ph, "; ".join(loads.get(ph, []))))
    print("%-9s | %-33s | %-33s" % ("--sched", "process-exited detect_latency_us",
                                    "dump rename -> dump-changed (us)"))
    print("%-9s | %8s %8s %8s %6s | %8s %8s %8s %6s" % ("", "p50", "p99", "max", "n",
                                                    "p50", "p99", "max", "n"))
    for c in classes:
        exits, files = [], []
        for line in open("%s/ev.%s.%s.ndjson" % (T, ph, c)):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            a = e.get("event", {}).get("action")
            if a == "process-exited" and e.get("service", {}).get("name") == "sl-" + c:
                v = e.get("amexbpf", {}).get("detect_latency_us")
                if v is not None:
                    exits.append(v)
            elif a == "dump-changed":
                t = ts_ns(e["@timestamp"])
                i = bisect.bisect_right(renames, t) - 1
                if i >= 0:
                    files.append((t - renames[i]) / 1000)
        print("%-9s | %s | %s" % (c, fmt(exits), fmt(files)))
PY
