#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/systemd/guest.sh REPO OUT: what the systemd bed's guest runs, as a unit
# (amx-bed.service) under the host's systemd as PID 1 (tests/systemd/init.sh). Boot 1 sets
# up a test user whose PM2 runs under the unit `pm2 startup systemd` writes, installs the
# amexbpf package, runs scenarios 1-5 and 7 of docs/systemd.md, then reboots; boot 2 (same
# overlay, its upper layer is on the bed's disk) runs scenario 6 and powers off. Each
# scenario appends "PASS name: figures" or "FAIL name: why" to OUT/results; OUT/bed.log
# has the details. The host (tests/systemd/run.sh) reads them back.
set -uo pipefail
repo=$1 out=$2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
STATE=/var/lib/amx-bed
USER_=amxsd
UHOME=/home/$USER_
PM2_HOME_=$UHOME/.pm2
PM2=/usr/local/bin/pm2
UNIT=pm2-$USER_.service
EVENTS=/var/log/amexbpf/events.ndjson
mkdir -p "$STATE"
exec >>"$out/bed.log" 2>&1

log() { echo "[$(date +%T)] $*"; }
result() { # result PASS|FAIL NAME TEXT
	echo "$1 $2${3:+: $3}" | tee -a "$out/results"
}
finish() { # finish poweroff|reboot
	sync
	systemctl --no-block "$1"
	exit 0
}
as_user() { runuser -u "$USER_" -- env HOME="$UHOME" PM2_HOME="$PM2_HOME_" "$@"; }
pm2u() { as_user timeout 240 "$PM2" "$@"; }
god_pid() { cat "$PM2_HOME_/pm2.pid" 2>/dev/null; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# The events file's line count: a mark to read only what comes after.
mark() { wc -l <"$EVENTS" 2>/dev/null || echo 0; }
since() { tail -n +"$(($1 + 1))" "$EVENTS" 2>/dev/null; }
# wait_event MARK SECS JQ-FILTER: the first event after MARK matching the filter.
wait_event() {
	local m=$1 secs=$2 f=$3 end=$((SECONDS + $2)) hit
	while [ "$SECONDS" -lt "$end" ]; do
		hit=$(since "$m" | jq -c "select($f)" 2>/dev/null | head -n 1)
		[ -n "$hit" ] && { echo "$hit"; return 0; }
		sleep 1
	done
	return 1
}
count_events() { since "$1" | jq -c "select($2)" 2>/dev/null | wc -l; }
# Each app online in `pm2 jlist` with a live pid; prints "name:pid ...".
apps_online() {
	local j
	j=$(pm2u jlist 2>/dev/null) || return 1
	echo "$j" | jq -e 'length == 3 and all(.[]; .pm2_env.status == "online" and .pid > 0)' >/dev/null || return 1
	echo "$j" | jq -r '[.[] | "\(.name):\(.pid)"] | join(" ")'
}
wait_apps() { # wait_apps SECS
	local end=$((SECONDS + $1)) a
	while [ "$SECONDS" -lt "$end" ]; do
		a=$(apps_online) && { echo "$a"; return 0; }
		sleep 2
	done
	return 1
}
wait_active() { # wait_active UNIT SECS
	local end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		[ "$(systemctl is-active "$1")" = active ] && return 0
		sleep 1
	done
	return 1
}
main_pid() { systemctl show -p MainPID --value "$1"; }

# Each scenario is a file of its own (scenario_N_name.sh), sourced here with these helpers.
run_scenario() {
	local f=$1 name rc start=$SECONDS
	name=$(basename "$f" .sh)
	log "=== $name"
	# At most 15 minutes each: one that hangs (scenario 7 did once, in journalctl under
	# TCG) must not take the reboot and scenario 6 with it.
	(source "$f") &
	local p=$!
	(sleep 900 && kill -TERM "$p" 2>/dev/null) &
	local w=$!
	wait "$p" && rc=0 || rc=$?
	kill "$w" 2>/dev/null
	grep -q "^[A-Z]* $name" "$out/results" || result FAIL "$name" "no verdict (exit $rc)"
	log "=== $name ended after $((SECONDS - start)) s"
}

phase=$(cat "$STATE/phase" 2>/dev/null || echo 1)
log "boot, phase $phase, $(uname -r), PID 1 $(cat /proc/1/comm), systemd $(systemctl --version | head -n 1)"
{
	echo "boot$phase.release=$(uname -r)"
	echo "boot$phase.pid1=$(cat /proc/1/comm)"
	echo "boot$phase.systemd=$(systemctl --version | awk 'NR == 1 { print $2 }')"
	echo "boot$phase.cgroup=$(stat -fc %T /sys/fs/cgroup)"
	echo "boot$phase.uptime=$(cut -d' ' -f1 /proc/uptime)"
} >>"$out/facts"

if [ "$phase" = 1 ]; then
	source "$repo/tests/systemd/setup.sh" || { result FAIL setup "see bed.log"; finish poweroff; }
	for f in "$repo"/tests/systemd/scenario_[1-57]_*.sh; do
		[ -f "$f" ] && run_scenario "$f"
	done
	echo 2 >"$STATE/phase"
	mark >"$STATE/events-mark"
	log "rebooting"
	finish reboot
fi
for f in "$repo"/tests/systemd/scenario_6_*.sh; do
	[ -f "$f" ] && run_scenario "$f"
done
echo done >"$out/done"
finish poweroff
