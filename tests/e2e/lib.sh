# SPDX-License-Identifier: MIT
# Shared helpers for the end-to-end tests; each tests/e2e/t_*.sh sources this file.
# A test runs as root, drives a real PM2 (the pinned one) as the unprivileged user amxtest in
# a private PM2_HOME, runs ./amexbpf against it and asserts on amexbpf's NDJSON events.
# Exit status: 0 pass, 1 fail, 77 skipped (not root or no BPF). Set KEEP=1 to keep the work dir.
# shellcheck shell=bash

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"

TEST_USER=amxtest
TEST_HOME=/var/lib/amxtest
AMX_BIN=${AMEXBPF:-$REPO/amexbpf} # AMEXBPF=path tests another build
PM2_BIN=$REPO/tests/pm2/node_modules/.bin/pm2
TEST_NAME=$(basename "$0" .sh)

T=""           # private work dir of this test
PM2_HOME=""
ECO=""         # the generated ecosystem file
APP_NAME=""    # the app started from ECO
PORT=""        # its port
AMX_PID=""     # the running amexbpf, if any
AMX_RUNS=0
EVENTS=""      # the events file of the current amexbpf run
SOCK=""        # its control socket
EVENT_CURSOR=0 # wait_event/count_events/no_event look only at lines after this one
FAIL_MSG=""
CRASH_FILE=""  # the app exits at start-up while this file exists
EV_NAME=""     # available as $name in event filters (for names jq cannot quote inline)
ECO_STARTED=0  # 1 once the app was started from ECO: amexbpf then gets --ecosystem
RECORDED_PIDS=()
CLEANUP_HOOKS=()
INT_STATUS=130 # the exit status after SIGINT (the demo's is 0: Ctrl-C is how it ends)
DONE_MSG=""    # cleanup's last line when all went well (default "ok TEST_NAME")
PM2_HELD=0     # 1 while this test is registered as a user of the PM2 copy (tests/pm2-place.sh)
TEST_PATH=/usr/bin:/bin # the test user's PATH (an nvm test puts its node and pm2 first)

# ---------------------------------------------------------------------------- outcome

# fail MSG: one line, exit 1. Called inside $(...) it ends only that subshell (whose exit
# status then ends the test under set -e), so the message is also kept in $T/fail.msg.
fail() {
	FAIL_MSG="$*"
	echo "FAIL $TEST_NAME: $*" >&2
	[ -n "$T" ] && [ -d "$T" ] && echo "$*" >"$T/fail.msg"
	exit 1
}

skip() {
	echo "SKIP $TEST_NAME: $*" >&2
	exit 77
}

log() {
	printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# Seconds (decimals allowed) to milliseconds.
secs_to_ms() {
	awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'
}

# ---------------------------------------------------------------------------- set-up

require_root_and_bpf() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (BPF, setpriv, cgroups)"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF (/sys/kernel/btf/vmlinux)"
	if command -v bpftool >/dev/null && ! bpftool prog show >/dev/null 2>&1; then
		skip "the bpf() system call is not permitted here"
	fi
	[ -x "$AMX_BIN" ] || fail "$AMX_BIN is not built (run make)"
	[ -x "$PM2_BIN" ] || fail "$PM2_BIN is missing (run make deps)"
	command -v jq >/dev/null || fail "jq is missing (run make deps)"
	command -v curl >/dev/null || fail "curl is missing (run make deps)"
}

ensure_test_user() {
	id -u "$TEST_USER" >/dev/null 2>&1 && return 0
	useradd --system --create-home --home-dir "$TEST_HOME" --shell /usr/sbin/nologin \
		"$TEST_USER" || fail "cannot create user $TEST_USER"
}

# A second unprivileged user, created like the first: the other tenant of the tests that
# need two (tests/e2e/t_x_tenants.sh).
TEST_USER2=amxtest2
TEST_HOME2=/var/lib/amxtest2
ensure_second_user() {
	id -u "$TEST_USER2" >/dev/null 2>&1 && return 0
	useradd --system --create-home --home-dir "$TEST_HOME2" --shell /usr/sbin/nologin \
		"$TEST_USER2" || fail "cannot create user $TEST_USER2"
}

# as_second_user CMD...: CMD as $TEST_USER2, clean environment.
as_second_user() {
	setpriv --reuid "$TEST_USER2" --regid "$TEST_USER2" --init-groups \
		env -i -C / HOME="$TEST_HOME2" PATH=/usr/bin:/bin "$@"
}

# The test user runs the pinned PM2 from a root-owned copy outside the checkout
# (tests/pm2-place.sh says why), and Node from /usr/bin: the checkout may live where it
# cannot go (a clone under /root). Fails in one line saying what to do when it cannot.
ensure_pm2_reachable() {
	# shellcheck source=tests/pm2-place.sh
	source "$REPO/tests/pm2-place.sh"
	pm2_place_acquire "$REPO" $$ || fail "cannot set up the pinned PM2 for $TEST_USER: $PM2_PLACE_ERR"
	PM2_HELD=1
	PM2_BIN=$PM2_PLACE_BIN
	as_test_user node -e 0 >/dev/null 2>&1 ||
		fail "$TEST_USER cannot run node from /usr/bin (PATH=/usr/bin:/bin): install Debian's nodejs (make deps)"
	as_test_user test -x "$PM2_BIN" -a -r "${PM2_BIN%/.bin/pm2}/pm2/package.json" ||
		fail "$TEST_USER cannot run $PM2_BIN: make $PM2_PLACE and the path to it readable by all"
}

# free_port [PREFERRED]: PREFERRED if nobody listens on it, else a random free port from a
# range below the ephemeral ports.
free_port() {
	local p
	if [ -n "${1:-}" ] && [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; then
		echo "$1"
		return 0
	fi
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 10000))
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	fail "found no free TCP port"
}

# Makes the work dir T (short path: unix sockets are limited to 108 bytes), PM2_HOME and a
# copy of the test app with an ecosystem file whose values are fixed at generation time, so
# that amexbpf's tier 3 (which runs pm2 with a clean environment) starts the same app.
# Honours AMX_APP_NAME, AMX_MAX_RESTARTS, AMX_MIN_UPTIME, AMX_MAX_MEMORY_RESTART; the app's
# CRASH_FILE is always $T/crash (absent unless a test creates it), NOLISTEN_FILE $T/nolisten,
# CLOSE_FILE $T/close (the app closes its server once it exists).
setup_test() {
	require_root_and_bpf
	ensure_test_user
	T=$(mktemp -d /tmp/amx.XXXXXX) || fail "cannot create a work dir under /tmp"
	chmod 755 "$T"
	trap cleanup EXIT
	trap 'exit 130' TERM
	trap 'exit $INT_STATUS' INT
	ensure_pm2_reachable
	PM2_HOME=$T/pm2
	mkdir -p "$PM2_HOME" "$T/app"
	chown "$TEST_USER:$TEST_USER" "$PM2_HOME"
	cp "$REPO"/tests/app/server.js "$REPO"/tests/app/hog.js "$T/app/"
	cp "$REPO/tests/app/ecosystem.config.js" "$T/app/ecosystem.template.js"
	PORT=$(free_port "${PREFERRED_PORT:-}")
	APP_NAME=${AMX_APP_NAME:-demo-api}
	ECO=$T/app/ecosystem.config.js
	CRASH_FILE=$T/crash
	NOLISTEN_FILE=$T/nolisten
	CLOSE_FILE=$T/close
	AMX_PORT=$PORT AMX_CRASH_FILE=$CRASH_FILE AMX_NOLISTEN_FILE=$NOLISTEN_FILE \
		AMX_CLOSE_FILE=$CLOSE_FILE node -e '
		const eco = require(process.argv[1]);
		process.stdout.write("// Generated by tests/e2e/lib.sh from ecosystem.template.js.\n" +
			"module.exports = " + JSON.stringify(eco, null, 2) + ";\n");
	' "$T/app/ecosystem.template.js" >"$ECO" || fail "cannot generate $ECO"
	chmod -R a+rX "$T/app"
	log "work dir $T, PM2_HOME $PM2_HOME, app $APP_NAME on port $PORT"
}

# private_checkout: a checkout of $REPO where a new user gets one, `git clone` as root into
# root's home: below a directory of mode 0700 ($T/private), which the test user cannot enter.
# The working tree's files go on top of the clone, so what runs is what is in $REPO,
# committed or not; the build products and the pinned PM2 are copied with their times, so
# make and make deps find nothing to redo there. Sets CLONE.
private_checkout() {
	local parent=$T/private
	mkdir -m 0700 "$parent" || fail "cannot create $parent"
	CLONE=$parent/amexbpf
	if command -v git >/dev/null && git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		git clone -q "$REPO" "$CLONE" >"$T/clone.out" 2>&1 ||
			{ cat "$T/clone.out" >&2; fail "git clone $REPO $CLONE failed"; }
		(cd "$REPO" && git ls-files -z -co --exclude-standard |
			tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$CLONE" ||
			fail "cannot copy the working tree of $REPO into $CLONE"
	else
		mkdir "$CLONE"
		tar -C "$REPO" --exclude=./.output --exclude=./amexbpf --exclude=./tests/pm2/node_modules \
			-cf - . | tar -xf - -C "$CLONE" || fail "cannot copy $REPO into $CLONE"
	fi
	# Build products only: not the logs of the run in progress.
	tar -C "$REPO" --exclude=./.output/test-logs --exclude=./.output/demo \
		--exclude=./.output/sanitizer -cf - ./.output ./amexbpf ./tests/pm2/node_modules |
		tar -xf - -C "$CLONE" || fail "cannot copy the build products into $CLONE"
	[ "$(stat -c %a "$parent")" = 700 ] || fail "$parent is not mode 0700"
	! as_test_user test -r "$CLONE/Makefile" || fail "$TEST_USER can read $CLONE: nothing would be tested"
	log "private checkout $CLONE"
}

# ---------------------------------------------------------------------------- PM2

# Runs CMD as the test user with a clean environment (argv only, never a shell string), in the
# work dir: the caller's (the checkout) may be closed to the user, and PM2 spawns its daemon
# and apps there, which then fails with "spawn /usr/bin/node EACCES".
as_test_user() {
	setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups \
		env -i -C "${T:-/}" HOME="$TEST_HOME" PM2_HOME="$PM2_HOME" PATH="$TEST_PATH" "$@"
}

# AMX_TIMEOUT_SCALE (default 1) stretches every deadline of a test: under valgrind
# (tests/valgrind/run.sh) and in the kernel matrix's TCG guests (tests/kernels/guest.sh),
# where one pm2 command takes tens of seconds. Absence (no_event) is never stretched.
scaled() {
	echo $(($1 * ${AMX_TIMEOUT_SCALE:-1}))
}

# pm2u ARGS...: the pinned pm2 as the test user, bounded by PM2U_TIMEOUT seconds (60).
pm2u() {
	timeout -k 5 "${PM2U_TIMEOUT:-$(scaled 60)}" \
		setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups \
		env -i -C "${T:-/}" HOME="$TEST_HOME" PM2_HOME="$PM2_HOME" PATH="$TEST_PATH" "$PM2_BIN" "$@"
}

# pm2u_env VAR=VALUE... -- ARGS...: pm2u with extra environment (it reaches the app).
pm2u_env() {
	local extra=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		extra+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	timeout -k 5 "${PM2U_TIMEOUT:-$(scaled 60)}" \
		setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --init-groups \
		env -i -C "${T:-/}" HOME="$TEST_HOME" PM2_HOME="$PM2_HOME" PATH="$TEST_PATH" "${extra[@]}" \
		"$PM2_BIN" "$@"
}

# Starts the app from the ecosystem file in production mode, saves the dump, waits for HTTP.
start_app() {
	pm2u start "$ECO" --env production >"$T/pm2-start.out" 2>&1 ||
		{ cat "$T/pm2-start.out" >&2; fail "pm2 start $ECO failed"; }
	pm2u save >>"$T/pm2-start.out" 2>&1 || { cat "$T/pm2-start.out" >&2; fail "pm2 save failed"; }
	ECO_STARTED=1
	wait_http "$PORT" 20
	record_pid "$(god_pid)"
	record_pid "$(app_pid "$PORT")"
}

god_pid() {
	[ -s "$PM2_HOME/pm2.pid" ] || fail "no $PM2_HOME/pm2.pid"
	cat "$PM2_HOME/pm2.pid"
}

record_pid() {
	RECORDED_PIDS+=("$1")
}

# wait_gone PID DEADLINE_S: until PID has exited (a zombie counts as gone).
wait_gone() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$2") * ${AMX_TIMEOUT_SCALE:-1})) state
	while [ "$(now_ms)" -lt "$deadline" ]; do
		state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || state=""
		[ -z "$state" ] || [ "$state" = Z ] && return 0
		sleep 0.02
	done
	fail "process $1 still runs after $2 s"
}

uid_of() {
	awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------------------- HTTP

# app_pid PORT: the pid the app reports over HTTP.
app_pid() {
	local body pid
	body=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null) ||
		fail "app on port $1 does not answer"
	pid=$(jq -r '.pid // empty' <<<"$body" 2>/dev/null)
	[ -n "$pid" ] || fail "app on port $1 answered without a pid: $body"
	echo "$pid"
}

# wait_http PORT DEADLINE_S: until the app answers.
wait_http() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$2") * ${AMX_TIMEOUT_SCALE:-1}))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		curl -fsS --max-time 0.5 "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "app on port $1 did not answer within $2 s"
}

# wait_http_pid_change PORT OLD_PID DEADLINE_S: until the app answers with another pid.
wait_http_new_pid() {
	local deadline=$(($(now_ms) + $(secs_to_ms "$3") * ${AMX_TIMEOUT_SCALE:-1})) body pid
	while [ "$(now_ms)" -lt "$deadline" ]; do
		body=$(curl -fsS --max-time 0.5 "http://127.0.0.1:$1/" 2>/dev/null) || body=""
		pid=$(jq -r '.pid // empty' <<<"$body" 2>/dev/null) || pid=""
		if [ -n "$pid" ] && [ "$pid" != "$2" ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.05
	done
	fail "app on port $1 did not answer with a pid other than $2 within $3 s"
}

# ---------------------------------------------------------------------------- amexbpf

# start_amexbpf ARGS...: ./amexbpf run as root in the background against this test's
# PM2_HOME; each run writes its own events file (event.sequence restarts per run).
start_amexbpf() {
	AMX_RUNS=$((AMX_RUNS + 1))
	if [ "$AMX_RUNS" -eq 1 ]; then
		EVENTS=$T/events.ndjson
	else
		EVENTS=$T/events.$AMX_RUNS.ndjson
	fi
	[ -n "${AMX_EVENTS_FILE:-}" ] && EVENTS=$AMX_EVENTS_FILE # a test's own place for it
	EVENT_CURSOR=0
	mkdir -p "$T/state"
	chmod 700 "$T/state"
	local eco_args=() mode_args=() home_args=(--pm2-home "$PM2_HOME") pm2_args=(--pm2 "$PM2_BIN")
	# AMX_HOME_FLAG=0: the homes come from the test's config file (a flag would replace them).
	[ "${AMX_HOME_FLAG:-1}" = 0 ] && home_args=()
	# AMX_PM2_FLAG=0: no --pm2, each home's daemon names its own (tests/e2e/nvm_lib.sh).
	[ "${AMX_PM2_FLAG:-1}" = 0 ] && pm2_args=()
	[ "$ECO_STARTED" -eq 1 ] && eco_args=(--ecosystem "$ECO")
	# AMX_MODE=no-bpf runs the whole suite on the process-connector fallback.
	[ "${AMX_MODE:-bpf}" = no-bpf ] && mode_args=(--no-bpf)
	# AMX_DAEMON_ARGS: options every run gets first (the kernel matrix's slower pm2 timeouts).
	# shellcheck disable=SC2206
	[ -n "${AMX_DAEMON_ARGS:-}" ] && mode_args+=(${AMX_DAEMON_ARGS})
	log "starting amexbpf run ${mode_args[*]} ${*}"
	# A private control socket: a test never collides with a daemon that serves the default.
	SOCK=$T/amx.sock
	"$AMX_BIN" run "${home_args[@]}" --events "$EVENTS" --state-dir "$T/state" --socket "$SOCK" \
		"${pm2_args[@]}" "${eco_args[@]}" "${mode_args[@]}" "$@" >>"$T/amexbpf.out" 2>>"$T/amexbpf.log" </dev/null &
	AMX_PID=$!
	wait_event monitor-started "" "${AMX_START_TIMEOUT:-10}" >/dev/null
	log "amexbpf attached: $(matching_events monitor-started | jq -r '.amexbpf.attach' | sed -n 1p)"
}

stop_amexbpf() {
	[ -n "$AMX_PID" ] || return 0
	local pid=$AMX_PID
	AMX_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	# AMX_STOP_TIMEOUT (s, default 5): longer under valgrind, which checks leaks at exit.
	for _ in $(seq 1 $((${AMX_STOP_TIMEOUT:-5} * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "amexbpf (pid $pid) ignored SIGTERM for ${AMX_STOP_TIMEOUT:-5} s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

amexbpf_alive() {
	[ -n "$AMX_PID" ] && kill -0 "$AMX_PID" 2>/dev/null
}

# ---------------------------------------------------------------------------- amexbpf check

# run_check WANT_RC ARGS...: one `amexbpf check ARGS` pass; fails unless it exits WANT_RC.
# What it said stays in $T/check.err, for check_said.
run_check() {
	local want=$1 rc=0
	shift
	"$AMX_BIN" check "$@" >"$T/check.out" 2>"$T/check.err" </dev/null || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/check.err" >&2; fail "check $* exited $rc, expected $want"; }
}

# check_said ERE: the last check pass said a line matching ERE.
check_said() {
	grep -qE "$1" "$T/check.err" || { cat "$T/check.err" >&2; fail "check did not say: $1"; }
}

# ---------------------------------------------------------------------------- events

# The events after the cursor that have ACTION and match FILTER, one compact line each.
matching_events() {
	local action=$1 filter=${2:-true}
	[ -n "$filter" ] || filter=true
	[ -f "$EVENTS" ] || return 0
	tail -n +"$((EVENT_CURSOR + 1))" "$EVENTS" |
		jq -R -c --arg a "$action" --arg name "$EV_NAME" "fromjson? | select(.event.action == \$a) | select($filter)" 2>/dev/null
}

# mark_events: later waits and counts look only at events written from now on.
mark_events() {
	if [ -f "$EVENTS" ]; then
		EVENT_CURSOR=$(wc -l <"$EVENTS")
	else
		EVENT_CURSOR=0
	fi
}

show_events() {
	[ -f "$EVENTS" ] || { echo "  (no events file)"; return 0; }
	jq -R -r 'fromjson? | "  #\(.event.sequence) \(.event.action) \(.service.name // "")" +
		" pid=\(.process.pid // "") tier=\(.amexbpf.tier // "") \(.message // "")"' \
		"$EVENTS" 2>/dev/null | tail -n "${1:-25}"
}

# wait_event ACTION [JQ_FILTER] [TIMEOUT_S]: prints the first matching event after the cursor.
wait_event() {
	local action=$1 filter=${2:-} timeout=${3:-10} line
	# AMX_TIMEOUT_SCALE (default 1): tests/valgrind/run.sh stretches every deadline.
	local deadline=$(($(now_ms) + $(secs_to_ms "$timeout") * ${AMX_TIMEOUT_SCALE:-1}))
	while :; do
		line=$(matching_events "$action" "$filter" | sed -n 1p)
		if [ -n "$line" ]; then
			echo "$line"
			return 0
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "events seen so far:" >&2
			show_events >&2
			fail "no $action event${filter:+ matching $filter} within $timeout s"
		fi
		if [ -n "$AMX_PID" ] && ! kill -0 "$AMX_PID" 2>/dev/null; then
			echo "amexbpf died; its log:" >&2
			tail -n 20 "$T/amexbpf.log" >&2
			fail "amexbpf exited while waiting for $action"
		fi
		sleep 0.05
	done
}

# count_events ACTION [JQ_FILTER]
count_events() {
	matching_events "$1" "${2:-}" | wc -l
}

# no_event ACTION [JQ_FILTER] SECONDS: asserts that no such event appears for that long.
# Asserting absence is the only place a fixed wait is right.
no_event() {
	local action=$1 filter=${2:-} secs=${3:-${2:-}}
	[ $# -lt 3 ] && filter=""
	local deadline=$(($(now_ms) + $(secs_to_ms "$secs"))) line
	while :; do
		line=$(matching_events "$action" "$filter" | sed -n 1p)
		[ -z "$line" ] || fail "unexpected $action event: $line"
		[ "$(now_ms)" -lt "$deadline" ] || return 0
		sleep 0.1
	done
}

# jq_field EVENT_LINE FILTER: one field of an event line.
jq_field() {
	jq -r "$2" <<<"$1"
}

# The contract of events.md as a jq program over a whole events file (read with -R -s):
# prints one line per problem, nothing when every line keeps the contract.
CONTRACT_JQ='
def ok(cond; what): if (try cond catch false) == true then empty else what end;
def str: type == "string" and length > 0;
def strs: type == "array" and length > 0 and all(.[]; type == "string");
def one_of($set): . as $v | $set | index([$v]) != null;
def actions: ["monitor-started", "monitor-stopping", "process-exited", "oom-killed",
  "pm2-daemon-down", "pm2-restarted-app", "app-stopped", "app-errored", "recovery-started",
  "recovery-succeeded", "recovery-failed", "recovery-parked", "dump-changed", "dump-invalid",
  "dump-restored", "memory-over-limit", "disk-over-threshold", "disk-ok", "probe-failed",
  "events-lost", "config-reloaded", "config-invalid", "logs-retained", "home-skipped",
  "recovery-deferred", "events-suppressed", "pm2-drift", "app-reloaded",
  "sched-demoted", "pm2-unit-oom-policy", "app-listening", "port-conflict",
  "app-stopped-listening"];
def problems($e; $n):
  ok($e["@timestamp"] | test("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z$");
     "@timestamp is \($e["@timestamp"] | tojson)"),
  ok($e.ecs.version == "8.11.0"; "ecs.version is not 8.11.0"),
  ok($e.agent.name == "amexbpf"; "agent.name is not amexbpf"),
  ok($e.agent.version | str; "agent.version is not a string"),
  ok($e.host.name | str; "host.name is not a string"),
  ok($e.log.level | one_of(["debug", "info", "warn", "error", "critical"]); "bad log.level"),
  ok($e.message | str; "message is not a string"),
  ok($e.event.kind | one_of(["event", "alert"]); "bad event.kind"),
  ok(($e.event.category | strs) and all($e.event.category[];
     one_of(["process", "host", "configuration", "file"])); "bad event.category"),
  ok(($e.event.type | strs) and all($e.event.type[];
     one_of(["start", "end", "change", "info", "error"])); "bad event.type"),
  ok($e.event.action | one_of(actions); "unknown event.action \($e.event.action | tojson)"),
  ok($e.event.dataset == "amexbpf.events"; "event.dataset is not amexbpf.events"),
  ok($e.event.sequence == $n; "event.sequence is \($e.event.sequence | tojson), expected \($n)"),
  ok([$e | .. | objects | keys[] | select(test("\\."))] == []; "has dotted keys"),
  ok(($e.service | has("name") | not) or ($e.service.name | str); "service.name is not a string"),
  ok(($e.process.pid // 1) | (type == "number" and . > 0); "process.pid is not a pid"),
  ok(($e.event.duration // 0) | type == "number"; "event.duration is not a number"),
  ok(($e.amexbpf.tier // 1) | one_of([1, 2, 3]); "amexbpf.tier is not 1, 2 or 3"),
  ok(($e.amexbpf | has("signal") | not) or ($e.amexbpf.signal | . == null or str);
     "amexbpf.signal is neither a string nor null"),
  (if $e.event.action == "process-exited" then
     ok($e.process.pid | type == "number"; "process-exited without process.pid"),
     ok(($e.process.exit_code | type == "number") or $e.amexbpf.exit_seen == false; "process-exited without process.exit_code")
   elif $e.event.action == "oom-killed" then
     ok($e.process.pid | type == "number"; "oom-killed without process.pid")
   elif $e.event.action == "pm2-daemon-down" then
     ok($e.amexbpf.pm2.daemon_pid | type == "number"; "pm2-daemon-down without daemon_pid"),
     ok($e.amexbpf.intentional | type == "boolean"; "pm2-daemon-down without intentional")
   elif ($e.event.action | startswith("recovery-")) and $e.event.action != "recovery-parked" then
     ok($e.amexbpf.tier | type == "number"; "\($e.event.action) without amexbpf.tier"),
     ok($e.amexbpf.attempt | type == "number"; "\($e.event.action) without amexbpf.attempt"),
     (if $e.event.action == "recovery-started" then
        ok($e.amexbpf.command | strs; "recovery-started without an amexbpf.command argv"),
        ok($e.amexbpf.run_as | str; "recovery-started without amexbpf.run_as")
      else empty end)
   elif $e.event.action == "app-listening" then
     ok($e.amexbpf.listen.port | (type == "number" and . > 0 and . < 65536); "app-listening without a port"),
     ok($e.amexbpf.listen.address | str; "app-listening without an address")
   elif $e.event.action == "app-stopped-listening" then
     ok($e.amexbpf.listen.port | (type == "number" and . > 0 and . < 65536); "app-stopped-listening without a port"),
     ok($e.process.pid | (type == "number" and . > 0); "app-stopped-listening without a pid"),
     ok($e.amexbpf.listen.address | (. == null or type == "string"); "app-stopped-listening address not a string")
   elif $e.event.action == "port-conflict" then
     ok($e.amexbpf.port | type == "number"; "port-conflict without amexbpf.port"),
     ok($e.amexbpf.holder.pid | type == "number"; "port-conflict without amexbpf.holder.pid"),
     ok($e.amexbpf.holder.orphan | type == "boolean"; "port-conflict without amexbpf.holder.orphan")
   elif $e.event.action == "dump-invalid" then
     ok($e.amexbpf.dump.problem | str; "dump-invalid without amexbpf.dump.problem")
   else empty end);
split("\n") | map(select(length > 0)) | to_entries[] | (.key + 1) as $n |
  (.value | fromjson? // null) as $e |
  if ($e | type) != "object" then "line \($n): not a JSON object"
  else problems($e; $n) | "line \($n) (\($e.event.action // "?")): \(.)" end
'

# check_contract: every line of every events file of this test keeps the contract of
# events.md: common fields with the right types, sequence 1..N, the timestamp format.
check_contract() {
	local f problems found=0
	for f in "$T"/events*.ndjson; do
		[ -f "$f" ] || continue
		found=1
		problems=$(jq -R -s -r "$CONTRACT_JQ" "$f") || fail "cannot check $f with jq"
		if [ -n "$problems" ]; then
			echo "$problems" | head -n 20 >&2
			fail "$(basename "$f") breaks the event contract ($(echo "$problems" | wc -l) problems)"
		fi
	done
	[ "$found" -eq 1 ] || fail "no events file in $T"
	log "event contract holds"
}

# ---------------------------------------------------------------------------- clean-up

# Processes of this test: what we recorded, plus every process of the test user whose
# environment or command line names this test's PM2_HOME (God, apps, pm2 CLIs, including
# apps re-parented to PID 1). Selected by pid, never by name.
test_process_pids() {
	local pid dir
	[ -n "$PM2_HOME" ] || return 0
	for pid in "${RECORDED_PIDS[@]}"; do
		[ -d "/proc/$pid" ] && [ "$(uid_of "$pid")" = "$(id -u "$TEST_USER")" ] && echo "$pid"
	done
	local uid
	uid=$(id -u "$TEST_USER")
	for dir in /proc/[0-9]*; do
		pid=${dir#/proc/}
		[ "$(uid_of "$pid")" = "$uid" ] || continue
		# The process may vanish between the uid check and these reads.
		if { tr '\0' '\n' <"$dir/environ" | grep -qxF "PM2_HOME=$PM2_HOME"; } 2>/dev/null ||
			{ tr '\0' ' ' <"$dir/cmdline" | grep -qF "($PM2_HOME)"; } 2>/dev/null; then
			echo "$pid"
		fi
	done
}

kill_test_processes() {
	local pids
	pids=$(test_process_pids | sort -u)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
}

cleanup() {
	local rc=$? hook
	set +e
	trap - EXIT
	# 130: interrupted (Ctrl-C in the demo), nothing to diagnose.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ -n "$T" ]; then
		[ -z "$FAIL_MSG" ] && [ -s "$T/fail.msg" ] && FAIL_MSG=$(cat "$T/fail.msg")
		echo "--- events (last 25) ---" >&2
		show_events 25 >&2
		if [ -s "$T/amexbpf.log" ]; then
			echo "--- amexbpf.log (last 15 lines) ---" >&2
			tail -n 15 "$T/amexbpf.log" >&2
		fi
	fi
	stop_amexbpf
	[ -n "$PM2_HOME" ] && [ -d "$PM2_HOME" ] && PM2U_TIMEOUT=20 pm2u kill >/dev/null 2>&1
	kill_test_processes
	for hook in "${CLEANUP_HOOKS[@]}"; do
		"$hook"
	done
	[ "$PM2_HELD" = 1 ] && pm2_place_release $$
	if [ -n "$T" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept work dir $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	[ "$rc" -ne 0 ] && [ -n "$FAIL_MSG" ] && echo "FAIL $TEST_NAME: $FAIL_MSG" >&2
	[ "$rc" -eq 0 ] && echo "${DONE_MSG:-ok $TEST_NAME}" >&2
	exit "$rc"
}
