#!/bin/bash
# SPDX-License-Identifier: MIT
# `make run`: watch this machine's PM2 if it has one; otherwise set up a demo app under the
# pinned PM2 as the user amxtest and watch that, in the foreground, until Ctrl-C, which ends
# it with status 0 after removing everything it started.
# The terminal shows amexbpf's human lines; the NDJSON events go to .output/demo/events.ndjson.
# AMX_DEMO=app runs the demo app even where PM2 homes exist (AMX_DEMO=host: never the app);
# AMX_DEMO_PORT picks the app's port (default 3000, else a free one); AMX_DEMO_SOCKET the
# control socket (default: amexbpf's, unless a daemon serves it); AMX_DEMO_TOP=0 does not
# open `amexbpf top` beside the demo in tmux; AMX_MODE=no-bpf runs amexbpf with --no-bpf.
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "make run needs root (BPF, and PM2 run as a test user): sudo make run" >&2; exit 1; }

# Ctrl-C: the terminal sends SIGINT to its whole foreground process group, `make` included,
# and make then reports "Error 130" and dies of the signal whatever the demo does. So on a
# terminal the demo runs as a job of its own that bash's job control makes the terminal's
# foreground: Ctrl-C reaches the demo only, and make, waiting in the background, sees the
# demo's exit status (0 after a Ctrl-C).
if [ -z "${AMX_DEMO_JOB:-}" ] && [ -t 0 ] &&
	[ "$(ps -o pgid= -p $$ | tr -d ' ')" = "$(ps -o tpgid= -p $$ | tr -d ' ')" ]; then
	set -m
	rc=0
	AMX_DEMO_JOB=1 "$0" "$@" || rc=$?
	exit "$rc"
fi

REPO=$PWD
OUT=$REPO/.output/demo
mkdir -p "$OUT"
EVENTS_FILE=$OUT/events.ndjson
rm -f "$EVENTS_FILE"

# The control socket `amexbpf top` and `amexbpf events` use by default, unless a daemon
# already serves it (an installed amexbpf): then a private one.
DEFAULT_SOCK=/run/amexbpf/amexbpf.sock
demo_socket() {
	if [ -n "${AMX_DEMO_SOCKET:-}" ]; then
		echo "$AMX_DEMO_SOCKET"
	elif ./amexbpf status --socket "$DEFAULT_SOCK" >/dev/null 2>&1; then
		echo "$1"
	else
		echo "$DEFAULT_SOCK"
	fi
}
# How to reach that socket from another terminal.
socket_arg() {
	[ "$1" = "$DEFAULT_SOCK" ] || printf ' --socket %s' "$1"
}

# A PM2 home in use: root's or any user's ~/.pm2 that has a dump or a daemon pid file.
pm2_home_exists() {
	local home
	while IFS=: read -r _ _ _ _ _ home _; do
		[ -n "$home" ] && [ -d "$home/.pm2" ] || continue
		if [ -e "$home/.pm2/dump.pm2" ] || [ -e "$home/.pm2/pm2.pid" ]; then
			return 0
		fi
	done < <(getent passwd; echo "root:x:0:0::/root:")
	return 1
}

MODE_ARGS=()
[ "${AMX_MODE:-bpf}" = no-bpf ] && MODE_ARGS=(--no-bpf)

if [ "${AMX_DEMO:-}" = host ] || { [ "${AMX_DEMO:-}" != app ] && pm2_home_exists; }; then
	sock=$(demo_socket "$OUT/amx.sock")
	cat <<EOM
amexbpf watches this machine's PM2 homes; Ctrl-C stops it.
  events (NDJSON):  $EVENTS_FILE
  live view:        $REPO/amexbpf top$(socket_arg "$sock")
EOM
	# Ctrl-C reaches amexbpf, which stops cleanly with status 0.
	exec ./amexbpf run --events "$EVENTS_FILE" --socket "$sock" "${MODE_ARGS[@]}"
fi

# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
TEST_NAME=demo
log() { :; } # the terminal is for amexbpf's lines and ours
DONE_MSG="demo stopped; its PM2, app and amexbpf are gone (events kept in $EVENTS_FILE)"
PREFERRED_PORT=${AMX_DEMO_PORT:-3000}
# A Ctrl-C is how the demo ends: status 0, after cleanup (lib.sh) removed what it started.
INT_STATUS=0
trap 'exit 0' INT
setup_test
start_app

TOP_PANE=""
close_top() {
	[ -n "$TOP_PANE" ] && tmux kill-pane -t "$TOP_PANE" 2>/dev/null
	return 0
}
CLEANUP_HOOKS+=(close_top)

SOCK=$(demo_socket "$T/amx.sock")
EVENTS=$EVENTS_FILE
AMX_RUNS=1
mkdir -p "$T/state"
chmod 700 "$T/state"
echo "amexbpf demo: $APP_NAME on http://127.0.0.1:$PORT/, run by PM2 as the user $TEST_USER (PM2_HOME=$PM2_HOME)"
# In the background, so that the INT trap runs at once; its human lines go to the terminal.
"$AMX_BIN" run --pm2-home "$PM2_HOME" --pm2 "$PM2_BIN" --ecosystem "$ECO" \
	--state-dir "$T/state" --socket "$SOCK" --events "$EVENTS" "${MODE_ARGS[@]}" </dev/null &
AMX_PID=$!
wait_event monitor-started "" 10 >/dev/null

if [ -n "${TMUX:-}" ] && [ "${AMX_DEMO_TOP:-1}" != 0 ] && command -v tmux >/dev/null; then
	TOP_PANE=$(tmux split-window -d -v -l 60% -P -F '#{pane_id}' \
		"exec '$AMX_BIN' top$(socket_arg "$SOCK")" 2>/dev/null) || TOP_PANE=""
fi
top_line="  $AMX_BIN top$(socket_arg "$SOCK")   # live view of the daemon, apps and events"
[ -n "$TOP_PANE" ] && top_line="  (amexbpf top runs in the tmux pane beside this one)"

cat <<EOM
Try, in another terminal:
  curl -s http://127.0.0.1:$PORT/   # which pid answers
  kill -9 $(app_pid "$PORT")   # kill the app: PM2 restarts it, amexbpf reports it
  kill -9 $(god_pid)   # kill the PM2 daemon: amexbpf resurrects it and the app (tier 2)
$top_line
  $AMX_BIN events$(socket_arg "$SOCK")   # the events as NDJSON, as they come
The events are also written to $EVENTS_FILE.
Ctrl-C here stops the demo and removes what it started.
EOM

# Until Ctrl-C, or until amexbpf ends on its own (then its status is the demo's).
rc=0
wait "$AMX_PID" || rc=$?
AMX_PID=""
echo "amexbpf exited with status $rc" >&2
[ "$rc" -eq 0 ] && rc=1 # it must not end by itself
exit "$rc"
