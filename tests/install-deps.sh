#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/install-deps.sh PKG...: install the Debian packages that are missing, then the pinned
# PM2 into tests/pm2/node_modules. Quiet when there is nothing to do; one line per thing
# installed; one line and a non-zero exit on failure.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

die() {
	echo "install-deps: $*" >&2
	exit 1
}

# Names that installed packages provide: e.g. NodeSource's nodejs provides (and conflicts
# with) npm, so asking apt for npm there would fail.
provided_names=$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
	awk -F'|' '$1 == "ii " { n = split($2, a, /, */); for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); if (a[i] != "") print a[i] } }')

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ] ||
		grep -qxF -- "$1" <<<"$provided_names"
}

missing=()
for pkg in "$@"; do
	is_installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "need root to install Debian packages: ${missing[*]}"
	log=$(mktemp /tmp/amx-deps.XXXXXX) || die "cannot create a temporary log file"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get update >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		rm -f "$log"
		die "apt-get update failed"
	fi
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		rm -f "$log"
		die "apt-get install failed for: ${missing[*]}"
	fi
	rm -f "$log"
	for pkg in "${missing[@]}"; do
		is_installed "$pkg" || die "package $pkg is still not installed after apt-get install"
		echo "installed Debian package $pkg"
	done
fi

# The pinned PM2: (re)install when node_modules is missing or older than the lock file.
pm2_dir=tests/pm2
pm2_bin=$pm2_dir/node_modules/.bin/pm2
if [ ! -x "$pm2_bin" ] || [ "$pm2_dir/package-lock.json" -nt "$pm2_dir/node_modules" ]; then
	command -v npm >/dev/null || die "npm is not installed (add nodejs and npm to the package list)"
	log=$(mktemp /tmp/amx-deps.XXXXXX) || die "cannot create a temporary log file"
	if ! (cd "$pm2_dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		rm -f "$log"
		die "npm ci failed in $pm2_dir"
	fi
	rm -f "$log"
	[ -x "$pm2_bin" ] || die "npm ci did not install $pm2_bin"
	# npm ci keeps the directory's old mtime in some cases; mark it fresh.
	touch "$pm2_dir/node_modules"
	# Read the version from package.json: running `pm2 --version` would start a daemon.
	version=$(node -p 'require("./tests/pm2/node_modules/pm2/package.json").version' 2>/dev/null)
	echo "installed PM2 ${version:-?} in $pm2_dir/node_modules"
fi
exit 0
