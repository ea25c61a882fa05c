#!/bin/sh
# tools/cross.sh ARCH
#     Installs what a cross build for ARCH (arm64, armhf) needs, when
#     missing -- the cross compiler and binutils, qemu-user -- and makes
#     its sysroot, build/sysroot/ARCH: ARCH's library packages unpacked
#     with dpkg-deb, never installed.  Installing multiarch -dev packages
#     fails whenever the mirror's foreign indices lag the native one
#     (Multi-Arch: same packages must have the same version on every
#     architecture), and libhttp-parser-dev is not Multi-Arch: same at all;
#     unpacked packages depend on nothing.  Idempotent and fast when done.
# tools/cross.sh ARCH test DIR
#     Runs every unit test in DIR/tests (built for ARCH) under qemu-user,
#     from the repository's root, and ends with "N passed, M failed".
set -eu
cd "$(dirname "$0")/.."

ARCH=${1:-}
case "$ARCH" in
arm64)	TRIPLET=aarch64-linux-gnu;   QEMU=qemu-aarch64 ;;
armhf)	TRIPLET=arm-linux-gnueabihf; QEMU=qemu-arm ;;
*)	echo "usage: tools/cross.sh arm64|armhf [test DIR]" >&2; exit 2 ;;
esac
SYSROOT=build/sysroot/$ARCH
LIBDIRS="$SYSROOT/usr/lib/$TRIPLET:$SYSROOT/lib/$TRIPLET"

if [ "${2:-}" = test ]; then
	DIR=${3:?tools/cross.sh $ARCH test DIR}
	pass=0
	fail=0
	failed=""
	mkdir -p tests/artifacts
	for t in "$DIR"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		log="tests/artifacts/$ARCH.$n.log"
		start=$(date +%s)
		# The guest's loader takes libc from the cross packages
		# (QEMU_LD_PREFIX) and the rest from the sysroot; -E sets
		# LD_LIBRARY_PATH for the guest only, not for qemu itself;
		# TEST_TIME_SCALE lets tests' safety timeouts allow an
		# emulated run ten times longer; FIELD_QEMU_USER tells a test
		# it runs under qemu-user, which does not emulate seccomp.
		if QEMU_LD_PREFIX=/usr/$TRIPLET "$QEMU" \
		    -E LD_LIBRARY_PATH="$LIBDIRS" -E TEST_TIME_SCALE=10 \
		    -E FIELD_QEMU_USER=1 \
		    "$t" >"$log" 2>&1; then
			pass=$((pass + 1))
			echo "ok   $ARCH/$n ($(($(date +%s) - start)) s)"
		else
			fail=$((fail + 1))
			failed="$failed $n"
			echo "FAIL $ARCH/$n (log: $log)"
			tail -n 30 "$log" | sed 's/^/    /'
		fi
	done
	[ -z "$failed" ] || echo "failed:$failed"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit
fi

# The machine's own tools; libc6-dev-ARCH-cross is only recommended by
# the compiler, which without it compiles against the machine's headers.
HOST_PKGS="gcc-$TRIPLET binutils-$TRIPLET libc6-dev-$ARCH-cross qemu-user"
# ARCH's libraries: what the Makefile's LIBS and -lcmocka name, the
# runtime packages they link against (libsystemd0's: liblzma5, libzstd1,
# liblz4-1, libcap2, libgcrypt20 and its libgpg-error0; libpq5's: TLS,
# Kerberos, LDAP and theirs).  libc and libm
# come with the cross compiler (libc6-dev-ARCH-cross).
LIB_PKGS="libsqlite3-dev libsqlite3-0 libuv1-dev libuv1
libmbedtls-dev libmbedtls14 libmbedx509-1 libmbedcrypto7
libprotobuf-c-dev libprotobuf-c1 libzstd-dev libzstd1
libjansson-dev libjansson4 libhttp-parser-dev libhttp-parser2.9
libcsv-dev libcsv3 libexpat1-dev libexpat1 libcmocka-dev libcmocka0
libzip-dev libzip4 libbz2-1.0 zlib1g
libxlsxwriter-dev libxlsxwriter4 libminizip1
libseccomp-dev libseccomp2
libsystemd-dev libsystemd0 liblzma5 liblz4-1 libcap2 libgcrypt20
libgpg-error0
libpq-dev libpq5 libssl3 libgssapi-krb5-2 libkrb5-3 libk5crypto3
libkrb5support0 libcom-err2 libkeyutils1 libldap-2.5-0 libsasl2-2
libsasl2-modules-db libdb5.3 libgnutls30 libp11-kit0 libidn2-0
libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10 libffi8"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
	    grep -q "install ok installed"
}

# A mirror in the middle of a sync fails one index or another; what was
# there before still serves, so go on and let a missing package fail.
apt_update() {
	$SUDO apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null ||
	    echo "cross: apt-get update failed; going on with the indices there are" >&2
}

# try WHAT COMMAND...: three tries, a fresh index before each retry (the
# one there was can name packages the mirror no longer has).
try() {
	what=$1
	shift
	n=1
	until "$@"; do
		[ "$n" -lt 3 ] || { echo "cross: cannot $what" >&2; exit 1; }
		n=$((n + 1))
		echo "cross: cannot $what; updating the indices, try $n of 3" >&2
		sleep 20
		apt_update
	done
}

updated=""
if ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
	echo "cross: adding the $ARCH architecture to dpkg" >&2
	$SUDO dpkg --add-architecture "$ARCH"
	apt_update
	updated=1
fi

missing=""
for p in $HOST_PKGS; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "cross: installing$missing" >&2
	[ -n "$updated" ] || { apt_update; updated=1; }
	# shellcheck disable=SC2086
	try "install$missing" $SUDO apt-get install -y -q \
	    -o DPkg::Lock::Timeout=600 --no-install-recommends $missing \
	    >/dev/null
fi

# The sysroot: each package unpacked once (a stamp per package), the
# .debs kept beside it.
debs=build/sysroot/debs/$ARCH
mkdir -p "$SYSROOT/.unpacked" "$debs"
want=""
for p in $LIB_PKGS; do
	[ -f "$SYSROOT/.unpacked/$p" ] || want="$want $p"
done
[ -z "$want" ] && exit 0

echo "cross: unpacking into $SYSROOT:$want" >&2
get=""
for p in $want; do
	ls "$debs/${p}_"*.deb >/dev/null 2>&1 || get="$get $p:$ARCH"
done
if [ -n "$get" ]; then
	# No candidate for ARCH: its index was never fetched.
	first=${get# }
	first=${first%% *}
	if [ -z "$updated" ] &&
	    ! apt-cache policy "$first" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		apt_update
	fi
	# shellcheck disable=SC2086,SC2016
	try "download$get" sh -c 'cd "$1" && shift && apt-get download -q \
	    -o APT::Sandbox::User=root "$@" >/dev/null' sh "$debs" $get
fi
for p in $want; do
	for d in "$debs/${p}_"*.deb; do
		dpkg-deb -x "$d" "$SYSROOT"
	done
	touch "$SYSROOT/.unpacked/$p"
done

# Links that name an absolute path (libexpat.so -> /lib/TRIPLET/...) are
# made relative to where they are, inside the sysroot.
find "$SYSROOT" -type l | while read -r l; do
	t=$(readlink "$l")
	case "$t" in
	/*)	rel=$(realpath -m --relative-to="$(dirname "$l")" "$SYSROOT$t")
		ln -sfn "$rel" "$l" ;;
	esac
done
# libhttp_parser.so comes with libhttp-parser-dev; should a version come
# without it, link the runtime's libhttp_parser.so.2.N.
lib=$SYSROOT/usr/lib/$TRIPLET
if [ ! -e "$lib/libhttp_parser.so" ]; then
	for so in "$lib"/libhttp_parser.so.2.*; do
		ln -sfn "$(basename "$so")" "$lib/libhttp_parser.so"
		break
	done
fi
echo "cross: $SYSROOT ready" >&2
