# SPDX-License-Identifier: MIT
# Helpers for the `amexbpf top` tests (sourced after lib.sh): a private tmux server that
# runs an interactive shell, screen captures with deadlines, and the fake control server.
# shellcheck shell=bash

TMUX_SOCK=""
FAKE_PID=""

tmux_cleanup() {
	local server
	if [ -n "$TMUX_SOCK" ] && server=$(tx display-message -p '#{pid}' 2>/dev/null); then
		tx kill-server 2>/dev/null
		wait_gone "$server" 5
	fi
	fake_stop
	return 0
}
CLEANUP_HOOKS+=(tmux_cleanup)

tx() {
	tmux -u -S "$TMUX_SOCK" "$@"
}

# tmux_start NAME COLS ROWS [VAR=VALUE...]: a session running bash with no rc files and
# a prompt of "$ ", in a UTF-8 locale unless the caller says otherwise.
tmux_start() {
	local name=$1 cols=$2 rows=$3
	shift 3
	[ -n "$TMUX_SOCK" ] || TMUX_SOCK=$T/tmux.sock
	tx -f /dev/null new-session -d -s "$name" -x "$cols" -y "$rows" \
		env -i PATH=/usr/bin:/bin HOME="$T" TERM=screen LANG=C.UTF-8 PS1='$ ' "$@" \
		bash --norc --noprofile ||
		fail "cannot start tmux"
	tx set-option -t "$name" status off >/dev/null
	wait_screen "$name" '^\$' 5
}

# screen NAME [-e]: the pane as text (-e: with colour escapes).
screen() {
	tx capture-pane -p ${2:+"$2"} -t "$1"
}

# type_line NAME TEXT: types TEXT and Enter into the pane's shell.
type_line() {
	tx send-keys -t "$1" -l "$2"
	tx send-keys -t "$1" Enter
}

keys() {
	local name=$1
	shift
	tx send-keys -t "$name" "$@"
}

# wait_screen NAME ERE DEADLINE_S: until a line of the pane matches.
wait_screen() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$3")))
	while :; do
		screen "$1" | grep -Eq -- "$2" && return 0
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "--- screen of $1 ---" >&2
			screen "$1" >&2
			fail "screen of $1 shows no line matching /$2/ within $3 s"
		fi
		sleep 0.05
	done
}

# wait_screen_gone NAME ERE DEADLINE_S: until no line matches.
wait_screen_gone() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$3")))
	while screen "$1" | grep -Eq -- "$2"; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			screen "$1" >&2
			fail "screen of $1 still matches /$2/ after $3 s"
		fi
		sleep 0.05
	done
}

# top_pid NAME: the pid of the command running in the pane's shell (a child of it).
top_pid() {
	local sh
	sh=$(tx display-message -p -t "$1" '#{pane_pid}')
	cat /proc/"$sh"/task/*/children 2>/dev/null | awk '{ print $1 }'
}

# run_top NAME ARGS...: saves the shell's terminal modes, then runs top in the pane; when
# top ends the shell prints EXITED rc=N and compares the modes (TTY-SAME or TTY-CHANGED).
run_top() {
	local name=$1
	shift
	type_line "$name" "clear; stty -g > $T/stty.$name; $AMX_BIN top $*; echo EXITED rc=\$?; [ \"\$(stty -g)\" = \"\$(cat $T/stty.$name)\" ] && echo TTY-SAME || echo TTY-CHANGED"
}

# expect_exit_clean NAME RC: top ended with RC, the terminal modes are back, the shell
# prompt reads and echoes input.
expect_exit_clean() {
	wait_screen "$1" "^EXITED rc=$2\$" 5
	wait_screen "$1" '^TTY-SAME$' 5
	type_line "$1" 'echo PROMPT-OK-$((6 * 7))'
	wait_screen "$1" '^PROMPT-OK-42$' 5
}

# fake_start STATUS_FILE EVENTS_FILE: the fake control server on $T/amx.sock.
fake_start() {
	"$REPO/.output/tests/fake_control" "$T/amx.sock" "$1" "$2" 2>>"$T/fake.log" &
	FAKE_PID=$!
	local deadline=$(($(now_ms) + 5000))
	until "$AMX_BIN" top --once --socket "$T/amx.sock" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "the fake control server does not answer"
		sleep 0.05
	done
}

fake_stop() {
	[ -n "$FAKE_PID" ] || return 0
	kill -TERM "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=""
}

# frame_width_ok FILE MAX: no line of FILE is wider than MAX display columns.
frame_width_ok() {
	local w
	w=$(LC_ALL=C.UTF-8 wc -L <"$1")
	[ "$w" -le "$2" ] || fail "$(basename "$1") has a line $w columns wide, more than $2"
}
