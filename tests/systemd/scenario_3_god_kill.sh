# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 3. The PM2 daemon SIGKILLed: tier 2 is `systemctl restart pm2-<user>.service` (not a bare
# resurrect), and the new PM2 daemon lives in that unit's cgroup, not in amexbpf's.
name=scenario_3_god_kill
god=$(god_pid)
alive "$god" || { result FAIL $name "no PM2 daemon"; return 0; }
m=$(mark)
t0=$SECONDS
kill -KILL "$god"
ev=$(wait_event "$m" 120 '.event.action == "recovery-started" and .amexbpf.tier == 2') ||
	{ result FAIL $name "no tier 2 within 120 s; unit: $(systemctl is-active $UNIT)"; return 0; }
echo "$ev"
cmd=$(echo "$ev" | jq -r '.amexbpf.command | join(" ")')
ok=$(wait_event "$m" 300 '.event.action == "recovery-succeeded" and .amexbpf.tier == 2') ||
	{ result FAIL $name "tier 2 ($cmd) did not succeed within 300 s"; return 0; }
secs=$((SECONDS - t0))
apps=$(wait_apps 180) || { result FAIL $name "apps not back"; return 0; }
new=$(god_pid)
cg=$(cgroup_of "$new")
log "new God $new in $cg; apps $apps; unit NRestarts $(systemctl show -p NRestarts --value $UNIT)"
case "$cmd" in *"systemctl restart $UNIT"*) ;; *)
	result FAIL $name "tier 2 ran '$cmd', not systemctl restart $UNIT"; return 0 ;; esac
[ "$cg" = "/system.slice/$UNIT" ] || { result FAIL $name "new PM2 daemon in '$cg'"; return 0; }
tiers=$(count_events "$m" '.event.action == "recovery-started"')
result PASS $name "tier 2 = '$cmd', back in $secs s, new God in $cg, $tiers recovery-started"
