#!/usr/bin/env python3
"""bench_export.py BUILD: collectctl export of households for people who
open them in a spreadsheet, against the plain CSV export of the same
records in the same run.

A collector gets N households (countslib's generator: 1 to 8 members,
select_multiple needs and vulnerabilities) from a device over sync; then
each export runs REPEAT times and its median wall time is taken:

  csv      --out DIR                       (the baseline: codes, CSV)
  labels   --labels --lang Français --split-multiple --bom
  xlsx     --xlsx --labels --lang Français --split-multiple

Prints each one's time, its ratio to the baseline and the size of what
it wrote.  Uses the test libraries (tests/integration), so the release
build's binaries are given as BUILD (bench/run.sh passes build)."""
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

HOUSEHOLDS = 3000
REPEAT = 3


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    os.environ["FIELD_BIN"] = build
    import fieldlib as fl           # noqa: E402 (reads FIELD_BIN)
    import countslib as cl          # noqa: E402
    import synclib as sl            # noqa: E402
    fl.BIN = build
    c = sl.Collector()
    try:
        c.start()
        dev = sl.SyncDevice(c, "bench-export")
        files = cl.generate(c.root, seed=11, households=HOUSEHOLDS,
                            visits=1, sites=12, assessments_per_site=1)
        cl.load(dev, {"dtm_household": files["dtm_household"]})
        dev.sync(attempts=5, check=True, timeout=600)
        c.stop()
        key = os.path.join(c.dir, "seal.key")
        runs = {"csv": [], "labels": ["--labels", "--lang", "Français",
                                      "--split-multiple", "--bom"],
                "xlsx": ["--xlsx", "--labels", "--lang", "Français",
                         "--split-multiple"]}
        took, size = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, extra in runs.items():
                times = []
                for i in range(REPEAT):
                    out = os.path.join(tmp, "%s-%d" % (name, i))
                    t0 = time.perf_counter()
                    c.ctl("export", "--key", key, "--form", "dtm_household",
                          "--out", out, *extra)
                    times.append(time.perf_counter() - t0)
                took[name] = statistics.median(times)
                size[name] = sum(
                    os.path.getsize(os.path.join(out, f))
                    for f in os.listdir(out) if not f.endswith(".jsonl"))
        print("export of %d households (dtm_household), median of %d:" % (
            HOUSEHOLDS, REPEAT))
        for name in runs:
            print("  %-7s %7.3f s  x%.2f of csv  %8.1f KiB" % (
                name, took[name], took[name] / took["csv"],
                size[name] / 1024))
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
