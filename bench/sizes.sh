#!/bin/sh
# bench/sizes.sh [BUILD]: the programs' sizes on every architecture: the
# file as built (with -g), stripped (strip from the architecture's own
# binutils), and the code and data that get loaded (size: text + data +
# bss), each with its ratio to the machine's own build, BUILD (default
# build/).  The cross builds are build/arm64 and build/armhf (make bench
# makes them when it can); one that is missing is said so and left out.
set -eu
B=${1:-build}
host=$(dpkg --print-architecture 2>/dev/null || echo amd64)
progs="fieldd fieldctl collectord collectctl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prefix() {
	case "$1" in
	arm64)	echo aarch64-linux-gnu- ;;
	armhf)	echo arm-linux-gnueabihf- ;;
	*)	echo "" ;;
	esac
}

# dir ARCH: where its build is
dir() {
	if [ "$1" = "$host" ]; then echo "$B"; else echo "build/$1"; fi
}

# figures ARCH PROG: "file stripped loaded" in bytes, or nothing
figures() {
	f="$(dir "$1")/$2"
	p=$(prefix "$1")
	[ -f "$f" ] && command -v "${p}strip" >/dev/null || return 0
	"${p}strip" -o "$tmp/s" "$f"
	loaded=$("${p}size" "$f" | awk 'NR == 2 { print $4 }')
	echo "$(stat -c %s "$f") $(stat -c %s "$tmp/s") $loaded"
}

echo "sizes: bytes (ratio to $host): file with -g, stripped, text+data+bss"
arches=$host
for a in arm64 armhf; do
	[ "$a" = "$host" ] || arches="$arches $a"
done
for a in $arches; do
	if [ ! -f "$(dir "$a")/fieldd" ]; then
		echo "  $a: not built"
		continue
	fi
	for p in $progs; do
		# shellcheck disable=SC2046 # three numbers, or none
		set -- $(figures "$a" "$p")
		[ $# -eq 3 ] || { echo "  $a $p: not built"; continue; }
		# shellcheck disable=SC2046
		set -- "$@" $(figures "$host" "$p")
		if [ $# -eq 6 ]; then
			awk -v a="$a" -v p="$p" -v f="$1" -v s="$2" -v l="$3" \
			    -v hf="$4" -v hs="$5" -v hl="$6" 'BEGIN {
				printf "  %-5s %-10s file %8d (%.2f)  stripped %8d (%.2f)  loaded %8d (%.2f)\n",
				    a, p, f, f / hf, s, s / hs, l, l / hl }'
		else
			printf "  %-5s %-10s file %8d  stripped %8d  loaded %8d\n" \
			    "$a" "$p" "$1" "$2" "$3"
		fi
	done
done
