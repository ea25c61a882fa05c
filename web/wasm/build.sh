#!/bin/sh
# build.sh: compiles the forms core (form/form.c, expr.c, validate.c, and
# counts.c for the counts a definition declares or gets by default) with
# jansson to web/field/rules.wasm, the rules the web app runs in the
# phone.  Run from the top of the tree: `make wasm` (needs emscripten,
# Debian's package).  The module names the hash of the sources it was made
# from (rw_sources); tests/integration/test_rules_shared.py fails when the
# committed module is older than the C it stands for.
set -eu
OUT=${1:-web/field/rules.wasm}
SRC="form/form.c form/expr.c form/validate.c form/counts.c"
J=web/wasm/jansson
JSRC="$J/dump.c $J/error.c $J/hashtable.c $J/hashtable_seed.c $J/load.c \
$J/memory.c $J/pack_unpack.c $J/strbuffer.c $J/strconv.c $J/utf.c $J/value.c"
HASH=$(sh web/wasm/sources_hash.sh)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Regular expressions as the board's glibc reads them: glibc's own regex,
# as gnulib carries it (Debian's gnulib package), not the C library's
# (musl's, which reads \d, [[=a=]], a{,3} and others otherwise).
GNULIB=${GNULIB:-/usr/share/gnulib/lib}
mkdir -p "$TMP/inc"
cp "$GNULIB/regex.h" "$TMP/inc/regex.h"
for c in regex.c malloc/dynarray_resize.c malloc/dynarray_at_failure.c \
    malloc/dynarray_emplace_enlarge.c malloc/dynarray_finalize.c; do
	emcc -Oz -std=gnu11 -DHAVE_CONFIG_H -Iweb/wasm/include -I"$TMP/inc" \
		-I"$GNULIB" -c "$GNULIB/$c" -o "$TMP/re_$(basename $c .c).o"
done
# -Oz: size first (a 2G link); STANDALONE_WASM: no emscripten JavaScript,
# web/field/rules.js gives the few WASI calls libc makes.
emcc -Oz -std=c11 -D_GNU_SOURCE -DHAVE_CONFIG_H -DRW_SOURCES="\"$HASH\"" \
	-I"$TMP/inc" -I. -Iweb/wasm/include -I$J \
	-sSTANDALONE_WASM=1 --no-entry -sALLOW_MEMORY_GROWTH=1 \
	-sINITIAL_MEMORY=4MB -sTOTAL_STACK=1MB -sFILESYSTEM=0 \
	-sEXPORTED_FUNCTIONS=_rw_alloc,_rw_free,_rw_error,_rw_parse,_rw_form_free,_rw_validate,_rw_state,_rw_choices,_rw_sources \
	-o "$TMP/rules.wasm" $SRC web/wasm/rules_wasm.c $JSRC "$TMP"/re_*.o
cp "$TMP/rules.wasm" "$OUT"
echo "$OUT: $(wc -c <"$OUT") bytes, sources $HASH"
