#!/bin/sh
# mkimage.sh ARCH OUTDIR: a minimal Debian 12 (bookworm) system disk for
# tests/vm/vmtest.py, with systemd as PID 1, made by mmdebstrap (root, or
# unshare mode as another user) and written into an ext4 image by
# mkfs.ext4 -d (no loop mount, so no privileges for that part):
#
#   OUTDIR/ARCH.img        the file system (raw ext4, 2 GiB, sparse)
#   OUTDIR/ARCH.vmlinuz    its kernel and initramfs, which qemu boots
#   OUTDIR/ARCH.initrd     directly (no boot loader to install or wait for)
#   OUTDIR/id_ed25519      the key root logs in with over ssh (the test's
#                          only way to run commands in the guest)
#   OUTDIR/ARCH.ready      written last: the image is complete
#
# The image holds the runtime libraries of the packages (tools/mkdeb.sh's
# lib_pkg: keep the two lists together), so "apt install ./fieldd_*.deb"
# needs no mirror in the guest; the packages themselves are installed by
# each test run, never baked in.  vmtest.py makes the image again when
# this file or guest-setup.sh (or, for arm64, stage2.sh or
# firstboot-init.sh) changes.
#
# arm64 is made without running any arm64 program on the host (no
# qemu-user binfmt handler, a machine-wide kernel setting): mmdebstrap
# only downloads and unpacks the packages (--variant=extract), the disk
# is written as for amd64, and the installation proper (maintainer
# scripts, users, guest-setup.sh, the initramfs) runs in the emulated
# guest itself: its own kernel (the package's, unpacked) boots a small
# busybox initramfs made here (firstboot-init.sh), which runs stage2.sh
# on the disk and powers off.  The initramfs that the guest made for
# itself is then taken out of the disk (debugfs) for the test's boots.
# That first boot takes 10-20 minutes of emulation.
set -eu

ARCH=$1
OUT=$2
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT="$OUT/root-$ARCH"
rm -rf "$ROOT" "$OUT/$ARCH.ready" "$OUT/$ARCH.img"

[ -f "$OUT/id_ed25519" ] ||
	ssh-keygen -q -t ed25519 -N '' -C vmtest -f "$OUT/id_ed25519"

case $ARCH in
amd64) KERNEL=linux-image-amd64 ;;
arm64) KERNEL=linux-image-arm64 ;;
*) echo "mkimage: no VM for $ARCH" >&2; exit 2 ;;
esac

# What fieldd and collectord link (tools/mkdeb.sh's Depends), what the
# checks run in the guest (sqlite3 for PRAGMA integrity_check, curl for
# requests from inside), and sshd.
PKGS="systemd-sysv udev kmod e2fsprogs iproute2 openssh-server sqlite3 curl
adduser ca-certificates libsqlite3-0 libuv1 libmbedtls14 libmbedx509-1
libmbedcrypto7 libprotobuf-c1 libzstd1 libjansson4 libhttp-parser2.9 libcsv3
libexpat1 libsystemd0 libzip4 libxlsxwriter4 libseccomp2 libpq5 $KERNEL"

if [ "$ARCH" = amd64 ]; then
mmdebstrap --variant=apt --architectures="$ARCH" \
	--include="$(echo $PKGS | tr ' ' ',')" \
	--customize-hook='sh tests/vm/guest-setup.sh "$1"' \
	--customize-hook="mkdir -p \"\$1/root/.ssh\" && cp $OUT/id_ed25519.pub \"\$1/root/.ssh/authorized_keys\"" \
	--customize-hook="cp \"\$1\"/boot/vmlinuz-* $OUT/$ARCH.vmlinuz && cp \"\$1\"/boot/initrd.img-* $OUT/$ARCH.initrd" \
	bookworm "$ROOT" "$MIRROR"

mkfs.ext4 -q -F -L vmroot -d "$ROOT" "$OUT/$ARCH.img" 2G
rm -rf "$ROOT"
date -u +%FT%TZ >"$OUT/$ARCH.ready"
exit 0
fi

# ---- arm64: unpacked here, installed by the guest on its first boot ----

# The Essential:yes set and apt (what --variant=apt installs), the same
# packages as amd64, and busybox-static for the first boot's initramfs.
# Merged /usr as Debian 12 has it: the directory links made before
# anything is unpacked, and usr-is-merged, not the usrmerge converter.
A=/var/cache/apt/archives
mmdebstrap --variant=extract --architectures="$ARCH" \
	--skip=cleanup/apt/cache \
	--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
	--include='?essential' \
	--include="$(echo apt usr-is-merged busybox-static $PKGS | tr ' ' ',')" \
	bookworm "$ROOT" "$MIRROR"

# The kernel: one version, unpacked (not installed) from linux-image-arm64.
V=$(cd "$ROOT/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//')
[ "$(echo "$V" | wc -w)" = 1 ] || { echo "mkimage: kernels: $V" >&2; exit 1; }
cp "$ROOT/boot/vmlinuz-$V" "$OUT/$ARCH.vmlinuz"

# What stage2.sh needs in the guest: itself, guest-setup.sh, and which
# .debs are Essential:yes (dpkg-deb reads any architecture's control).
mkdir -p "$ROOT/vmtest" "$ROOT/root/.ssh"
cp tests/vm/stage2.sh tests/vm/guest-setup.sh "$ROOT/vmtest/"
for d in "$ROOT"$A/*.deb; do
	[ "$(dpkg-deb -f "$d" Essential)" = yes ] && echo "${d#"$ROOT"}"
done >"$ROOT/vmtest/essential.list"
cp "$OUT/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"

# The first boot's initramfs: busybox and the modules that reach an ext4
# root on virtio-blk-pci, in the order the host's modprobe gives from the
# kernel's own modules.dep (the host's depmod reads any architecture's
# modules; the guest's depmod remakes the files when it installs).
INI="$OUT/initramfs-$ARCH"
rm -rf "$INI"
mkdir -p "$INI/bin" "$INI/dev" "$INI/proc" "$INI/sys" "$INI/lib/modules"
cp "$ROOT/bin/busybox" "$INI/bin/busybox"
ln -s busybox "$INI/bin/sh"
depmod -b "$ROOT" "$V"
modprobe -d "$ROOT" -S "$V" --show-depends -a virtio_pci virtio_blk ext4 |
	awk '$1 == "insmod" { print $2 }' >"$INI/modules.paths"
[ -s "$INI/modules.paths" ] || { echo "mkimage: no modules" >&2; exit 1; }
while read -r m; do
	cp "$m" "$INI/lib/modules/"
	basename "$m"
done <"$INI/modules.paths" >"$INI/modules"
rm "$INI/modules.paths"
cp tests/vm/firstboot-init.sh "$INI/init"
chmod 755 "$INI/init"
(cd "$INI" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/$ARCH.firstboot"
rm -rf "$INI"

mkfs.ext4 -q -F -L vmroot -d "$ROOT" "$OUT/$ARCH.img" 2G
rm -rf "$ROOT"

# The first boot: stage2.sh installs everything; the guest powers off.
# cache=unsafe: nothing here needs to survive a crash of the host (the
# build starts again), and flushes cost minutes under emulation.
LOG="$OUT/$ARCH.stage2.log"
echo "mkimage: first boot of the $ARCH image (the installation, emulated;" \
	"console: $LOG)" >&2
rm -f "$LOG"
timeout "${VM_STAGE2_TIMEOUT:-5400}" qemu-system-aarch64 -machine virt \
	-cpu cortex-a72 -smp 2 -m 1024 -nodefaults -display none -no-reboot \
	-serial "file:$LOG" -kernel "$OUT/$ARCH.vmlinuz" \
	-initrd "$OUT/$ARCH.firstboot" \
	-append "console=ttyAMA0 panic=-1 mitigations=off" \
	-drive "file=$OUT/$ARCH.img,format=raw,if=none,id=d0,cache=unsafe,discard=unmap" \
	-device virtio-blk-pci,drive=d0 -device virtio-rng-pci ||
	{ echo "mkimage: qemu: exit $?; $LOG ends:" >&2; tail -n 30 "$LOG" >&2; exit 1; }
grep -q '^vmtest-stage2: ok' "$LOG" ||
	{ echo "mkimage: the first boot failed; $LOG ends:" >&2
	  tail -n 40 "$LOG" >&2; exit 1; }
rm -f "$OUT/$ARCH.firstboot"

# The initramfs the guest made for itself (guest-setup.sh's small one),
# out of the disk without mounting it; and the file system checked.
rm -f "$OUT/$ARCH.initrd"
debugfs -R "dump /boot/initrd.img-$V $OUT/$ARCH.initrd" "$OUT/$ARCH.img" 2>/dev/null
[ -s "$OUT/$ARCH.initrd" ] ||
	{ echo "mkimage: no /boot/initrd.img-$V in the image" >&2; exit 1; }
e2fsck -f -n "$OUT/$ARCH.img" >/dev/null 2>&1 ||
	{ echo "mkimage: the image's file system is not clean" >&2; exit 1; }
date -u +%FT%TZ >"$OUT/$ARCH.ready"
