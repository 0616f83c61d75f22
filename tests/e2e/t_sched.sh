#!/bin/bash
# SPDX-License-Identifier: MIT
# --sched (issue 16): with --sched deadline exactly the two reacting threads (the event loop
# and the inotify thread) run SCHED_DEADLINE, and nothing else does: not the daemon's other threads,
# not the tier-2 `pm2 resurrect`, not the PM2 daemon and the app it starts, not the
# notification hook (each SCHED_OTHER, nice 0). --sched off leaves every thread as started.
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

start_amexbpf --sched off
ev=$(matching_events monitor-started "" | tail -1)
[ "$(jq_field "$ev" .amexbpf.sched)" = off ] || fail "--sched off: amexbpf.sched is $(jq_field "$ev" .amexbpf.sched)"
for task in /proc/"$AMX_PID"/task/*; do
	[ "$(sched_of "$task")" = "0 120" ] || fail "--sched off: thread ${task##*/} runs under $(sched_of "$task")"
done
check_contract
