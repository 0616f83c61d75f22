#!/bin/bash
# SPDX-License-Identifier: MIT
# A hung app: alive, its port still accepting connections, but answering nothing (SIGSTOP).
# The HTTP probe times out three times in a row: probe-failed, then tier 1 brings back an app
# that answers. While the app is healthy, no probe fails.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
pid=$(app_pid "$PORT")
URL="http://127.0.0.1:$PORT/"
start_amexbpf --probe "$APP_NAME=$URL" --probe-interval 0.5 --probe-timeout 0.5 --probe-failures 3
no_event probe-failed "" 2

kill -STOP "$pid" || fail "cannot stop pid $pid"
t0=$(now_ms)
ev=$(wait_event probe-failed ".service.name == \"$APP_NAME\"" 10)
log "probe-failed $(( $(now_ms) - t0 )) ms after the app hung"
jq -e --arg url "$URL" '.amexbpf.probe.url == $url and (.amexbpf.probe.reason | test("timed out"))
       and .amexbpf.probe.failures == 3' <<<"$ev" >/dev/null || fail "probe-failed fields: $ev"
[ "$(jq_field "$ev" .process.pid)" = "$pid" ] || fail "probe-failed names pid $(jq_field "$ev" .process.pid), expected $pid"
ev=$(wait_event recovery-started ".service.name == \"$APP_NAME\"" 5)
[ "$(jq_field "$ev" .amexbpf.tier)" = 1 ] || fail "recovery-started with tier $(jq_field "$ev" .amexbpf.tier), expected 1"
wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" 30 >/dev/null
record_pid "$(wait_http_new_pid "$PORT" "$pid" 10)"
seq=$(jq_field "$(wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" 1)" .event.sequence)
no_event probe-failed ".event.sequence > $seq" 2
check_contract
