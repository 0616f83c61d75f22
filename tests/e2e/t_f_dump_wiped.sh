#!/bin/bash
# SPDX-License-Identifier: MIT
# dump.pm2 wiped (empty, `[]`, garbage) before the God daemon dies: amexbpf reports it, puts
# the last good copy back and resurrects the app from it.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
start_amexbpf

# write_dump CONTENT: as the PM2_HOME owner, the way a broken save would.
write_dump() {
	printf '%s' "$1" | as_test_user tee "$PM2_HOME/dump.pm2" >/dev/null ||
		fail "cannot write $PM2_HOME/dump.pm2"
}

dump_has_app() {
	jq -e --arg app "$APP_NAME" 'type == "array" and any(.[]; .name == $app)' \
		"$PM2_HOME/dump.pm2" >/dev/null 2>&1
}

for case in "empty:" "emptied:[]" "not-json:{{{"; do
	problem=${case%%:*}
	content=${case#*:}
	log "dump.pm2 becomes '$content' (expected problem: $problem)"
	mark_events
	write_dump "$content"
	wait_event dump-invalid ".amexbpf.dump.problem == \"$problem\"" 5 >/dev/null

	god=$(god_pid)
	old_app=$(app_pid "$PORT")
	kill -9 "$god"
	wait_event dump-restored "" 10 >/dev/null
	wait_event recovery-succeeded '.amexbpf.tier == 2' 20 >/dev/null
	new_app=$(wait_http_new_pid "$PORT" "$old_app" 20)
	record_pid "$new_app"
	record_pid "$(god_pid)"

	deadline=$(($(now_ms) + 5000))
	until dump_has_app; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "dump.pm2 does not list $APP_NAME after the '$problem' case"
		sleep 0.05
	done
done

check_contract
