#!/bin/sh
# guest-setup.sh ROOT: mkimage.sh's settings for the guest system in ROOT
# (run on the host, as mmdebstrap's customize hook).
set -eu
R=$1

echo vmtest >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvmtest\n' >"$R/etc/hosts"
# The root file system is checked and mounted read-write by systemd; the
# board's power supplies are the folder the test writes on the host,
# shared read-only over 9p, in place of /sys/class/power_supply (a VM
# has no battery).  nofail: boots without it too.
cat >"$R/etc/fstab" <<'X'
/dev/vda / ext4 defaults,errors=remount-ro 0 1
vmpower /sys/class/power_supply 9p trans=virtio,version=9p2000.L,ro,nofail,x-systemd.device-timeout=10s 0 0
X
printf '9p\n9pnet_virtio\n' >"$R/etc/modules-load.d/vmtest.conf"

# Network: qemu's user-mode network answers DHCP.
cat >"$R/etc/systemd/network/10-vm.network" <<'X'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
X
ln -sf /lib/systemd/system/systemd-networkd.service \
	"$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"

# Nothing that wakes up by itself during a test: apt's timers, scrubs.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# sshd without DNS look-ups (qemu's resolver may have no upstream).
printf 'UseDNS no\n' >"$R/etc/ssh/sshd_config.d/vmtest.conf"
# A root without a password: only the key logs in.

# A small initramfs: the modules a qemu guest needs to find its root file
# system, not every disk driver there is (MODULES=most unpacks ~36 MB,
# which an emulated CPU takes most of a minute over).
printf 'MODULES=list\n' >"$R/etc/initramfs-tools/conf.d/vmtest"
printf 'virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n' \
	>>"$R/etc/initramfs-tools/modules"
chroot "$R" update-initramfs -u -k all
