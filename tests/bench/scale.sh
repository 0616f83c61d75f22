#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark: start-up time and memory at scale. Two set-ups, each with real PM2 daemons
# running real (cheap) apps: /bin/sleep run by PM2 with interpreter none, saved to dump.pm2:
#   (a) one PM2 home with 200 apps in its dump;
#   (b) 20 PM2 homes with 10 apps each.
# For each, amexbpf is started ROUNDS times (3): the time from exec to the monitor-started
# line in its events file, then its RSS and descriptor count once it settled (2 s later),
# and a kill of one app must still be reported. Prints one line per round and the medians.
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=bench-scale
ROUNDS=${ROUNDS:-3}

setup_test
HOMES=()
kill_homes() {
	local h
	for h in "${HOMES[@]}"; do
		PM2_HOME=$h PM2U_TIMEOUT=20 pm2u kill >/dev/null 2>&1 || true
	done
}
CLEANUP_HOOKS+=(kill_homes)

# make_home DIR APPS: a PM2 home whose daemon runs APPS sleep apps, saved.
make_home() {
	local dir=$1 n=$2 eco=$T/app/eco-$(basename "$1").config.js i
	mkdir -p "$dir"
	chown "$TEST_USER:$TEST_USER" "$dir"
	{
		echo "module.exports = { apps: ["
		for i in $(seq 1 "$n"); do
			echo "  { name: 'a$i', script: '/bin/sleep', args: '100000', interpreter: 'none' },"
		done
		echo "] };"
	} >"$eco"
	chmod a+r "$eco"
	PM2_HOME=$dir pm2u start "$eco" >/dev/null 2>&1 || fail "pm2 start in $dir failed"
	PM2_HOME=$dir pm2u save >/dev/null 2>&1 || fail "pm2 save in $dir failed"
	HOMES+=("$dir")
	record_pid "$(cat "$dir/pm2.pid")"
}

# run_round LABEL HOME...: one amexbpf start; prints "ms rss_kb fds".
run_round() {
	local args=() h ev=$T/scale-events.ndjson pid t0 t1
	for h in "$@"; do args+=(--pm2-home "$h"); done
	rm -f "$ev"
	t0=$(now_ms)
	"$AMX_BIN" run "${args[@]}" --events "$ev" --state-dir "$T/state" --socket "$T/scale.sock" \
		--pm2 "$PM2_BIN" >/dev/null 2>>"$T/scale.log" </dev/null &
	pid=$!
	while ! grep -q '"monitor-started"' "$ev" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || fail "amexbpf exited at start-up: $(tail -n 3 "$T/scale.log")"
		[ $(($(now_ms) - t0)) -lt 60000 ] || fail "no monitor-started within 60 s"
		sleep 0.005
	done
	t1=$(now_ms)
	sleep 2
	# Still reacting: one app killed is reported.
	local app
	app=$(cat "$1/pids/a1-0.pid")
	kill -KILL "$app"
	local deadline=$(($(now_ms) + 5000))
	until jq -c --argjson p "$app" 'select(.event.action == "process-exited" and .process.pid == $p)' \
		"$ev" 2>/dev/null | grep -q .; do
		[ "$(now_ms)" -lt "$deadline" ] || { tail -n 5 "$ev" >&2; tail -n 5 "$T/scale.log" >&2; fail "the kill of $app was not reported"; }
		sleep 0.05
	done
	echo "$((t1 - t0)) $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l) $(grep -c . "$ev")"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

report() {
	local label=$1 shift_homes
	shift
	local ms=() rss=() fds=() r out
	for r in $(seq 1 "$ROUNDS"); do
		out=$(run_round "$@")
		read -r m k f e <<<"$out"
		printf '%-24s round %d: monitor-started after %5d ms, RSS %6d kB, %3d fds, %d events\n' \
			"$label" "$r" "$m" "$k" "$f" "$e"
		ms+=("$m") rss+=("$k") fds+=("$f")
	done
	printf '%-24s median:  monitor-started after %5d ms, RSS %6d kB, %3d fds\n' "$label" \
		"$(printf '%s\n' "${ms[@]}" | median)" "$(printf '%s\n' "${rss[@]}" | median)" \
		"$(printf '%s\n' "${fds[@]}" | median)"
}

mkdir -p "$T/state" && chmod 700 "$T/state"
t0=$(now_ms)
make_home "$T/big" 200
log "one home with 200 apps ready in $(($(now_ms) - t0)) ms"
t0=$(now_ms)
small=()
for i in $(seq 1 20); do
	make_home "$T/h$i" 10
	small+=("$T/h$i")
done
log "20 homes with 10 apps each ready in $(($(now_ms) - t0)) ms"
report "1 home, 200 apps" "$T/big"
report "20 homes, 10 apps each" "${small[@]}"
