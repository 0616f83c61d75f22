# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 2. The daemon's loop stops (SIGSTOP): systemd's watchdog (WatchdogSec=30s) ends it and
# Restart= starts a new one, which reconciles with the healthy apps without acting on them.
name=scenario_2_watchdog
old=$(main_pid amexbpf)
before=$(apps_online) || { result FAIL $name "apps not online before"; return 0; }
m=$(mark)
t0=$SECONDS
kill -STOP "$old"
end=$((SECONDS + 120)) new=$old
while [ "$SECONDS" -lt "$end" ]; do
	new=$(main_pid amexbpf)
	[ "$new" != "$old" ] && [ "$new" != 0 ] && [ "$(systemctl is-active amexbpf)" = active ] && break
	sleep 1
done
secs=$((SECONDS - t0))
[ "$new" != "$old" ] && [ "$new" != 0 ] || { result FAIL $name "not restarted within 120 s"; return 0; }
timeout 60 journalctl -u amexbpf --no-pager -n 30 | grep -i -E "watchdog|abort|kill" | tail -n 5
result_line=$(systemctl show -p NRestarts --value amexbpf)
wait_event "$m" 60 '.event.action == "monitor-started"' >/dev/null ||
	{ result FAIL $name "the new daemon sent no monitor-started"; return 0; }
# The apps were healthy all along: once the new daemon reports them (it has caught up),
# and 10 s more, it must have acted on none of them.
after=$(wait_reconciled 60) || { result FAIL $name "the new daemon does not report the apps ($(status_apps))"; return 0; }
sleep 10
acted=$(count_events "$m" '.event.action == "recovery-started"')
[ "$acted" -eq 0 ] || { result FAIL $name "the new daemon started $acted recoveries"; return 0; }
[ "$after" = "$before" ] || { result FAIL $name "apps changed: $before -> ${after:-not all online}"; return 0; }
result PASS $name "SIGSTOP to restarted daemon in $secs s (WatchdogSec=30s, NRestarts=$result_line), no recovery"
