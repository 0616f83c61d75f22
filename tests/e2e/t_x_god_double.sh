#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the God daemon and the app SIGKILLed at the same instant; later the God
# daemon killed twice within a second (the resurrected one too). Detected: a
# pm2-daemon-down for each daemon pid. Done: tier 2, and once more for the second daemon.
# Nothing lost: the app serves at the end, one God daemon runs, owned by the test user.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
start_amexbpf

god=$(god_pid)
app=$(app_pid "$PORT")
mark_events
kill -KILL "$god" "$app"
wait_event pm2-daemon-down ".amexbpf.pm2.daemon_pid == $god" 5 >/dev/null
wait_event process-exited ".process.pid == $app" 5 >/dev/null
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 30 >/dev/null
wait_http "$PORT" 15
record_pid "$(god_pid)"

log "God killed twice within a second"
god1=$(god_pid)
mark_events
kill -KILL "$god1"
deadline=$(($(now_ms) + 1000))
god2=""
while [ "$(now_ms)" -lt "$deadline" ]; do
	p=$(cat "$PM2_HOME/pm2.pid" 2>/dev/null || true)
	if [ -n "$p" ] && [ "$p" != "$god1" ] && [ -d "/proc/$p" ]; then
		god2=$p
		kill -KILL "$god2"
		break
	fi
	sleep 0.01
done
wait_event pm2-daemon-down ".amexbpf.pm2.daemon_pid == $god1" 5 >/dev/null
if [ -n "$god2" ]; then
	log "second daemon $god2 killed"
	wait_event pm2-daemon-down ".amexbpf.pm2.daemon_pid == $god2" 10 >/dev/null
else
	log "the resurrected daemon was not up within 1 s; killed only once"
fi
# Settle: a live daemon of this home and the app serving.
g=$(wait_live_god "${god2:-$god1}" 40)
record_pid "$g"
wait_http "$PORT" 40
amexbpf_alive || fail "amexbpf died"
n=$(test_process_pids | sort -u | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done | grep -c "God Daemon" || true)
[ "$n" -eq 1 ] || fail "$n God daemons run for this home"
check_contract
