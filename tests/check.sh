#!/bin/bash
# SPDX-License-Identifier: MIT
# Static checks (`make check`; `make test` runs it first): cppcheck and clang-tidy over every
# C file of the daemon, the test helpers, the benchmarks and the fuzz harnesses. Any finding
# fails. The unit tests are left out: their CHECK macro keeps going after a failed CHECK on
# purpose, which the analyzers read as uninitialised uses.
# Checks and their exceptions: .clang-tidy; cppcheck's options below. The generated BPF
# skeleton is included as a system header so its own code is not judged.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

files=()
for f in src/*/*.c tests/helpers/*.c tests/bench/*.c tests/fuzz/*.c; do
	# BPF programs (tests/bench/*.bpf.c) are clang -target bpf code, checked by the verifier.
	[[ $f == *.bpf.c ]] || files+=("$f")
done
status=0

echo "cppcheck ${#files[@]} files"
cppcheck --quiet --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	--suppress=missingIncludeSystem -D_GNU_SOURCE --std=c11 -I src -I . -I tests/unit -I tests/bench \
	"${files[@]}" || status=1

echo "clang-tidy ${#files[@]} files"
# A finding located in a generated skeleton (.output/*.skel.h, bpftool's code, not ours) is
# dropped; any other line of diagnostics fails the check.
# Two at a time: this machine has two cores and the suite runs right after.
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 sh -c \
	'clang-tidy --quiet "$@" -- -std=gnu11 -D_GNU_SOURCE -isystem .output -I. -Isrc -Itests/unit -Itests/bench' _ \
	>.output/clang-tidy.log 2>&1
grep -E '(error|warning):' .output/clang-tidy.log | grep -v -E '\.output/[a-z_]+\.skel\.h:' >.output/clang-tidy.findings
if [ -s .output/clang-tidy.findings ]; then
	cat .output/clang-tidy.log
	status=1
fi

[ "$status" -eq 0 ] && echo "check: clean" || echo "check: FINDINGS above"
exit $status
