#!/bin/bash
# SPDX-License-Identifier: MIT
# The control socket: `amexbpf status` and `amexbpf events` (history, filters, live), who may
# connect (root only at 0600; a --socket-group member at 0660), and malformed requests that
# get an error line or a close, never a crash or a stall.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf

# status: the app and its daemon as a user would read them
doc=$("$AMX_BIN" status --json --socket "$SOCK") || fail "amexbpf status --json failed"
[ "$(jq -r '.homes[0].apps[0].name' <<<"$doc")" = "$APP_NAME" ] || fail "status does not list $APP_NAME: $doc"
[ "$(jq -r '.homes[0].apps[0].status' <<<"$doc")" = online ] || fail "status does not say online: $doc"
[ "$(jq -r '.homes[0].daemon.up' <<<"$doc")" = true ] || fail "status says the PM2 daemon is down"
[ "$(jq -r '.homes[0].apps[0].pid' <<<"$doc")" = "$(app_pid "$PORT")" ] || fail "status has the wrong pid"
st=$("$AMX_BIN" status --socket "$SOCK") || fail "amexbpf status exited non-zero"
grep -q "$APP_NAME .*online" <<<"$st" || fail "amexbpf status does not show $APP_NAME online"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is $(stat -c %a "$SOCK"), expected 600"

# events: a live subscriber filtered on process-exited sees the kill
"$AMX_BIN" events --socket "$SOCK" --action process-exited >"$T/live.ndjson" 2>"$T/live.err" &
live=$!
old=$(app_pid "$PORT")
mark_events
sleep 0.2 # the subscriber connects; what it misses would still come from the history
kill -9 "$old"
wait_event pm2-restarted-app "" 10 >/dev/null
deadline=$(($(now_ms) + 5000))
until [ -s "$T/live.ndjson" ] || [ "$(now_ms)" -gt "$deadline" ]; do sleep 0.05; done
[ "$(jq -s 'length' "$T/live.ndjson")" = 1 ] || fail "the live subscriber got $(wc -l <"$T/live.ndjson") lines, expected 1 process-exited"
[ "$(jq -r '.process.pid' "$T/live.ndjson")" = "$old" ] || fail "the live subscriber got the wrong exit"
kill "$live"
wait "$live" 2>/dev/null || true

# history: --no-follow replays what the events file holds, --since skips
"$AMX_BIN" events --socket "$SOCK" --no-follow >"$T/hist.ndjson" || fail "events --no-follow failed"
cmp -s "$T/hist.ndjson" "$EVENTS" || fail "the history differs from the events file"
n=$(wc -l <"$EVENTS")
"$AMX_BIN" events --socket "$SOCK" --no-follow --since $((n - 1)) >"$T/since.ndjson"
[ "$(jq -r '.event.sequence' "$T/since.ndjson")" = "$n" ] || fail "--since $((n - 1)) did not give exactly event $n"

# permissions: the test user is refused at 0600. It runs a copy of the binary in the work dir:
# the checkout may be closed to it (a clone under /root).
install -m 0755 "$AMX_BIN" "$T/amexbpf-user"
set +e
as_test_user "$T/amexbpf-user" status --socket "$SOCK" >/dev/null 2>"$T/denied.err"
rc=$?
set -e
[ "$rc" = 77 ] || fail "a non-root user got exit $rc from status, expected 77 (permission denied)"

# malformed requests: each gets an error line or a close, within the 5 s request limit
ask() { # ask NAME: sends stdin, prints the answer
	timeout 8 socat -t 7 - "UNIX-CONNECT:$SOCK" 2>/dev/null || true
}
[ "$(printf 'HELLO\n' | ask | jq -r .error)" = "unknown request" ] || fail "garbage got no error line"
[ "$(printf 'EVENTS since=abc\n' | ask | jq -r .error)" = "bad since" ] || fail "a bad argument got no error line"
[ "$(printf 'EVENTS bogus=1\n' | ask | jq -r .error)" = "bad argument" ] || fail "an unknown argument got no error line"
[ "$(printf 'STA\0TUS\n' | ask | jq -r .error)" = "unknown request" ] || fail "a NUL byte got no error line"
# A client still sending when the error comes may see only the close (its write fails first).
answer=$( { head -c 100000 /dev/zero | tr '\0' A || true; } | ask)
[ -z "$answer" ] || [ "$(jq -r .error <<<"$answer")" = "request too long" ] || fail "a huge line got: $answer"
start=$(now_ms)
[ "$( (printf 'EVEN'; sleep 7) | ask | jq -r .error)" = "request timed out" ] || fail "a half line then silence got no error"
[ $(($(now_ms) - start)) -lt 7500 ] || fail "the half line was not cut after 5 s"
for _ in $(seq 1 50); do
	printf 'STAT' | timeout 2 socat -u - "UNIX-CONNECT:$SOCK" 2>/dev/null || true # half line, then gone
done
# the daemon is alive, answers, and still detects
amexbpf_alive || fail "amexbpf died on malformed requests"
"$AMX_BIN" status --json --socket "$SOCK" | jq -e '.homes[0]' >/dev/null || fail "status fails after malformed requests"
# its own memory, as the soak reads it: RSS as /proc shows it, and the heap's split
mem=$("$AMX_BIN" status --json --socket "$SOCK" | jq -c .memory)
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AMX_PID/status")
diff=$(( $(jq -r '.rss_kb // 0' <<<"$mem") - rss ))
[ "${diff#-}" -le 256 ] || fail "status memory.rss_kb is not the daemon's RSS ($rss kB): $mem"
if [ -n "${ASAN_OPTIONS:-}" ]; then # ASan's allocator gives malloc's figures no meaning
	jq -e ".heap_in_use_bytes == null" <<<"$mem" >/dev/null || fail "status memory under ASan: $mem"
else
	jq -e ".heap_in_use_bytes > 0 and .heap_arena_bytes > 0" <<<"$mem" >/dev/null ||
		fail "status memory has no heap figures: $mem"
fi
old=$(app_pid "$PORT")
mark_events
kill -9 "$old"
wait_event process-exited ".process.pid == $old" 5 >/dev/null
stop_amexbpf

# --socket-group: a member may connect, the socket is 0660 root:group
mark_events
start_amexbpf --socket-group "$TEST_USER"
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root $TEST_USER" ] || fail "socket is $(stat -c '%a %U %G' "$SOCK"), expected 660 root $TEST_USER"
as_test_user "$T/amexbpf-user" status --json --socket "$SOCK" | jq -e '.homes[0].apps[0].name' >/dev/null ||
	fail "a member of --socket-group cannot read status"
grep -q "control: accepted uid $(id -u "$TEST_USER")" "$T/amexbpf.log" || fail "the accepted peer is not logged"
grep -q "control: refused uid $(id -u "$TEST_USER")" "$T/amexbpf.log" || true
check_contract
