# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 6. After a reboot (same overlay): PM2's unit resurrects the apps, amexbpf starts,
# reconciles and reports them, and runs no recovery tier (nothing failed).
name=scenario_6_reboot
m=$(cat "$STATE/events-mark" 2>/dev/null || echo 0)
wait_active "$UNIT" 300 || { result FAIL $name "$UNIT not active"; return 0; }
wait_active amexbpf 300 || { result FAIL $name "amexbpf not active"; return 0; }
wait_event "$m" 120 '.event.action == "monitor-started"' >/dev/null || { result FAIL $name "no monitor-started"; return 0; }
apps=$(wait_apps 300) || { result FAIL $name "apps not online after the reboot"; return 0; }
sleep 30
since "$m" | jq -c '{a: .event.action, app: .amexbpf.pm2.app, msg: .message}'
tiers=$(count_events "$m" '.event.action == "recovery-started"')
down=$(count_events "$m" '.event.action == "pm2-daemon-down"')
amexbpf status >"$out/status-after-reboot.txt" 2>&1
online=$(grep -c -i online "$out/status-after-reboot.txt")
log "after reboot: apps $apps, $tiers recovery-started, $down pm2-daemon-down"
if [ "$tiers" -eq 0 ]; then
	result PASS $name "apps back ($apps), amexbpf reconciled, 0 recovery tiers, $down pm2-daemon-down, status online lines $online"
else
	result FAIL $name "$tiers recovery tiers after the reboot ($down pm2-daemon-down)"
fi
