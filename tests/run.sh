#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/run.sh check|layering|docs|options|unit|e2e|all: runs the whole-tree checks (static
# analysis, layering, docs, options), the built unit tests and/or the end-to-end tests (all:
# every one), prints "PASS name" / "FAIL name" as it goes and, as its very last line,
# "N passed, N failed".
# T=pattern runs only the tests whose name contains pattern. `all` runs the end-to-end tests
# twice: with BPF, then with AMX_MODE=no-bpf (the process-connector fallback). Exit 0 only if nothing failed.
# An end-to-end test that skips (exit 77) counts as failed in CI or as root: there it must run.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

mode=${1:-all}
filter=${T:-}
passed=0
failed=0
LOG_DIR=.output/test-logs

selected() {
	[ -z "$filter" ] || [[ "$1" == *"$filter"* ]]
}

pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}

# Each unit binary prints its own PASS/FAIL lines; count them. A binary that exits non-zero
# without printing a FAIL line (a crash, an abort) counts as one more failure.
run_unit() {
	local bin name out status p f
	mkdir -p "$LOG_DIR"
	for bin in .output/tests/test_*; do
		[ -x "$bin" ] && [ -f "$bin" ] || continue
		case "$bin" in *.d | *.o) continue ;; esac
		name=$(basename "$bin")
		selected "$name" || continue
		out=$LOG_DIR/$name.log
		# In a subshell, so bash's own "Aborted" or "Segmentation fault" goes to the log too.
		(
			"$bin"
			exit $?
		) >"$out" 2>&1 </dev/null
		status=$?
		grep -E '^(PASS|FAIL) ' "$out"
		p=$(grep -c '^PASS ' "$out")
		f=$(grep -c '^FAIL ' "$out")
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
			fail "$name" "exited with status $status without a FAIL line"
			tail -n 20 "$out"
		elif [ "$status" -eq 0 ] && [ "$f" -gt 0 ]; then
			echo "note: $name printed FAIL lines but exited 0"
		elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			fail "$name" "ran no test"
		fi
	done
}

# Each end-to-end script is one test, run under the subreaper so whatever it daemonises is
# reaped and killed when it ends.
run_e2e() {
	local script name out status reason
	mkdir -p "$LOG_DIR"
	if [ ! -x .output/tests/subreaper ]; then
		fail "e2e" ".output/tests/subreaper is not built (make helpers)"
		return
	fi
	for script in tests/e2e/t_*.sh; do
		[ -f "$script" ] || continue
		name=$(basename "$script" .sh)
		selected "$name" || continue
		# The soak (t_z_*) runs once, with BPF: a second 120 s adds time, not coverage. So does
		# t_make_run, which checks make and the terminal, not how exits are seen.
		[ "${AMX_MODE:-bpf}" = no-bpf ] && [[ "$name" == t_z_* || "$name" == t_make_run ]] && continue
		# The same suite on the fallback without BPF: AMX_MODE=no-bpf (see lib.sh).
		[ "${AMX_MODE:-bpf}" = no-bpf ] && name="$name[no-bpf]"
		out=$LOG_DIR/$name.log
		.output/tests/subreaper 240 bash "$script" >"$out" 2>&1 </dev/null
		status=$?
		if [ "$status" -eq 0 ]; then
			pass "$name"
			continue
		fi
		if [ "$status" -eq 77 ]; then
			reason=$(grep -m1 '^SKIP ' "$out" | sed 's/^SKIP [^:]*: //')
			if [ -n "${CI:-}" ] || [ "$(id -u)" -eq 0 ]; then
				fail "$name" "skipped, which counts as failed in CI and as root: ${reason:-no reason given}"
			else
				echo "SKIP $name: ${reason:-no reason given}"
			fi
			continue
		fi
		[ "$status" -eq 124 ] && reason="timed out after 240 s" || reason="exit status $status"
		fail "$name" "$reason"
		echo "--- last 40 lines of $out ---"
		tail -n 40 "$out"
		echo "---"
	done
}

# A whole-tree check script counts as one test: run_script NAME SCRIPT. Its output goes to
# the log; on failure the log's last lines are shown.
run_script() {
	local name=$1 script=$2
	selected "$name" || return 0
	mkdir -p "$LOG_DIR"
	if bash "$script" >"$LOG_DIR/$name.log" 2>&1; then
		pass "$name"
	else
		fail "$name" "see $LOG_DIR/$name.log"
		tail -n 20 "$LOG_DIR/$name.log"
	fi
}

# The checks of the whole tree, each one test:
#   check     cppcheck and clang-tidy (tests/check.sh)
#   layering  dependencies between the layers of src/ point one way (tests/layering.sh)
#   docs      README size, the event contract against the code's actions, links (tests/docs_check.sh)
#   options   the man page, the example config and the README name every option of the
#             option table, with its default (tests/options_check.sh)
#   rules     the Prometheus alerting rules: promtool check and unit tests (tests/rules_check.sh)
#   deb       make deb: lintian, install, upgrade with an edited conffile, purge (tests/deb_check.sh)
CHECKS=(check:tests/check.sh layering:tests/layering.sh docs:tests/docs_check.sh
	options:tests/options_check.sh rules:tests/rules_check.sh deb:tests/deb_check.sh)

run_checks() {
	local c
	for c in "${CHECKS[@]}"; do
		[ -z "${1:-}" ] || [ "${c%%:*}" = "$1" ] || continue
		run_script "${c%%:*}" "${c#*:}"
	done
}

# The end-to-end tests run the pinned PM2 from a root-owned copy (tests/pm2-place.sh); the run
# holds it, so its tests share one copy, removed when the run ends.
hold_pm2_copy() {
	[ "$(id -u)" -eq 0 ] || return 0
	# shellcheck source=tests/pm2-place.sh
	source tests/pm2-place.sh
	pm2_place_acquire "$PWD" $$ || { echo "note: $PM2_PLACE_ERR"; return 0; }
	trap 'pm2_place_release $$' EXIT
}

case "$mode" in e2e | all) hold_pm2_copy ;; esac

case "$mode" in
check | layering | docs | options | rules | deb) run_checks "$mode" ;;
unit) run_unit ;;
e2e) run_e2e ;;
all)
	run_checks
	run_unit
	run_e2e
	AMX_MODE=no-bpf run_e2e
	;;
*)
	echo "usage: tests/run.sh check|layering|docs|options|rules|deb|unit|e2e|all" >&2
	exit 2
	;;
esac

# Under SANITIZE=..., any process that reported (daemon, child, unit test) left a file in
# .output/sanitizer/ (Makefile's ASAN_OPTIONS/UBSAN_OPTIONS): each is one failure.
if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ]; then
	for report in .output/sanitizer/*; do
		[ -f "$report" ] || continue
		fail "sanitizer" "$report"
		head -n 30 "$report"
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
