#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the events file's filesystem is full (a 64 kB tmpfs), and the state
# directory is read-only. Detected and done: amexbpf keeps running and recovering (a killed
# God daemon comes back); the events file never holds half a line; once space is freed the
# next lines come with one events-lost (source file) counting what did not fit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
mkdir -p "$T/evfs" "$T/ro-state"
mount -t tmpfs -o size=64k tmpfs "$T/evfs" || fail "cannot mount a tmpfs"
mount -t tmpfs -o ro,size=64k tmpfs "$T/ro-state" || fail "cannot mount a read-only tmpfs"
unmount_all() { umount "$T/evfs" "$T/ro-state" 2>/dev/null; }
CLEANUP_HOOKS+=(unmount_all)

# start_amexbpf picks the events file; ours lives on the small tmpfs.
AMX_RUNS=1
EVENTS=$T/evfs/events.ndjson
"$AMX_BIN" run --pm2-home "$PM2_HOME" --events "$EVENTS" --state-dir "$T/ro-state" \
	--pm2 "$PM2_BIN" >>"$T/amexbpf.out" 2>>"$T/amexbpf.log" </dev/null &
AMX_PID=$!
wait_event monitor-started "" 10 >/dev/null

# Fill the filesystem to the last byte.
dd if=/dev/zero of="$T/evfs/filler" bs=1k count=100 2>/dev/null || true
# tmpfs counts whole pages: the events file's last page still has room. Fill it with a
# line of blanks (whitespace between JSON values), so the next event needs a new page.
sz=$(stat -c %s "$EVENTS")
pad=$(( (4096 - sz % 4096) % 4096 ))
if [ "$pad" -gt 1 ]; then
	{ head -c $((pad - 1)) /dev/zero | tr '\0' ' '; echo; } >>"$EVENTS"
fi
log "events file $(stat -c %s "$EVENTS") bytes; $(df --output=avail "$T/evfs" | tail -1) kB free"
mark_events
god=$(god_pid)
kill -KILL "$god"
# The recovery goes on regardless (the stderr copy of events shows it): a new daemon.
record_pid "$(wait_live_god "$god" 30)"
wait_http "$PORT" 30
amexbpf_alive || fail "amexbpf died with its events filesystem full"

rm -f "$T/evfs/filler"
mark_events
app=$(app_pid "$PORT")
kill -KILL "$app"
ev=$(wait_event events-lost '.amexbpf.lost.source == "file"' 10)
log "reported: $(jq -c .amexbpf.lost <<<"$ev")"
wait_event process-exited ".process.pid == $app" 5 >/dev/null
wait_http "$PORT" 15
# Every line is whole JSON.
jq -e . "$EVENTS" >/dev/null 2>&1 || fail "the events file holds a broken line"
cp "$EVENTS" "$T/events.ndjson"
# The contract's sequence check does not hold here by design (lines were dropped): check
# only that each line parses and that sequence numbers only grow.
jq -s -e '[.[].event.sequence] | . == sort' "$EVENTS" >/dev/null || fail "event.sequence goes backwards"
rm -f "$T/events.ndjson"
