# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 6. After a reboot (`systemctl reboot`, same overlay): PM2's unit resurrects the apps,
# amexbpf starts after it, reconciles with them and reports them online, and runs no
# recovery tier (nothing failed).
name=scenario_6_reboot
m=$(cat "$STATE/events-mark" 2>/dev/null || echo 0)
t0=$SECONDS
wait_active "$UNIT" 300 || { result FAIL $name "$UNIT not active"; return 0; }
wait_active amexbpf 300 || { result FAIL $name "amexbpf not active"; return 0; }
wait_event "$m" 120 '.event.action == "monitor-started"' >/dev/null || { result FAIL $name "no monitor-started"; return 0; }
# From this boot's daemon on: what the old one said while the guest shut down is not this.
m=$((m + $(since "$m" | grep -n '"action":"monitor-started"' | tail -n 1 | cut -d: -f1) - 1))
apps=$(wait_apps 300) || { result FAIL $name "apps not answering after the reboot"; return 0; }
reported=$(wait_reconciled 120) || { result FAIL $name "amexbpf reports '$(status_apps)', the apps are $apps"; return 0; }
secs=$((SECONDS - t0))
# A spurious tier would follow the start-up look at the home: 20 s more to see none.
sleep 20
since "$m" | jq -c '{a: .event.action, app: .amexbpf.pm2.app, msg: .message}'
tiers=$(count_events "$m" '.event.action == "recovery-started"')
down=$(count_events "$m" '.event.action == "pm2-daemon-down"')
exited=$(count_events "$m" '.event.action == "process-exited"')
timeout 30 amexbpf status >"$out/status-after-reboot.txt" 2>&1
# Where boot 2's time went (its driver starts minutes later than boot 1's).
timeout 60 systemd-analyze critical-chain amx-bed.service --no-pager 2>&1 | tail -n 12
timeout 60 systemd-analyze blame --no-pager 2>&1 | head -n 8
order=$(systemctl show -p ActiveEnterTimestampMonotonic --value "$UNIT" amexbpf | tr '\n' ' ')
log "after reboot: apps $apps, reported $reported, $tiers recovery-started, $down pm2-daemon-down, $exited process-exited; active at (monotonic us) $UNIT/amexbpf: $order"
if [ "$tiers" -eq 0 ] && [ "$down" -eq 0 ]; then
	result PASS $name "apps back and reported online ($reported) $secs s after amx-bed started, 0 recovery tiers, 0 pm2-daemon-down"
else
	result FAIL $name "$tiers recovery tiers, $down pm2-daemon-down after the reboot"
fi
