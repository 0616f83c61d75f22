#!/bin/bash
# SPDX-License-Identifier: MIT
# The Node installs of real PM2 hosts besides nvm (t_nvm), each laid out for the test user
# as its manager does, from the host's node binary (hard-linked) and the pinned PM2 (copied):
#   n        N_PREFIX/bin/node, N_PREFIX/lib/node_modules/pm2, N_PREFIX/bin/pm2 -> it
#   volta    VOLTA_HOME/tools/image/node/<v>/bin/node; `volta install pm2`'s package image
#            VOLTA_HOME/tools/image/packages/pm2/{bin/pm2,lib/node_modules/pm2}; shims in
#            VOLTA_HOME/bin. Volta's shim is a binary we do not have: a script stands in for
#            it and does what it does (runs the package image's bin with the node image's
#            bin first on PATH and VOLTA_HOME/bin taken out), so the daemon's PATH names no pm2
#   package  the distribution's /usr/bin/node, pm2 installed with npm's prefix ~/.npm-global
#            (its bin on the user's PATH)
# In turn, the user starts PM2 from the layout and amexbpf, given no --pm2 and no pm2 on
# its PATH, must name the layout's pm2 and node in status (learned from the daemon), bring
# the app back after `pm2 stop` (tier 1) and after a daemon SIGKILL (tier 2) with that pm2,
# the new daemon running on that node as the user.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nvm_lib.sh"

setup_test
V=$(/usr/bin/node --version) || fail "no system node to copy"
PINNED=${PM2_PLACE_BIN%/.bin/pm2} # the pinned PM2's node_modules
LAYOUT_DIRS=()
layouts_cleanup() {
	local d
	for d in "${LAYOUT_DIRS[@]}"; do rm -rf "$d"; done
	return 0
}
CLEANUP_HOOKS+=(layouts_cleanup)

# npm_prefix DIR: DIR/lib/node_modules with the pinned PM2, DIR/bin/pm2 linked to it, as
# `npm i -g pm2` with that prefix makes them.
npm_prefix() {
	mkdir -p "$1/bin" "$1/lib/node_modules" || fail "cannot create $1"
	cp -a "$PINNED/." "$1/lib/node_modules/" || fail "cannot copy the pinned PM2 to $1"
	rm -rf "$1/lib/node_modules/.bin"
	ln -s ../lib/node_modules/pm2/bin/pm2 "$1/bin/pm2"
}

# own DIR: DIR and all in it the test user's (before any link to /usr/bin/node is made in
# it: chown follows a hard link to the one inode).
own() {
	chown -R "$TEST_USER:" "$1"
}

# check_layout NAME PM2 NODE: the app started from this layout; status, tier 1, tier 2.
check_layout() {
	local name=$1 want_pm2=$2 want_node=$3 god doc ev
	log "$name: the app started with $PM2_BIN"
	start_app
	god=$(god_pid)
	[ "$(exe_of "$god")" = "$want_node" ] || fail "$name: the daemon runs $(exe_of "$god"), expected $want_node"
	rm -rf "$T/state"
	PATH=/usr/sbin:/usr/bin:/sbin:/bin AMX_PM2_FLAG=0 start_amexbpf --manual-grace 0
	doc=$("$AMX_BIN" status --json --socket "$SOCK") || fail "amexbpf status --json failed"
	jq -e --arg pm2 "$want_pm2" --arg node "$want_node" \
		'.homes[0].pm2 | .path == $pm2 and .node == $node and .source == "daemon"' <<<"$doc" >/dev/null ||
		fail "$name: status names $(jq -c '.homes[0].pm2' <<<"$doc"), expected $want_pm2 on $want_node"

	mark_events
	pm2u stop "$APP_NAME" >/dev/null || fail "$name: pm2 stop failed"
	ev=$(wait_event recovery-started ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 10)
	[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$want_pm2" ] ||
		fail "$name: tier 1 runs $(jq -c .amexbpf.command <<<"$ev"), expected $want_pm2"
	wait_event recovery-succeeded ".service.name == \"$APP_NAME\" and .amexbpf.tier == 1" 15 >/dev/null
	wait_http "$PORT" 10
	record_pid "$(app_pid "$PORT")"

	mark_events
	kill -9 "$god"
	ev=$(wait_event recovery-started '.amexbpf.tier == 2' 10)
	[ "$(jq -r '.amexbpf.command[0]' <<<"$ev")" = "$want_pm2" ] ||
		fail "$name: tier 2 runs $(jq -c .amexbpf.command <<<"$ev"), expected $want_pm2"
	wait_event recovery-succeeded ".amexbpf.tier == 2 and .service.name == \"$APP_NAME\"" 20 >/dev/null
	wait_http "$PORT" 15
	god=$(god_pid)
	record_pid "$god"
	record_pid "$(app_pid "$PORT")"
	[ "$(exe_of "$god")" = "$want_node" ] || fail "$name: the new daemon runs $(exe_of "$god"), expected $want_node"
	[ "$(uid_of "$god")" = "$(id -u "$TEST_USER")" ] || fail "$name: the new daemon runs as uid $(uid_of "$god")"
	stop_amexbpf
	pm2u kill >/dev/null 2>&1 || fail "$name: pm2 kill failed"
	wait_gone "$god" 10
}

# n, with a per-user prefix (N_PREFIX=~/n; n's own cache of versions left out).
N=$TEST_HOME/n-t$$
LAYOUT_DIRS+=("$N")
npm_prefix "$N"
own "$N"
ln /usr/bin/node "$N/bin/node" 2>/dev/null || cp /usr/bin/node "$N/bin/node" || fail "cannot put node in $N"
PM2_BIN=$N/bin/pm2
TEST_PATH=$N/bin:/usr/bin:/bin
check_layout n "$N/bin/pm2" "$N/bin/node"

# volta (VOLTA_HOME is ~/.volta by default; any directory has the same layout).
VH=$TEST_HOME/.volta-t$$
LAYOUT_DIRS+=("$VH")
IMAGE=$VH/tools/image/node/${V#v}
PKG=$VH/tools/image/packages/pm2
mkdir -p "$IMAGE/bin" "$VH/bin" "$VH/tools/user/bins" "$VH/tools/shared" || fail "cannot create $VH"
npm_prefix "$PKG"
printf '{"node":{"runtime":"%s","npm":null},"pnpm":null,"yarn":null}\n' "${V#v}" >"$VH/tools/user/platform.json"
printf '{"name":"pm2","package":"pm2","version":"%s","platform":{"node":"%s"},"manager":"Npm"}\n' \
	"$(jq -r .version "$PKG/lib/node_modules/pm2/package.json")" "${V#v}" >"$VH/tools/user/bins/pm2.json"
cat >"$VH/bin/volta-shim" <<EOF
#!/bin/sh
# Stands in for volta's shim binary (tests/e2e/t_layouts.sh): the package image's bin, run
# with the node image's bin first on PATH and the shim directory taken out, as volta does.
rest=\$(printf '%s\n' "\$PATH" | tr : '\n' | grep -vxF '$VH/bin' | paste -sd:)
PATH='$IMAGE/bin':\$rest NODE_PATH='$VH/tools/shared' exec '$PKG/bin/'"\${0##*/}" "\$@"
EOF
chmod 755 "$VH/bin/volta-shim"
ln -s volta-shim "$VH/bin/pm2"
own "$VH"
ln /usr/bin/node "$IMAGE/bin/node" 2>/dev/null || cp /usr/bin/node "$IMAGE/bin/node" || fail "cannot put node in $IMAGE"
PM2_BIN=$VH/bin/pm2
TEST_PATH=$VH/bin:/usr/bin:/bin
check_layout volta "$PKG/bin/pm2" "$IMAGE/bin/node"

# The distribution's node, pm2 under the user's npm prefix.
P=$TEST_HOME/.npm-global-t$$
LAYOUT_DIRS+=("$P")
npm_prefix "$P"
own "$P"
PM2_BIN=$P/bin/pm2
TEST_PATH=$P/bin:/usr/bin:/bin
check_layout package "$P/bin/pm2" /usr/bin/node

check_contract
