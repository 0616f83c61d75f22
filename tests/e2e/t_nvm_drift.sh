#!/bin/bash
# SPDX-License-Identifier: MIT
# Upgrades under a running PM2 daemon, while amexbpf runs (the periodic drift check, short
# here: --drift-interval 1). A user with nvm's layout upgrades PM2 (`npm i -g pm2` puts a
# new lib/node_modules/pm2 in place) and then Node (`n` or a package replaces bin/node):
# each gives one pm2-drift found by the periodic check, within a few intervals, and the same
# drift is not said again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nvm_lib.sh"

setup_test
nvm_install "$TEST_USER" "$TEST_HOME"
NVM=$NVM_MADE
PM2_BIN=$NVM/bin/pm2
TEST_PATH=$NVM/bin:/usr/bin:/bin # as the user's shell has it after `nvm use`
start_app
god=$(god_pid)
[ "$(exe_of "$god")" = "$NVM/bin/node" ] || fail "the daemon runs $(exe_of "$god"), expected $NVM/bin/node"
version=$(jq -r .version "$NVM/lib/node_modules/pm2/package.json")

AMX_PM2_FLAG=0 start_amexbpf --drift-interval 1
no_event pm2-drift 2.5 # nothing changed: the checks that ran meanwhile say nothing

log "npm i -g pm2 under the running daemon: pm2-drift (pm2-version)"
pkg=$NVM/lib/node_modules/pm2
cp -a "$pkg" "$pkg.new" || fail "cannot copy $pkg"
jq '.version = "99.0.0"' "$pkg/package.json" >"$pkg.new/package.json" || fail "cannot write the new version"
chown -R "$TEST_USER:" "$pkg.new"
mv "$pkg" "$pkg.old" && mv "$pkg.new" "$pkg" || fail "cannot put the new pm2 in place"
ev=$(wait_event pm2-drift ".amexbpf.drift == \"pm2-version\" and .amexbpf.pm2.daemon_pid == $god" 10)
[ "$(jq_field "$ev" .amexbpf.drift_check)" = periodic ] || fail "the drift was found by $(jq_field "$ev" .amexbpf.drift_check)"
[ "$(jq_field "$ev" .amexbpf.pm2.cli_version)" = 99.0.0 ] || fail "drift names the CLI version $(jq_field "$ev" .amexbpf.pm2.cli_version)"
[ "$(jq_field "$ev" .amexbpf.pm2.daemon_version)" = "$version" ] || fail "drift names the daemon version $(jq_field "$ev" .amexbpf.pm2.daemon_version)"
[ "$(jq_field "$ev" .amexbpf.pm2.cli)" = "$PM2_BIN" ] || fail "drift names the CLI $(jq_field "$ev" .amexbpf.pm2.cli)"

log "Node replaced under the running daemon: pm2-drift (node-deleted)"
cp /usr/bin/node "$NVM/bin/node.new" && mv -f "$NVM/bin/node.new" "$NVM/bin/node" || fail "cannot replace $NVM/bin/node"
ev=$(wait_event pm2-drift ".amexbpf.drift == \"node-deleted\" and .amexbpf.pm2.daemon_pid == $god" 10)
[ "$(jq_field "$ev" .amexbpf.drift_check)" = periodic ] || fail "the drift was found by $(jq_field "$ev" .amexbpf.drift_check)"
[ "$(jq_field "$ev" .amexbpf.pm2.daemon_node)" = "$NVM/bin/node" ] || fail "drift names node $(jq_field "$ev" .amexbpf.pm2.daemon_node)"
grep -q 'pm2 update' <<<"$(jq_field "$ev" .message)" || fail "the drift does not say what to do: $(jq_field "$ev" .message)"
no_event pm2-drift '.amexbpf.drift == "node-deleted" and .event.sequence > '"$(jq_field "$ev" .event.sequence)" 2.5
[ "$(count_events pm2-drift '.amexbpf.drift == "pm2-version"')" -eq 1 ] ||
	fail "the pm2-version drift was said $(count_events pm2-drift '.amexbpf.drift == "pm2-version"') times"
stop_amexbpf
# the cleanup's `pm2 kill` with the daemon's own PM2
rm -rf "$pkg" && mv "$pkg.old" "$pkg"

check_contract
