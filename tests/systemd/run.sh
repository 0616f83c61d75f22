#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/systemd/run.sh: the systemd bed (`make test-systemd`, docs/systemd.md). Boots Debian
# 12's kernel (the kernel matrix's linux-image-amd64, tests/kernels/lib.sh) under qemu (TCG)
# with the host's own systemd as PID 1: cgroup v2, the host's root read-only under an
# overlay whose upper layer is a fresh ext4 disk (so the guest can reboot onto it), no
# download inside. The guest (tests/systemd/guest.sh) installs the package from `make deb`,
# runs the scenarios, reboots once, and powers off. Prints each scenario's PASS/FAIL line
# and last "N passed, N failed", with where the time went. SYSTEMD_SMP (2), SYSTEMD_TIMEOUT
# (1800 s: a whole run took 1200 s at load 8-10) tune the guest; SYSTEMD_SCENARIOS
# ("1 2 3 4 5 6 7") picks scenarios (6 costs a reboot).
# qemu runs at nice 5 (SYSTEMD_NICE): the host's other builds and tests keep their share.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
CACHE=$REPO/.output/kernels
BED=$REPO/.output/systemd
SMP=${SYSTEMD_SMP:-2}
GUEST_TIMEOUT=${SYSTEMD_TIMEOUT:-1800}
SCENARIOS=${SYSTEMD_SCENARIOS:-1 2 3 4 5 6 7}
NICE=${SYSTEMD_NICE:-5}

die() {
	echo "test-systemd: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (qemu's 9p share of /)"
for tool in qemu-system-x86_64 busybox depmod modprobe cpio xz apt-get dpkg-deb mkfs.ext4; do
	command -v "$tool" >/dev/null || die "$tool is missing (make test-systemd installs it)"
done
[ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd on this host"
busybox_bin=$(command -v busybox)
ldd "$busybox_bin" >/dev/null 2>&1 && die "$busybox_bin is not static (install busybox-static)"
[ -x tests/pm2/node_modules/.bin/pm2 ] || die "the pinned PM2 is not installed (make install-pm2)"
ls "$BED"/amexbpf_*.deb >/dev/null 2>&1 || die "no package in $BED (make test-systemd builds it)"
mkdir -p "$CACHE" || die "cannot create $CACHE"
# The pinned PM2 as one file: the guest unpacks it into its overlay (a root-owned copy the
# test user can run, wherever this checkout lives).
tar -C tests -cf "$BED/pm2.tar" pm2 || die "cannot pack tests/pm2"

# shellcheck source=tests/kernels/lib.sh
source tests/kernels/lib.sh

pkg=$(image_package linux-image-amd64)
if [ -z "$pkg" ]; then
	apt-get update >/dev/null 2>&1
	pkg=$(image_package linux-image-amd64)
fi
[ -n "$pkg" ] || die "no linux-image-amd64 package known to apt"
start=$SECONDS
dir=$(kernel_files "$pkg" tests/systemd/init.sh initrd-systemd.gz \
	virtio_pci 9pnet_virtio 9p overlay virtio_blk ext4) || die "cannot fetch or unpack $pkg"
read -r kver pkgver <"$dir/version"

res=$BED/results
rm -rf "$res" "$BED/disk.img"
mkdir -p "$res"
# The overlay's upper layer: sparse, so 4 GB costs what the guest writes.
truncate -s 4G "$BED/disk.img" && mkfs.ext4 -q -F "$BED/disk.img" || die "cannot make the disk"
boot_start=$SECONDS
# No -no-reboot: the guest's `systemctl reboot` boots again onto the same disk.
nice -n "$NICE" timeout -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg,thread=multi \
	-cpu max -smp "$SMP" -m 2048 -kernel "$dir/vmlinuz" -initrd "$dir/initrd-systemd.gz" \
	-append "console=ttyS0 panic=-1 quiet cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 systemd.journald.forward_to_console=1 amx.repo=$REPO amx.scenarios=${SCENARIOS// /,}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$res,mount_tag=results,security_model=none" \
	-drive "file=$BED/disk.img,format=raw,if=virtio,cache=unsafe" \
	-display none -monitor none -serial "file:$res/console.log" -nic none \
	</dev/null >"$res/qemu.log" 2>&1
qemu_rc=$?
secs=$((SECONDS - boot_start))
passed=$(grep -c '^PASS ' "$res/results" 2>/dev/null)
failed=$(grep -c '^FAIL ' "$res/results" 2>/dev/null)
grep -E '^(PASS|FAIL) ' "$res/results" 2>/dev/null
echo "guest: $kver (Debian $pkgver); $(tr '\n' ' ' <"$res/facts" 2>/dev/null)"
echo "guest ran $secs s, $((boot_start - start)) s to fetch and build; seconds: boot $(sed -n 's/^boot1.uptime=\([0-9]*\).*/\1/p' "$res/facts" 2>/dev/null) $(tr '\n' ' ' <"$res/times" 2>/dev/null)"
if [ ! -f "$res/done" ]; then
	why="the guest did not finish"
	[ "$qemu_rc" -eq 124 ] && why="timed out after $GUEST_TIMEOUT s"
	echo "FAIL test-systemd: $why (see $res/console.log and $res/bed.log)"
	tail -n 20 "$res/bed.log" 2>/dev/null | sed 's/^/  | /'
	tail -n 10 "$res/console.log" 2>/dev/null | sed 's/^/  | /'
	failed=$((${failed:-0} + 1))
fi
echo "${passed:-0} passed, ${failed:-0} failed"
[ "${failed:-0}" -eq 0 ] && [ "${passed:-0}" -gt 0 ]
