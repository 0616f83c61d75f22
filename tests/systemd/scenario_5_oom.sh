# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 5. One app OOM-killed inside pm2-<user>.service (MemoryMax= on the unit): first under
# systemd's default OOMPolicy=stop, then with the OOMPolicy=continue drop-in amexbpf's
# warning names. Records what systemd does to the other apps, and what amexbpf reports
# (the warning, oom-killed, the other apps' exits marked collateral) and recovers.
name=scenario_5_oom
cg=/sys/fs/cgroup/system.slice/$UNIT
memory() { # the unit's memory figures, for the log
	echo "current $(($(cat "$cg/memory.current" 2>/dev/null || echo 0) >> 20)) MiB, max $(cat "$cg/memory.max" 2>/dev/null)," \
		"events $(tr '\n' ' ' <"$cg/memory.events" 2>/dev/null), swap.max $(cat "$cg/memory.swap.max" 2>/dev/null)," \
		"OOMPolicy $(systemctl show -p OOMPolicy --value "$UNIT")"
}
# limit: the unit's MemoryMax= at what it uses now plus 192 MiB (the hog takes 320 MB/s).
limit() {
	local cur
	cur=$(cat "$cg/memory.current" 2>/dev/null || echo 0)
	systemctl set-property --runtime "$UNIT" MemoryMax=$(((cur >> 20) + 192))M
}
# hog_until_oom HALF: a1 starts hogging (the pid answering /hog, checked to be a1's, in the
# unit); sets oom to the oom-killed event, or why to why there is none.
hog_until_oom() {
	local hog pid
	oom="" why=""
	pid=${before#*a1:}
	pid=${pid%% *}
	hog=$(ask 3101 /hog) || { why="no answer from a1 to /hog"; return 1; }
	[ "$hog" = "$pid" ] || { why="/hog answered by $hog, a1 is $pid"; return 1; }
	# The limit is the unit's: an a1 outside it (a PM2 daemon some pm2 command started
	# outside the unit) would never be OOM-killed by it.
	[ "$(cgroup_of "$hog")" = "/system.slice/$UNIT" ] ||
		{ why="a1 $hog is in '$(cgroup_of "$hog")', not in $UNIT"; return 1; }
	log "$1: a1 $hog hogging; $(memory)"
	oom=$(wait_event "$m" 120 ".event.action == \"oom-killed\" and .process.pid == $hog") ||
		{ why="no oom-killed of $hog within 120 s; $(memory)"; return 1; }
}
warned=$(count_events 0 '.event.action == "pm2-unit-oom-policy" and .amexbpf.systemd.oom_policy == "stop"')
limit || { result FAIL $name "set-property failed"; return 0; }
before=$(wait_apps 60) || { result FAIL $name "apps not online"; return 0; }
log "stop: apps $before; $(memory)"
m=$(mark)
t0=$SECONDS
hog_until_oom stop || { result FAIL $name "stop: $why"; return 0; }
victim=$(echo "$oom" | jq -r '.process.pid')
apps=$(wait_apps 300) || { result FAIL $name "apps not back within 300 s after the OOM kill (stop)"; return 0; }
secs=$((SECONDS - t0))
wait_reconciled 60 >/dev/null
timeout 60 journalctl -u "$UNIT" --no-pager -n 40 | grep -v "^--" | tail -n 20
exits=$(since "$m" | jq -c 'select(.event.action == "process-exited") | {app: .amexbpf.pm2.app, pid: .process.pid, cause: .amexbpf.cause, collateral: .amexbpf.collateral, of: .amexbpf.collateral_of}')
echo "$exits"
others=$(echo "$exits" | jq -s "[.[] | select(.pid != $victim and .app != null)] | length")
coll=$(echo "$exits" | jq -s "[.[] | select(.pid != $victim and .app != null and .collateral == true and .of.pid == $victim)] | length")
tiers=$(since "$m" | jq -r 'select(.event.action == "recovery-started") | "tier \(.amexbpf.tier)"' | sort | uniq -c | tr -s ' \n' ' ')
nres=$(systemctl show -p NRestarts --value "$UNIT")
stop_line="stop: victim $victim, $others other app exits ($coll marked collateral), $UNIT NRestarts=$nres, recoveries: ${tiers:-none}, all back in $secs s"
log "$stop_line"

# The drop-in the warning names; amexbpf looks at the unit when it starts.
mkdir -p "/etc/systemd/system/$UNIT.d"
printf '[Service]\nOOMPolicy=continue\n' >"/etc/systemd/system/$UNIT.d/oom-policy.conf"
systemctl daemon-reload
m2=$(mark)
systemctl restart amexbpf
wait_event "$m2" 60 '.event.action == "monitor-started"' >/dev/null
before=$(wait_reconciled 120) || { result FAIL $name "apps not online, or not reported, before the second OOM kill"; return 0; }
rewarned=$(count_events "$m2" '.event.action == "pm2-unit-oom-policy"')
limit || { result FAIL $name "set-property failed (continue)"; return 0; }
log "continue: apps $before; $(memory)"
m=$(mark)
t0=$SECONDS
hog_until_oom continue || { result FAIL $name "continue: $why; $stop_line"; return 0; }
victim=$(echo "$oom" | jq -r '.process.pid')
# PM2 restarts a1 itself; a2 and a3 must not have moved.
end=$((SECONDS + 300))
while [ "$SECONDS" -lt "$end" ]; do
	apps=$(apps_online) && [ "${apps%% *}" != "a1:$victim" ] && break
	apps=""
	sleep 1
done
[ -n "$apps" ] || { result FAIL $name "apps not back (continue)"; return 0; }
secs=$((SECONDS - t0))
wait_reconciled 60 >/dev/null
same=0
for a in a2 a3; do
	[ "$(echo "$before" | tr ' ' '\n' | grep "^$a:")" = "$(echo "$apps" | tr ' ' '\n' | grep "^$a:")" ] && same=$((same + 1))
done
coll2=$(count_events "$m" '.event.action == "process-exited" and .amexbpf.collateral == true')
tiers2=$(since "$m" | jq -r 'select(.event.action == "recovery-started") | "tier \(.amexbpf.tier)"' | sort | uniq -c | tr -s ' \n' ' ')
nres2=$(systemctl show -p NRestarts --value "$UNIT")
cont_line="continue: victim $victim, a2 and a3 kept their pid: $same of 2, collateral $coll2, NRestarts=$nres2, recoveries: ${tiers2:-none}, a1 back in $secs s"
log "$cont_line"
systemctl set-property --runtime "$UNIT" MemoryMax=infinity
why=""
[ "$warned" -ge 1 ] || why="no pm2-unit-oom-policy warning under OOMPolicy=stop; "
[ "$rewarned" -eq 0 ] || why="${why}warned again with OOMPolicy=continue; "
[ "$others" -eq 0 ] || [ "$coll" -eq "$others" ] || why="${why}$coll of $others collateral exits marked; "
[ "$same" -eq 2 ] || why="${why}OOMPolicy=continue still disturbed the other apps; "
[ "$coll2" -eq 0 ] || why="${why}collateral marked under continue; "
if [ -z "$why" ]; then
	result PASS $name "$stop_line; $cont_line"
else
	result FAIL $name "${why%; }; $stop_line; $cont_line"
fi
