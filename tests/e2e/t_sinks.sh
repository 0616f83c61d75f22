#!/bin/bash
# SPDX-License-Identifier: MIT
# The sinks: the events file survives a full disk (lines lost are counted and reported once
# it is writable again, no half line left) and is reopened on SIGHUP (logrotate); journald
# is silently absent here, and gets structured entries when its socket is there (a private
# one, in a mount namespace, read with socat).
source "$(dirname "$0")/lib.sh"

setup_test
start_app

kill_app() { # kill_app: SIGKILL the app, wait for PM2's restart
	local old
	old=$(app_pid "$PORT")
	kill -9 "$old"
	wait_http_new_pid "$PORT" "$old" 10 >/dev/null
}

# ---- a full disk: a 1 MiB tmpfs, filled up
mkdir -p "$T/evdir"
mount -t tmpfs -o size=1m tmpfs "$T/evdir" || fail "cannot mount a tmpfs"
unmount_evdir() { umount -l "$T/evdir" 2>/dev/null || true; }
CLEANUP_HOOKS+=(unmount_evdir)
FULL=$T/evdir/ev.ndjson # not events*.ndjson: its sequence has a gap on purpose
AMX_EVENTS_FILE=$FULL start_amexbpf
head -c 2M /dev/zero >"$T/evdir/filler" 2>/dev/null || true
# The file's last page still has room: kill until a line no longer fits, then twice more.
for i in $(seq 1 20); do
	n=$(wc -l <"$FULL")
	kill_app
	sleep 0.2
	[ "$(wc -l <"$FULL")" = "$n" ] && break
	[ "$i" -lt 20 ] || fail "the events file still grows on a full tmpfs"
done
kill_app
kill_app
amexbpf_alive || fail "amexbpf died on a full disk"
before=$(wc -l <"$FULL")
rm -f "$T/evdir/filler"
mark_events
kill_app
ev=$(wait_event events-lost '.amexbpf.lost.source == "file"' 10)
lost=$(jq_field "$ev" .amexbpf.lost.count)
[ "$lost" -ge 4 ] || fail "events-lost counts $lost lines, expected at least 4 (two exits, two restarts)"

jq -c . "$FULL" >/dev/null 2>&1 || fail "the events file holds a broken line after the full disk"
# the sequence jumps by exactly the lines reported lost
gap=$(jq -s '[.[].event.sequence] | [range(1; length) as $i | .[$i] - .[$i - 1] - 1] | add' "$FULL")
[ "$gap" = "$lost" ] || fail "the sequence skips $gap events, events-lost says $lost"
log "full disk: $lost events lost ($before lines kept), reported once writable"

# ---- logrotate: move the file, SIGHUP, the next event goes to a new file
mv "$FULL" "$FULL.1"
kill -HUP "$AMX_PID"
deadline=$(($(now_ms) + 5000))
until [ -e "$FULL" ]; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "SIGHUP did not reopen $FULL"
	sleep 0.02
done
EVENT_CURSOR=0
kill_app
wait_event process-exited "" 10 >/dev/null
stop_amexbpf
log "SIGHUP reopened the events file"

# ---- journald absent (as on this machine): nothing breaks, nothing is said
if [ ! -S /run/systemd/journal/socket ]; then
	start_amexbpf
	kill_app
	wait_event process-exited "" 10 >/dev/null
	! grep -qi journal "$T/amexbpf.log" || fail "amexbpf talks about journald where there is none"
	stop_amexbpf
fi

# ---- journald present: a private socket in a mount namespace, read by socat
cat >"$T/in-ns.sh" <<WRAP
#!/bin/bash
# runs amexbpf with a private /run/systemd/journal/socket that socat records
mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal || exit 71
socat -u UNIX-RECV:/run/systemd/journal/socket OPEN:$T/journal.out,creat,append &
echo \$! >$T/journal.socat.pid
for _ in \$(seq 1 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.02; done
exec "$AMX_BIN" "\$@"
WRAP
chmod 755 "$T/in-ns.sh"
REAL_BIN=$AMX_BIN
# start_amexbpf runs "$AMX_BIN" as one word: point it at a launcher script instead.
cat >"$T/launch.sh" <<WRAP
#!/bin/bash
exec unshare -m --propagation private $T/in-ns.sh "\$@"
WRAP
chmod 755 "$T/launch.sh"
AMX_BIN=$T/launch.sh
start_amexbpf
record_pid "$(cat "$T/journal.socat.pid")"
old=$(app_pid "$PORT")
mark_events
kill -9 "$old"
wait_http_new_pid "$PORT" "$old" 10 >/dev/null
wait_event process-exited "" 10 >/dev/null
stop_amexbpf
kill "$(cat "$T/journal.socat.pid")" 2>/dev/null || true
AMX_BIN=$REAL_BIN
[ -s "$T/journal.out" ] || fail "nothing reached the private journald socket"
entry=$(tr '\0' '\n' <"$T/journal.out" | awk -v RS='' '/AMEXBPF_ACTION=process-exited/' | sed -n 1,30p)
for want in "MESSAGE=$APP_NAME exited (SIGKILL)" "PRIORITY=3" "MESSAGE_ID=b481f8fa91d11349ce0b01be7bcb2239" \
	"AMEXBPF_ACTION=process-exited" "AMEXBPF_APP=$APP_NAME" "AMEXBPF_PID=$old" "SYSLOG_IDENTIFIER=amexbpf"; do
	grep -qxF "$want" <<<"$entry" || grep -qxF "$want" "$T/journal.out" || fail "the journal entry lacks $want"
done
grep -q '^AMEXBPF_JSON={"@timestamp"' "$T/journal.out" || fail "the journal entries lack AMEXBPF_JSON"
n_journal=$(grep -c '^AMEXBPF_ACTION=' "$T/journal.out")
[ "$n_journal" = "$(wc -l <"$EVENTS")" ] || fail "$n_journal journal entries for $(wc -l <"$EVENTS") events"
log "journald: $n_journal structured entries through a private socket"
check_contract
