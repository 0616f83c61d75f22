#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: amexbpf SIGKILLed in the middle of a recovery (right after recovery-started
# of tier 2) and started again. The first run's `pm2 resurrect` finishes without it (its
# output goes to a memory file, not a pipe that would break), and the second run waits for
# it (state dir home<path>+running.<pid>) instead of resurrecting again: the app serves, exactly
# one God daemon runs. Then amexbpf SIGKILLed while all is healthy and started again: no
# recovery at all, the same God and app pids.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

setup_test
start_app
start_amexbpf
god=$(god_pid)
mark_events
kill -KILL "$god"
wait_event recovery-started '.amexbpf.tier == 2' 10 >/dev/null
kill -KILL "$AMX_PID"
wait "$AMX_PID" 2>/dev/null || true
AMX_PID=""

start_amexbpf
g=$(wait_live_god "$god" 40)
wait_http "$PORT" 40
record_pid "$g"
record_pid "$(app_pid "$PORT")"
[ "$g" != "$god" ] || fail "pm2.pid still names the killed daemon"
n=$(test_process_pids | sort -u | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done | grep -c "God Daemon" || true)
[ "$n" -eq 1 ] || fail "$n God daemons run for this home"
# The app stays up: kill it once more, PM2 restarts it and amexbpf (second run) sees it.
mark_events
app=$(app_pid "$PORT")
kill -KILL "$app"
wait_event process-exited ".process.pid == $app" 5 >/dev/null
wait_http "$PORT" 15
ls "$T/state" | grep -q '+running\.' && fail "a running-command file outlived its command: $(ls "$T/state")"

# Healthy: SIGKILLed, started again, nothing to do.
god=$(god_pid)
app=$(wait_http_new_pid "$PORT" "$app" 10)
record_pid "$app"
wait_event pm2-restarted-app "" 10 >/dev/null
kill -KILL "$AMX_PID"
wait "$AMX_PID" 2>/dev/null || true
AMX_PID=""
check_contract
start_amexbpf
no_event recovery-started 5
for a in pm2-daemon-down app-stopped process-exited dump-restored; do
	[ "$(count_events "$a")" -eq 0 ] || fail "a $a event after a restart with all healthy"
done
[ "$(god_pid)" = "$god" ] || fail "the God daemon changed: $god -> $(god_pid)"
[ "$(app_pid "$PORT")" = "$app" ] || fail "the app changed: $app -> $(app_pid "$PORT")"
check_contract
