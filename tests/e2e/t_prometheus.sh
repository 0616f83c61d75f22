#!/bin/bash
# SPDX-License-Identifier: MIT
# Prometheus: a real prometheus-node-exporter on loopback reads amexbpf's textfile; after a
# scripted sequence (two app kills, one PM2 daemon kill) the series are there, parse, and
# count what the events say.
source "$(dirname "$0")/lib.sh"

NODE_EXPORTER=$(command -v prometheus-node-exporter) || fail "prometheus-node-exporter is missing (run make deps)"
setup_test
start_app
mkdir -p "$T/textfile"
start_amexbpf --textfile-dir "$T/textfile" --grace 2

mport=$(free_port)
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$mport" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$T/textfile" >"$T/node_exporter.log" 2>&1 &
nepid=$!
stop_node_exporter() { kill "$nepid" 2>/dev/null; wait "$nepid" 2>/dev/null; }
CLEANUP_HOOKS+=(stop_node_exporter)
scrape() { curl -fsS --max-time 2 "http://127.0.0.1:$mport/metrics"; }
deadline=$(($(now_ms) + 10000))
until scrape >/dev/null 2>&1; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "node_exporter does not answer on port $mport"
	sleep 0.1
done

for _ in 1 2; do
	old=$(app_pid "$PORT")
	mark_events
	kill -9 "$old"
	wait_event pm2-restarted-app "" 10 >/dev/null
	wait_http_new_pid "$PORT" "$old" 10 >/dev/null
done
god=$(god_pid)
mark_events
kill -9 "$god"
wait_event recovery-succeeded ".amexbpf.tier == 2" 30 >/dev/null
wait_http "$PORT" 20
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"
sleep 0.5 # the app's pid file and exec event settle

# metric VALUE for a series selector written as it appears in the scrape (node_exporter
# sorts the labels by name)
value() { awk -v s="$1" 'index($0, s) == 1 { v = $NF } END { print v }' "$T/scrape"; }
count() { jq -s "map(select($1)) | length" "$EVENTS"; }
exits=$(count '.event.action == "process-exited" and .amexbpf.pm2.app == "'"$APP_NAME"'" and .amexbpf.signal == "SIGKILL"')
t2=$(count '.event.action == "recovery-succeeded" and .amexbpf.tier == 2 and .amexbpf.pm2.app == null')
deadline=$(($(now_ms) + 20000))
while :; do
	scrape >"$T/scrape" || fail "scrape failed"
	[ "$(value "amexbpf_process_exits_total{app=\"$APP_NAME\",home=\"$PM2_HOME\",reason=\"SIGKILL\"}")" = "$exits" ] &&
		[ "$(value "amexbpf_recoveries_total{app=\"\",home=\"$PM2_HOME\",outcome=\"success\",tier=\"2\"}")" = "$t2" ] &&
		[ "$(value "amexbpf_app_up{app=\"$APP_NAME\",home=\"$PM2_HOME\"}")" = 1 ] &&
		[ "$(awk -v r="$(value "amexbpf_app_memory_rss_bytes{app=\"$APP_NAME\",home=\"$PM2_HOME\"}")" 'BEGIN { print (r > 1000000) }')" = 1 ] &&
		break
	[ "$(now_ms)" -lt "$deadline" ] || { grep '^amexbpf_' "$T/scrape" >&2; fail "the scrape does not count $exits exits and $t2 tier-2 recoveries"; }
	sleep 0.2
done
[ "$exits" -ge 2 ] || fail "only $exits SIGKILL exits of the app in the events"
[ "$(value node_textfile_scrape_error)" = 0 ] || fail "node_exporter could not parse the textfile"
for s in amexbpf_build_info amexbpf_pm2_daemon_up amexbpf_app_up amexbpf_app_memory_rss_bytes \
	amexbpf_process_exits_total amexbpf_recoveries_total amexbpf_recovery_duration_seconds_bucket \
	amexbpf_detect_latency_seconds_bucket amexbpf_events_lost_total amexbpf_oom_kills_total; do
	grep -qE "^# (TYPE|HELP) $s|^$s" "$T/scrape" || fail "series $s is missing"
done
[ "$(value "amexbpf_pm2_daemon_up{home=\"$PM2_HOME\"}")" = 1 ] || fail "amexbpf_pm2_daemon_up is not 1"
[ "$(value "amexbpf_events_lost_total{source=\"bpf\"}")" = 0 ] || fail "events lost from bpf"
dl=$(value 'amexbpf_detect_latency_seconds_count')
[ "$dl" = "$(count 'has("amexbpf") and (.amexbpf | has("detect_latency_us"))')" ] || fail "detect latency count $dl differs from the events"
[ "$(value 'amexbpf_recovery_duration_seconds_count')" -ge 1 ] || fail "no recovery duration observed"
rss=$(value "amexbpf_app_memory_rss_bytes{app=\"$APP_NAME\",home=\"$PM2_HOME\"}")
[ "$(awk -v r="$rss" 'BEGIN { print (r > 1000000) }')" = 1 ] || fail "app RSS is $rss"
! grep '^amexbpf_' "$T/scrape" | grep -q 'pid=' || fail "a series carries a pid label"
log "node_exporter scrape: $exits exits, $t2 tier-2 recoveries, $dl latencies, no parse error"
check_contract
