#!/bin/bash
# SPDX-License-Identifier: MIT
# A PM2 home added to the config file and a SIGHUP: the new home is watched from then on,
# and the first one still is (the file watcher thread stops and starts again over both).
# A garbage dump.pm2 written in each must be reported; the first home's app exits are
# still seen.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

conf=$T/amexbpf.conf
printf '[amexbpf]\nmanual-grace = 0\npm2-home = %s\n' "$PM2_HOME" >"$conf"
AMX_HOME_FLAG=0 start_amexbpf --config "$conf"

home2=$T/pm2-two
mkdir "$home2" && chown "$TEST_USER:" "$home2"
printf '[amexbpf]\nmanual-grace = 0\npm2-home = %s %s\n' "$PM2_HOME" "$home2" >"$conf"
mark_events
kill -HUP "$AMX_PID"
ev=$(wait_event config-reloaded "" 5)
grep -q "watching 2 PM2 home" <<<"$(jq_field "$ev" .message)" ||
	fail "the reload did not add the second home: $(jq_field "$ev" .message)"

printf 'garbage{' | as_test_user tee "$home2/dump.pm2" >/dev/null
wait_event dump-invalid ".amexbpf.dump.path == \"$home2/dump.pm2\"" 5 >/dev/null
good=$(cat "$PM2_HOME/dump.pm2")
printf 'garbage{' | as_test_user tee "$PM2_HOME/dump.pm2" >/dev/null
wait_event dump-invalid ".amexbpf.dump.path == \"$PM2_HOME/dump.pm2\"" 5 >/dev/null
printf '%s' "$good" | as_test_user tee "$PM2_HOME/dump.pm2" >/dev/null
# the same content as the kept good copy: no dump-changed, but the home is valid again
deadline=$(($(now_ms) + 5000))
until "$AMX_BIN" status --json --socket "$SOCK" |
	jq -e --arg h "$PM2_HOME" '.homes[] | select(.path == $h) | .dump.valid' >/dev/null; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "the first home's dump.pm2 is not valid again after 5 s"
	sleep 0.05
done

# and the first home's app is still looked after
old=$(app_pid "$PORT")
kill -9 "$old"
wait_event process-exited ".process.pid == $old" 5 >/dev/null
wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 20 >/dev/null
record_pid "$(wait_http_new_pid "$PORT" "$old" 10)"
amexbpf_alive || fail "amexbpf died"
check_contract
stop_amexbpf
