# SPDX-License-Identifier: MIT
# Helpers for the fault-matrix tests (tests/e2e/t_x_*.sh), on top of lib.sh (source lib.sh
# first). Each t_x_ test is one row of the matrix in README "Fault matrix": it injects one
# fault and asserts what amexbpf detected (events), what it did, and that nothing was lost.
# shellcheck shell=bash

# install_pm2_wrapper: a pm2 stand-in at $T/bin/pm2 that amexbpf is given with --pm2. Each
# call appends one line to $T/pm2-calls.log: "uid=U args=... fds=N env=K1,K2,..." (what it
# inherited: the privilege rules), then behaves as $T/pm2-mode says:
#   pass (default): runs the real pm2;  fail: exits 3;  hang: starts a grandchild and sleeps
#   (its pid goes to $T/hang.pids, to prove the whole group is killed at the time-out).
# The mode applies to every command but jlist (so tier 3 fails too); jlist always runs the
# real pm2.
install_pm2_wrapper() {
	mkdir -p "$T/bin"
	cat >"$T/bin/pm2" <<WRAP
#!/bin/bash
fds=\$(ls /proc/\$\$/fd | wc -l)
envk=\$(env | cut -d= -f1 | sort | tr '\n' ',')
echo "uid=\$(id -u) args=\$* fds=\$fds env=\$envk" >>"$T/pm2-calls.log"
mode=\$(cat "$T/pm2-mode" 2>/dev/null || echo pass)
if [ "\$1" != jlist ]; then
	case "\$mode" in
	fail) echo "simulated failure" >&2; exit 3 ;;
	hang) sleep 3600 & echo \$! >>"$T/hang.pids"; echo \$\$ >>"$T/hang.pids"; wait ;;
	esac
fi
exec "$PM2_BIN" "\$@"
WRAP
	chmod 755 "$T/bin" "$T/bin/pm2"
	touch "$T/pm2-calls.log"
	touch "$T/hang.pids"
	chmod 666 "$T/pm2-calls.log" "$T/hang.pids"
	echo pass >"$T/pm2-mode"
	chmod 644 "$T/pm2-mode"
}

# assert_pm2_calls_unprivileged: every pm2 call so far ran as the test user, with a clean
# environment (only HOME, USER, LOGNAME, PM2_HOME, PATH, plus what bash itself sets) and
# only stdin/stdout/stderr open (+ the directory ls reads and bash's own fd 255 on the
# script: at most 5).
assert_pm2_calls_unprivileged() {
	local uid line n=0
	uid=$(id -u "$TEST_USER")
	while read -r line; do
		n=$((n + 1))
		[[ "$line" == "uid=$uid "* ]] || fail "a pm2 command ran with another uid: $line"
		local fds=${line#*fds=}
		fds=${fds%% *}
		[ "$fds" -le 5 ] || fail "a pm2 command inherited descriptors ($fds open): $line"
		local keys=${line#*env=} k
		for k in ${keys//,/ }; do
			case "$k" in
			HOME | USER | LOGNAME | PM2_HOME | PATH | PWD | SHLVL | _ | OLDPWD) ;;
			*) fail "a pm2 command inherited environment variable $k: $line" ;;
			esac
		done
	done <"$T/pm2-calls.log"
	[ "$n" -gt 0 ] || fail "the pm2 wrapper was never called"
	log "$n pm2 calls, all as uid $uid, clean env, no inherited fds"
}

# rss_kb PID / fd_count PID
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }

# wait_live_god OLD_PID DEADLINE_S: until pm2.pid names a live God daemon other than OLD_PID,
# owned by the test user; prints its pid. (wait_http alone is not enough after a God kill:
# the orphaned app may still answer on its port.)
wait_live_god() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$2"))) p
	while [ "$(now_ms)" -lt "$deadline" ]; do
		p=$(cat "$PM2_HOME/pm2.pid" 2>/dev/null || true)
		if [ -n "$p" ] && [ "$p" != "$1" ] && [ "$(uid_of "$p")" = "$(id -u "$TEST_USER")" ] &&
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "God Daemon"; then
			echo "$p"
			return 0
		fi
		sleep 0.05
	done
	fail "no live God daemon other than $1 within $2 s"
}

# kill_app_expect_pm2_restart PID: SIGKILLs the app's PID; amexbpf reports the exit and
# PM2's own restart, and the app serves again.
kill_app_expect_pm2_restart() {
	mark_events
	kill -KILL "$1"
	wait_event process-exited ".process.pid == $1" 5 >/dev/null
	wait_event pm2-restarted-app ".service.name == \"$APP_NAME\"" 10 >/dev/null
	wait_http "$PORT" 15
}
