#!/bin/sh
# tests/run.sh SAN_BUILD FUZZ_BUILD [PLAIN_BUILD]: runs every test program
# -- unit tests (cmocka, sanitizer build), the same unit tests
# uninstrumented under valgrind (when PLAIN_BUILD is given), a short run of
# every fuzz target over its corpus, and the integration tests against the
# sanitizer build's real binaries -- and ends with one line
# "N passed, M failed".
set -u
SAN=${1:-build/san}
FUZZ=${2:-build/fuzz}
PLAIN=${3:-}
FUZZ_RUNS=${FUZZ_RUNS:-3000}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
failed=""
mkdir -p tests/artifacts

run() {
	name=$1
	shift
	log="tests/artifacts/$(echo "$name" | tr '/ ' '__').log"
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name (log: $log)"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

for t in "$SAN"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done

if [ -n "$PLAIN" ] && command -v valgrind >/dev/null; then
	for t in "$PLAIN"/tests/test_*; do
		[ -x "$t" ] || continue
		run "valgrind/$(basename "$t")" valgrind -q --error-exitcode=1 \
		    --leak-check=full --errors-for-leak-kinds=definite,indirect "$t"
	done
fi

for t in "$FUZZ"/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	corpus=tests/fuzz/corpus/$n
	# New inputs go to a scratch folder, never into the tree's corpus.
	scratch="$FUZZ/corpus/$n"
	mkdir -p "$corpus" "$scratch"
	run "fuzz/$n" "$t" -runs="$FUZZ_RUNS" -max_total_time=20 \
	    "$scratch" "$corpus"
done

for t in tests/tools/test_*.py; do
	[ -f "$t" ] || continue
	run "tools/$(basename "$t" .py)" python3 "$t" --bin "$SAN/faultproxy"
done

for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	run "integration/$(basename "$t" .py)" python3 "$t" --bin "$SAN"
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
