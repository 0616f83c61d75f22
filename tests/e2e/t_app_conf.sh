#!/bin/bash
# SPDX-License-Identifier: MIT
# The config file's [app NAME] settings are acted on: with a global manual grace of 300 s,
# the app's own `manual-grace = 0` brings it back at once after `pm2 stop`, and its own
# `budget = 3/600` is the one its attempts count against (status: 2 left, not 4).
source "$(dirname "$0")/lib.sh"

setup_test
start_app
cat >"$T/amexbpf.conf" <<CONF
[amexbpf]
manual-grace = 300
budget = 5/600
[app $APP_NAME]
home = $PM2_HOME
manual-grace = 0
budget = 3/600
[app some-other-app]
manual-grace = 1
CONF
"$AMX_BIN" run --check-config --config "$T/amexbpf.conf" --pm2 "$PM2_BIN" >/dev/null ||
	fail "the test's config does not validate"
start_amexbpf --config "$T/amexbpf.conf"

only_app=".service.name == \"$APP_NAME\""
mark_events
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop $APP_NAME failed"
wait_event app-stopped "$only_app" 5 >/dev/null
t0=$(now_ms)
wait_event recovery-started "$only_app and .amexbpf.tier == 1" 10 >/dev/null
log "tier 1 started $(($(now_ms) - t0)) ms after app-stopped (global manual grace: 300 s)"
wait_event recovery-succeeded "$only_app and .amexbpf.tier == 1" 15 >/dev/null
wait_http "$PORT" 10
record_pid "$(app_pid "$PORT")"

left=$("$AMX_BIN" status --json --socket "$SOCK" | jq -r ".homes[0].apps[] | select(.name == \"$APP_NAME\") | .budget_left")
[ "$left" = 2 ] || fail "budget left after one attempt is $left, expected 2 (the app's 3/600)"
check_contract
