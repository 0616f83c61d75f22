#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh SECONDS NAME...: runs .output/fuzz/fuzz_NAME for SECONDS each, one after
# the other, on the seeds in tests/fuzz/corpus/NAME plus what earlier runs found. A crash,
# leak or time-out is copied into tests/fuzz/crashers/NAME/ (replayed by test_fuzz_regress)
# and the script exits 1. Logs: .output/fuzz/NAME.log.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

seconds=$1
shift
status=0
for name in "$@"; do
	bin=.output/fuzz/fuzz_$name
	work=.output/fuzz/corpus/$name
	art=.output/fuzz/artifacts/$name/
	mkdir -p "$work" "$art" "tests/fuzz/crashers/$name"
	log=.output/fuzz/$name.log
	echo "fuzz $name for ${seconds}s (log: $log)"
	# -rss_limit_mb bounds memory: a parser that allocates without bound is a finding too.
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$art" \
		"$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tr '\n' ' '
	echo
	if [ "$rc" -ne 0 ]; then
		echo "fuzz $name: FOUND something (exit $rc); see $log"
		cp "$art"* "tests/fuzz/crashers/$name/" 2>/dev/null
		status=1
	fi
done
exit $status
