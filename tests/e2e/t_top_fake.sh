#!/bin/bash
# SPDX-License-Identifier: MIT
# `amexbpf top` in a real terminal (tmux), against the fake control server that serves a
# fixed status document and an events file: the frame, colours, every key, a new event
# shown within a second, resize, NO_COLOR, ASCII, the daemon going away and coming back
# (restarted), and the terminal restored after q, SIGTERM, Ctrl-C and a crash.
# The same view against the real daemon and PM2: t_top_daemon.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/top_lib.sh"

command -v tmux >/dev/null || fail "tmux is missing (run make deps)"
[ -x "$AMX_BIN" ] || fail "$AMX_BIN is not built (run make)"
[ -x "$REPO/.output/tests/fake_control" ] || fail "fake_control is not built (make helpers)"
T=$(mktemp -d /tmp/amx.XXXXXX) || fail "cannot create a work dir"
trap cleanup EXIT
FIX=$REPO/tests/unit/fixtures
cp "$FIX/top_status.json" "$T/status.json"
cp "$FIX/top_events.ndjson" "$T/events.ndjson"
SOCK=$T/amx.sock

# Without a daemon: --once says so in one line and exits 69; no terminal: 64.
rc=0
"$AMX_BIN" top --once --socket "$SOCK" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 69 ] || fail "top --once without a daemon: exit $rc, expected 69"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "no answer on $SOCK" "$T/err" || fail "top --once without a daemon: stderr $(cat "$T/err")"
rc=0
"$AMX_BIN" top --socket "$SOCK" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 64 ] || fail "top without a terminal: exit $rc, expected 64"
rc=0
"$AMX_BIN" top --frobnicate 2>"$T/err" || rc=$?
[ "$rc" -eq 64 ] || fail "top --frobnicate: exit $rc, expected 64"

fake_start "$T/status.json" "$T/events.ndjson"

# --once: one plain frame that fits its width, with no escape byte from a hostile name.
for w in 80 100 120 200; do
	COLUMNS=$w LANG=C.UTF-8 "$AMX_BIN" top --once --socket "$SOCK" >"$T/once.$w" || fail "top --once at $w"
	frame_width_ok "$T/once.$w" "$w"
	grep -Eq '^demo-api +1234 online' "$T/once.$w" || fail "--once at $w: no demo-api row"
	grep -Eq 'OOM SIGKILL' "$T/once.$w" || fail "--once at $w: no OOM mark"
	! grep -q $'\e' "$T/once.$w" || fail "--once at $w: an escape byte reached the output"
	grep -q 'evil?\[31m?' "$T/once.$w" || fail "--once at $w: hostile name not neutralised"
done
LANG=C COLUMNS=120 "$AMX_BIN" top --once --socket "$SOCK" >"$T/once.ascii"
! LC_ALL=C grep -q $'[\x80-\xff]' "$T/once.ascii" || fail "--once in the C locale printed non-ASCII bytes"
grep -Eq '944M #+\.' "$T/once.ascii" || fail "--once in the C locale: no ASCII memory bar"

# The live view at 120x32.
tmux_start a 120 32
run_top a --socket "$SOCK"
wait_screen a '^demo-api +1234 online' 3
s=$(screen a)
grep -q '^amexbpf 0.1.0 on vm · up 1h10m' <<<"$s" || fail "header: $(head -1 <<<"$s")"
grep -q 'latency p50 80µs p99 900µs' <<<"$s" || fail "no latency in the header"
grep -q 'exit_btf 100 runs 500ns' <<<"$s" || fail "no BPF run counts"
grep -q 'home /home/u/.pm2 (u) · God 1000 up · dump valid, 4 apps' <<<"$s" || fail "no home line"
grep -Eq '^worker +- errored .* code 1 +parked$' <<<"$s" || fail "no parked worker row"
grep -Eq 'process-exited +demo-api exited \(SIGKILL\)' <<<"$s" || fail "no event line"
grep -q '● connected' <<<"$s" || fail "no connection state"
screen a -e | grep -q $'\e\\[32monline' || fail "online is not green"
screen a -e | grep -Eq $'\e\\[[0-9;]*41m[^\e]*OOM SIGKILL' || fail "OOM is not on red"

# A new event is on screen within a second.
t0=$(now_ms)
echo '{"@timestamp":"2026-11-27T22:31:00.000000Z","log":{"level":"error"},"message":"demo-api (pid 1234) exited (SIGKILL)","event":{"action":"process-exited","sequence":4},"process":{"pid":1234},"amexbpf":{"signal":"SIGKILL"},"service":{"name":"demo-api"}}' >>"$T/events.ndjson"
wait_screen a 'process-exited +demo-api \(pid 1234\) exited \(SIGKILL\)' 1
screen a | grep -A1 '^ EVENTS' | tail -1 | grep -Eq '^[0-9:]{8} ERR  demo-api +process-exited +demo-api \(pid 1234\)' ||
	fail "the new event is not the first line of the event pane"
log "new event shown after $(($(now_ms) - t0)) ms"

# Keys: help, sort, selection + history, filter, pause, event scrolling.
keys a '?'
wait_screen a 'next sort key: name, pid' 2
keys a x
wait_screen_gone a 'next sort key' 2
keys a s
wait_screen a 's sort:pid' 2
keys a s s
wait_screen a 's sort:memory' 2
screen a | grep -A1 '^NAME' | tail -1 | grep -q '^hog ' || fail "sort by memory does not put hog first"
keys a s s s s
wait_screen a 's sort:name' 2
keys a Down Down Enter
wait_screen a '^ History of hog' 2
keys a Escape
wait_screen_gone a 'History of' 2
# The selection follows the app when the order changes: hog is first by memory.
keys a s s s
wait_screen a 's sort:memory' 2
keys a Enter
wait_screen a '^ History of hog' 2
keys a Escape s s s s
wait_screen a 's sort:name' 2
keys a Up Up Enter
wait_screen a '^ History of demo-api' 2
wait_screen a 'pm2-restarted-app' 2
keys a Enter
wait_screen_gone a 'History of' 2
keys a / w o r
wait_screen a '^ Filter: wor_' 2
keys a Enter
wait_screen a 'filter: wor' 2
screen a | grep -q '^demo-api' && fail "the filter wor still shows demo-api"
keys a / Escape
wait_screen a '^demo-api +1234' 2
keys a p
wait_screen a 'PAUSED, 0 new' 2
echo '{"@timestamp":"2026-11-27T22:32:00.000000Z","log":{"level":"info"},"message":"held back by the pause","event":{"action":"dump-changed","sequence":5}}' >>"$T/events.ndjson"
wait_screen a 'PAUSED, 1 new' 2
screen a | grep -q 'held back by the pause' && fail "a paused pane showed a new event"
keys a p
wait_screen a 'held back by the pause' 2
keys a PgDn
wait_screen a 'EVENTS newest first \(scrolled\)' 2
keys a Home
wait_screen_gone a '\(scrolled\)' 2

# Resize to 80x24: the frame equals the one a fresh top draws at 80x24.
tx resize-window -t a -x 80 -y 24
wait_screen a '^NAME {13}PID STATUS' 3
tmux_start b 80 24
run_top b --socket "$SOCK"
wait_screen b '^demo-api +1234 online' 3
sleep 0.3 # both have drawn their next second; the data does not change
diff <(screen a) <(screen b) >"$T/resize.diff" || { cat "$T/resize.diff" >&2; fail "the resized frame differs from a fresh one"; }
[ "$(screen a | wc -l)" -eq 24 ] && screen a | tail -1 | grep -q '^ q quit' || fail "no footer on line 24 after resize"
keys b q
expect_exit_clean b 0

# The daemon goes away: top says so; it comes back restarted: top reconnects and says so.
fake_stop
wait_screen a 'no answer on .*amx.sock' 3
wait_screen a 'reconnecting' 2
jq -c '.pid = 124 | .uptime_s = 1' "$T/status.json" >"$T/status.new" && mv "$T/status.new" "$T/status.json"
fake_start "$T/status.json" "$T/events.ndjson"
wait_screen a 'top-connection +amexbpf restarted \(pid 124' 3
wait_screen_gone a 'no answer on' 2
wait_screen a 'up 1s' 2

# q restores the terminal.
keys a q
expect_exit_clean a 0

# SIGTERM, Ctrl-C and a crash restore it too; NO_COLOR drops colour.
tmux_start c 100 30 NO_COLOR=1
run_top c --socket "$SOCK"
wait_screen c '^demo-api +1234 online' 3
! screen c -e | grep -Eq $'\e\\[(3[0-7]|4[0-7]|38|48)' || fail "NO_COLOR: the screen has colours"
kill -TERM "$(top_pid c)"
expect_exit_clean c 143
run_top c --socket "$SOCK" --no-color
wait_screen c '^demo-api +1234 online' 3
! screen c -e | grep -Eq $'\e\\[(3[0-7]|4[0-7]|38|48)' || fail "--no-color: the screen has colours"
keys c C-c
expect_exit_clean c 130
type_line c "export AMX_TOP_TEST_CRASH=1"
run_top c --socket "$SOCK"
expect_exit_clean c 139
screen c | grep -q 'amexbpf top: crashed; terminal restored' || fail "no crash message"
