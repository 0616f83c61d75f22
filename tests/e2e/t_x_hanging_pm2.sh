#!/bin/bash
# SPDX-License-Identifier: MIT
# Two tenants (issue 14, "Starve the others"): A's (amxtest2's) home is configured with a
# pm2 of her own that hangs ([home A] pm2 = a script in her home directory), and her home
# needs many commands at once: 12 saved apps of her real PM2 daemon (/bin/sleep, autorestart
# off) SIGKILLed together. Her quota of 8 commands is hit: until one of her commands ends,
# at most 8 of her apps say recovery-started (a tier that runs), each of the others says
# recovery-deferred naming itself, and each deferred one says recovery-started later, when
# it gets a slot. Each hanging pm2 is killed at --action-timeout. Meanwhile B's (amxtest's) PM2 daemon is
# SIGKILLed: B's tier 2 starts without a deferral, nothing is charged to B's budget, and
# B's app answers with a new pid about as fast as with A quiet (measured first, here).
source "$(dirname "$0")/lib.sh"

N_APPS=12
ACTION_TIMEOUT=5

setup_test
ensure_second_user
start_app

HOME_A=$T/pm2-a
mkdir -p "$HOME_A"
chown "$TEST_USER2:$TEST_USER2" "$HOME_A"

# A's hanging pm2, in a directory of her own under her home directory: every component
# root's or hers and writable by no one else (toolchain.c; /tmp, writable by all, would not
# do). Each call notes its pid, then sleeps; amexbpf must kill it at the time-out.
HANG_DIR=$(as_second_user mktemp -d "$TEST_HOME2/amx-hang.XXXXXX") || fail "cannot create a directory in $TEST_HOME2"
remove_hang_dir() { rm -rf "$HANG_DIR"; }
CLEANUP_HOOKS+=(remove_hang_dir)
# shellcheck disable=SC2016 # expanded by her shell, and by the script when it runs
as_second_user sh -c 'cat >"$1/pm2" <<"SCRIPT"
#!/bin/sh
echo $$ >>"${0%/*}/hang.pids"
exec sleep 3600
SCRIPT
chmod 755 "$1" "$1/pm2"; : >"$1/hang.pids"' sh "$HANG_DIR"
[ "$(stat -c %U "$HANG_DIR/pm2")" = "$TEST_USER2" ] || fail "$HANG_DIR/pm2 is not A's"

# A's real PM2 daemon, started by her with the pinned pm2: 12 sleeps, autorestart off, saved.
pm2a() {
	timeout -k 5 "$(scaled 60)" setpriv --reuid "$TEST_USER2" --regid "$TEST_USER2" --init-groups \
		env -i -C "$T" HOME="$TEST_HOME2" PM2_HOME="$HOME_A" PATH="$TEST_PATH" "$PM2_BIN" "$@"
}
# A's processes: everything of hers that names her PM2_HOME (God, apps, pm2 CLIs), plus
# whatever ran her hanging pm2. Killed by pid.
a_pids() {
	local uid dir pid
	uid=$(id -u "$TEST_USER2")
	for dir in /proc/[0-9]*; do
		pid=${dir#/proc/}
		[ "$(uid_of "$pid")" = "$uid" ] || continue
		if { tr '\0' '\n' <"$dir/environ" | grep -qxF "PM2_HOME=$HOME_A"; } 2>/dev/null ||
			{ tr '\0' ' ' <"$dir/cmdline" | grep -qF "($HOME_A)"; } 2>/dev/null; then
			echo "$pid"
		fi
	done
	[ -f "$HANG_DIR/hang.pids" ] && cat "$HANG_DIR/hang.pids"
}
# After amexbpf has stopped (cleanup's order), so nothing starts her daemon again; by pid,
# not `pm2 kill`, which takes most of a minute over her dead apps.
stop_a() {
	local pids
	pids=$(a_pids | sort -u)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}
CLEANUP_HOOKS+=(stop_a)
node -e '
	const apps = [];
	for (let i = 0; i < +process.argv[1]; i++)
		apps.push({ name: "a" + i, script: "/bin/sleep", args: "3600", interpreter: "none",
			    autorestart: false });
	process.stdout.write(JSON.stringify({ apps }));
' "$N_APPS" >"$T/a-apps.json"
chmod 644 "$T/a-apps.json"
pm2a start "$T/a-apps.json" >"$T/pm2a.out" 2>&1 || { cat "$T/pm2a.out" >&2; fail "A's pm2 start failed"; }
pm2a save >>"$T/pm2a.out" 2>&1 || { cat "$T/pm2a.out" >&2; fail "A's pm2 save failed"; }
a_apps=$(pm2a jlist 2>/dev/null | jq -r '.[] | select(.pm2_env.status == "online") | .pid' | grep -v '^0$' || true)
[ "$(echo "$a_apps" | grep -c .)" -eq "$N_APPS" ] || fail "A's $N_APPS apps are not all online: $a_apps"

cat >"$T/amx.conf" <<CONF
[amexbpf]
pm2-home = $PM2_HOME $HOME_A
[home $HOME_A]
pm2 = $HANG_DIR/pm2
CONF
AMX_HOME_FLAG=0 start_amexbpf --config "$T/amx.conf" --action-timeout "$ACTION_TIMEOUT" --manual-grace 0
grep -qF "$HOME_A: pm2 $HANG_DIR/pm2" "$T/amexbpf.log" || fail "A's configured pm2 is not hers: $(grep -F "$HOME_A" "$T/amexbpf.log")"

# god_back_ms: B's God SIGKILLed; ms until B's app answers HTTP with a new pid.
god_back_ms() {
	local god old t0 new
	god=$(god_pid)
	old=$(app_pid "$PORT")
	t0=$(now_ms)
	kill -9 "$god"
	new=$(wait_http_new_pid "$PORT" "$old" 30)
	record_pid "$new"
	echo $(($(now_ms) - t0))
}

mark_events
quiet=$(god_back_ms)
wait_event recovery-succeeded ".amexbpf.tier == 2 and .amexbpf.pm2.home == \"$PM2_HOME\" and .service.name == null" 20 >/dev/null
record_pid "$(god_pid)"
log "B's app back in $quiet ms after its God's SIGKILL, A quiet"

# A's home needs every app at once: her 12 apps SIGKILLed while her daemon stays up.
mark_events
# shellcheck disable=SC2086
kill -KILL $a_apps
wait_event recovery-deferred ".amexbpf.pm2.home == \"$HOME_A\"" 30 >/dev/null
a_cursor=$EVENT_CURSOR
# first_wave: what A's apps said before her first recovery-failed (before any of her tier
# commands ended, so before a deferred tier could get a slot): the names that said
# recovery-started, and those that said recovery-deferred.
first_wave() {
	tail -n +"$((a_cursor + 1))" "$EVENTS" |
		jq -R -c --arg h "$HOME_A" 'fromjson? | select(.amexbpf.pm2.home == $h)' |
		jq -s -c '(map(.event.action) | index("recovery-failed")) as $f |
			(if $f == null then . else .[:$f] end) |
			{ failed: ($f != null),
			  started: [.[] | select(.event.action == "recovery-started") | .service.name],
			  deferred: [.[] | select(.event.action == "recovery-deferred") | .service.name] }'
}
deadline=$(($(now_ms) + 30000))
while :; do
	wave=$(first_wave)
	said=$(jq '.started + .deferred | unique | length' <<<"$wave")
	[ "$said" -eq "$N_APPS" ] && break
	if jq -e .failed <<<"$wave" >/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
		show_events 40 >&2
		fail "only $said of A's $N_APPS apps said recovery-started or recovery-deferred: $wave"
	fi
	sleep 0.1
done
n_started=$(jq '.started | length' <<<"$wave")
n_deferred=$(jq '.deferred | length' <<<"$wave")
[ "$n_started" -le 8 ] || fail "$n_started recovery-started for A before any of her commands ended: over her quota of 8 ($wave)"
[ $((n_started + n_deferred)) -eq "$N_APPS" ] || fail "an app of A said both, or twice: $wave"
log "A's first wave: $n_started recovery-started, $n_deferred recovery-deferred (one per app)"
running=0
while read -r pid; do
	state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
	if [ -n "$state" ] && [ "$state" != Z ]; then
		running=$((running + 1))
	fi
done <"$HANG_DIR/hang.pids"
log "A's quota hit: recovery-deferred for her home, $running of her pm2 commands hang"
[ "$running" -le 8 ] || fail "$running of A's pm2 commands run at once, over her quota of 8"
[ "$running" -ge 1 ] || fail "none of A's pm2 commands is running"

# Now B's God: tier 2 at once, no deferral, nothing charged to B.
busy=$(god_back_ms)
wait_event recovery-started ".amexbpf.tier == 2 and .amexbpf.pm2.home == \"$PM2_HOME\"" 10 >/dev/null
wait_event recovery-succeeded ".amexbpf.tier == 2 and .amexbpf.pm2.home == \"$PM2_HOME\" and .service.name == null" 20 >/dev/null
record_pid "$(god_pid)"
log "B's app back in $busy ms after its God's SIGKILL, A's pm2 hanging"
echo "hanging_pm2: B back in $quiet ms quiet, $busy ms with A's pm2 hanging ($running running)" >&2

# A's hanging commands are cut at the time-out: reported for her, and gone.
ev=$(wait_event recovery-failed ".amexbpf.pm2.home == \"$HOME_A\" and (tojson | test(\"timed out\"))" $((ACTION_TIMEOUT * 3)))
log "A's failure: $(jq -c '.event.reason // .message' <<<"$ev")"
for pid in $(head -n 8 "$HANG_DIR/hang.pids"); do
	wait_gone "$pid" $((ACTION_TIMEOUT * 2 + 5))
done

# Each deferred app starts once slots free (her first commands are cut at the time-out).
deadline=$(($(now_ms) + 40000))
while :; do
	n=$(tail -n +"$((a_cursor + 1))" "$EVENTS" |
		jq -R -r --arg h "$HOME_A" 'fromjson? | select(.amexbpf.pm2.home == $h and
			.event.action == "recovery-started") | .service.name' | sort -u | wc -l)
	[ "$n" -eq "$N_APPS" ] && break
	[ "$(now_ms)" -lt "$deadline" ] || fail "only $n of A's $N_APPS apps ever said recovery-started"
	sleep 0.2
done
ev=$(tail -n +"$((a_cursor + 1))" "$EVENTS" | jq -R -c --arg h "$HOME_A" \
	'fromjson? | select(.amexbpf.pm2.home == $h and .event.action == "recovery-started" and
		.amexbpf.deferred_ms != null)' | sed -n 1p)
[ -n "$ev" ] || fail "no recovery-started of a deferred app of A carries amexbpf.deferred_ms"
log "a deferred app of A started after $(jq_field "$ev" .amexbpf.deferred_ms) ms waiting for a slot"

amexbpf_alive || fail "amexbpf died with A's pm2 hanging"
no_event recovery-deferred ".amexbpf.pm2.home == \"$PM2_HOME\"" 1
for action in recovery-failed recovery-parked; do
	n=$(count_events "$action" ".amexbpf.pm2.home == \"$PM2_HOME\"")
	[ "$n" -eq 0 ] || fail "$n $action events for B's home: charged for A's hanging pm2"
done
limit=$((quiet + 10000))
[ "$busy" -le "$limit" ] || fail "B's app took $busy ms under A's hanging pm2, $quiet ms without (limit $limit)"
check_contract
