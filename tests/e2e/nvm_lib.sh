# SPDX-License-Identifier: MIT
# An nvm host for the end-to-end tests: the test runs in a private mount namespace where
# /usr/bin/node is hidden, and a user's Node (the system's binary, hard-linked) and the pinned
# PM2 (a copy) live under ~/.nvm/versions/node/vX/ as nvm lays them out. Source after lib.sh
# and call nvm_enter_namespace before anything else.
# shellcheck shell=bash

# Re-runs the test in a private mount namespace (once): the bind mount that hides node is
# seen by this test, its pm2 commands and its amexbpf, and by no one else on the host.
nvm_enter_namespace() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (mount namespace)"
	command -v unshare >/dev/null || skip "unshare is missing"
	if [ -z "${AMX_NVM_NS:-}" ]; then
		AMX_NVM_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
	fi
}

# nvm_hide_system_node: /usr/bin/node becomes an empty, non-executable file (in here only).
nvm_hide_system_node() {
	: >"$T/no-node"
	chmod 644 "$T/no-node"
	mount --bind "$T/no-node" /usr/bin/node || fail "cannot hide /usr/bin/node"
	hash -r
	! env PATH=/usr/local/bin:/usr/bin:/bin sh -c 'command -v node' >/dev/null ||
		fail "node is still found on PATH after hiding /usr/bin/node"
}

# nvm_install USER HOME: ~/.nvm/versions/node/<version>-t<pid>/{bin/node,bin/pm2,lib/node_modules}
# for USER, owned by USER except node (root's, as a hard link: both are allowed). Sets
# NVM_MADE to that version directory; the cleanup removes it. Not in $(...): the cleanup's
# list would be a subshell's.
NVM_DIRS=()
nvm_install() {
	local user=$1 home=$2 v dir
	v=$(/usr/bin/node --version) || fail "no system node to copy"
	dir=$home/.nvm/versions/node/$v-t$$
	mkdir -p "$dir/bin" "$dir/lib/node_modules" || fail "cannot create $dir"
	cp -a "${PM2_PLACE_BIN%/.bin/pm2}/." "$dir/lib/node_modules/" || fail "cannot copy the pinned PM2 to $dir"
	rm -rf "$dir/lib/node_modules/.bin"
	ln -s ../lib/node_modules/pm2/bin/pm2 "$dir/bin/pm2"
	# Only what this run made, before the link: a -R over all of ~/.nvm would also chown
	# another run's hard link, that is /usr/bin/node itself, to the user.
	chown -R "$user:" "$dir"
	chown "$user:" "$home/.nvm" "$home/.nvm/versions" "$home/.nvm/versions/node"
	# hard link (no 100 MB copy); root's node inside the user's tree is allowed
	ln /usr/bin/node "$dir/bin/node" 2>/dev/null || cp /usr/bin/node "$dir/bin/node" ||
		fail "cannot put node in $dir"
	nvm_forget_later "$dir"
	NVM_MADE=$dir
}

# nvm_forget_later DIR: the cleanup removes DIR.
nvm_forget_later() {
	NVM_DIRS+=("$1")
	[ "${#NVM_DIRS[@]}" -eq 1 ] && CLEANUP_HOOKS+=(nvm_cleanup)
	return 0
}

nvm_cleanup() {
	local d
	for d in "${NVM_DIRS[@]}"; do
		rm -rf "$d"
		# ~/.nvm/versions/node, ~/.nvm/versions, ~/.nvm when nothing else is left there
		rmdir "${d%/*}" "${d%/*/*}" "${d%/*/*/*}" 2>/dev/null
	done
	return 0
}

# exe_of PID: the binary a process runs (its /proc/PID/exe).
exe_of() {
	readlink "/proc/$1/exe"
}

# ensure_user NAME HOME: a system user like the test user.
ensure_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	useradd --system --create-home --home-dir "$2" --shell /usr/sbin/nologin "$1" ||
		fail "cannot create user $1"
}
