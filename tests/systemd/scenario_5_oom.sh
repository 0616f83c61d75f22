# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 5. One app OOM-killed inside pm2-<user>.service (MemoryMax= on the unit): first under
# systemd's default OOMPolicy=stop, then with the OOMPolicy=continue drop-in amexbpf's
# warning names. Records what systemd does to the other apps, and what amexbpf reports
# (the warning, oom-killed, the other apps' exits marked collateral) and recovers.
name=scenario_5_oom
hog() { # hog PORT: the app on PORT starts allocating until the OOM killer ends it
	exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /hog HTTP/1.0\r\n\r\n' >&3
	exec 3>&-
}
warned=$(count_events 0 '.event.action == "pm2-unit-oom-policy" and .amexbpf.systemd.oom_policy == "stop"')
cur=$(cat "/sys/fs/cgroup/system.slice/$UNIT/memory.current" 2>/dev/null || echo 0)
systemctl set-property --runtime "$UNIT" MemoryMax=$(((cur >> 20) + 192))M || { result FAIL $name "set-property failed"; return 0; }
before=$(apps_online) || { result FAIL $name "apps not online"; return 0; }
log "stop: apps $before, MemoryMax $(((cur >> 20) + 192))M"
m=$(mark)
t0=$SECONDS
hog 3101
oom=$(wait_event "$m" 120 '.event.action == "oom-killed"') || { result FAIL $name "no oom-killed within 120 s"; return 0; }
victim=$(echo "$oom" | jq -r '.process.pid')
apps=$(wait_apps 300) || { result FAIL $name "apps not back within 300 s after the OOM kill (stop)"; return 0; }
secs=$((SECONDS - t0))
sleep 10
journalctl -u "$UNIT" --no-pager -n 40 | grep -v "^--" | tail -n 20
exits=$(since "$m" | jq -c 'select(.event.action == "process-exited") | {app: .amexbpf.pm2.app, pid: .process.pid, cause: .amexbpf.cause, collateral: .amexbpf.collateral, of: .amexbpf.collateral_of}')
echo "$exits"
others=$(echo "$exits" | jq -s "[.[] | select(.pid != $victim and .app != null)] | length")
coll=$(echo "$exits" | jq -s "[.[] | select(.pid != $victim and .app != null and .collateral == true and .of.pid == $victim)] | length")
tiers=$(since "$m" | jq -r 'select(.event.action == "recovery-started") | "tier \(.amexbpf.tier)"' | sort | uniq -c | tr -s ' \n' ' ')
nres=$(systemctl show -p NRestarts --value "$UNIT")
stop_line="stop: victim $victim, $others other app exits ($coll marked collateral), $UNIT NRestarts=$nres, recoveries: ${tiers:-none}, all back in $secs s"
log "$stop_line"

# The drop-in the warning names.
mkdir -p "/etc/systemd/system/$UNIT.d"
printf '[Service]\nOOMPolicy=continue\n' >"/etc/systemd/system/$UNIT.d/oom-policy.conf"
systemctl daemon-reload
m2=$(mark)
systemctl restart amexbpf
wait_event "$m2" 60 '.event.action == "monitor-started"' >/dev/null
rewarned=$(count_events "$m2" '.event.action == "pm2-unit-oom-policy"')
before=$(wait_apps 120) || { result FAIL $name "apps not online before the second OOM kill"; return 0; }
m=$(mark)
t0=$SECONDS
hog 3101
oom=$(wait_event "$m" 120 '.event.action == "oom-killed"') || { result FAIL $name "no oom-killed (continue)"; return 0; }
victim=$(echo "$oom" | jq -r '.process.pid')
apps=$(wait_apps 300) || { result FAIL $name "apps not back (continue)"; return 0; }
secs=$((SECONDS - t0))
sleep 10
same=0
for a in a2 a3; do
	[ "$(echo "$before" | tr ' ' '\n' | grep "^$a:")" = "$(echo "$apps" | tr ' ' '\n' | grep "^$a:")" ] && same=$((same + 1))
done
coll2=$(count_events "$m" '.event.action == "process-exited" and .amexbpf.collateral == true')
nres2=$(systemctl show -p NRestarts --value "$UNIT")
cont_line="continue: victim $victim, a2 and a3 kept their pid: $same of 2, collateral $coll2, NRestarts=$nres2, back in $secs s"
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
