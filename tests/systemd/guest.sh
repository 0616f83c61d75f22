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
# The pid of the app answering on PORT: tests/systemd/app.js replies "ok PID" (with
# PATH=/hog it starts hogging first). A bash /dev/tcp request, no process: a `pm2 jlist`
# costs 10-30 s under TCG, and an app PM2 calls online may not listen yet.
ask() { # ask PORT [PATH]
	local line last=""
	{ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	printf 'GET %s HTTP/1.0\r\n\r\n' "${2:-/}" >&3 2>/dev/null
	while IFS= read -r -t 10 line <&3; do last=$line; done
	exec 3<&-
	case "$last" in "ok "[0-9]*) echo "${last#ok }" ;; *) return 1 ;; esac
}
# Each of the three apps answering on its port; prints "a1:PID a2:PID a3:PID".
apps_online() {
	local n pid out=""
	for n in 1 2 3; do
		pid=$(ask "310$n") && alive "$pid" || return 1
		out="$out${out:+ }a$n:$pid"
	done
	echo "$out"
}
wait_apps() { # wait_apps SECS
	local end=$((SECONDS + $1)) a
	while [ "$SECONDS" -lt "$end" ]; do
		a=$(apps_online) && { echo "$a"; return 0; }
		sleep 1
	done
	return 1
}
# What `amexbpf status --json` reports online, as "a1:PID a2:PID a3:PID" (sorted).
status_apps() {
	timeout 30 amexbpf status --json 2>/dev/null |
		jq -r '[.homes[].apps[] | select(.status == "online") | "\(.name):\(.pid)"] | sort | join(" ")'
}
# wait_reconciled SECS: the daemon reports exactly the apps that answer (it has caught up).
wait_reconciled() {
	local end=$((SECONDS + $1)) a s
	while [ "$SECONDS" -lt "$end" ]; do
		a=$(apps_online) && s=$(status_apps) && [ "$a" = "$s" ] && { echo "$a"; return 0; }
		sleep 1
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
	# At most 10 minutes each: one that hangs must not take the reboot and scenario 6 with
	# it.
	(source "$f") &
	local p=$!
	(sleep 600 && kill -TERM "$p" 2>/dev/null) &
	local w=$!
	wait "$p" && rc=0 || rc=$?
	kill "$w" 2>/dev/null
	grep -q "^[A-Z]* $name" "$out/results" || result FAIL "$name" "no verdict (exit $rc)"
	log "=== $name ended after $((SECONDS - start)) s"
	echo "$name $((SECONDS - start))" >>"$out/times"
}
# amx.scenarios= on the kernel command line (run.sh's SYSTEMD_SCENARIOS): which to run,
# e.g. "5 7"; all by default. Scenario 6 alone costs the reboot.
wanted() { case " $scenarios " in *" $1 "*) return 0 ;; esac; return 1; }
scenarios=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^amx\.scenarios=//p' | tr ',' ' ')
[ -n "$scenarios" ] || scenarios="1 2 3 4 5 6 7"

phase=$(cat "$STATE/phase" 2>/dev/null || echo 1)
log "boot, phase $phase, $(uname -r), PID 1 $(cat /proc/1/comm), systemd $(systemctl --version | head -n 1), scenarios $scenarios"
{
	echo "boot$phase.release=$(uname -r)"
	echo "boot$phase.pid1=$(cat /proc/1/comm)"
	echo "boot$phase.systemd=$(systemctl --version | awk 'NR == 1 { print $2 }')"
	echo "boot$phase.cgroup=$(stat -fc %T /sys/fs/cgroup)"
	echo "boot$phase.uptime=$(cut -d' ' -f1 /proc/uptime)"
} >>"$out/facts"

if [ "$phase" = 1 ]; then
	t=$SECONDS
	source "$repo/tests/systemd/setup.sh" || { result FAIL setup "see bed.log"; finish poweroff; }
	echo "setup $((SECONDS - t))" >>"$out/times"
	for f in "$repo"/tests/systemd/scenario_[1-57]_*.sh; do
		n=$(basename "$f" | cut -d_ -f2)
		wanted "$n" && run_scenario "$f"
	done
	if wanted 6; then
		echo 2 >"$STATE/phase"
		mark >"$STATE/events-mark"
		date +%s >"$STATE/reboot-at"
		log "rebooting"
		finish reboot
	fi
else
	echo "reboot $(($(date +%s) - $(cat "$STATE/reboot-at")))" >>"$out/times"
	for f in "$repo"/tests/systemd/scenario_6_*.sh; do
		[ -f "$f" ] && run_scenario "$f"
	done
fi
echo done >"$out/done"
finish poweroff
