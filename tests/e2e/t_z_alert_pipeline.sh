#!/bin/bash
# SPDX-License-Identifier: MIT
# The alert pipeline, all real and on 127.0.0.1: amexbpf -> node_exporter's textfile
# collector -> Prometheus (private data dir, 1 s scrape and rule intervals, the shipped
# rules) -> Alertmanager -> a webhook receiver here. A PM2 daemon killed while its recovery
# is made to fail (the pm2 wrapper of faults.sh fails, budget 2/30: two failed tier-2
# attempts, then parked) reaches the receiver as PM2DaemonDown within PAGE_S; once pm2
# works again, the budget window frees an attempt, amexbpf brings the daemon back and the
# resolved notification follows within RESOLVE_S. Meanwhile every query of the Grafana
# dashboard parses and returns series from this Prometheus, and a disk over its threshold
# (0.1 %, so any) reaches the receiver as AmexbpfDiskOverThreshold.
# The rule's `for: 1m` is cut to 5 s in the test's copy (the only change), so the test
# proves the wiring, not the grace: promtool's unit tests (tests/rules_check.sh) prove that.
# t_z_: runs once, with BPF; the pipeline does not depend on how exits are seen.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"

PAGE_S=30    # kill -> firing notification at the receiver
RESOLVE_S=30 # daemon back (recovery-succeeded) -> resolved notification
for b in prometheus prometheus-alertmanager prometheus-node-exporter python3; do
	command -v "$b" >/dev/null || fail "$b is missing (run make deps)"
done
RULES=$REPO/src/dist/prometheus/amexbpf.rules.yml
DASH=$REPO/src/dist/grafana/amexbpf-fleet.json

setup_test
start_app
install_pm2_wrapper
mkdir -p "$T/textfile" "$T/prom" "$T/am"

# Bounded loop: until a URL answers, at most 20 s.
wait_url() {
	local deadline=$(($(now_ms) + 20000))
	until curl -fsS --max-time 2 "$1" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || { tail -n 20 "$2" >&2; fail "$1 does not answer"; }
		sleep 0.2
	done
}
PIDS=()
stop_servers() { kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; }
CLEANUP_HOOKS+=(stop_servers)

# The webhook receiver: each POST body, one line, appended to $T/hooks.ndjson.
hport=$(free_port)
cat >"$T/receiver.py" <<'PY'
import http.server, json, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T/receiver.py" "$hport" "$T/hooks.ndjson" >"$T/receiver.log" 2>&1 &
PIDS+=($!)
touch "$T/hooks.ndjson"

nport=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$T/textfile" >"$T/node_exporter.log" 2>&1 &
PIDS+=($!)

aport=$(free_port)
cat >"$T/am.yml" <<AM
route:
  receiver: hook
  group_by: [alertname, instance, home, app]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$hport/
        send_resolved: true
AM
prometheus-alertmanager --config.file="$T/am.yml" --storage.path="$T/am" \
	--web.listen-address="127.0.0.1:$aport" --cluster.listen-address= >"$T/alertmanager.log" 2>&1 &
PIDS+=($!)

pport=$(free_port)
# The shipped rules, PM2DaemonDown's `for` only cut to 5 s.
awk '/alert: PM2DaemonDown/ { d = 1 } d && /for: 1m/ { sub(/for: 1m/, "for: 5s"); d = 0 } { print }' "$RULES" >"$T/rules.yml"
grep -A3 'alert: PM2DaemonDown' "$T/rules.yml" | grep -q 'for: 5s' || fail "could not shorten the rule's for"
cat >"$T/prometheus.yml" <<PR
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$T/rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$aport']
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$nport']
PR
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$pport" --rules.alert.resend-delay=1s >"$T/prometheus.log" 2>&1 &
PIDS+=($!)
wait_url "http://127.0.0.1:$nport/metrics" "$T/node_exporter.log"
wait_url "http://127.0.0.1:$aport/-/ready" "$T/alertmanager.log"
wait_url "http://127.0.0.1:$pport/-/ready" "$T/prometheus.log"

PM2_BIN_REAL=$PM2_BIN
PM2_BIN=$T/bin/pm2 start_amexbpf --textfile-dir "$T/textfile" --manual-grace 0 --budget 2/30 \
	--action-timeout 5 --verify-timeout 5 --disk-threshold 0.1
PM2_BIN=$PM2_BIN_REAL

# query EXPR: the result array of an instant query (fails unless Prometheus says success).
query() {
	local r
	r=$(curl -fsS --max-time 5 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1") ||
		fail "Prometheus rejected: $1"
	jq -e '.status == "success"' <<<"$r" >/dev/null || fail "query failed: $1: $r"
	jq -c '.data.result' <<<"$r"
}
# Prometheus has scraped amexbpf's series and the daemon is wanted.
deadline=$(($(now_ms) + 20000))
until [ "$(query "amexbpf_pm2_daemon_wanted{home=\"$PM2_HOME\"} == 1 and amexbpf_pm2_daemon_up == 1" | jq length)" = 1 ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "Prometheus has no amexbpf_pm2_daemon_up 1 for the home"
	sleep 0.2
done

# The outage: pm2 fails, the daemon is killed.
echo fail >"$T/pm2-mode"
god=$(god_pid)
mark_events
t0=$(now_ms)
kill -9 "$god"
wait_event recovery-failed '.amexbpf.tier == 2' 15 >/dev/null
# hook_has STATUS: the receiver got PM2DaemonDown for this home with that status.
hook_has() { jq -s -e --arg h "$PM2_HOME" --arg s "$1" '[.[] | select(.status == $s) | .alerts[] |
	select(.labels.alertname == "PM2DaemonDown" and .labels.home == $h and .status == $s)] | length > 0' \
	"$T/hooks.ndjson" >/dev/null 2>&1; }
deadline=$((t0 + PAGE_S * 1000))
until hook_has firing; do
	[ "$(now_ms)" -lt "$deadline" ] || { tail -n 5 "$T/prometheus.log" "$T/alertmanager.log" >&2; cat "$T/hooks.ndjson" >&2; fail "no PM2DaemonDown notification within $PAGE_S s"; }
	sleep 0.2
done
page_ms=$(($(now_ms) - t0))
log "PM2DaemonDown reached the receiver $page_ms ms after the kill"


# Every dashboard query, with Grafana's variables as an "All" selection and a 1 m
# rate interval, parses and returns series, now (daemon down, recovery parked) or after.
dash_queries() { jq -r '.panels[].targets[].expr' "$DASH" | sed 's/\$instance/.*/g; s/\$__rate_interval/1m/g'; }
mapfile -t QUERIES < <(dash_queries)
[ "${#QUERIES[@]}" -ge 10 ] || fail "the dashboard has only ${#QUERIES[@]} queries"
declare -A SEEN=()
check_dashboard() {
	local q
	for q in "${QUERIES[@]}"; do
		if [ "$(query "$q" | jq length)" -gt 0 ]; then SEEN[$q]=1; fi
	done
}
wait_event recovery-parked '.amexbpf.pm2.app == null' 15 >/dev/null
sleep 2 # two scrapes of the parked gauge
check_dashboard

# Recovery let through: the window frees an attempt, tier 2 succeeds.
echo pass >"$T/pm2-mode"
wait_event recovery-succeeded '.amexbpf.tier == 2' 60 >/dev/null
t1=$(now_ms)
deadline=$((t1 + RESOLVE_S * 1000))
until hook_has resolved; do
	[ "$(now_ms)" -lt "$deadline" ] || { cat "$T/hooks.ndjson" >&2; fail "no resolved PM2DaemonDown within $RESOLVE_S s of the recovery"; }
	sleep 0.2
done
resolve_ms=$(($(now_ms) - t1))
log "resolved notification $resolve_ms ms after recovery-succeeded"
wait_http "$PORT" 20
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"
check_dashboard
for q in "${QUERIES[@]}"; do
	[ -n "${SEEN[$q]:-}" ] || fail "dashboard query returned no series: $q"
done
# The disk threshold of 0.1 % made every watched filesystem "over": that alert came too.
jq -s -e '[.[].alerts[] | select(.labels.alertname == "AmexbpfDiskOverThreshold" and .status == "firing")] | length > 0' \
	"$T/hooks.ndjson" >/dev/null || fail "no AmexbpfDiskOverThreshold notification"
log "all ${#QUERIES[@]} dashboard queries returned series; page ${page_ms} ms (bound ${PAGE_S} s), resolve ${resolve_ms} ms (bound ${RESOLVE_S} s)"
check_contract
