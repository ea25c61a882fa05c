#!/bin/sh
# stage2.sh: the installation of an image of another architecture
# (arm64), run inside the emulated guest itself on its first boot
# (firstboot-init.sh chroots into the disk and runs this).  On the host,
# mkimage.sh only downloaded and unpacked the packages (mmdebstrap's
# extract variant) and left their .debs in /var/cache/apt/archives: no
# arm64 program ran there, so no maintainer script did.  Here they do,
# as mmdebstrap does them for the host's own architecture: the
# Essential:yes packages with dpkg first (base-passwd before everything,
# so that users and groups exist when files are unpacked), then the rest,
# then anything left unconfigured; the result must pass dpkg --audit and
# apt-get check.  Then guest-setup.sh, the same settings the amd64 image
# gets, and mmdebstrap's clean-up.  The host keeps nothing of this run
# but the disk.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true
export DPKG_COLORS=never
# The kernel's own postinst makes an initramfs with every disk driver
# (MODULES=most), which the emulated CPU takes minutes over; guest-setup.sh
# says what the small one holds, and it is made once at the end.
export INITRD=No
A=/var/cache/apt/archives
cd /

t0=$(date +%s)
say() { echo "stage2: [$(($(date +%s) - t0)) s] $*"; }

# No service is started by a maintainer script (none could run here).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

# --force-depends: dpkg takes no account of Pre-Depends in its order, and
# every file of every package is already on the disk.  --force-unsafe-io:
# no fsync per file (the disk is unmounted cleanly at the end, and a
# build that dies is made again from the start).
say "base-passwd"
dpkg --install --force-depends --force-unsafe-io $A/base-passwd_*.deb
say "the Essential:yes packages ($(wc -l </vmtest/essential.list))"
dpkg --install --force-depends --force-unsafe-io --skip-same-version $(cat /vmtest/essential.list)
rest=$(ls $A/*.deb | grep -v -x -F -f /vmtest/essential.list)
say "the other packages ($(echo "$rest" | wc -l))"
dpkg --install --force-depends --force-unsafe-io --skip-same-version $rest
say "dpkg --configure -a"
dpkg --force-unsafe-io --configure -a
bad=$(dpkg --audit)
[ -z "$bad" ] || { echo "stage2: dpkg --audit: $bad"; exit 1; }
apt-get check -q

say "guest-setup.sh"
sh /vmtest/guest-setup.sh /
ls /boot/initrd.img-* >/dev/null 2>&1 || update-initramfs -c -k all
ls /boot/initrd.img-*

# mmdebstrap's clean-up: no downloaded packages, no lists, an empty
# machine-id (systemd makes one at boot), no policy-rc.d.
rm -f /usr/sbin/policy-rc.d $A/*.deb /var/log/dpkg.log \
	/var/log/alternatives.log /var/cache/ldconfig/aux-cache
rm -rf /var/lib/apt/lists/* /vmtest
: >/etc/machine-id
say "done"
