#!/bin/busybox sh
# shellcheck shell=sh
#
# guest-init.sh: PID 1 of the cgroup v2 test guest, packed as /init by
# run-guest.sh.  It owns the guest's mounts and the one command it runs:
# make a root that is not the initramfs, mount the pseudo file systems with
# cgroup2 (and only cgroup2) at /sys/fs/cgroup, run the command that
# run-guest.sh wrote to /etc/sdocker-v2/run.sh, print its exit status on a
# result line the host parses, and power off.  What the command does is the
# payload's business.
#
# It runs under busybox-static and calls busybox applets by full name, so it
# works before anything else is known to run in the guest and does not
# depend on the host tools packed beside it.
#
# Why the two stages: pivot_root(2) fails with EINVAL while the caller's root
# is the initramfs (rootfs has no parent mount), and sdocker_run pivots.  A
# bind mount of / moved over / is the same files as a mount with a parent,
# exactly what switch_root leaves after a real boot, but with nothing copied.
# A chroot into a bind mount alone would not do: the root would differ from
# the mount namespace's root and unshare(CLONE_NEWUSER) would fail (EPERM,
# see unshare(2)).  After the move they agree.

bb=/bin/busybox
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# die MSG: print why and stop.  PID 1 exiting panics the kernel, and with
# panic=-1 and qemu's -no-reboot that ends the guest at once; the host then
# sees no result line and says the guest failed.
die() {
    echo "sdocker-v2 init: $*" >&2
    exit 1
}

if [ "$1" != stage2 ]; then
    # Stage 1, on the initramfs: bind / onto a directory, move it over /,
    # and enter it.  `chroot .` after the move is what switch_root does.
    $bb mkdir -p /.sdocker-v2-root || die "mkdir /.sdocker-v2-root failed"
    $bb mount -o bind / /.sdocker-v2-root || die "bind mount of / failed"
    cd /.sdocker-v2-root || die "cd /.sdocker-v2-root failed"
    $bb mount -o move . / || die "mount --move of the new root failed"
    # shellcheck disable=SC2093 # the die below runs only if exec fails
    exec $bb chroot . /bin/busybox sh /init stage2
    die "chroot into the new root failed"
fi

# Stage 2: the root is a mount with a parent now.
$bb mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount /proc failed"
$bb mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || die "mount /sys failed"
$bb mount -t devtmpfs -o nosuid,mode=755 devtmpfs /dev || die "mount /dev failed"
$bb mkdir -p /dev/pts /dev/shm /dev/mqueue
# The initial devpts instance, so the /dev/ptmx node devtmpfs made works.
$bb mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts ||
    die "mount /dev/pts failed"
$bb mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm || die "mount /dev/shm failed"
$bb mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue || die "mount /dev/mqueue failed"
# Unless the payload is there: then /tmp stays the initramfs's, writable.
if [ ! -e /etc/sdocker-v2/keep-tmp ]; then
    $bb mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp || die "mount /tmp failed"
fi
$bb mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run || die "mount /run failed"
# devtmpfs makes device nodes only; bash's process substitution and many
# scripts need these links, which udev or systemd would normally make.
$bb ln -sfn /proc/self/fd /dev/fd
$bb ln -sfn /proc/self/fd/0 /dev/stdin
$bb ln -sfn /proc/self/fd/1 /dev/stdout
$bb ln -sfn /proc/self/fd/2 /dev/stderr
$bb ln -sfn /proc/self/mounts /etc/mtab

# cgroup2 only: the kernel command line carries cgroup_no_v1=all, so no v1
# hierarchy could be mounted even by mistake.  nsdelegate as systemd mounts
# it.  Every controller is enabled for the root's children, as systemd does
# on a v2 host, so a test creating /sys/fs/cgroup/X finds them in X.
$bb mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 /sys/fs/cgroup ||
    die "mount cgroup2 on /sys/fs/cgroup failed"
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control ||
        echo "sdocker-v2 init: cannot enable controller $c" >&2
done

$bb hostname sdocker-v2
$bb ip link set lo up 2>/dev/null || echo "sdocker-v2 init: cannot bring lo up" >&2

read -r uptime _ </proc/uptime
echo "sdocker-v2: init reached at ${uptime}s guest uptime, kernel $($bb uname -r)"

# The command runs with the console as its output and no input (and, as in
# CI, no controlling terminal): a test reading stdin must not hang on the
# console.  Its exit status is printed with the per-run nonce so nothing it
# prints can forge it.
# shellcheck source=/dev/null # written by run-guest.sh for each run
. /etc/sdocker-v2/env || die "cannot read /etc/sdocker-v2/env"
$bb rm -f /etc/sdocker-v2/env # the nonce stays in this shell only
/bin/bash /etc/sdocker-v2/run.sh </dev/null
rc=$?
echo "sdocker-v2-result $SDOCKER_V2_NONCE: exit $rc"
$bb sync
# Power off at once; the host has the result line.  Kill what the command
# left running first so nothing writes to the console after the line.
$bb kill -9 -1 2>/dev/null
$bb poweroff -f
