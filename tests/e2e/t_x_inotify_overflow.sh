#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the inotify queue overflows (IN_Q_OVERFLOW). max_queued_events is lowered to
# 16 for amexbpf's start (an inotify instance keeps the limit it was created with) and put
# back at once; a burst of pid-file writes overflows the queue. Detected: events-lost with
# source inotify. Done: a re-scan; nothing lost: a later app kill is still seen and the app
# serves.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
old=$(cat /proc/sys/fs/inotify/max_queued_events)
restore_limit() { echo "$old" >/proc/sys/fs/inotify/max_queued_events; }
CLEANUP_HOOKS+=(restore_limit)
echo 16 >/proc/sys/fs/inotify/max_queued_events
start_amexbpf
restore_limit

mark_events
# SIGSTOP amexbpf while the burst lands, so its inotify thread cannot drain the queue.
kill -STOP "$AMX_PID"
as_test_user bash -c 'for i in $(seq 1 200); do echo 1 >"$0/pids/burst-$i.pid"; done' "$PM2_HOME"
kill -CONT "$AMX_PID"
wait_event events-lost '.amexbpf.lost.source == "inotify"' 10 >/dev/null
as_test_user bash -c 'rm -f "$0"/pids/burst-*.pid' "$PM2_HOME"

app=$(app_pid "$PORT")
mark_events
kill -KILL "$app"
wait_event process-exited ".process.pid == $app" 5 >/dev/null
wait_http "$PORT" 15
record_pid "$(app_pid "$PORT")"
check_contract
