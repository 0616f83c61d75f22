#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the kernel-matrix guest (tests/kernels/run.sh builds the initramfs around it):
# loads the modules for 9p over virtio (tests/kernels/modules.order, dependencies first),
# mounts the host's root read-only and the results share, lays tmpfs over every place a
# test writes, mounts only cgroup v2 (as a stock Debian 12 does), and runs
# tests/kernels/guest.sh from the host's tree in a chroot. Powers off when it ends.
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

while read -r m; do
	insmod "/modules/$m.ko" || echo "amx-guest: insmod $m failed"
done </modules.order

mkdir -p /host /results
opts=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$opts,ro,cache=loose" hostroot /host || echo "amx-guest: cannot mount the host's root"
mount -t 9p -o "$opts" results /results || echo "amx-guest: cannot mount the results share"

# The tree under test may live below one of the tmpfs places (a clone in /tmp): hold it
# here and put it back on top.
repo=$(arg amx.repo)
mkdir -p /repo
mount --bind "/host$repo" /repo
for d in tmp run var/tmp; do
	[ -d "/host/$d" ] && mount -t tmpfs -o mode=1777 tmpfs "/host/$d"
done
if [ ! -f "/host$repo/tests/kernels/guest.sh" ]; then
	mkdir -p "/host$repo"
	mount --bind /repo "/host$repo"
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
mount -t bpf bpf /host/sys/fs/bpf
mount -t tracefs tracefs /host/sys/kernel/tracing
mkdir -p /host/tmp/amx-results
mount --bind /results /host/tmp/amx-results
ip link set lo up
hostname amx-guest

chroot /host /bin/bash "$repo/tests/kernels/guest.sh" "$repo" /tmp/amx-results
echo "amx-guest: guest.sh exited $?"
sync
poweroff -f
