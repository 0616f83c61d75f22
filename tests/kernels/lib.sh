# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# What the qemu beds share (sourced by tests/kernels/run.sh, the kernel matrix, and
# tests/systemd/run.sh, the systemd bed): a Debian kernel package fetched once with apt and
# cached under CACHE, and an initramfs of busybox, the kernel's own modules and one /init.
# The sourcing script sets CACHE and busybox_bin.

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

# kernel_files PKG INIT NAME MODULE...: downloads PKG once; prints the cache dir holding
# vmlinuz, version (KVER and the package version) and NAME (an initramfs whose /init is
# INIT, with MODULE... and their dependencies in /modules, loaded in modules.order). NAME is
# rebuilt whenever INIT or the caller's harness is newer.
kernel_files() {
	local pkg=$1 init=$2 name=$3 deb dir tmp kver root mods m src
	shift 3
	deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		(cd "$CACHE" && apt-get download "$pkg") >"$CACHE/$pkg.download.log" 2>&1 ||
			{ tail -n 3 "$CACHE/$pkg.download.log" >&2; return 1; }
		deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || return 1
	fi
	dir=$CACHE/$(basename "$deb" .deb)
	if [ -s "$dir/$name" ] && [ "$dir/$name" -nt "$init" ] && [ "$dir/$name" -nt "$0" ] &&
		[ "$dir/$name" -nt tests/kernels/lib.sh ]; then
		echo "$dir"
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/unpack.XXXXXX") || return 1
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$tmp/fs" || { rm -rf "$tmp"; return 1; }
	kver=$(ls "$tmp/fs/lib/modules" | head -n 1)
	cp "$tmp/fs/boot/vmlinuz-$kver" "$dir/vmlinuz" || { rm -rf "$tmp"; return 1; }
	echo "$kver $(dpkg-deb -f "$deb" Version)" >"$dir/version"
	# Dependencies first; what the kernel has built in is skipped.
	depmod -b "$tmp/fs" "$kver" || { rm -rf "$tmp"; return 1; }
	root=$tmp/initrd
	mkdir -p "$root"/{bin,dev,proc,sys,modules,host,results}
	cp "$busybox_bin" "$root/bin/busybox"
	cp "$init" "$root/init"
	chmod 755 "$root/init" "$root/bin/busybox"
	: >"$root/modules.order"
	mods=$(modprobe -d "$tmp/fs" -S "$kver" --show-depends -a "$@" 2>&1) ||
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
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/$name" ||
		{ rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	echo "$dir"
}
