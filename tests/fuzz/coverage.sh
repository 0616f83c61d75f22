#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/fuzz/coverage.sh NAME...: source coverage of what the fuzzers reached. Builds each
# harness with clang's source-based coverage (no sanitizer), replays the seeds plus the corpus
# the fuzzer kept (.output/fuzz/corpus/NAME), and prints line and branch coverage of the
# source files that harness targets. `make fuzz-coverage` runs it for every harness.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

out=.output/fuzzcov
mkdir -p "$out"
cc=${FUZZ_CC:-clang}
flags="-g -O1 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -std=gnu11 -D_GNU_SOURCE -I.output -I. -Isrc"
libs="-lbpf -lelf -lz -linotifytools -ljansson -linih -lsystemd -lpthread -lncursesw -ltinfo -lm"

# The files each harness is about (the rest of the core is linked but not the target).
targets() {
	case $1 in
	dump | jlist) echo src/core/dump.c ;;
	config) echo src/daemon/config.c ;;
	control) echo src/core/control_request.c ;;
	esac
}

# The core once, for every harness (compiler chatter in $out/build.log).
objs=()
for src in src/*/*.c; do
	[ "$src" = src/cli/main.c ] && continue
	obj=$out/$(basename "$src" .c).o # basenames are unique across src/*/
	objs+=("$obj")
	[ "$obj" -nt "$src" ] && continue
	# shellcheck disable=SC2086
	$cc ${flags/-fsanitize=fuzzer/-fsanitize=fuzzer-no-link} -c "$src" -o "$obj" 2>>"$out/build.log" || exit 1
done

for name in "$@"; do
	bin=$out/fuzz_$name
	srcs=$(targets "$name")
	# shellcheck disable=SC2086
	$cc $flags "tests/fuzz/fuzz_$name.c" "${objs[@]}" $libs -o "$bin" 2>>"$out/build.log" || exit 1
	mkdir -p ".output/fuzz/corpus/$name"
	LLVM_PROFILE_FILE="$out/$name.profraw" "$bin" -runs=0 \
		".output/fuzz/corpus/$name" "tests/fuzz/corpus/$name" >"$out/$name.replay.log" 2>&1
	llvm-profdata merge -sparse "$out/$name.profraw" -o "$out/$name.profdata" || exit 1
	echo "== $name ($(cat ".output/fuzz/corpus/$name"/* "tests/fuzz/corpus/$name"/* 2>/dev/null | wc -c) bytes of inputs)"
	# shellcheck disable=SC2086
	llvm-cov report "$bin" -instr-profile="$out/$name.profdata" $srcs | 
		awk 'NF >= 13 && $1 ~ /\.c$/ { print "   ", $1, "lines", $(NF-3), "branches", $NF }'
done
