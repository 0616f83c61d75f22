#!/bin/bash
# SPDX-License-Identifier: MIT
# An nvm host: the user's node and pm2 live under ~/.nvm/versions/node/vX/, there is no
# /usr/bin/node (hidden in a private mount namespace) and amexbpf gets no --pm2 and no node
# or pm2 on its PATH. It learns both from the running God daemon, says so in status, brings
# the app back after `pm2 stop` (tier 1) and after a daemon SIGKILL (tier 2), still knows
# them from its state directory when the daemon died while it was not running (so does
# `amexbpf check`), and reports the drift when a [home] section names a pm2 of another
# version and when the daemon's node binary is deleted under it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nvm_lib.sh"

nvm_enter_namespace "$@"
setup_test
nvm_install "$TEST_USER" "$TEST_HOME"
NVM=$NVM_MADE
PM2_BIN=$NVM/bin/pm2
TEST_PATH=$NVM/bin:/usr/bin:/bin # as the user's shell has it after `nvm use`
nvm_hide_system_node
start_app
god=$(god_pid)
[ "$(exe_of "$god")" = "$NVM/bin/node" ] || fail "the daemon runs $(exe_of "$god"), expected $NVM/bin/node"

PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 start_amexbpf --manual-grace 0
wait_event monitor-started "" 10 >/dev/null
doc=$("$AMX_BIN" status --json --socket "$SOCK") || fail "amexbpf status --json failed"
jq -e --arg pm2 "$PM2_BIN" --arg node "$NVM/bin/node" \
	'.homes[0].pm2 | .path == $pm2 and .node == $node and .source == "daemon"' <<<"$doc" >/dev/null ||
	fail "status does not name the daemon's pm2 and node: $(jq -c '.homes[0].pm2' <<<"$doc")"
grep -q "pm2 $PM2_BIN, node $NVM/bin/node (from daemon)" "$T/amexbpf.log" ||
	fail "the self-test does not say which pm2 and node it uses"

log "pm2 stop: tier 1 with the user's own pm2"
mark_events
pm2u stop "$APP_NAME" >/dev/null || fail "pm2 stop $APP_NAME failed"
ev=$(wait_event recovery-started ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 10)
[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$PM2_BIN" ] ||
	fail "tier 1 runs $(jq -c .amexbpf.command <<<"$ev"), expected $PM2_BIN"
wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 15 >/dev/null
wait_http "$PORT" 10
record_pid "$(app_pid "$PORT")"

log "daemon SIGKILL: tier 2 on the user's node"
mark_events
kill -9 "$god"
ev=$(wait_event recovery-started '.amexbpf.tier == 2' 10)
[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$PM2_BIN" ] ||
	fail "tier 2 runs $(jq -c .amexbpf.command <<<"$ev"), expected $PM2_BIN"
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 20 >/dev/null
wait_http "$PORT" 15
god=$(god_pid)
record_pid "$god"
record_pid "$(app_pid "$PORT")"
[ "$(exe_of "$god")" = "$NVM/bin/node" ] || fail "the new daemon runs $(exe_of "$god"), expected $NVM/bin/node"
[ "$(uid_of "$god")" = "$(id -u "$TEST_USER")" ] || fail "the new daemon runs as uid $(uid_of "$god")"
stop_amexbpf

log "the daemon died while amexbpf was not running: the state directory remembers"
kill -9 "$god"
wait_gone "$god" 5
PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 start_amexbpf --manual-grace 0
ev=$(wait_event recovery-started '.amexbpf.tier == 2' 15)
[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$PM2_BIN" ] ||
	fail "tier 2 after a restart runs $(jq -c .amexbpf.command <<<"$ev"), expected $PM2_BIN"
grep -q "pm2 $PM2_BIN, node $NVM/bin/node (from remembered)" "$T/amexbpf.log" ||
	fail "the self-test does not say the pm2 was remembered"
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 20 >/dev/null
wait_http "$PORT" 15
god=$(god_pid)
record_pid "$god"
record_pid "$(app_pid "$PORT")"
stop_amexbpf

log "amexbpf check (cron) with the daemon killed: tier 2 with the remembered pm2"
kill -9 "$god"
wait_gone "$god" 5
PATH=/usr/sbin:/usr/bin:/sbin:/bin run_check 1 --pm2-home "$PM2_HOME" --state-dir "$T/state"
wait_http "$PORT" 15
god=$(god_pid)
record_pid "$god"
record_pid "$(app_pid "$PORT")"
[ "$(exe_of "$god")" = "$NVM/bin/node" ] || fail "check's daemon runs $(exe_of "$god"), expected $NVM/bin/node"

log "[home] pm2 = / node = win, and a pm2 of another version than the daemon's: pm2-drift"
other=$(dirname "$NVM")/v0-other-t$$
mkdir -p "$other/bin"
printf '#!/usr/bin/env node\nconsole.log("never run");\n' >"$other/bin/pm2"
chmod 755 "$other/bin/pm2"
echo '{"name":"pm2","version":"0.0.1"}' >"$other/package.json"
chown -R "$TEST_USER:" "$other"
nvm_forget_later "$other"
printf '[home %s]\npm2 = %s\nnode = %s\n' "$PM2_HOME" "$other/bin/pm2" "$NVM/bin/node" >"$T/other.conf"
PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 AMX_HOME_FLAG=0 start_amexbpf --config "$T/other.conf"
ev=$(wait_event pm2-drift ".amexbpf.pm2.daemon_pid == $god" 10)
[ "$(jq_field "$ev" .amexbpf.drift)" = pm2-version ] || fail "drift is $(jq_field "$ev" .amexbpf.drift), expected pm2-version"
[ "$(jq_field "$ev" .amexbpf.pm2.cli_version)" = 0.0.1 ] || fail "drift names the CLI version $(jq_field "$ev" .amexbpf.pm2.cli_version)"
[ "$(jq_field "$ev" .amexbpf.pm2.daemon_version)" = "$(jq -r .version "$NVM/lib/node_modules/pm2/package.json")" ] ||
	fail "drift names the daemon version $(jq_field "$ev" .amexbpf.pm2.daemon_version)"
doc=$("$AMX_BIN" status --json --socket "$SOCK") || fail "amexbpf status --json failed"
[ "$(jq -r '.homes[0].pm2.source' <<<"$doc")" = config ] || fail "status says the pm2 came from $(jq -r '.homes[0].pm2.source' <<<"$doc")"
stop_amexbpf

log "node deleted under the running daemon (an upgrade): pm2-drift"
ln "$NVM/bin/node" "$T/node.keep" 2>/dev/null || cp "$NVM/bin/node" "$T/node.keep"
rm "$NVM/bin/node"
PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 start_amexbpf
ev=$(wait_event pm2-drift ".amexbpf.pm2.daemon_pid == $god" 10)
[ "$(jq_field "$ev" .amexbpf.drift)" = node-deleted ] || fail "drift is $(jq_field "$ev" .amexbpf.drift), expected node-deleted"
[ "$(jq_field "$ev" .amexbpf.pm2.daemon_node)" = "$NVM/bin/node" ] || fail "drift names node $(jq_field "$ev" .amexbpf.pm2.daemon_node)"
grep -q 'pm2 update' <<<"$(jq_field "$ev" .message)" || fail "the drift does not say what to do: $(jq_field "$ev" .message)"
stop_amexbpf
mv "$T/node.keep" "$NVM/bin/node" # the cleanup's `pm2 kill` needs it

check_contract
