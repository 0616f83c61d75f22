#!/bin/bash
# SPDX-License-Identifier: MIT
# Two users on one host, each with their own nvm Node and their own copy of PM2 (the pinned
# version, at a different path: what differs is whose install runs, not the version), no
# /usr/bin/node, and amexbpf given neither --pm2 nor node or pm2 on its PATH. Both daemons
# SIGKILLed: each home is resurrected with its own user's pm2 and node, as that user.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nvm_lib.sh"

USER_B=amxtest2
HOME_B=/var/lib/amxtest2

nvm_enter_namespace "$@"
setup_test
ensure_user "$USER_B" "$HOME_B"
nvm_install "$TEST_USER" "$TEST_HOME"
NVM=$NVM_MADE
nvm_install "$USER_B" "$HOME_B"
NVM_B=$NVM_MADE
PM2_BIN=$NVM/bin/pm2
TEST_PATH=$NVM/bin:/usr/bin:/bin
PM2_HOME_B=$T/pm2b
PORT_B=$(free_port)
mkdir -p "$PM2_HOME_B"
chown "$USER_B:" "$PM2_HOME_B"

# pm2b ARGS...: user B's own pm2 in its own home; PORT reaches the app it starts.
pm2b() {
	timeout -k 5 60 setpriv --reuid "$USER_B" --regid "$USER_B" --init-groups \
		env -i -C "$T" HOME="$HOME_B" PM2_HOME="$PM2_HOME_B" PATH="$NVM_B/bin:/usr/bin:/bin" \
		PORT="$PORT_B" "$NVM_B/bin/pm2" "$@"
}
cleanup_b() {
	pm2b kill >/dev/null 2>&1
}
# both_up: both apps answer; sets god_a and god_b, and records every pid for the cleanup.
both_up() {
	wait_http "$PORT" 20
	wait_http "$PORT_B" 20
	god_a=$(god_pid)
	god_b=$(cat "$PM2_HOME_B/pm2.pid")
	record_pid "$god_a"
	record_pid "$god_b"
	record_pid "$(app_pid "$PORT")"
	record_pid "$(app_pid "$PORT_B")"
}
CLEANUP_HOOKS=(cleanup_b "${CLEANUP_HOOKS[@]}") # before the nvm trees go

nvm_hide_system_node
start_app
pm2b start "$T/app/server.js" --name demo-b >"$T/pm2b-start.out" 2>&1 ||
	{ cat "$T/pm2b-start.out" >&2; fail "user B's pm2 start failed"; }
pm2b save >>"$T/pm2b-start.out" 2>&1 || fail "user B's pm2 save failed"
both_up

PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 start_amexbpf --pm2-home "$PM2_HOME_B"
wait_event monitor-started "" 10 >/dev/null
doc=$("$AMX_BIN" status --json --socket "$SOCK") || fail "amexbpf status --json failed"
for pair in "$PM2_HOME=$NVM" "$PM2_HOME_B=$NVM_B"; do
	jq -e --arg home "${pair%%=*}" --arg nvm "${pair#*=}" \
		'.homes[] | select(.path == $home) | .pm2 | .path == $nvm + "/bin/pm2" and .node == $nvm + "/bin/node"' \
		<<<"$doc" >/dev/null || fail "status does not give ${pair%%=*} its own pm2: $(jq -c '[.homes[] | {path, pm2}]' <<<"$doc")"
done

log "both daemons SIGKILLed"
mark_events
kill -9 "$god_a" "$god_b"
for pair in "$PM2_HOME=$NVM=$TEST_USER" "$PM2_HOME_B=$NVM_B=$USER_B"; do
	IFS== read -r home nvm user <<<"$pair"
	EV_NAME=$home
	ev=$(wait_event recovery-started '.amexbpf.tier == 2 and .amexbpf.pm2.home == $name' 10)
	[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$nvm/bin/pm2" ] ||
		fail "tier 2 of $home runs $(jq -c .amexbpf.command <<<"$ev"), expected $nvm/bin/pm2"
	[ "$(jq_field "$ev" .amexbpf.run_as)" = "$user" ] || fail "tier 2 of $home runs as $(jq_field "$ev" .amexbpf.run_as)"
	wait_event recovery-succeeded '.amexbpf.tier == 2 and .amexbpf.pm2.home == $name and .service.name != null' 20 >/dev/null
done
both_up
[ "$(exe_of "$god_a")" = "$NVM/bin/node" ] || fail "home A's new daemon runs $(exe_of "$god_a")"
[ "$(exe_of "$god_b")" = "$NVM_B/bin/node" ] || fail "home B's new daemon runs $(exe_of "$god_b")"
[ "$(uid_of "$god_b")" = "$(id -u "$USER_B")" ] || fail "home B's new daemon runs as uid $(uid_of "$god_b")"

check_contract
