#!/bin/bash
# SPDX-License-Identifier: MIT
# `amexbpf top` in tmux against the real daemon and the real PM2: the app and its pid
# appear; a kill -9 of the app shows up within a second with its signal; a God daemon
# kill shows the tier-2 recovery; a resize to 80x24 leaves a clean frame; q gives the
# shell back; the daemon stopped then started again: top says so and reconnects.
#
# These assertions need the daemon to serve its control socket (--socket): a daemon that
# does not answer STATUS fails the test. AMX_REQUIRE_CONTROL=0 (for a build without the
# control socket) checks only that top says so and reconnects by itself.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/top_lib.sh"

command -v tmux >/dev/null || fail "tmux is missing (run make deps)"
setup_test
start_app
SOCK=$T/amx.sock
start_amexbpf --socket "$SOCK" --manual-grace 0

tmux_start a 120 32
run_top a --socket "$SOCK"

if ! "$AMX_BIN" top --once --socket "$SOCK" >"$T/once.txt" 2>"$T/once.err"; then
	[ "${AMX_REQUIRE_CONTROL:-1}" = 1 ] && fail "the daemon does not answer STATUS on $SOCK: $(cat "$T/once.err")"
	wait_screen a 'no answer on .*amx.sock, retrying' 3
	wait_screen a 'reconnecting' 2
	keys a q
	expect_exit_clean a 0
	log "this daemon does not serve the control socket yet: real-daemon assertions are off"
	check_contract
	exit 0
fi

# The app and its pid.
pid=$(app_pid "$PORT")
wait_screen a "^$APP_NAME +$pid online" 5
grep -Eq "^$APP_NAME +$pid online" "$T/once.txt" || fail "top --once has no row for $APP_NAME $pid"
wait_screen a "God $(god_pid) up" 3

# kill -9 of the app: on screen within a second, with its signal.
mark_events
t0=$(now_ms)
kill -9 "$pid"
wait_screen a "process-exited +$APP_NAME exited \\(SIGKILL\\)|process-exited .*SIGKILL" 1
log "kill -9 on screen after $(($(now_ms) - t0)) ms"
ev=$(wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10)
new=$(jq_field "$ev" .process.pid)
record_pid "$new"
wait_screen a "^$APP_NAME +$new online" 3
wait_screen a "^$APP_NAME .* SIGKILL " 3

# The God daemon killed: the tier-2 recovery is on screen, and counted in T1/2/3.
god=$(god_pid)
mark_events
kill -9 "$god"
wait_screen a "pm2-daemon-down" 5
ev=$(wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 30)
record_pid "$(jq_field "$ev" .process.pid)"
record_pid "$(god_pid)"
wait_screen a "$APP_NAME +recovery-succeeded" 3
wait_screen a "^$APP_NAME .* 0/1/0 " 3
wait_screen a "God $(god_pid) up" 3
# The same in one plain frame (the README shows this one, from a run of this test).
COLUMNS=100 "$AMX_BIN" top --once --socket "$SOCK" >"$T/frame.txt" || fail "top --once failed"
grep -Eq "^$APP_NAME +[0-9]+ online .* 0/1/0 " "$T/frame.txt" || fail "top --once has no tier-2 count: $(cat "$T/frame.txt")"
grep -q "recovery-succeeded" "$T/frame.txt" || fail "top --once shows no recovery-succeeded"

# Resize to 80x24: a whole, clean frame at the new size.
tx resize-window -t a -x 80 -y 24
wait_screen a '^NAME {13}PID STATUS' 3
s=$(screen a)
[ "$(wc -l <<<"$s")" -eq 24 ] || fail "the resized pane has $(wc -l <<<"$s") lines"
head -1 <<<"$s" | grep -q '^amexbpf 0.1.0 on ' || fail "after resize, line 1 is: $(head -1 <<<"$s")"
tail -1 <<<"$s" | grep -q '^ q quit' || fail "after resize, line 24 is: $(tail -1 <<<"$s")"
grep -Eq "^$APP_NAME +[0-9]+ online" <<<"$s" || fail "after resize, no row for $APP_NAME"

# q gives the shell back.
keys a q
expect_exit_clean a 0
tx resize-window -t a -x 120 -y 32

# The daemon stopped, then started again: top says so and reconnects by itself. Back to
# 120 columns first: at 80 the message column cuts "(pid N, was M)" short.
tx resize-window -t a -x 120 -y 32
run_top a --socket "$SOCK"
wait_screen a "^$APP_NAME +[0-9]+ online" 5
old_amx=$AMX_PID
stop_amexbpf
wait_screen a 'no answer on .*amx.sock, retrying' 3
start_amexbpf --socket "$SOCK" --manual-grace 0
wait_screen a "top-connection +amexbpf restarted \\(pid $AMX_PID, was $old_amx\\)" 5
wait_screen_gone a 'no answer on' 3
wait_screen a 'monitor-started' 3
keys a q
expect_exit_clean a 0
check_contract
