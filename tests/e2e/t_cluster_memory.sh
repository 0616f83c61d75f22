#!/bin/bash
# SPDX-License-Identifier: MIT
# The memory limit is per process, as PM2's max_memory_restart is: of a cluster app of two
# workers, the one that grows past the limit is reported with its pm_id, tier 1 restarts
# that worker only (`pm2 restart <pm_id>`), and the other worker keeps its pid.
source "$(dirname "$0")/lib.sh"

setup_test
HOG=amx-grow
pm2u_env PORT="$PORT" -- start "$T/app/hog.js" --name "$HOG" -i 2 >/dev/null ||
	fail "pm2 start hog.js -i 2 failed"
pm2u save >/dev/null || fail "pm2 save failed"
wait_http "$PORT" 20
record_pid "$(god_pid)"
start_amexbpf --memory-limit "$HOG=160M"

doc=""
deadline=$(($(now_ms) + 10000))
until [ "$(jq -r .instances_online <<<"$doc" 2>/dev/null)" = 2 ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "status does not show 2 instances of $HOG online: $doc"
	sleep 0.1
	doc=$("$AMX_BIN" status --json --socket "$SOCK" | jq -c ".homes[0].apps[] | select(.name == \"$HOG\")")
done

mark_events
curl -fsS --max-time 2 "http://127.0.0.1:$PORT/grow" >/dev/null || fail "GET /grow failed"
ev=$(wait_event memory-over-limit ".service.name == \"$HOG\"" 10)
pid=$(jq_field "$ev" .process.pid)
pm_id=$(jq_field "$ev" .amexbpf.pm2.pm_id)
other=$(jq -r ".instances[] | select(.pm_id != $pm_id) | .pid" <<<"$doc")
[ -n "$other" ] && [ "$other" != "$pid" ] || fail "memory-over-limit names pid $pid pm_id $pm_id, not one of: $doc"
ev=$(wait_event recovery-started ".service.name == \"$HOG\"" 5)
[ "$(jq -c '.amexbpf.command[1:]' <<<"$ev")" = "[\"restart\",\"$pm_id\"]" ] ||
	fail "tier 1 runs $(jq -c .amexbpf.command <<<"$ev"), expected pm2 restart $pm_id"
wait_event recovery-succeeded ".service.name == \"$HOG\"" 15 >/dev/null
wait_gone "$pid" 5
kill -0 "$other" 2>/dev/null || fail "the other worker (pid $other) did not survive the restart of pm_id $pm_id"
check_contract
