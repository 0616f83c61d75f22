#!/bin/bash
# SPDX-License-Identifier: MIT
# Disk space: a 16 MiB tmpfs filled past the threshold and emptied again: exactly one
# disk-over-threshold and one disk-ok, no repeats while nothing changes.
source "$(dirname "$0")/lib.sh"

setup_test
start_app
MNT=$T/disk
mkdir -p "$MNT"
mount -t tmpfs -o size=16m amx-disk-test "$MNT" || fail "cannot mount a tmpfs on $MNT"
unmount_disk() { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
CLEANUP_HOOKS+=(unmount_disk)

start_amexbpf --disk "$MNT" --disk-threshold 50
mark_events
dd if=/dev/zero of="$MNT/fill" bs=1M count=12 status=none || fail "cannot fill $MNT"
ev=$(wait_event disk-over-threshold ".amexbpf.disk.mount == \"$MNT\"" 15)
jq -e '.amexbpf.disk.used_pct >= 70 and .amexbpf.disk.threshold_pct == 50' <<<"$ev" >/dev/null ||
	fail "disk-over-threshold has implausible figures: $ev"
rm -f "$MNT/fill"
ev=$(wait_event disk-ok ".amexbpf.disk.mount == \"$MNT\"" 15)
jq -e '.amexbpf.disk.used_pct < 48' <<<"$ev" >/dev/null || fail "disk-ok has implausible figures: $ev"
seq=$(jq_field "$ev" .event.sequence)
# more than one check interval (5 s) with nothing changing: nothing new
no_event disk-ok ".event.sequence > $seq" 6
[ "$(count_events disk-over-threshold ".amexbpf.disk.mount == \"$MNT\"")" = 1 ] || fail "disk-over-threshold repeated"
[ "$(count_events disk-ok ".amexbpf.disk.mount == \"$MNT\"")" = 1 ] || fail "disk-ok repeated"
[ "$(count_events disk-over-threshold "")" = 1 ] || fail "another filesystem (/, PM2_HOME) reported over the threshold"
check_contract
