#!/bin/bash
# SPDX-License-Identifier: MIT
# The command line: each kind of bad input gets one line on stderr and its documented exit
# code; `amexbpf check` (one pass of the old cron script) says healthy, recovers a dead
# daemon with exit 1, and `version` prints the version.
source "$(dirname "$0")/lib.sh"

setup_test
start_app

# expect_exit CODE ARGS...: run amexbpf, check the exit code and that stderr is one line.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/cli.out" 2>"$T/cli.err" </dev/null || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/cli.err" >&2; fail "exit $rc, expected $want: $*"; }
	[ "$(wc -l <"$T/cli.err")" -eq 1 ] || { cat "$T/cli.err" >&2; fail "not one line on stderr: $*"; }
}

common=(--pm2-home "$PM2_HOME" --state-dir "$T/cli-state" --pm2 "$PM2_BIN")
expect_exit 64 "$AMX_BIN" run --no-such-flag
expect_exit 64 "$AMX_BIN" frobnicate
expect_exit 64 "$AMX_BIN" run "${common[@]}" --grace soon
expect_exit 66 "$AMX_BIN" run "${common[@]}" --ecosystem "$T/missing.config.js"
expect_exit 66 "$AMX_BIN" run --pm2-home "$T/no-such-home" --state-dir "$T/cli-state" --pm2 "$PM2_BIN"
expect_exit 66 "$AMX_BIN" run "${common[@]/$PM2_BIN/$T/no-pm2}"
expect_exit 77 setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups "$AMX_BIN" run "${common[@]}"

# An invalid dump with no good copy kept yet: 65, and nothing is touched.
cp "$PM2_HOME/dump.pm2" "$T/dump.saved"
as_test_user sh -c 'printf "{{{" > "$PM2_HOME/dump.pm2"'
expect_exit 65 "$AMX_BIN" run "${common[@]}" --state-dir "$T/empty-state"
as_test_user cp "$T/dump.saved" "$PM2_HOME/dump.pm2"

"$AMX_BIN" version | grep -Eq '^amexbpf [0-9]+\.[0-9]+\.[0-9]+$' || fail "version output"
# Whole outputs first: grep -q stops reading at the first match, and under pipefail the
# writer's SIGPIPE would fail the pipeline (seen once, the help text being long).
help=$("$AMX_BIN" run --help) || fail "run --help exited non-zero"
grep -q -- '--manual-grace' <<<"$help" || fail "run --help"
help=$("$AMX_BIN" check --help) || fail "check --help exited non-zero"
grep -q 'Exit codes' <<<"$help" || fail "check --help"

# check: healthy -> 0
rc=0
"$AMX_BIN" check "${common[@]}" 2>"$T/check.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/check.err" >&2; fail "check on a healthy host exited $rc"; }

# check: daemon killed -> tier 2 -> 1, and the app answers again
old=$(app_pid "$PORT")
god=$(god_pid)
kill -9 "$god"
wait_gone "$god" 5
rc=0
"$AMX_BIN" check "${common[@]}" 2>"$T/check.err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/check.err" >&2; fail "check after a daemon kill exited $rc, expected 1"; }
new=$(wait_http_new_pid "$PORT" "$old" 20)
record_pid "$new"
record_pid "$(god_pid)"
[ "$(uid_of "$(god_pid)")" = "$(id -u "$TEST_USER")" ] || fail "check started the daemon as another user"
