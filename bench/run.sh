#!/bin/sh
# bench/run.sh BUILD: runs every benchmark on the release build and prints
# their figures (also kept in build/bench/results.txt).
set -eu
B=${1:-build}
out="$B/bench/results.txt"
# A private PostgreSQL cluster on loopback (tools/pg.sh) for the figures
# on the collector's PostgreSQL store (bench_counts reads FIELD_PG_URL;
# bench_sync's part 5 starts its own beside its collectors' folders);
# stopped at the end.  Without PostgreSQL those figures say so.
pgdir=$(mktemp -d /tmp/fieldbench-pg.XXXXXX)
trap 'sh tools/pg.sh stop "$pgdir" 2>/dev/null; rm -rf "$pgdir"' EXIT
trap 'exit 130' INT TERM
if url=$(sh tools/pg.sh start "$pgdir"); then
	export FIELD_PG_URL="$url"
else
	echo "bench: no PostgreSQL cluster (tools/pg.sh start failed)" >&2
fi
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores"
	"$B/bench/bench_store"
	# The largest form real needs assessments have (550 fields, 100
	# lists, a 2,000-place cascade), made with Debian's python3-openpyxl.
	/usr/bin/python3 bench/make_form.py "$B/bench/large.xlsx" \
	    "$B/bench/large-record.json"
	"$B/bench/bench_forms" "$B/bench/large.xlsx" \
	    "$B/bench/large-record.json" "$B/bench/large.json"
	"$B/bench/bench_fieldd" "$B/fieldd" "$B/bench/large.json" \
	    "$B/bench/large-record.json"
	# The web app on a low-end phone (chromium, CPU slowed 4x) with the
	# large form and a 2,000-place cascade; its size gzipped.
	python3 bench/bench_field_page.py "$B" "$B/bench/large.xlsx" ||
	    echo "bench_field_page: a budget missed (above)"
	python3 bench/bench_idle.py "$B"
	"$B/bench/bench_counts"
	# The sync benchmarks run through the fault-injecting proxy (make
	# bench builds it).
	python3 bench/bench_sync.py "$B"
	python3 bench/bench_export.py "$B"
	# The programs' sizes here and on the boards (make bench makes the
	# arm64 and armhf builds).
	sh bench/sizes.sh "$B"
} | tee "$out"
