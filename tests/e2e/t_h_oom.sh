#!/bin/bash
# SPDX-License-Identifier: MIT
# A real OOM kill: a memory hog in a 64 MiB memory cgroup (v1 where the v1 memory hierarchy
# is mounted, as on the build machine, else cgroup v2 as on a stock Debian 12) is chosen by
# the kernel; amexbpf
# reports the SIGKILL exit at once, and oom-killed with the kernel's numbers and the memory
# cgroup once PM2 has restarted it (outside the cgroup): pm2_restarted true, the new pid.
# With OOM_PM2_RESTARTS=no (t_h2) the app runs with --no-autorestart: oom-killed says
# pm2_restarted false once the grace is over, and tier 1 brings the app back.
# Without BPF (AMX_MODE=no-bpf) the kernel's choice is not seen: the exit is a plain
# SIGKILL, monitor-started said so, and no oom-killed is made up.
source "$(dirname "$0")/lib.sh"

setup_test
if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	CGROUP_ROOT=/sys/fs/cgroup/memory HIERARCHY=v1 LIMIT_FILE=memory.limit_in_bytes
else
	CGROUP_ROOT="" HIERARCHY=v2 LIMIT_FILE=memory.max
	while read -r _ dir type _; do
		[ "$type" = cgroup2 ] && grep -qw memory "$dir/cgroup.controllers" 2>/dev/null &&
			CGROUP_ROOT=$dir && break
	done </proc/self/mounts
	[ -n "$CGROUP_ROOT" ] || fail "no memory cgroup: neither /sys/fs/cgroup/memory (v1) nor a cgroup2 mount with the memory controller"
fi
CG=$CGROUP_ROOT/amx-oom-$$
HOG=amx-hog
log "memory cgroup $HIERARCHY at $CGROUP_ROOT"

remove_oom_cgroup() {
	[ -d "$CG" ] || return 0
	local pid
	while read -r pid; do
		echo "$pid" >"$CGROUP_ROOT/cgroup.procs" 2>/dev/null
	done <"$CG/cgroup.procs"
	rmdir "$CG" 2>/dev/null || echo "cannot remove $CG" >&2
}
CLEANUP_HOOKS+=(remove_oom_cgroup)

pm2_restarts=${OOM_PM2_RESTARTS:-yes}
start_args=() amx_args=()
if [ "$pm2_restarts" = no ]; then
	start_args=(--no-autorestart)
	amx_args=(--grace 1 --manual-grace 0) # PM2 will not: recover at once
fi
pm2u_env PORT="$PORT" -- start "$T/app/hog.js" --name "$HOG" "${start_args[@]}" >/dev/null ||
	fail "pm2 start hog.js failed"
pm2u save >/dev/null || fail "pm2 save failed"
wait_http "$PORT" 20
hog=$(app_pid "$PORT")
record_pid "$hog"
record_pid "$(god_pid)"

# OOM_PID_ONLY=1 (t_h3): the daemon chooses its hooks from the prototypes of a kernel whose
# mark_victim passes only a pid (AMEXBPF_TEST_BTF): exit, fork and exec stay tp_btf, oom is
# the raw_tp twin's pid-only record, and oom-killed still names the app, without detail.
pid_only=${OOM_PID_ONLY:-0}
if [ "$pid_only" = 1 ]; then
	"$REPO/.output/tests/fake_btf_blob" "$T/pid-only.btf" || fail "cannot write the BTF blob (make helpers)"
	AMEXBPF_TEST_BTF=$T/pid-only.btf start_amexbpf "${amx_args[@]}"
	[ "${AMX_MODE:-bpf}" = no-bpf ] ||
		jq -e 'select(.event.action == "monitor-started") |
			.amexbpf.attach == "exit,fork,exec,listen,signal=tp_btf oom=raw_tp (oom: pid only)"' "$EVENTS" >/dev/null ||
		fail "monitor-started does not say exit, fork and exec on tp_btf and oom pid-only on raw_tp"
else
	start_amexbpf "${amx_args[@]}"
fi

# v2: the group has the memory controller only if the root hands it down.
if [ "$HIERARCHY" = v2 ] && ! grep -qw memory "$CGROUP_ROOT/cgroup.subtree_control"; then
	echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" || fail "cannot enable the memory controller below $CGROUP_ROOT"
fi
mkdir "$CG" || fail "cannot create $CG"
echo $((64 << 20)) >"$CG/$LIMIT_FILE" || fail "cannot set the memory limit of $CG"
# Without this, swap (where there is any) would absorb the growth.
[ -f "$CG/memory.memsw.limit_in_bytes" ] && echo $((64 << 20)) >"$CG/memory.memsw.limit_in_bytes"
[ -f "$CG/memory.swap.max" ] && echo 0 >"$CG/memory.swap.max"
echo "$hog" >"$CG/cgroup.procs" || fail "cannot move pid $hog into $CG"

mark_events
curl -fsS --max-time 2 "http://127.0.0.1:$PORT/grow" >/dev/null || fail "GET /grow failed"

if [ "${AMX_MODE:-bpf}" = no-bpf ]; then
	jq -e 'select(.event.action == "monitor-started") | .amexbpf.source == "proc-connector" and
		(.amexbpf.source_lost | test("OOM"))' "$EVENTS" >/dev/null ||
		fail "monitor-started does not say that OOM attribution is lost"
	ev=$(wait_event process-exited ".process.pid == $hog" 15)
	[ "$(count_events oom-killed)" -eq 0 ] || fail "oom-killed without BPF"
else
	# The exit is reported (and acted on) at once; oom-killed waits for PM2's part.
	ex=$(wait_event process-exited ".process.pid == $hog" 15)
	ev=$(wait_event oom-killed ".service.name == \"$HOG\"" 15)
	[ "$(jq_field "$ev" .process.pid)" = "$hog" ] || fail "oom-killed names pid $(jq_field "$ev" .process.pid), expected $hog"
	if [ "$pid_only" = 1 ]; then
		# Nothing read from the task: no memory figures, no group, no score, no name.
		jq -e '(.amexbpf.oom | has("anon_rss_kb") or has("memcg") or has("oom_score_adj") | not)
		       and (.process | has("name") | not)' <<<"$ev" >/dev/null ||
			fail "the pid-only oom-killed carries detail it cannot have: $ev"
	else
		jq -e '.amexbpf.oom.anon_rss_kb > 0' <<<"$ev" >/dev/null || fail "oom-killed has no amexbpf.oom.anon_rss_kb > 0: $ev"
		# Plausible: tens of MiB of anon RSS (pages charged before the move count too),
		# a total VM above it, the other fields present.
		jq -e '.amexbpf.oom.anon_rss_kb > 32768 and .amexbpf.oom.anon_rss_kb < 1048576
		       and .amexbpf.oom.total_vm_kb > .amexbpf.oom.anon_rss_kb and .amexbpf.oom.file_rss_kb >= 0
		       and .amexbpf.oom.shmem_rss_kb >= 0 and (.amexbpf.oom.oom_score_adj | type == "number")' <<<"$ev" >/dev/null ||
			fail "oom-killed detail fields missing or implausible: $ev"
		# The group the kernel killed it in, though the victim had left it by the exit.
		[ "$(jq_field "$ev" .amexbpf.oom.memcg)" = "/${CG##*/}" ] ||
			fail "oom-killed names memory cgroup $(jq_field "$ev" .amexbpf.oom.memcg), expected /${CG##*/}"
		[ "$(jq_field "$ev" .amexbpf.oom.memcg_hierarchy)" = "$HIERARCHY" ] || fail "oom-killed memcg_hierarchy is not $HIERARCHY: $ev"
		# v2 counts the kill in the group's own memory.events.
		[ "$HIERARCHY" = v1 ] || [ "$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events")" -ge 1 ] ||
			fail "$CG/memory.events counts no oom_kill"
	fi
	# Held, not late: stamped with the kernel's time of the kill (before the exit).
	[ "$(jq_field "$ev" '."@timestamp"')" \< "$(jq_field "$ex" '."@timestamp"')" ] ||
		[ "$(jq_field "$ev" '."@timestamp"')" = "$(jq_field "$ex" '."@timestamp"')" ] ||
		fail "oom-killed @timestamp $(jq_field "$ev" '."@timestamp"') is after the exit's $(jq_field "$ex" '."@timestamp"')"
	jq -e '.amexbpf.oom_killed == true' <<<"$ex" >/dev/null || fail "the victim's process-exited does not say amexbpf.oom_killed: $ex"
	if [ "$pm2_restarts" = no ]; then
		# PM2 leaves it down: oom-killed says so when the grace is over, before tier 1.
		jq -e '.amexbpf.oom.pm2_restarted == false and (.amexbpf.oom | has("new_pid") | not)' <<<"$ev" >/dev/null ||
			fail "oom-killed does not say pm2_restarted false: $ev"
		tier=$(wait_event recovery-started ".service.name == \"$HOG\"" 10)
		[ "$(jq_field "$ev" .event.sequence)" -gt "$(jq_field "$ex" .event.sequence)" ] &&
			[ "$(jq_field "$ev" .event.sequence)" -lt "$(jq_field "$tier" .event.sequence)" ] ||
			fail "oom-killed is not between process-exited and recovery-started"
		wait_event recovery-succeeded ".service.name == \"$HOG\"" 15 >/dev/null
		[ "$(count_events pm2-restarted-app)" -eq 0 ] || fail "pm2-restarted-app for an app PM2 does not restart"
		log "oom-killed: $(jq -c .amexbpf.oom <<<"$ev")"
		ev=$ex
	else
		# PM2 brought it back: oom-killed says so, with the pid that answers and the time.
		new=$(wait_http_new_pid "$PORT" "$hog" 10)
		record_pid "$new"
		back=$(wait_event pm2-restarted-app ".service.name == \"$HOG\"" 10)
		jq -e --argjson new "$new" '.amexbpf.oom.pm2_restarted == true and .amexbpf.oom.new_pid == $new
		       and (.amexbpf.oom.pm2_restart_ms | type == "number")' <<<"$ev" >/dev/null ||
			fail "oom-killed does not say PM2 restarted it as pid $new: $ev"
		[ "$(jq_field "$back" .process.pid)" = "$new" ] || fail "pm2-restarted-app names pid $(jq_field "$back" .process.pid), expected $new"
		# Sent after the exit and just before pm2-restarted-app.
		[ "$(jq_field "$ev" .event.sequence)" -gt "$(jq_field "$ex" .event.sequence)" ] &&
			[ "$(jq_field "$ev" .event.sequence)" -lt "$(jq_field "$back" .event.sequence)" ] ||
			fail "oom-killed is not between process-exited and pm2-restarted-app"
		log "oom-killed: $(jq -c .amexbpf.oom <<<"$ev")"
		ev=$ex
	fi
fi
[ "$(jq_field "$ev" .amexbpf.signal)" = SIGKILL ] || fail "the OOM victim's process-exited has signal $(jq_field "$ev" .amexbpf.signal)"
# Cause of death (issue 15): the kernel's OOM killer with BPF; without it a plain SIGKILL
# from no one named.
want_cause=oom
[ "${AMX_MODE:-bpf}" = no-bpf ] && want_cause=killed
[ "$(jq_field "$ev" .amexbpf.cause)" = "$want_cause" ] ||
	fail "the OOM victim's process-exited says cause $(jq_field "$ev" .amexbpf.cause), expected $want_cause"

record_pid "$(wait_http_new_pid "$PORT" "$hog" 15)"
check_contract
