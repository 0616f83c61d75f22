#!/bin/bash
# SPDX-License-Identifier: MIT
# `make run`: watch this machine's PM2 if it has one; otherwise set up a demo app under the
# pinned PM2 as the user amxtest and watch that, in the foreground, until Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."

# A PM2 home in use: root's or any user's ~/.pm2 that has a dump or a daemon pid file.
pm2_home_exists() {
	local home
	while IFS=: read -r _ _ _ _ _ home _; do
		[ -n "$home" ] && [ -d "$home/.pm2" ] || continue
		if [ -e "$home/.pm2/dump.pm2" ] || [ -e "$home/.pm2/pm2.pid" ]; then
			return 0
		fi
	done < <(getent passwd; echo "root:x:0:0::/root:")
	return 1
}

if pm2_home_exists; then
	exec ./amexbpf run -v --events -
fi

# shellcheck source=e2e/lib.sh
source tests/e2e/lib.sh
TEST_NAME=demo
PREFERRED_PORT=3000
setup_test
start_app

cat <<EOM
Demo: PM2_HOME=$PM2_HOME, app $APP_NAME on http://127.0.0.1:$PORT/ (run as $TEST_USER). In another terminal:
  kill -9 $(app_pid "$PORT")   # kill the app: PM2 restarts it, amexbpf reports it
  kill -9 $(god_pid)   # kill the PM2 daemon: amexbpf resurrects it (tier 2)
  curl -s http://127.0.0.1:$PORT/   # see which pid answers; Ctrl-C here stops the demo
EOM

"$AMX_BIN" run --pm2-home "$PM2_HOME" --pm2 "$PM2_BIN" --ecosystem "$ECO" \
	--state-dir "$T/state" --events -
