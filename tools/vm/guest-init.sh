#!/bin/sh
# PID 1 of the VM, in the overlay root (see vm-run.sh): mounts what a
# system needs and the writable OUTDIR share at its own path, makes Debian's module tree the guest's, runs the job that
# vm-run.sh wrote into OUTDIR/.vm/cmd, records its exit status in
# OUTDIR/.vm/rc and powers off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^steer\.$1=//p"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# A fresh /run: the host's /run/netns entries must not show through. /tmp
# stays the overlay's (writable already): the host's checkout or build may
# live under it.
mount -t tmpfs -o mode=755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true

kver=$(arg kver)
out=$(arg out)
cache=$(arg cache)
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none out "$out"
mkdir -p "/lib/modules/$kver"
mount --bind "$cache/root/lib/modules/$kver" "/lib/modules/$kver"
hostname ipsec-steer-vm
ip link set lo up
echo "guest: Linux $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"

# The job runs as a child: PID 1 must outlive it to report its status.
export IPSEC_STEER_VM_CACHE="$cache"
sh -c ". '$out/.vm/cmd'" </dev/null
rc=$?
echo "$rc" >"$out/.vm/rc.tmp" && mv "$out/.vm/rc.tmp" "$out/.vm/rc"
sync
echo "guest: job exited $rc after $(cut -d' ' -f1 /proc/uptime) s"
echo o >/proc/sysrq-trigger
while :; do :; done
