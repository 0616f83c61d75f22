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

# The image package a (meta)package stands for: follow Depends on linux-image-* until a
# package has none (linux-image-amd64 -> linux-image-6.1.0-57-amd64). Empty if unknown.
image_package() {
	local pkg=$1 next
	apt-cache show "$pkg" >/dev/null 2>&1 || return 0
	for _ in 1 2 3; do
		next=$(apt-cache depends --important "$pkg" 2>/dev/null |
			awk '$1 ~ /Depends:/ && $2 ~ /^linux-image-/ { print $2; exit }')
		[ -n "$next" ] || break
		pkg=$next
	done
	echo "$pkg"
}

# kernel_files PKG: downloads and unpacks PKG once; prints the cache dir holding vmlinuz,
# initrd.gz and version (KVER and the package version).
kernel_files() {
	local pkg=$1 deb dir tmp kver root mods m src
	deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		(cd "$CACHE" && apt-get download "$pkg") >"$CACHE/$pkg.download.log" 2>&1 ||
			{ tail -n 3 "$CACHE/$pkg.download.log" >&2; return 1; }
		deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || return 1
	fi
	dir=$CACHE/$(basename "$deb" .deb)
	# The initramfs embeds init.sh: rebuilt whenever the harness changes.
	if [ -s "$dir/initrd.gz" ] && [ "$dir/initrd.gz" -nt tests/kernels/init.sh ] &&
		[ "$dir/initrd.gz" -nt tests/kernels/run.sh ]; then
		echo "$dir"
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/unpack.XXXXXX") || return 1
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$tmp/fs" || { rm -rf "$tmp"; return 1; }
	kver=$(ls "$tmp/fs/lib/modules" | head -n 1)
	cp "$tmp/fs/boot/vmlinuz-$kver" "$dir/vmlinuz" || { rm -rf "$tmp"; return 1; }
	echo "$kver $(dpkg-deb -f "$deb" Version)" >"$dir/version"
	# 9p over virtio-pci, dependencies first; what the kernel has built in is skipped.
	depmod -b "$tmp/fs" "$kver" || { rm -rf "$tmp"; return 1; }
	root=$tmp/initrd
	mkdir -p "$root"/{bin,dev,proc,sys,modules,host,results}
	cp "$busybox_bin" "$root/bin/busybox"
	cp tests/kernels/init.sh "$root/init"
	chmod 755 "$root/init" "$root/bin/busybox"
	: >"$root/modules.order"
	mods=$(modprobe -d "$tmp/fs" -S "$kver" --show-depends -a virtio_pci 9pnet_virtio 9p 2>&1) ||
		{ echo "$mods" >&2; rm -rf "$tmp"; return 1; }
	while read -r kind src _; do
		[ "$kind" = insmod ] || continue
		m=$(basename "$src")
		m=${m%%.ko*}
		grep -qxF "$m" "$root/modules.order" && continue
		case "$src" in
		*.xz) xz -dc "$src" >"$root/modules/$m.ko" ;;
		*.zst) zstd -dcq "$src" >"$root/modules/$m.ko" ;;
		*) cp "$src" "$root/modules/$m.ko" ;;
		esac
		echo "$m" >>"$root/modules.order"
	done <<<"$mods"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.gz" ||
		{ rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	echo "$dir"
}

# boot DIR RESULTS: one guest; its console goes to RESULTS/console.log.
boot() {
	local dir=$1 res=$2 pid rc
	timeout -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg,thread=multi \
		-cpu max -smp "$SMP" -m 2048 -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" \
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
	if ! dir=$(kernel_files "$pkg"); then
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
