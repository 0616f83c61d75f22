#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the systemd bed's guest (tests/systemd/run.sh builds the initramfs around it).
# Loads 9p, overlayfs, virtio-blk and ext4 (modules.order), lays an overlay whose lower layer
# is the host's root (9p, read-only) and whose upper layer is on the bed's disk (ext4 on
# /dev/vda, so that it outlives a reboot of the guest), puts tmpfs on /tmp, mounts the results
# share at /mnt/amx-results, installs the bed's driver unit, and hands over to the host's
# systemd as PID 1.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

arg() { # the value of NAME= on the kernel command line
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1"=*) echo "${w#*=}" ;; esac
	done
}
fail() {
	echo "amx-bed-init: $*"
	sleep 2
	poweroff -f
}

while read -r m; do
	insmod "/modules/$m.ko" || echo "amx-bed-init: insmod $m failed"
done </modules.order

mkdir -p /lower /disk /newroot
opts=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$opts,ro,cache=loose" hostroot /lower || fail "cannot mount the host's root"
mount -t ext4 /dev/vda /disk || fail "cannot mount the bed's disk"
mkdir -p /disk/upper /disk/work
# 9p cannot export file handles: no index, no xino, no redirects.
mount -t overlay overlay \
	-o lowerdir=/lower,upperdir=/disk/upper,workdir=/disk/work,index=off,xino=off,redirect_dir=off,metacopy=off \
	/newroot || fail "cannot mount the overlay"

# A fresh /tmp each boot, as a host with tmp.mount; the tree under test may live below it (a
# clone in /tmp): bind it back on top.
repo=$(arg amx.repo)
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
if [ ! -f "/newroot$repo/tests/systemd/guest.sh" ]; then
	mkdir -p "/newroot$repo"
	mount --bind "/lower$repo" "/newroot$repo"
fi
mkdir -p /newroot/mnt/amx-results
mount -t 9p -o "$opts" results /newroot/mnt/amx-results || fail "cannot mount the results share"
mkdir -p /newroot/etc/systemd/system
sed "s|@REPO@|$repo|g" "/newroot$repo/tests/systemd/amx-bed.service" \
	>/newroot/etc/systemd/system/amx-bed.service
# The host's units a test guest has no use for (postgresql, prometheus: minutes of TCG),
# masked in the upper layer. systemd.mask= on the command line did not take: they ran.
while read -r u; do
	[ -n "$u" ] && ln -sf /dev/null "/newroot/etc/systemd/system/$u"
done <"/newroot$repo/tests/systemd/masked-units"
mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
ln -sf ../amx-bed.service /newroot/etc/systemd/system/multi-user.target.wants/amx-bed.service
echo "amx-bed-init: overlay ready, starting systemd"
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
