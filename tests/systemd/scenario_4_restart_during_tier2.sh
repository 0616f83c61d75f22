# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 4. `systemctl restart amexbpf` while a tier 2 it started runs: the PM2 daemon that tier
# brings up survives amexbpf's restart (KillMode=mixed, and the daemon is not in its cgroup).
name=scenario_4_restart_during_tier2
god=$(god_pid)
m=$(mark)
kill -KILL "$god"
wait_event "$m" 120 '.event.action == "recovery-started" and .amexbpf.tier == 2' >/dev/null ||
	{ result FAIL $name "no tier 2 within 120 s"; return 0; }
systemctl restart amexbpf || { result FAIL $name "restart of amexbpf failed"; return 0; }
# Back: PM2's unit active, its daemon alive, the apps answering.
end=$((SECONDS + 300)) new="" apps=""
while [ "$SECONDS" -lt "$end" ]; do
	new=$(god_pid)
	[ "$(systemctl is-active "$UNIT")" = active ] && alive "$new" && apps=$(apps_online) && break
	apps=""
	sleep 1
done
[ -n "$apps" ] || {
	timeout 60 journalctl -u "$UNIT" --no-pager -n 30
	result FAIL $name "not back within 300 s: $UNIT $(systemctl is-active "$UNIT"), daemon '${new}'"
	return 0
}
# Still there a while later, and in PM2's unit.
sleep 15
alive "$new" && [ "$(god_pid)" = "$new" ] ||
	{ result FAIL $name "PM2 daemon $new gone 15 s after amexbpf's restart (now '$(god_pid)')"; return 0; }
cg=$(cgroup_of "$new")
[ "$cg" = "/system.slice/$UNIT" ] || { result FAIL $name "PM2 daemon in '$cg'"; return 0; }
result PASS $name "PM2 daemon $new survived amexbpf's restart, in $cg; apps $apps"
