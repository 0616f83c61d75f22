#!/bin/bash
# SPDX-License-Identifier: MIT
# Log retention at start-up: in DIR, only the old regular *.log files go. A new log, an old
# file of another name, a symlink to a file outside DIR, a subdirectory (and the old log in
# it) and a directory named *.log all stay. The work is done as DIR's owner: in a directory
# its owner cannot write, nothing goes and the event says why.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
LOGS=$T/logs
RO=$T/ro-logs
OUTSIDE=$T/outside.log
mkdir -p "$LOGS/sub" "$LOGS/olddir.log" "$RO"
old() { touch -h -d '10 days ago' "$@"; }
echo old >"$LOGS/old.log"
echo old >"$LOGS/old2.log"
echo new >"$LOGS/new.log"
echo old >"$LOGS/old.txt"
echo old >"$LOGS/sub/old.log"
echo precious >"$OUTSIDE"
ln -s "$OUTSIDE" "$LOGS/link.log"
echo old >"$RO/old.log"
old "$LOGS/old.log" "$LOGS/old2.log" "$LOGS/old.txt" "$LOGS/sub/old.log" "$LOGS/olddir.log" \
	"$OUTSIDE" "$LOGS/link.log" "$RO/old.log"
chown -R "$TEST_USER:$TEST_USER" "$LOGS" "$RO"
chown -h "$TEST_USER:$TEST_USER" "$LOGS/link.log"
chmod 555 "$RO"

start_amexbpf --retain "$LOGS=7" --retain "$RO=7"
ev=$(wait_event logs-retained ".amexbpf.retain.dir == \"$LOGS\"" 10)
jq -e '(.amexbpf.retain.removed | sort) == ["old.log", "old2.log"] and .amexbpf.retain.count == 2
       and .amexbpf.retain.days == 7 and .amexbpf.retain.bytes == 8' <<<"$ev" >/dev/null ||
	fail "logs-retained does not report exactly old.log and old2.log: $ev"
for f in new.log old.txt sub/old.log olddir.log link.log; do
	[ -e "$LOGS/$f" ] || [ -L "$LOGS/$f" ] || fail "$f was removed"
done
[ ! -e "$LOGS/old.log" ] && [ ! -e "$LOGS/old2.log" ] || fail "an old log is still there"
[ "$(cat "$OUTSIDE")" = precious ] || fail "the file outside the directory changed"

ev=$(wait_event logs-retained ".amexbpf.retain.dir == \"$RO\"" 10)
jq -e '.amexbpf.retain.count == 0 and .amexbpf.retain.errors == 1 and
       (.event.reason | test("Permission denied"))' <<<"$ev" >/dev/null ||
	fail "retention in an unwritable directory was not done as its owner: $ev"
[ -e "$RO/old.log" ] || fail "root's rights removed a file its owner could not"
chmod 755 "$RO"
check_contract
