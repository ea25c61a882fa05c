#!/bin/sh
# tests/run.sh SAN_BUILD FUZZ_BUILD [PLAIN_BUILD]: runs every test program
# -- unit tests (cmocka, sanitizer build), the same unit tests
# uninstrumented under valgrind (when PLAIN_BUILD is given), a short run of
# every fuzz target over its corpus, the integration tests against the
# sanitizer build's real binaries, and the collector's integration tests
# once more with its records in PostgreSQL (integration-pg/) -- and ends
# with one line "N passed, M failed".
#
# PostgreSQL: a private cluster on loopback (tools/pg.sh) for the whole
# run, its URL in FIELD_PG_URL (the unit tests of the engines, test_cdb
# and test_astore, run their PostgreSQL part then), stopped at the end.
# Skipped, and said so, only when PostgreSQL is not installed (tools/
# deps.sh installs it) or FIELD_PG=0; a cluster that is there but will not
# start is a failure.
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

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
pgdir=""
if [ "${FIELD_PG:-1}" = 0 ] || [ ! -x "$PGBIN/initdb" ]; then
	echo "skip PostgreSQL: not installed (sh tools/deps.sh) or FIELD_PG=0"
else
	pgdir=$(mktemp -d /tmp/fieldpg.XXXXXX)
	trap 'sh tools/pg.sh stop "$pgdir" 2>/dev/null; rm -rf "$pgdir"' EXIT
	trap 'exit 130' INT TERM
	if FIELD_PG_URL=$(sh tools/pg.sh start "$pgdir" 2>tests/artifacts/pg.log)
	then
		export FIELD_PG_URL
	else
		unset FIELD_PG_URL
		fail=$((fail + 1))
		failed="$failed postgresql"
		echo "FAIL postgresql: tools/pg.sh did not start a cluster" \
		    "(log: tests/artifacts/pg.log)"
		tail -n 30 tests/artifacts/pg.log | sed 's/^/    /'
	fi
fi

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

# PostgreSQL-only tests (several collectord front-ends on one database)
# run in the PostgreSQL pass below, once.
PG_ONLY="test_frontends"
for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .py)
	case " $PG_ONLY " in *" $n "*) continue ;; esac
	run "integration/$n" python3 "$t" --bin "$SAN"
done

# The collector's tests again with its records in PostgreSQL: a fresh
# database of the run's cluster for every collector (FIELD_STORE=pg,
# tests/integration/pglib.py); and the tests of several front-ends on one
# database, which need it.
PG_TESTS="test_sync test_bundle test_collector_cli test_counts test_export
test_coord_http $PG_ONLY"
if [ -n "${FIELD_PG_URL:-}" ]; then
	for n in $PG_TESTS; do
		t=tests/integration/$n.py
		[ -f "$t" ] || continue
		run "integration-pg/$n" env FIELD_STORE=pg python3 "$t" \
		    --bin "$SAN"
	done
fi

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
