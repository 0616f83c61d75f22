# SPDX-License-Identifier: MIT
# The pinned PM2 where the unprivileged test user can run it, wherever the checkout lives.
# Sourced by tests/e2e/lib.sh (each test, the demo) and tests/run.sh (a whole run).
# shellcheck shell=bash disable=SC2034 # PM2_PLACE_BIN, PM2_PLACE_ERR: for the sourcing script
#
# Why: the tests and the demo run PM2 as the user amxtest, and a checkout may sit below a
# directory amxtest cannot enter (root's home is 0700), so tests/pm2/node_modules is out of
# its reach there. We never loosen the permissions of anybody's own directories, and the copy
# does not go into amxtest's home either: amxtest owns that directory and could swap files in
# it that root then hands to amexbpf as --pm2. So the copy lives in a root-owned, 0755 place,
# PM2_PLACE/pm2-<hash of package-lock.json>, and it is used even when the checkout is
# readable: CI, which clones into a world-readable folder, then runs the same path as a clone
# under /root. Each user of the copy (a tests/run.sh run, a test, the demo) registers its pid;
# the last one to leave removes the copy and PM2_PLACE itself, and entries of pids that died
# without leaving (a killed run) are pruned by the next user. Creating, registering and
# removing happen under a flock of /var/lib, a directory that is never removed, so a removal
# cannot race with another user's creation. A copy takes about half a second.

PM2_PLACE=${PM2_PLACE:-/var/lib/amexbpf-tests}
# For the sourcing script: the pm2 to run, and why pm2_place_acquire failed (one line).
PM2_PLACE_BIN="" PM2_PLACE_ERR=""

# pm2_place_key LOCKFILE: the name of the copy of the PM2 that LOCKFILE pins.
pm2_place_key() {
	echo "pm2-$(sha256sum <"$1" | cut -c1-16)"
}

# The start time of PID (clock ticks since boot), empty if PID is gone: with the pid it names
# one process, even once the pid is reused.
pm2_place_start_time() {
	awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null
}

# Under the lock: drops entries of dead users, then copies without users, then PM2_PLACE
# itself once it is empty.
pm2_place_prune() {
	local entry base pid start key dir
	for entry in "$PM2_PLACE"/users/*; do
		[ -f "$entry" ] || continue
		base=${entry##*/} # PID.START.KEY
		pid=${base%%.*}
		start=${base#*.}
		start=${start%%.*}
		[ "$(pm2_place_start_time "$pid")" = "$start" ] || rm -f "$entry"
	done
	for dir in "$PM2_PLACE"/pm2-*; do
		[ -d "$dir" ] || continue
		key=${dir##*/}
		case "$key" in *.tmp.*) ;; *)
			compgen -G "$PM2_PLACE/users/*.$key" >/dev/null && continue ;;
		esac
		rm -rf "$dir"
	done
	rmdir "$PM2_PLACE/users" "$PM2_PLACE" 2>/dev/null || true
}

# pm2_place_acquire REPO HOLDER_PID: makes sure PM2_PLACE holds a copy of REPO's pinned PM2,
# registers HOLDER_PID as its user and sets PM2_PLACE_BIN. Returns 1 with PM2_PLACE_ERR set.
pm2_place_acquire() {
	local repo=$1 holder=$2 key start
	PM2_PLACE_BIN="" PM2_PLACE_ERR=""
	if [ ! -x "$repo/tests/pm2/node_modules/.bin/pm2" ]; then
		PM2_PLACE_ERR="$repo/tests/pm2/node_modules/.bin/pm2 is missing (run make deps)"
		return 1
	fi
	key=$(pm2_place_key "$repo/tests/pm2/package-lock.json") || return 1
	start=$(pm2_place_start_time "$holder")
	[ -n "$start" ] || { PM2_PLACE_ERR="no process $holder"; return 1; }
	PM2_PLACE_ERR=$(
		umask 022
		exec 9</var/lib
		flock -w 120 9 || { echo "cannot lock /var/lib within 120 s"; exit 1; }
		{ [ -d "$PM2_PLACE" ] || mkdir -m 0755 "$PM2_PLACE"; } 2>&1 || exit 1
		{ [ -d "$PM2_PLACE/users" ] || mkdir -m 0755 "$PM2_PLACE/users"; } 2>&1 || exit 1
		# Someone else's directory there could hand amxtest (and root) a PM2 of its choosing.
		for d in "$PM2_PLACE" "$PM2_PLACE/users"; do
			if [ -L "$d" ] || [ "$(stat -c '%u %A' "$d")" != "0 drwxr-xr-x" ]; then
				echo "$d is not a root-owned directory of mode 0755: remove it and retry"
				exit 1
			fi
		done
		if [ ! -x "$PM2_PLACE/$key/node_modules/.bin/pm2" ]; then
			tmp=$PM2_PLACE/$key.tmp.$$
			rm -rf "$tmp" "${PM2_PLACE:?}/$key"
			mkdir -m 0755 "$tmp" &&
				cp -a "$repo/tests/pm2/node_modules" "$repo/tests/pm2/package-lock.json" "$tmp/" &&
				chown -R root:root "$tmp" && chmod -R u+rwX,go+rX,go-w "$tmp" &&
				mv "$tmp" "$PM2_PLACE/$key" ||
				{ rm -rf "$tmp"; echo "cannot copy the pinned PM2 to $PM2_PLACE/$key"; exit 1; }
		fi
		: >"$PM2_PLACE/users/$holder.$start.$key"
	) || return 1
	PM2_PLACE_BIN=$PM2_PLACE/$key/node_modules/.bin/pm2
}

# pm2_place_release HOLDER_PID: HOLDER_PID no longer uses the copy; the last user removes it.
pm2_place_release() {
	local holder=$1
	[ -d "$PM2_PLACE/users" ] || return 0
	(
		flock -w 120 9 || exit 1
		rm -f "$PM2_PLACE/users/$holder".*
		pm2_place_prune
	) 9</var/lib
}
