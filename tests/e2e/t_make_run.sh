#!/bin/bash
# SPDX-License-Identifier: MIT
# Issue 12: `make run` on a terminal, from a checkout below a directory of mode 0700 (a clone
# in root's home), does its own set-up and runs the demo until its app answers; Ctrl-C typed
# on that terminal ends it with status 0 (no "make: *** ... Error 130"), nothing of the demo
# left running. The terminal is a tmux pane: Ctrl-C there is the kernel's, sent to the
# terminal's foreground process group, as for a user. Runs once (tests/run.sh): what it
# checks does not depend on BPF.
source "$(dirname "$0")/lib.sh"

setup_test
command -v tmux >/dev/null || fail "tmux is missing (run make deps)"
private_checkout

TMUX_SOCK=$T/tmux.sock
TMUX_PID=""
tmx() {
	tmux -S "$TMUX_SOCK" "$@"
}
stop_tmux() { # clean-up hook: the tmux server of this test, by its pid
	[ -n "$TMUX_PID" ] && kill -KILL "$TMUX_PID" 2>/dev/null
	[ -n "${DEMO_HOME:-}" ] && PM2_HOME=$DEMO_HOME kill_test_processes
	return 0
}
CLEANUP_HOOKS+=(stop_tmux)
pane() { # the pane's whole text, long lines joined
	tmx capture-pane -p -J -S - -t amx 2>/dev/null
}

# make is the pane's process, the leader of the terminal's foreground process group, as when
# a user's shell runs it as a job; the pane stays after it exits, with its exit status or
# signal. A user's environment, not that of the `make test` this may run under (MAKEFLAGS).
printf 'set -g remain-on-exit on\nset -g history-limit 5000\n' >"$T/tmux.conf"
DEMO_PORT=$(free_port)
env -i PATH="$PATH" HOME="$HOME" TERM=xterm-256color LANG="${LANG:-C.UTF-8}" SHELL=/bin/bash \
	tmux -S "$TMUX_SOCK" -f "$T/tmux.conf" new-session -d -s amx -x 200 -y 50 -c "$CLONE" \
	"exec env AMX_DEMO=app AMX_DEMO_PORT=$DEMO_PORT AMX_DEMO_SOCKET='$T/demo.sock' AMX_DEMO_TOP=0 AMX_MODE=${AMX_MODE:-bpf} make run" ||
	fail "cannot start tmux"
TMUX_PID=$(tmx display-message -p '#{pid}')

# Its own set-up, then the demo; up when it says how to stop it.
deadline=$(($(now_ms) + 120000))
until pane | grep -q '^Ctrl-C here stops the demo'; do
	if [ "$(tmx display-message -p -t amx '#{pane_dead}')" = 1 ] || [ "$(now_ms)" -gt "$deadline" ]; then
		pane >&2
		fail "make run from $CLONE did not bring the demo up within 120 s"
	fi
	sleep 0.2
done
wait_http "$DEMO_PORT" 10
DEMO_HOME=$(pane | sed -n 's/^amexbpf demo: .*(PM2_HOME=\(.*\))$/\1/p')
[ -d "$DEMO_HOME" ] || { pane >&2; fail "the demo did not name its PM2_HOME"; }
app=$(app_pid "$DEMO_PORT")
god=$(cat "$DEMO_HOME/pm2.pid")
amx=$("$AMX_BIN" status --json --socket "$T/demo.sock" | jq -r .pid) || fail "the demo's amexbpf does not answer"
[ "$(readlink "/proc/$amx/exe")" = "$CLONE/amexbpf" ] || fail "the demo runs $(readlink "/proc/$amx/exe"), not $CLONE/amexbpf"
pane | grep -q 'info monitor-started: ' || { pane >&2; fail "no human line for monitor-started"; }
! pane | grep -q '^{' || fail "NDJSON on the terminal"
jq -e 'select(.event.action == "monitor-started")' "$CLONE/.output/demo/events.ndjson" >/dev/null ||
	fail "no monitor-started in $CLONE/.output/demo/events.ndjson"

# Ctrl-C on the terminal.
tmx send-keys -t amx C-c
deadline=$(($(now_ms) + 30000))
# tmux marks the pane dead when its terminal closes, which can come before it has reaped
# make: wait for the exit status (or signal) too.
until [ "$(tmx display-message -p -t amx '#{pane_dead}#{pane_dead_status}#{pane_dead_signal}')" != 1 ] &&
	[ "$(tmx display-message -p -t amx '#{pane_dead}')" = 1 ]; do
	[ "$(now_ms)" -lt "$deadline" ] || { pane >&2; fail "make run did not end within 30 s of Ctrl-C"; }
	sleep 0.1
done
end=$(tmx display-message -p -t amx 'status #{pane_dead_status}, signal #{pane_dead_signal}')
[ "$end" = "status 0, signal " ] || { pane >&2; fail "make run ended after Ctrl-C with $end, expected status 0"; }
! pane | grep -q 'make: \*\*\*' || { pane >&2; fail "make reported an error after Ctrl-C"; }
pane | grep -q '^demo stopped' || { pane >&2; fail "the demo did not say it stopped"; }
for pid in "$amx" "$god" "$app"; do
	wait_gone "$pid" 10
done
[ -z "$(PM2_HOME=$DEMO_HOME test_process_pids)" ] || fail "processes of the demo's PM2 are left"
for dir in /proc/[0-9]*; do
	[ "$(readlink "$dir/exe" 2>/dev/null)" != "$CLONE/amexbpf" ] || fail "process ${dir#/proc/} still runs $CLONE/amexbpf"
done
[ ! -e "$(dirname "$DEMO_HOME")" ] || fail "the demo's work dir $(dirname "$DEMO_HOME") is left"
[ -z "$(ss -Htln "sport = :$DEMO_PORT")" ] || fail "port $DEMO_PORT is still open"
