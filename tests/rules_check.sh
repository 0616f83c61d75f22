#!/bin/bash
# SPDX-License-Identifier: MIT
# The shipped Prometheus alerting rules: promtool checks their syntax and runs their unit
# tests (src/dist/prometheus/amexbpf.rules.test.yml), and every amexbpf_* series they or
# the Grafana dashboard name is one that src/report/metrics.c writes.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
dir=src/dist/prometheus
command -v promtool >/dev/null || { echo "promtool is missing (make deps installs prometheus)"; exit 1; }
promtool check rules "$dir/amexbpf.rules.yml" || exit 1
(cd "$dir" && promtool test rules amexbpf.rules.test.yml) || exit 1
bad=0
for m in $(grep -ohE 'amexbpf_[a-z0-9_]+' "$dir/amexbpf.rules.yml" src/dist/grafana/*.json 2>/dev/null | sort -u); do
	base=${m%_bucket}
	base=${base%_count}
	base=${base%_sum}
	grep -qw "$base" src/report/metrics.c || { echo "rules or dashboard name $m, which metrics.c does not write"; bad=1; }
done
exit $bad
