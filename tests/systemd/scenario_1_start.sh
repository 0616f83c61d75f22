# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 1. `systemctl start amexbpf` returns once READY=1 is sent, which must be after
# monitor-started; `systemctl status` shows the STATUS= line; the journal holds the events
# with their fields (MESSAGE_ID, AMEXBPF_ACTION, AMEXBPF_JSON).
name=scenario_1_start
systemctl stop amexbpf
m=$(mark)
t0=$(date +%s%N)
systemctl start amexbpf || { result FAIL $name "systemctl start failed"; return 0; }
ms=$((($(date +%s%N) - t0) / 1000000))
started=$(since "$m" | jq -c 'select(.event.action == "monitor-started")' | head -n 1)
[ -n "$started" ] || { result FAIL $name "start returned (READY) before monitor-started"; return 0; }
status=$(systemctl status amexbpf --no-pager 2>&1)
echo "$status"
st=$(echo "$status" | sed -n 's/^ *Status: "\(.*\)"$/\1/p')
[ -n "$st" ] || { result FAIL $name "no Status: line in systemctl status"; return 0; }
timeout 60 journalctl --sync
j=$(timeout 60 journalctl -u amexbpf -o json --no-pager MESSAGE_ID=048e56cc483f3dbe62888c715d2e51ae | tail -n 1)
echo "$j" | jq -e '.AMEXBPF_ACTION == "monitor-started" and (.AMEXBPF_JSON | fromjson | .event.action == "monitor-started")' >/dev/null ||
	{ result FAIL $name "journal has no monitor-started with AMEXBPF_ACTION and AMEXBPF_JSON"; return 0; }
result PASS $name "start returned after monitor-started in $ms ms; Status: \"$st\"; journal fields ok"
