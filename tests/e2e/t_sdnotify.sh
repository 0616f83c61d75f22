#!/bin/bash
# SPDX-License-Identifier: MIT
# systemd's notify protocol against a socket this test creates: STATUS and READY=1 arrive
# once monitor-started is written, WATCHDOG=1 keeps arriving from the event loop, and a
# loop stalled on purpose (the test-only AMEXBPF_TEST_STALL=1 + SIGUSR1) stops them.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

SINK_PID=""
stop_sink() { [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; }
CLEANUP_HOOKS+=(stop_sink)
sock=$T/notify.sock
"$REPO/.output/tests/notify_sink" "$sock" >"$T/notify.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || fail "notify_sink did not bind $sock"

# wait_notify PATTERN COUNT TIMEOUT_S: until COUNT lines of the sink match PATTERN.
wait_notify() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$3")))
	while [ "$(grep -c -- "$1" "$T/notify.log")" -lt "$2" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || { cat "$T/notify.log" >&2; fail "fewer than $2 '$1' within $3 s"; }
		sleep 0.05
	done
}

NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 AMEXBPF_TEST_STALL=1 start_amexbpf
wait_notify ' READY=1$' 1 5
grep -m1 -n ' STATUS=' "$T/notify.log" | grep -q 'watching 1 PM2 home' || fail "no STATUS line before READY"
[ "$(grep -n ' STATUS=' "$T/notify.log" | head -1 | cut -d: -f1)" -lt "$(grep -n ' READY=1$' "$T/notify.log" | cut -d: -f1)" ] ||
	fail "READY=1 came before the first STATUS"

# The pings come every WATCHDOG_USEC / 2 from the loop, idle as it is.
wait_notify ' WATCHDOG=1$' 5 5
gaps=$(grep ' WATCHDOG=1$' "$T/notify.log" | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -n | tail -1)
[ "$gaps" -le 350 ] || fail "largest gap between WATCHDOG pings is $gaps ms (expected about 200)"

# Stall the loop on purpose: the pings stop.
kill -USR1 "$AMX_PID"
deadline=$(($(now_ms) + 5000))
until grep -q 'stalling the event loop' "$T/amexbpf.log"; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "amexbpf did not stall on SIGUSR1"
	sleep 0.05
done
before=$(grep -c ' WATCHDOG=1$' "$T/notify.log")
sleep 2 # absence over 10 ping intervals
after=$(grep -c ' WATCHDOG=1$' "$T/notify.log")
[ "$after" -le $((before + 1)) ] || fail "WATCHDOG kept coming from a stalled loop ($before, then $after)"
amexbpf_alive || fail "amexbpf died instead of stalling"
kill -KILL "$AMX_PID"
wait "$AMX_PID" 2>/dev/null || true
AMX_PID=""

# Without NOTIFY_SOCKET nothing is sent and nothing breaks: every other test runs so.
check_contract
