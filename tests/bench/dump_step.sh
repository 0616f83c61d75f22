#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark (issue 14): what one rewrite of a PM2 home's dump.pm2 costs the loop that reacts
# to exits. A home owned by the second test user gets REWRITES rewrites (renamed into place,
# GAP_MS apart, each a real change) of a dump of N app names, for each N in SIZES; one fresh
# daemon per size, so that each size's figures are its own. The figures are the daemon's
# own: `amexbpf status --json`'s loop.step_us (every step of the loop, from epoll_wait's
# return to its last ticker: idle timer wake-ups count too, so p50 is an idle step and the
# rewrites are the top of the distribution), read after the rewrites. LOAD=1 adds one busy
# loop per CPU, not pinned, for the loaded figure. A size N:BYTES pads each app with one long
# string so that the file is about BYTES (16m: just under the 16 MiB bound of a dump).
#   SIZES="16 256 4096 4096:16m" REWRITES=40 GAP_MS=150 LOAD=0 AMEXBPF_BASE=
source "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=bench-dump-step
SIZES=${SIZES:-16 256 4096 4096:16m}
REWRITES=${REWRITES:-40}
GAP_MS=${GAP_MS:-150}
LOAD=${LOAD:-0}

setup_test
ensure_second_user
HOME_A=$T/pm2-a
mkdir -p "$HOME_A"
chown "$TEST_USER2:$TEST_USER2" "$HOME_A"
# Every rewrite is let out as dump-changed (the per-home limit would otherwise fold them).
export AMEXBPF_TEST_FILE_EVENT_BURST=100000

hogs=()
stop_hogs() { [ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null; wait "${hogs[@]}" 2>/dev/null; hogs=(); }
CLEANUP_HOOKS+=(stop_hogs)
if [ "$LOAD" = 1 ]; then
	for _ in $(seq 1 "$(nproc)"); do
		(while :; do :; done) &
		hogs+=($!)
	done
fi

# AMEXBPF_BASE=PATH: another build (the code before a change) measured too, size by size,
# right before this one, so that both rows share the machine's state.
BUILDS=("this=$AMX_BIN")
[ -n "${AMEXBPF_BASE:-}" ] && BUILDS=("base=$AMEXBPF_BASE" "this=$AMX_BIN")
printf '%-6s %-10s %8s %8s %8s %8s %9s  %s\n' build apps p50_us p99_us max_us steps bytes "load average"
for size in $SIZES; do
	n=${size%%:*}
	bytes=0
	case $size in
	*:16m) bytes=$((16 * 1024 * 1024 - 64 * 1024)) ;;
	*:*) bytes=${size#*:} ;;
	esac
	# Two variants of the same size (the first app's status flips), built as the owner.
	as_second_user node -e '
		const [dir, n, bytes] = [process.argv[1], +process.argv[2], +process.argv[3]];
		const pad = bytes ? "x".repeat(Math.max(0, Math.floor(bytes / n) - 60)) : "";
		for (const [v, st] of [["a", "stopped"], ["b", "online"]]) {
			const a = [];
			for (let i = 0; i < n; i++) {
				const app = { name: "n" + i, status: i ? "stopped" : st };
				if (pad) app.pad = pad;
				a.push(app);
			}
			require("fs").writeFileSync(dir + "/" + v + ".json", JSON.stringify(a));
		}
		require("fs").copyFileSync(dir + "/a.json", dir + "/dump.pm2");
	' "$HOME_A" "$n" "$bytes"
	for build in "${BUILDS[@]}"; do
	AMX_BIN=${build#*=}
	as_second_user cp "$HOME_A/a.json" "$HOME_A/dump.pm2"
	start_amexbpf --pm2-home "$HOME_A"
	as_second_user sh -c '
		cd "$1" || exit 1
		i=0
		while [ "$i" -lt "$2" ]; do
			if [ $((i % 2)) -eq 0 ]; then cp b.json t; else cp a.json t; fi
			mv -f t dump.pm2
			sleep "$3"
			i=$((i + 1))
		done
	' sh "$HOME_A" "$REWRITES" "$(awk -v g="$GAP_MS" 'BEGIN { printf "%.3f", g / 1000 }')"
	"$AMX_BIN" status --json --socket "$SOCK" >"$T/status.$n.json" || fail "status failed"
	printf '%-6s %-10s %8s %8s %8s %8s %9s  %s\n' "${build%%=*}" "$size" \
		"$(jq -r .loop.step_us.p50 "$T/status.$n.json")" \
		"$(jq -r .loop.step_us.p99 "$T/status.$n.json")" \
		"$(jq -r .loop.step_us.max "$T/status.$n.json")" \
		"$(jq -r .loop.steps "$T/status.$n.json")" \
		"$(stat -c %s "$HOME_A/a.json")" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	stop_amexbpf
	done
done
stop_hogs
log "dump_step: done"
