#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: amexbpf SIGKILLed in the middle of a recovery (right after recovery-started
# of tier 2) and started again. The second run reconciles what it finds: the app serves at
# the end, exactly one God daemon runs, and the second run's events keep the contract.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../faults.sh"

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
check_contract
