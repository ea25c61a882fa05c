#!/bin/sh
# tools/mkdeb.sh ARCH BINDIR OUTDIR VERSION RELEASE_PUB: builds
# OUTDIR/fieldd_VERSION_ARCH.deb and OUTDIR/collectord_VERSION_ARCH.deb
# from the programs in BINDIR (a release build for ARCH) and firmware/
# (units, configuration, maintainer scripts), with dpkg-deb from a
# staged tree: no debhelper.  `make deb` runs it (firmware/deb.mk).
#
# The fieldd package's layout (signed updates rely on it):
#   /usr/lib/fieldd/releases/VERSION/{fieldd,fieldctl,VERSION}
#   /usr/lib/fieldd/current -> releases/VERSION   made by postinst, never
#                                                 shipped (updates flip it)
#   /usr/bin/fieldctl -> ../lib/fieldd/current/fieldctl
#   /etc/fieldd/{fieldd.conf,release.pub}         conffiles
#   /lib/systemd/system/fieldd.service, fieldd-poweroff.{path,service}
#   /usr/lib/systemd/journald.conf.d/fieldd.conf, /usr/lib/sysusers.d/
#   /usr/share/man/man8/{fieldd,fieldctl}.8.gz, man5/fieldd.conf.5.gz
# The manual pages come from BINDIR/man (the Makefile's man target).
# Environment: STRIP (default: strip natively, else ARCH's cross strip
# or llvm-strip), MAINTAINER, SOURCE_DATE_EPOCH (default: the last
# commit's time, so that two builds of one tree are the same bytes).
set -eu

[ $# -eq 5 ] || { echo "usage: mkdeb.sh ARCH BINDIR OUTDIR VERSION RELEASE_PUB" >&2
	exit 2; }
ARCH=$1
BIN=$2
OUT=$3
VERSION=$4
PUB=$5
FW=firmware
MAINTAINER=${MAINTAINER:-fieldd maintainers <maintainers@users.noreply.r-seed-3c770039.example>}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

case "$ARCH" in
amd64) triplet=x86_64-linux-gnu ;;
arm64) triplet=aarch64-linux-gnu ;;
armhf) triplet=arm-linux-gnueabihf ;;
*) echo "mkdeb: unknown ARCH $ARCH (amd64, arm64, armhf)" >&2; exit 2 ;;
esac
if [ -z "${STRIP:-}" ]; then
	if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then
		STRIP=strip
	elif command -v "$triplet-strip" >/dev/null; then
		STRIP=$triplet-strip
	else
		STRIP=llvm-strip
	fi
fi

for f in fieldd fieldctl collectord collectctl; do
	[ -x "$BIN/$f" ] || { echo "mkdeb: no $BIN/$f" >&2; exit 1; }
done
for f in fieldd.8 fieldctl.8 fieldd.conf.5 collectord.8 collectctl.8 \
    collectord.conf.5; do
	[ -f "$BIN/man/$f" ] || { echo "mkdeb: no $BIN/man/$f" >&2; exit 1; }
done
if ! grep -q -- "-----BEGIN PUBLIC KEY-----" "$PUB"; then
	echo "mkdeb: $PUB is not a PEM public key" >&2
	exit 1
fi
# The programs must be ARCH's (a stale native build in build/ARCH/ would
# otherwise make a package that cannot run).
case "$ARCH" in
amd64) machine="X86-64" ;;
arm64) machine="AArch64" ;;
armhf) machine="ARM" ;;
esac
for f in fieldd fieldctl collectord collectctl; do
	m=$(LC_ALL=C readelf -h "$BIN/$f" | sed -n 's/^ *Machine: *//p')
	case "$m" in
	*"$machine"*) ;;
	*) echo "mkdeb: $BIN/$f is for $m, not $ARCH" >&2; exit 1 ;;
	esac
done

mkdir -p "$OUT"
STAGE=$OUT/stage-$ARCH
rm -rf "$STAGE"
mkdir -p "$STAGE"
# Everything staged is root's (dpkg-deb --root-owner-group) and
# 0755 / 0644 whatever the umask of whoever builds.
umask 022

# The runtime libraries each program needs (its DT_NEEDED entries), as
# packages with the lowest versions whose symbols it uses (what
# dpkg-shlibdeps gives on bookworm; lower bounds, so the same for arm64
# and armhf).
lib_pkg() {
	case "$1" in
	libc.so.6|libm.so.6) echo "libc6 (>= 2.34)" ;;
	libsqlite3.so.0) echo "libsqlite3-0 (>= 3.20.0)" ;;
	libuv.so.1) echo "libuv1 (>= 1.4.2)" ;;
	libmbedtls.so.14) echo "libmbedtls14 (>= 2.28.0)" ;;
	libmbedx509.so.1) echo "libmbedx509-1 (>= 2.28.0)" ;;
	libmbedcrypto.so.7) echo "libmbedcrypto7 (>= 2.28.0)" ;;
	libprotobuf-c.so.1) echo "libprotobuf-c1 (>= 1.0.1)" ;;
	libzstd.so.1) echo "libzstd1 (>= 1.5.2)" ;;
	libjansson.so.4) echo "libjansson4 (>= 2.14)" ;;
	libhttp_parser.so.2.9) echo "libhttp-parser2.9 (>= 2.1)" ;;
	libcsv.so.3) echo "libcsv3 (>= 3.0.3)" ;;
	libexpat.so.1) echo "libexpat1 (>= 2.0.1)" ;;
	libzip.so.4) echo "libzip4 (>= 1.0)" ;;
	libxlsxwriter.so.4) echo "libxlsxwriter4 (>= 1.0.0)" ;;
	libsystemd.so.0) echo "libsystemd0 (>= 209)" ;;
	libpq.so.5) echo "libpq5 (>= 10~~)" ;;
	libseccomp.so.2) echo "libseccomp2 (>= 2.5.0)" ;;
	ld-linux*|ld-linux-*) ;;
	*) echo "mkdeb: no package known for $1: add it to lib_pkg" >&2
	   return 1 ;;
	esac
}

depends() {
	needed=$(for f in "$@"; do
		LC_ALL=C readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
	done | sort -u)
	list=""
	for n in $needed; do
		p=$(lib_pkg "$n") || return 1
		[ -n "$p" ] && list="$list$p
"
	done
	printf '%s' "$list" | sort -u | paste -sd, - | sed 's/,/, /g'
}

strip_to() {	# SRC DEST: a stripped copy, as dh_strip makes it
	install -m 0755 "$1" "$2"
	"$STRIP" --strip-unneeded --remove-section=.comment \
	    --remove-section=.note "$2"
}

docs() {	# PKG ROOT
	d=$2/usr/share/doc/$1
	mkdir -p "$d"
	install -m 0644 "$FW/debian/copyright" "$d/copyright"
	install -m 0644 "$FW/debian/$1.README.Debian" "$d/README.Debian"
	date=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH" 2>/dev/null ||
	    LC_ALL=C date -u -R)
	sed -e "s/@SOURCE@/fieldd/" -e "s/@VERSION@/$VERSION/" \
	    -e "s/@MAINTAINER@/$MAINTAINER/" -e "s/@DATE@/$date/" \
	    "$FW/debian/changelog" | gzip -9n >"$d/changelog.gz"
	touch -d "@$SOURCE_DATE_EPOCH" "$d/changelog.gz"
}

manpages() {	# ROOT PAGE...: gzip -9n into usr/share/man/manN/
	r=$1
	shift
	for m in "$@"; do
		d=$r/usr/share/man/man${m##*.}
		mkdir -p "$d"
		gzip -9n <"$BIN/man/$m" >"$d/$m.gz"
		chmod 0644 "$d/$m.gz"
	done
}

scripts() {	# PKG ROOT
	for s in postinst prerm postrm; do
		sed "s/@VERSION@/$VERSION/g" "$FW/debian/$1.$s" \
		    >"$2/DEBIAN/$s"
		chmod 0755 "$2/DEBIAN/$s"
	done
}

control() {	# PKG ROOT DEPENDS DESCRIPTION...
	pkg=$1
	root=$2
	deps=$3
	shift 3
	size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
	{
		echo "Package: $pkg"
		echo "Version: $VERSION"
		echo "Architecture: $ARCH"
		echo "Maintainer: $MAINTAINER"
		echo "Installed-Size: $size"
		echo "Depends: $deps"
		echo "Section: misc"
		echo "Priority: optional"
		for line in "$@"; do
			echo "$line"
		done
	} >"$root/DEBIAN/control"
	(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print |
	    sed 's|^\./||' | LC_ALL=C sort | xargs -r md5sum) \
	    >"$root/DEBIAN/md5sums"
	(cd "$root" && find etc -type f 2>/dev/null | LC_ALL=C sort |
	    sed 's|^|/|') >"$root/DEBIAN/conffiles"
}

build() {	# ROOT
	find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$1" "$OUT" >/dev/null
}

# --- fieldd --------------------------------------------------------------
R=$STAGE/fieldd
REL=$R/usr/lib/fieldd/releases/$VERSION
mkdir -p "$R/DEBIAN" "$REL" "$R/usr/bin" "$R/etc/fieldd" \
    "$R/lib/systemd/system" "$R/usr/lib/systemd/journald.conf.d" \
    "$R/usr/lib/sysusers.d"
strip_to "$BIN/fieldd" "$REL/fieldd"
strip_to "$BIN/fieldctl" "$REL/fieldctl"
echo "$VERSION" >"$REL/VERSION"
chmod 0644 "$REL/VERSION"
ln -s ../lib/fieldd/current/fieldctl "$R/usr/bin/fieldctl"
install -m 0644 "$FW/etc/fieldd.conf" "$R/etc/fieldd/fieldd.conf"
install -m 0644 "$PUB" "$R/etc/fieldd/release.pub"
for u in fieldd.service fieldd-poweroff.path fieldd-poweroff.service; do
	install -m 0644 "$FW/systemd/$u" "$R/lib/systemd/system/$u"
done
install -m 0644 "$FW/journald/fieldd.conf" \
    "$R/usr/lib/systemd/journald.conf.d/fieldd.conf"
install -m 0644 "$FW/debian/fieldd.sysusers" "$R/usr/lib/sysusers.d/fieldd.conf"
docs fieldd "$R"
manpages "$R" fieldd.8 fieldctl.8 fieldd.conf.5
scripts fieldd "$R"
deps=$(depends "$REL/fieldd" "$REL/fieldctl")
control fieldd "$R" "$deps, adduser" \
    "Description: offline field data collection on a board, sealed at the source" \
    " fieldd runs on a Raspberry Pi-class board at a camp site or migrant" \
    " resource centre.  It takes displacement-tracking and resource-centre" \
    " forms from phones (its web app, ODK Collect) and fieldctl, validates" \
    " each record, seals it to the central collector's public key and" \
    " commits it durably; records reach collectord over any link that comes" \
    " and goes, or on a USB stick, exactly once." \
    " ." \
    " This package holds fieldd, fieldctl, the systemd units (hardened, with" \
    " systemd's watchdog and a power-off on low battery) and a journald" \
    " setting that spares the SD card."
build "$R"

# --- collectord ----------------------------------------------------------
R=$STAGE/collectord
mkdir -p "$R/DEBIAN" "$R/usr/bin" "$R/etc/collectord" \
    "$R/lib/systemd/system" "$R/usr/lib/sysusers.d"
strip_to "$BIN/collectord" "$R/usr/bin/collectord"
strip_to "$BIN/collectctl" "$R/usr/bin/collectctl"
install -m 0644 "$FW/etc/collectord.conf" "$R/etc/collectord/collectord.conf"
install -m 0644 "$FW/systemd/collectord.service" \
    "$R/lib/systemd/system/collectord.service"
install -m 0644 "$FW/debian/collectord.sysusers" \
    "$R/usr/lib/sysusers.d/collectord.conf"
docs collectord "$R"
manpages "$R" collectord.8 collectctl.8 collectord.conf.5
scripts collectord "$R"
deps=$(depends "$R/usr/bin/collectord" "$R/usr/bin/collectctl")
control collectord "$R" "$deps, adduser" \
    "Description: central collector for fieldd's sealed field records" \
    " collectord receives the records fieldd boards seal at the source, over" \
    " TLS with certificates on both sides (it is its devices' certificate" \
    " authority) or as signed bundles carried on USB sticks, and stores each" \
    " exactly once without the key that opens them.  collectctl enrols" \
    " devices, opens records with the private key where analysts work, and" \
    " turns them into counts with small-cell suppression and exports." \
    " ." \
    " This package holds collectord, collectctl and a hardened systemd unit."
build "$R"

rm -rf "$STAGE"
echo "mkdeb: $OUT/fieldd_${VERSION}_$ARCH.deb $OUT/collectord_${VERSION}_$ARCH.deb"
