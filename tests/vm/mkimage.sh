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
# this file or guest-setup.sh changes.  arm64 needs qemu-user's binfmt handler for mmdebstrap's
# chroot steps (vmtest.py checks and says so).
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

mmdebstrap --variant=apt --architectures="$ARCH" \
	--include="$(echo $PKGS | tr ' ' ',')" \
	--customize-hook='sh tests/vm/guest-setup.sh "$1"' \
	--customize-hook="mkdir -p \"\$1/root/.ssh\" && cp $OUT/id_ed25519.pub \"\$1/root/.ssh/authorized_keys\"" \
	--customize-hook="cp \"\$1\"/boot/vmlinuz-* $OUT/$ARCH.vmlinuz && cp \"\$1\"/boot/initrd.img-* $OUT/$ARCH.initrd" \
	bookworm "$ROOT" "$MIRROR"

mkfs.ext4 -q -F -L vmroot -d "$ROOT" "$OUT/$ARCH.img" 2G
rm -rf "$ROOT"
date -u +%FT%TZ >"$OUT/$ARCH.ready"
