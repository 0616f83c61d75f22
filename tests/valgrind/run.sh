#!/bin/bash
# SPDX-License-Identifier: MIT
# `make valgrind`: end-to-end scenarios with amexbpf under valgrind memcheck
# (tests/valgrind/amexbpf-vg): an app killed, the God daemon killed (tier 2), pm2 stop
# (tier 1), then SIGTERM. Passes when every valgrind report says "ERROR SUMMARY: 0 errors"
# and leaks nothing (definite, indirect or possible). Scenarios: VG_TESTS (default t_a t_b t_c).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

logs=$(pwd)/.output/valgrind
rm -rf "$logs"
mkdir -p "$logs"
export VG_LOG_DIR=$logs
export AMEXBPF=$(pwd)/tests/valgrind/amexbpf-vg
# Under valgrind the daemon starts in seconds, not milliseconds.
export AMX_START_TIMEOUT=60 AMX_STOP_TIMEOUT=60
# and reacts several times slower: every wait_event deadline is stretched (lib.sh).
export AMX_TIMEOUT_SCALE=${AMX_TIMEOUT_SCALE:-4}
status=0
for t in ${VG_TESTS:-t_a_ t_b_ t_c_}; do
	T=$t tests/run.sh e2e | grep -E '^(PASS|FAIL)' || status=1
done
# A log whose parent pid has a log of its own is a child the daemon forked to exec pm2: it
# stops at the exec, with no summary. Every daemon log must end with a clean summary.
n=0
for f in "$logs"/vg.*.log; do
	[ -f "$f" ] || continue
	parent=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)$/\1/p' "$f")
	if [ -n "$parent" ] && [ -f "$logs/vg.$parent.log" ] && ! grep -q 'ERROR SUMMARY' "$f"; then
		continue
	fi
	n=$((n + 1))
	if ! grep -q 'ERROR SUMMARY: 0 errors' "$f" || grep -qE '(definitely|indirectly|possibly) lost: [1-9]' "$f"; then
		echo "valgrind: findings in $f"
		grep -E 'ERROR SUMMARY|lost:' "$f"
		status=1
	fi
done
[ "$n" -gt 0 ] || { echo "valgrind: no report written"; status=1; }
echo "valgrind: $n daemon runs checked, $([ $status -eq 0 ] && echo clean || echo FINDINGS)"
exit $status
