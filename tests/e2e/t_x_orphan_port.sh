#!/bin/bash
# SPDX-License-Identifier: MIT
# Fault matrix: the app outlives a killed PM2 daemon (re-parented to PID 1) and keeps its
# port, so a resurrected copy would crash-loop on EADDRINUSE. First shown without amexbpf
# (the orphan still answers after a bare resurrect); then with amexbpf: it stops the orphan
# (through a pidfd, start time checked) before tier 2, and the new copy serves.
source "$(dirname "$0")/lib.sh"

export AMX_SURVIVE_ORPHAN=1
setup_test
start_app

# Without amexbpf: the orphan survives and holds the port.
orphan=$(app_pid "$PORT")
god=$(god_pid)
kill -KILL "$god"
wait_gone "$god" 5
sleep 2 # the window in which PM2's agent used to kill the app: asserting it did not
kill -0 "$orphan" 2>/dev/null || fail "the test app did not survive its daemon (cannot show the fault)"
[ "$(app_pid "$PORT")" = "$orphan" ] || fail "the orphan does not hold the port"
log "orphan $orphan survives its daemon and holds port $PORT"

# Clean slate: the orphan goes, PM2 is brought back by hand, then amexbpf watches.
kill -KILL "$orphan"
wait_gone "$orphan" 5
pm2u resurrect >/dev/null 2>&1 || fail "pm2 resurrect failed"
wait_http "$PORT" 20
record_pid "$(god_pid)"
start_amexbpf

orphan=$(app_pid "$PORT")
record_pid "$orphan"
mark_events
kill -KILL "$(god_pid)"
wait_event recovery-succeeded ".service.name == \"$APP_NAME\"" 30 >/dev/null
new=$(wait_http_new_pid "$PORT" "$orphan" 20)
record_pid "$new"
wait_event process-exited ".process.pid == $orphan and .amexbpf.signal == \"SIGKILL\"" 5 >/dev/null
kill -0 "$orphan" 2>/dev/null && [ "$(awk '{print $3}' /proc/$orphan/stat)" != Z ] &&
	fail "the orphan $orphan still runs"
# The new copy is stable: no crash loop on the port.
no_event app-errored ".service.name == \"$APP_NAME\"" 3
[ "$(app_pid "$PORT")" = "$new" ] || fail "another pid answers than the recovered app"
check_contract
