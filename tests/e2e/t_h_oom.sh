#!/bin/bash
# SPDX-License-Identifier: MIT
# A real OOM kill: a memory hog in a 64 MiB cgroup (v1) is chosen by the kernel; amexbpf
# reports oom-killed with the kernel's numbers, then the SIGKILL exit. PM2 restarts it
# (outside the cgroup). Without BPF (AMX_MODE=no-bpf) the kernel's choice is not seen: the
# exit is a plain SIGKILL, monitor-started said so, and no oom-killed is made up.
source "$(dirname "$0")/lib.sh"

setup_test
CGROUP_ROOT=/sys/fs/cgroup/memory
CG=$CGROUP_ROOT/amx-oom-$$
HOG=amx-hog
[ -f "$CGROUP_ROOT/cgroup.procs" ] || fail "no cgroup v1 memory controller at $CGROUP_ROOT"

remove_oom_cgroup() {
	[ -d "$CG" ] || return 0
	local pid
	while read -r pid; do
		echo "$pid" >"$CGROUP_ROOT/cgroup.procs" 2>/dev/null
	done <"$CG/cgroup.procs"
	rmdir "$CG" 2>/dev/null || echo "cannot remove $CG" >&2
}
CLEANUP_HOOKS+=(remove_oom_cgroup)

pm2u_env PORT="$PORT" -- start "$T/app/hog.js" --name "$HOG" >/dev/null || fail "pm2 start hog.js failed"
pm2u save >/dev/null || fail "pm2 save failed"
wait_http "$PORT" 20
hog=$(app_pid "$PORT")
record_pid "$hog"
record_pid "$(god_pid)"

start_amexbpf

mkdir "$CG" || fail "cannot create $CG"
echo $((64 << 20)) >"$CG/memory.limit_in_bytes" || fail "cannot set the memory limit of $CG"
# Without this, swap (where there is any) would absorb the growth.
[ -f "$CG/memory.memsw.limit_in_bytes" ] && echo $((64 << 20)) >"$CG/memory.memsw.limit_in_bytes"
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
	ev=$(wait_event oom-killed ".service.name == \"$HOG\"" 15)
	[ "$(jq_field "$ev" .process.pid)" = "$hog" ] || fail "oom-killed names pid $(jq_field "$ev" .process.pid), expected $hog"
	jq -e '.amexbpf.oom.anon_rss_kb > 0' <<<"$ev" >/dev/null || fail "oom-killed has no amexbpf.oom.anon_rss_kb > 0: $ev"
	# Plausible: tens of MiB of anon RSS (pages charged before the move count too),
	# a total VM above it, the other fields present.
	jq -e '.amexbpf.oom.anon_rss_kb > 32768 and .amexbpf.oom.anon_rss_kb < 1048576
	       and .amexbpf.oom.total_vm_kb > .amexbpf.oom.anon_rss_kb and .amexbpf.oom.file_rss_kb >= 0
	       and .amexbpf.oom.shmem_rss_kb >= 0 and (.amexbpf.oom.oom_score_adj | type == "number")' <<<"$ev" >/dev/null ||
		fail "oom-killed detail fields missing or implausible: $ev"
	ev=$(wait_event process-exited ".process.pid == $hog" 10)
fi
[ "$(jq_field "$ev" .amexbpf.signal)" = SIGKILL ] || fail "the OOM victim's process-exited has signal $(jq_field "$ev" .amexbpf.signal)"

record_pid "$(wait_http_new_pid "$PORT" "$hog" 10)"
check_contract
