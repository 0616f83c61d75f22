#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/kernels/run.sh [PKG...]: the kernel matrix (`make test-kernels`). Each PKG is a
# Debian kernel image package (a metapackage such as linux-image-amd64 is resolved to the
# image it depends on); default: Debian 12's linux-image-amd64 and linux-image-6.12-amd64.
# For each: apt-get download (cached under .output/kernels), an initramfs of busybox, the
# kernel's own 9p/virtio modules and tests/kernels/init.sh, then a qemu guest (TCG, 2 GB,
# cgroup v2 only, the host's root read-only over 9p, a writable share for results) runs
# tests/kernels/guest.sh: the BPF kernel unit tests, a real OOM kill in a v2 memory group
# attributed to its PM2 app, and a PM2 God SIGKILL recovered with the real PM2 and Node.
# Prints one line per kernel, and last "N passed, N failed" (one per kernel). Exit 0 only
# if every kernel passed. KERNEL_SMP (1) and KERNEL_TIMEOUT (1500 s) tune the guest.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
CACHE=$REPO/.output/kernels
SMP=${KERNEL_SMP:-1}
GUEST_TIMEOUT=${KERNEL_TIMEOUT:-1500}
passed=0
failed=0

die() {
	echo "test-kernels: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (qemu's 9p share of / and the tests in the guest)"
for tool in qemu-system-x86_64 busybox depmod modprobe cpio xz apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool is missing (make test-kernels installs it)"
done
busybox_bin=$(command -v busybox)
ldd "$busybox_bin" >/dev/null 2>&1 && die "$busybox_bin is not static (install busybox-static)"
for f in amexbpf .output/tests/subreaper .output/tests/test_bpf_kernel .output/tests/test_hookchoice \
	tests/pm2/node_modules/.bin/pm2; do
	[ -x "$f" ] || die "$f is not built (make test-kernels builds it)"
done
# The guest's root is the host's, read-only: the test user must exist here first (in
# /etc/passwd); the guest copies the pinned PM2 into its own tmpfs (guest.sh).
bash -c 'source tests/e2e/lib.sh && ensure_test_user' || die "cannot create the test user amxtest"
mkdir -p "$CACHE" || die "cannot create $CACHE"

# shellcheck source=tests/kernels/lib.sh
source tests/kernels/lib.sh

# boot DIR RESULTS: one guest; its console goes to RESULTS/console.log.
boot() {
	local dir=$1 res=$2 pid rc
	timeout -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg,thread=multi \
		-cpu max -smp "$SMP" -m 2048 -kernel "$dir/vmlinuz" -initrd "$dir/initrd-matrix.gz" \
		-append "console=ttyS0 panic=-1 quiet cgroup_no_v1=all amx.repo=$REPO" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$res,mount_tag=results,security_model=none" \
		-display none -monitor none -serial "file:$res/console.log" -no-reboot -nic none \
		</dev/null >"$res/qemu.log" 2>&1 &
	pid=$!
	wait "$pid"
	rc=$?
	return "$rc"
}

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(linux-image-amd64 linux-image-6.12-amd64)
apt_updated=0
for want in "${pkgs[@]}"; do
	pkg=$(image_package "$want")
	if [ -z "$pkg" ] && [ "$apt_updated" -eq 0 ]; then
		apt-get update >/dev/null 2>&1
		apt_updated=1
		pkg=$(image_package "$want")
	fi
	if [ -z "$pkg" ]; then
		echo "FAIL $want: no such kernel package"
		failed=$((failed + 1))
		continue
	fi
	start=$SECONDS
	if ! dir=$(kernel_files "$pkg" tests/kernels/init.sh initrd-matrix.gz virtio_pci 9pnet_virtio 9p); then
		echo "FAIL $pkg: cannot download or unpack it"
		failed=$((failed + 1))
		continue
	fi
	read -r kver pkgver <"$dir/version"
	res=$CACHE/results/$kver
	rm -rf "$res"
	mkdir -p "$res"
	boot_start=$SECONDS
	boot "$dir" "$res"
	qemu_rc=$?
	secs=$((SECONDS - boot_start))
	p=$(grep -c '^PASS ' "$res/results" 2>/dev/null)
	f=$(grep -c '^FAIL ' "$res/results" 2>/dev/null)
	cg=$(sed -n 's/^cgroup=//p' "$res/facts" 2>/dev/null)
	hooks=$(sed -n 's/^hooks=//p' "$res/facts" 2>/dev/null)
	release=$(sed -n 's/^release=//p' "$res/facts" 2>/dev/null)
	why=""
	[ "$qemu_rc" -eq 124 ] && why="timed out after $GUEST_TIMEOUT s; "
	[ -f "$res/done" ] || why="${why}the guest did not finish (see $res/console.log); "
	[ "${release:-}" = "$kver" ] || why="${why}booted ${release:-nothing}, not $kver; "
	[ "${p:-0}" -gt 0 ] || why="${why}no test passed; "
	line="$kver (Debian $pkgver), cgroup ${cg:-?}, hooks ${hooks:-?}: ${p:-0} passed, ${f:-0} failed in the guest, ${secs} s (boot and tests), $((boot_start - start)) s to fetch and build the initramfs"
	if [ -z "$why" ] && [ "${f:-0}" -eq 0 ]; then
		echo "PASS $line"
		passed=$((passed + 1))
	else
		echo "FAIL $line${why:+; ${why%; }}"
		grep '^FAIL ' "$res/results" 2>/dev/null | sed 's/^/  /'
		for log in "$res"/t_*.log; do
			[ -f "$log" ] && grep -q '^FAIL ' "$log" && tail -n 30 "$log" | sed 's/^/  | /'
		done
		[ -f "$res/done" ] || tail -n 20 "$res/console.log" 2>/dev/null | sed 's/^/  | /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
