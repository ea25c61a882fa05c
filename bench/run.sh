#!/bin/sh
# bench/run.sh BUILD: runs every benchmark on the release build and prints
# their figures (also kept in build/bench/results.txt).
set -eu
B=${1:-build}
out="$B/bench/results.txt"
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores"
	"$B/bench/bench_store"
	"$B/bench/bench_fieldd" "$B/fieldd"
	python3 bench/bench_idle.py "$B"
	"$B/bench/bench_counts"
	# The sync benchmarks run through the fault-injecting proxy (make
	# bench builds it).
	python3 bench/bench_sync.py "$B"
	# The programs' sizes here and on the boards (make bench makes the
	# arm64 and armhf builds).
	sh bench/sizes.sh "$B"
} | tee "$out"
