#!/bin/bash
# SPDX-License-Identifier: MIT
# Every benchmark, one after the other (`make bench`). Figures, not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== detection latency: kernel timestamp -> event handled in user space =="
.output/bench/exit_latency "${EXITS:-2000}"
echo
echo "== detection under load: the daemon's own latency, each --sched class, one run =="
.output/tests/subreaper 3600 bash tests/bench/sched_latency.sh
echo
echo "== recovery: God daemon SIGKILL -> app answering HTTP =="
.output/tests/subreaper 600 bash tests/bench/recovery.sh
echo
echo "== recovery with every CPU saturated =="
LOAD=1 .output/tests/subreaper 600 bash tests/bench/recovery.sh
echo
echo "== what amexbpf under its default --sched costs: fork+exit and request throughput =="
.output/tests/subreaper 600 bash tests/bench/sched_cost.sh
echo
echo "== memory limit: what each watching mechanism costs a page-fault-heavy process =="
.output/bench/memwatch_cost "${ROUNDS:-21}" "${SEGMENT_MS:-200}"
echo
echo "== scale: start-up time and memory with 200 apps in one home, and 20 homes =="
.output/tests/subreaper 600 bash tests/bench/scale.sh
