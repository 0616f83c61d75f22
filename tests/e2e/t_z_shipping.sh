#!/bin/bash
# SPDX-License-Identifier: MIT
# Central event shipping with real shippers from Debian, on 127.0.0.1: "host-a" ships
# amexbpf's events file with syslog-ng, "host-b" with rsyslog (imfile + mmjsonparse), both
# over TCP to a central syslog-ng that writes one NDJSON file per host, using the configs
# of src/dist/shipping/ (only names, ports and paths changed). The central collector is
# stopped while events keep coming and started again: each host's file must then hold every
# event exactly once, in order, byte for byte as amexbpf wrote it.
# rsyslog conflicts with syslog-ng-core as a Debian package, so its .deb is fetched with
# apt-get download and unpacked into .output/rsyslog (its libraries are in DEB_PKGS).
# t_z_: runs once; shipping does not depend on how exits are seen.
source "$(dirname "$0")/lib.sh"

command -v syslog-ng >/dev/null || fail "syslog-ng is missing (run make deps)"
RS=$REPO/.output/rsyslog
if [ ! -x "$RS/usr/sbin/rsyslogd" ]; then
	mkdir -p "$RS.dl" && chmod 777 "$RS.dl"
	(cd "$RS.dl" && apt-get download rsyslog >/dev/null 2>&1) || fail "apt-get download rsyslog failed"
	dpkg-deb -x "$RS.dl"/rsyslog_*.deb "$RS" || fail "cannot unpack rsyslog"
	rm -rf "$RS.dl"
fi
DIST=$REPO/src/dist/shipping

setup_test
start_app
start_amexbpf --grace 2
PIDS=()
stop_shippers() { kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; }
CLEANUP_HOOKS+=(stop_shippers)
cport=$(free_port)
mkdir -p "$T/central" "$T/a" "$T/b"

sed -e "s|ip(\"0.0.0.0\") port(6514)|ip(\"127.0.0.1\") port($cport)|" \
	-e "s|/var/log/amexbpf-central/|$T/central/|" "$DIST/syslog-ng-central.conf" >"$T/central.conf"
start_central() {
	syslog-ng -F -f "$T/central.conf" -R "$T/central.persist" -p "$T/central.pid" -c "$T/central.ctl" \
		>>"$T/central.log" 2>&1 &
	CENTRAL=$!
	local deadline=$(($(now_ms) + 10000))
	until ss -Htln "sport = :$cport" | grep -q .; do
		[ "$(now_ms)" -lt "$deadline" ] || { cat "$T/central.log" >&2; fail "central syslog-ng does not listen"; }
		sleep 0.1
	done
}
start_central

sed -e "s|/var/log/amexbpf/events.ndjson|$EVENTS|" -e 's|program-override("amexbpf")|& host-override("host-a")|' \
	-e "s|\"central.example.org\" port(6514)|\"127.0.0.1\" port($cport)|" -e "s|dir(\"/var/lib/syslog-ng\")|dir(\"$T/a\")|" \
	"$DIST/syslog-ng-host.conf" >"$T/a.conf"
syslog-ng -F -f "$T/a.conf" -R "$T/a/persist" -p "$T/a/pid" -c "$T/a/ctl" >"$T/a.log" 2>&1 &
PIDS+=($!)

{
	echo "global(localHostname=\"host-b\" workDirectory=\"$T/b\")"
	sed -e "s|/var/log/amexbpf/events.ndjson|$EVENTS|" -e "s|target=\"central.example.org\" port=\"6514\"|target=\"127.0.0.1\" port=\"$cport\"|" \
		"$DIST/rsyslog-host.conf"
} >"$T/b.conf"
"$RS/usr/sbin/rsyslogd" -n -f "$T/b.conf" -i "$T/b/pid" -M "$(echo "$RS"/usr/lib/*/rsyslog)" >"$T/b.log" 2>&1 &
PIDS+=($!)

# events: app kills (process-exited, pm2-restarted-app, with pids and latencies)
kill_app() {
	local old
	old=$(app_pid "$PORT")
	mark_events
	kill -9 "$old"
	wait_event pm2-restarted-app "" 10 >/dev/null
	wait_http_new_pid "$PORT" "$old" 10 >/dev/null
}
# arrived FILE: until FILE holds exactly the events file's lines, in order (bounded).
arrived() {
	local f=$T/central/$1.ndjson deadline=$(($(now_ms) + 30000))
	until [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$(wc -l <"$EVENTS")" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || { tail -n 5 "$T/$2.log" "$T/central.log" >&2; fail "$1: $(wc -l <"$f" 2>/dev/null || echo 0) of $(wc -l <"$EVENTS") events arrived"; }
		sleep 0.2
	done
	cmp -s "$EVENTS" "$f" || { diff "$EVENTS" "$f" | head -n 10 >&2; fail "$1: the central file differs from the events file"; }
}
kill_app
kill_app
arrived host-a a
arrived host-b b
n1=$(wc -l <"$EVENTS")

# The collector restarts while events keep coming: the hosts queue them (disk) meanwhile.
kill -TERM "$CENTRAL"
wait "$CENTRAL" 2>/dev/null || true
kill_app
kill -HUP "$AMX_PID" # config-reloaded
kill_app
sleep 2 # the shippers notice the collector is gone and queue
start_central
kill_app
arrived host-a a
arrived host-b b
n2=$(wc -l <"$EVENTS")
[ "$n2" -gt $((n1 + 5)) ] || fail "only $((n2 - n1)) events while the collector restarted"
jq -e . "$T/central/host-a.ndjson" >/dev/null || fail "a central line is not JSON"
log "host-a (syslog-ng) and host-b (rsyslog): all $n2 events once, in order, intact ($((n2 - n1)) around a collector restart)"
record_pid "$(god_pid)"
record_pid "$(app_pid "$PORT")"
kill -TERM "$CENTRAL" 2>/dev/null
wait "$CENTRAL" 2>/dev/null || true
check_contract
