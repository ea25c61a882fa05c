#!/bin/sh
# firstboot-init.sh: /init of the small initramfs that mkimage.sh makes
# for the first boot of an image of another architecture (arm64), whose
# packages were only unpacked on the host.  It runs under the guest's own
# emulated CPU, from busybox (busybox-static, unpacked, never run on the
# host): loads the modules the kernel needs to reach its disk (listed by
# the host in /modules, in the order modprobe gave), mounts the disk,
# runs /vmtest/stage2.sh in it (the installation proper: maintainer
# scripts, users, initramfs), and powers the machine off.  The last line
# on the console says how stage2 ended; mkimage.sh reads it.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# The kernel found no /dev/console in this initramfs: open it now.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

fail() {
	echo "firstboot: $*"
	echo "vmtest-stage2: failed"
	sync
	poweroff -f
}

# A module listed twice (a dependency of two) is loaded once: the second
# insmod says "File exists".
while read -r m; do
	insmod "/lib/modules/$m" 2>/dev/null || true
done </modules
i=0
while [ ! -b /dev/vda ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
[ -b /dev/vda ] || fail "no /dev/vda after 60 s (modules: $(cat /modules))"

mkdir -p /root
mount -t ext4 -o rw /dev/vda /root || fail "cannot mount /dev/vda"
mount -t devtmpfs dev /root/dev
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t tmpfs -o mode=0755 run /root/run
rc=0
chroot /root /bin/sh /vmtest/stage2.sh || rc=$?
# Trimmed blocks are holes in the host's file (qemu's discard=unmap).
chroot /root fstrim -v / || true
umount /root/run /root/sys /root/proc /root/dev
mount -o remount,ro /root
umount /root || fail "cannot unmount the root file system"
sync
if [ $rc -eq 0 ]; then
	echo "vmtest-stage2: ok"
else
	echo "vmtest-stage2: failed (stage2.sh exit $rc)"
fi
poweroff -f
