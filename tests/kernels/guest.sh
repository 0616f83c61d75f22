#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/kernels/guest.sh REPO OUT: what the kernel-matrix guest runs (tests/kernels/init.sh
# calls it in a chroot of the host's read-only root). Writes to OUT: facts (uname, cgroup
# mode, how the hooks attached), one "PASS name" / "FAIL name: why" line per test in
# results, and each test's log. The host (tests/kernels/run.sh) reads them back.
set -uo pipefail
repo=$1 out=$2
cd "$repo" || exit 1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp CI=${CI:-true}
# Under TCG one pm2 command takes 10-30 s and node starts in ~5 s: every deadline of the
# end-to-end tests (lib.sh) and the daemon's pm2 command timeouts are stretched.
export AMX_TIMEOUT_SCALE=${AMX_TIMEOUT_SCALE:-6} AMX_START_TIMEOUT=60 AMX_STOP_TIMEOUT=30
export AMX_DAEMON_ARGS="--action-timeout 180 --verify-timeout 90"
# The root-owned copy of the pinned PM2 (tests/pm2-place.sh) goes to the guest's tmpfs, not
# the read-only /var/lib; held for the whole guest run, so it is copied over 9p once.
export PM2_PLACE=/tmp/amexbpf-tests
: >"$out/results"

cgroup_mode() {
	local v1=no v2=no
	awk '$3 == "cgroup" { f = 1 } END { exit !f }' /proc/self/mounts && v1=yes
	awk '$3 == "cgroup2" { f = 1 } END { exit !f }' /proc/self/mounts && v2=yes
	case "$v1,$v2" in
	no,yes) echo "v2" ;;
	yes,no) echo "v1" ;;
	yes,yes) echo "hybrid" ;;
	*) echo "none" ;;
	esac
}

{
	echo "release=$(uname -r)"
	echo "version=$(uname -v)"
	echo "cgroup=$(cgroup_mode) ($(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null))"
} >"$out/facts"

# Unit binaries print their own PASS/FAIL lines.
unit() {
	local bin=.output/tests/$1 rc
	(timeout -k 5 300 "$bin"; exit $?) >"$out/$1.log" 2>&1 </dev/null
	rc=$?
	grep -E '^(PASS|FAIL) ' "$out/$1.log" >>"$out/results"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out/$1.log"; then
		echo "FAIL $1: exit status $rc without a FAIL line" >>"$out/results"
	fi
}

# An end-to-end script is one test, under the subreaper (PID 1 here is init.sh's shell).
e2e() {
	local name=$1 rc start=$SECONDS
	shift
	env "$@" .output/tests/subreaper 600 bash "tests/e2e/$name.sh" >"$out/$name.log" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name ($((SECONDS - start)) s)" >>"$out/results"
	else
		echo "FAIL $name: exit status $rc after $((SECONDS - start)) s" >>"$out/results"
	fi
}

# shellcheck source=tests/pm2-place.sh
source tests/pm2-place.sh
pm2_place_acquire "$PWD" $$ || echo "FAIL pm2-place: $PM2_PLACE_ERR" >>"$out/results"

unit test_hookchoice
sed -n 's/^# this kernel: /hooks=/p' "$out/test_hookchoice.log" >>"$out/facts"
unit test_bpf_kernel
# A real OOM kill in a v2 memory group, attributed to its PM2 app (oom-killed, v2 memcg).
e2e t_h_oom
# The PM2 God daemon SIGKILLed: the app serves again.
e2e t_c_god_kill
# Not t_memory_limit: the memory limit reads statm and needs no cgroup, and under TCG its
# hog outgrows PM2's own max_memory_restart while `pm2 restart` takes 30 s, so PM2 restarts
# the new copy too (seen on 6.12 in a loaded run; it passed on 6.1).
echo done >"$out/done"
