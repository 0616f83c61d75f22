#!/bin/bash
# SPDX-License-Identifier: MIT
# --sched (issue 16): with --sched deadline exactly the two reacting threads (the event loop
# and the inotify thread) run SCHED_DEADLINE, and nothing else does: not the daemon's other threads,
# not the tier-2 `pm2 resurrect`, not the PM2 daemon and the app it starts, not the
# notification hook (each SCHED_OTHER, nice 0). sched = off leaves every thread as started,
# and a SIGHUP moves both reacting threads to the class the config names now.
source "$(dirname "$0")/lib.sh"

# "policy prio" of a task, from /proc/PID[/task/TID]/sched (prio 120 = SCHED_OTHER nice 0;
# "6 -1" = SCHED_DEADLINE).
sched_of() {
	awk '$1 == "policy" { p = $3 } $1 == "prio" { q = $3 } END { print p, q }' "$1/sched"
}

setup_test
start_app
mkdir -p "$T/hooks" "$T/out"
chown nobody "$T/out"
cat >"$T/hooks/sched.sh" <<HOOK
#!/bin/sh
cat >/dev/null
awk '\$1 == "policy" { p = \$3 } \$1 == "prio" { q = \$3 } END { print p, q }' /proc/\$\$/sched >$T/out/hook
HOOK
chmod 755 "$T/hooks/sched.sh"

start_amexbpf --sched deadline --notify-exec "$T/hooks/sched.sh" --notify-level error
ev=$(matching_events monitor-started "" | tail -1)
[ "$(jq_field "$ev" .amexbpf.sched)" = "deadline 2000 us every 10000 us" ] ||
	fail "monitor-started says amexbpf.sched $(jq_field "$ev" .amexbpf.sched), expected deadline"
raised=0 other=0
for task in /proc/"$AMX_PID"/task/*; do
	case $(sched_of "$task") in
	"6 -1") raised=$((raised + 1)) ;;
	"0 120") other=$((other + 1)) ;;
	*) fail "thread ${task##*/} runs under $(sched_of "$task")" ;;
	esac
done
[ "$(sched_of /proc/"$AMX_PID")" = "6 -1" ] || fail "the loop's thread runs under $(sched_of /proc/"$AMX_PID")"
[ "$raised" = 2 ] || fail "$raised threads run SCHED_DEADLINE, expected 2 (the loop and the inotify thread)"
log "threads: $raised SCHED_DEADLINE, $other SCHED_OTHER"

# Tier 2 starts a PM2 daemon and the app; the alert runs the hook.
god=$(god_pid)
old_app=$(app_pid "$PORT")
mark_events
kill -9 "$god"
wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 30 >/dev/null
new_app=$(wait_http_new_pid "$PORT" "$old_app" 15)
new_god=$(god_pid)
record_pid "$new_app"
record_pid "$new_god"
[ "$(sched_of /proc/"$new_god")" = "0 120" ] || fail "the PM2 daemon amexbpf started runs under $(sched_of /proc/"$new_god")"
[ "$(sched_of /proc/"$new_app")" = "0 120" ] || fail "the app runs under $(sched_of /proc/"$new_app")"
for _ in $(seq 1 100); do [ -s "$T/out/hook" ] && break; sleep 0.05; done
[ "$(cat "$T/out/hook" 2>/dev/null)" = "0 120" ] || fail "the hook ran under $(cat "$T/out/hook" 2>/dev/null)"
stop_amexbpf

# The class from the config file, off at start: every thread as started. Then SIGHUP with
# sched = fifo: both reacting threads SCHED_FIFO at once (no restart), and an app kill still
# detected; then back to off: every thread SCHED_OTHER again.
conf=$T/sched.conf
printf '[amexbpf]\nsched = off\n' >"$conf"
start_amexbpf --config "$conf"
ev=$(matching_events monitor-started "" | tail -1)
[ "$(jq_field "$ev" .amexbpf.sched)" = off ] || fail "sched = off: amexbpf.sched is $(jq_field "$ev" .amexbpf.sched)"
for task in /proc/"$AMX_PID"/task/*; do
	[ "$(sched_of "$task")" = "0 120" ] || fail "sched = off: thread ${task##*/} runs under $(sched_of "$task")"
done
# "policy prio" of SCHED_FIFO at priority 12 reads "1 87" (prio = 99 - priority).
count_under() {
	local n=0 task
	for task in /proc/"$AMX_PID"/task/*; do
		[ "$(sched_of "$task")" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}
printf '[amexbpf]\nsched = fifo\nsched-priority = 12\n' >"$conf"
mark_events
kill -HUP "$AMX_PID"
ev=$(wait_event config-reloaded "" 5)
[ "$(jq_field "$ev" .amexbpf.sched)" = "fifo 12" ] || fail "after SIGHUP amexbpf.sched is $(jq_field "$ev" .amexbpf.sched), expected fifo 12"
[ "$(sched_of /proc/"$AMX_PID")" = "1 87" ] || fail "after SIGHUP the loop's thread runs under $(sched_of /proc/"$AMX_PID")"
[ "$(count_under "1 87")" = 2 ] || fail "after SIGHUP $(count_under "1 87") threads run SCHED_FIFO 12, expected 2 (the loop and the inotify thread)"
old_app=$(app_pid "$PORT")
mark_events
kill -9 "$old_app"
wait_event process-exited ".process.pid == $old_app" 10 >/dev/null
log "SIGHUP to fifo 12: both threads raised, the next kill seen"
printf '[amexbpf]\nsched = off\n' >"$conf"
mark_events
kill -HUP "$AMX_PID"
ev=$(wait_event config-reloaded "" 5)
[ "$(jq_field "$ev" .amexbpf.sched)" = off ] || fail "after the second SIGHUP amexbpf.sched is $(jq_field "$ev" .amexbpf.sched)"
for task in /proc/"$AMX_PID"/task/*; do
	[ "$(sched_of "$task")" = "0 120" ] || fail "back to off: thread ${task##*/} runs under $(sched_of "$task")"
done
check_contract
