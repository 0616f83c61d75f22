#!/bin/bash
# SPDX-License-Identifier: MIT
# A real app growing its memory crosses its limit (max_memory_restart 200M from dump.pm2,
# overridden to 160M with --memory-limit): memory-over-limit within the 500 ms goal, then
# tier 1 restarts it, long before PM2's own 30 s check would have looked.
source "$(dirname "$0")/lib.sh"

setup_test
HOG=amx-grow
LIMIT=$((160 << 20))
pm2u_env PORT="$PORT" -- start "$T/app/hog.js" --name "$HOG" --max-memory-restart 200M >/dev/null ||
	fail "pm2 start hog.js failed"
pm2u save >/dev/null || fail "pm2 save failed"
jq -e ".[0].max_memory_restart == $((200 << 20))" "$PM2_HOME/dump.pm2" >/dev/null ||
	fail "dump.pm2 does not carry max_memory_restart 200M"
wait_http "$PORT" 20
hog=$(app_pid "$PORT")
record_pid "$hog"
record_pid "$(god_pid)"

start_amexbpf --memory-limit "$HOG=160M"

mark_events
t0=$(now_ms)
curl -fsS --max-time 2 "http://127.0.0.1:$PORT/grow" >/dev/null || fail "GET /grow failed"
ev=$(wait_event memory-over-limit ".service.name == \"$HOG\"" 10)
t1=$(now_ms)
[ "$(jq_field "$ev" .process.pid)" = "$hog" ] || fail "memory-over-limit names pid $(jq_field "$ev" .process.pid), expected $hog"
[ "$(jq_field "$ev" .amexbpf.memory.limit_bytes)" = "$LIMIT" ] ||
	fail "limit_bytes is $(jq_field "$ev" .amexbpf.memory.limit_bytes), expected $LIMIT (the --memory-limit override)"
rss=$(jq_field "$ev" .amexbpf.memory.rss_bytes)
# hog.js grows 8 MiB every 50 ms (160 MiB/s): the overshoot past the limit bounds how long
# the crossing went unseen. 500 ms would be 80 MiB.
over_mib=$(( (rss - LIMIT) >> 20 ))
log "memory-over-limit at rss $((rss >> 20)) MiB: ${over_mib} MiB past the limit (~$((over_mib * 1000 / 160)) ms of growth); $((t1 - t0)) ms after /grow"
[ "$rss" -ge "$LIMIT" ] || fail "rss_bytes $rss is under the limit"
[ "$over_mib" -le 80 ] || fail "caught $over_mib MiB past the limit: more than 500 ms of growth"

ev=$(wait_event recovery-started ".service.name == \"$HOG\"" 5)
[ "$(jq_field "$ev" .amexbpf.tier)" = 1 ] || fail "recovery-started with tier $(jq_field "$ev" .amexbpf.tier), expected 1"
ev=$(wait_event recovery-succeeded ".service.name == \"$HOG\"" 20)
new=$(wait_http_new_pid "$PORT" "$hog" 10)
record_pid "$new"
[ "$(jq_field "$ev" .process.pid)" = "$new" ] || fail "recovery-succeeded names pid $(jq_field "$ev" .process.pid), the app answers from $new"
[ $(( $(now_ms) - t0 )) -lt 15000 ] || fail "the restart took longer than 15 s"
no_event memory-over-limit ".process.pid == $new" 1
check_contract
