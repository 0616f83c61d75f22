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
apps=$(wait_apps 300) || { result FAIL $name "apps not back within 300 s"; return 0; }
new=$(god_pid)
alive "$new" || { result FAIL $name "no PM2 daemon after the restart"; return 0; }
# Still there a while later, and in PM2's unit.
sleep 15
alive "$new" || { result FAIL $name "PM2 daemon $new died after amexbpf's restart"; return 0; }
cg=$(cgroup_of "$new")
[ "$cg" = "/system.slice/$UNIT" ] || { result FAIL $name "PM2 daemon in '$cg'"; return 0; }
result PASS $name "PM2 daemon $new survived amexbpf's restart, in $cg; apps $apps"
