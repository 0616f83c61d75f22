#!/bin/bash
# SPDX-License-Identifier: MIT
# Two tenants (issue 14): A's (amxtest2's) PM2 daemon forks 2,100 live children, past the
# kernel's cap of 2,048 watched children of one daemon. With BPF an events-lost names the
# watched set for A's home; meanwhile B's (amxtest's) app is killed and is still seen
# (process-exited) and back with a new pid; amexbpf stays up. Without BPF (no watched set)
# B's detection and recovery only. A's "daemon" is tests/helpers/fork_flood under a God
# daemon's title, its pid in A's pm2.pid: what amexbpf takes for her PM2 daemon.
source "$(dirname "$0")/lib.sh"

CHILDREN=2100

setup_test
ensure_second_user
start_app

# Room for A's children: her process limit and the pid space.
nproc=$(as_second_user bash -c 'ulimit -u')
[ "$nproc" = unlimited ] || [ "$nproc" -gt $((CHILDREN + 100)) ] ||
	fail "$TEST_USER2 may run $nproc processes (ulimit -u), fewer than $CHILDREN"
[ "$(cat /proc/sys/kernel/pid_max)" -gt $((CHILDREN * 4)) ] || fail "pid_max too small for $CHILDREN children"

HOME_A=$T/pm2-a
mkdir -p "$HOME_A"
chown "$TEST_USER2:$TEST_USER2" "$HOME_A"
as_second_user sh -c "printf '[]' >'$HOME_A/dump.pm2'"
cp "$REPO/.output/tests/fork_flood" "$T/fork_flood" || fail "no fork_flood helper: make helpers"
chmod 755 "$T/fork_flood"

# A's God, started by A: it writes its own pid to her pm2.pid, takes the daemon's title and
# becomes the fork_flood helper (a session leader); it forks once $T/go exists.
GO=$T/go
# shellcheck disable=SC2016 # expanded by her shell
as_second_user bash -c 'echo $$ >"$4/pm2.pid" && exec -a "$0" "$1" "$2" "$3" >"$4/flood.out" 2>&1' \
	"PM2 v7.0.4: God Daemon ($HOME_A)" "$T/fork_flood" "$CHILDREN" "$GO" "$HOME_A" &
BG_PID=$!
FLOOD_PID=""
stop_flood() {
	# Her whole process group (the helper made itself its leader), then the leader.
	if [ -n "$FLOOD_PID" ]; then
		kill -KILL -- "-$FLOOD_PID" 2>/dev/null || true
		kill -KILL "$FLOOD_PID" 2>/dev/null || true
	fi
	wait "$BG_PID" 2>/dev/null || true # SIGKILLed: 137
}
CLEANUP_HOOKS+=(stop_flood)
deadline=$(($(now_ms) + 5000))
until [ -s "$HOME_A/pm2.pid" ] && grep -q "God Daemon" "/proc/$(cat "$HOME_A/pm2.pid")/cmdline" 2>/dev/null; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "A's daemon did not start"
	sleep 0.05
done
FLOOD_PID=$(cat "$HOME_A/pm2.pid")
start_amexbpf --pm2-home "$HOME_A"

back_ms() {
	local old t0 new
	old=$(app_pid "$PORT")
	t0=$(now_ms)
	kill -9 "$old"
	new=$(wait_http_new_pid "$PORT" "$old" 30)
	record_pid "$new"
	echo $(($(now_ms) - t0))
}

quiet=$(back_ms)
log "B's app back in $quiet ms with A quiet"

mark_events
touch "$GO"
deadline=$(($(now_ms) + 30000))
until grep -q '^ready' "$HOME_A/flood.out" 2>/dev/null; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "A's daemon did not fork $CHILDREN children in 30 s: $(cat "$HOME_A/flood.out" 2>/dev/null)"
	kill -0 "$FLOOD_PID" 2>/dev/null || fail "A's daemon exited: $(cat "$HOME_A/flood.out" 2>/dev/null)"
	sleep 0.1
done
made=$(awk '/^ready/ { print $2 }' "$HOME_A/flood.out")
[ "$made" = "$CHILDREN" ] || fail "A's daemon made $made children, not $CHILDREN"
live=$(pgrep -g "$FLOOD_PID" | wc -l)
log "A's daemon $FLOOD_PID has $made children ($live processes in her group)"
[ "$live" -gt 2048 ] || fail "only $live of A's processes live: not past the cap"

if [ "${AMX_MODE:-bpf}" = bpf ]; then
	# Said at the home's event rate, the count so far in each: all of them add up to the
	# children past the cap.
	lost_filter=".amexbpf.lost.source == \"watched-set\" and .amexbpf.pm2.home == \"$HOME_A\""
	ev=$(wait_event events-lost "$lost_filter" 10)
	log "events-lost: $(jq_field "$ev" .message)"
	want=$((CHILDREN - 2048))
	deadline=$(($(now_ms) + 10000))
	while :; do
		lost=$(matching_events events-lost "$lost_filter" | jq -s 'map(.amexbpf.lost.count) | add')
		[ "$lost" -ge "$want" ] && break
		[ "$(now_ms)" -lt "$deadline" ] || fail "events-lost for A's home count $lost unwatched children, expected >= $want"
		sleep 0.1
	done
	log "events-lost for A's home: $lost children not watched"
	no_event events-lost ".amexbpf.lost.source == \"watched-set\" and .amexbpf.pm2.home == \"$PM2_HOME\"" 1
fi
amexbpf_alive || fail "amexbpf died under A's fork flood"

# B's app killed while A's children live: seen and back.
old=$(app_pid "$PORT")
busy=$(back_ms)
wait_event process-exited ".process.pid == $old and .service.name == \"$APP_NAME\"" 10 >/dev/null
# Restarted by B's PM2 as without A (or by amexbpf's tier 1 should PM2 not): either says so.
wait_event pm2-restarted-app ".service.name == \"$APP_NAME\" and .process.pid != $old" 10 >/dev/null
log "B's app back in $busy ms under A's $CHILDREN children"
echo "fork_flood: B back in $quiet ms quiet, $busy ms with A's $CHILDREN children" >&2
amexbpf_alive || fail "amexbpf died"
limit=$((quiet + 10000))
[ "$busy" -le "$limit" ] || fail "B's app took $busy ms under A's flood, $quiet ms without (limit $limit)"
stop_flood
check_contract
