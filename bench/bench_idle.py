#!/usr/bin/env python3
"""bench_idle.py [BUILD] [--seconds N]: fieldd at rest on a board.

fieldd runs as a board runs it: a simulated board (board = sim:DIR) with a
status LED, a battery on mains, and the supervisor's watchdog at 30 s
(systemd's WatchdogSec in firmware/systemd/fieldd.service); a collector
set but not reachable, so sync keeps its schedule; a store of 200 records
waiting.  After a settling minute it is left alone for N seconds (60).

  wake-ups  context switches of all its threads (/proc/PID/task/*/status,
            voluntary and not): each return from the loop's epoll_wait is
            one.  Shown per minute, and the shortest gap between wake-ups
            inferred from the busiest 5-second window.  Budget: none
            faster than once a second, so at most 60 a minute.
  memory    resident set (VmRSS) after the idle time, beside a baseline
            taken in the same run: this python3 process's own VmRSS.

Python 3 standard library only; everything it starts is stopped.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def switches(pid):
    n = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        n += int(line.split()[1])
        except FileNotFoundError:
            pass
    return n


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith(
        "--") else "build"
    seconds = 60
    if "--seconds" in sys.argv:
        seconds = int(sys.argv[sys.argv.index("--seconds") + 1])
    root = tempfile.mkdtemp(prefix="bench_idle.")
    proc = None
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            [os.path.join(build, a[0])] + list(a[1:]), check=True,
            capture_output=True, text=True)
        run("collectctl", "keygen", os.path.join(root, "c"))
        dev = os.path.join(root, "d")
        run("fieldctl", "-d", dev, "init", "--collector-key",
            os.path.join(root, "c", "seal.pub"))
        sim = os.path.join(root, "board")
        for rel, text in (("sys/class/leds/status/max_brightness", "1"),
                          ("sys/class/power_supply/AC/type", "Mains"),
                          ("sys/class/power_supply/AC/online", "1"),
                          ("sys/class/power_supply/BAT0/type", "Battery"),
                          ("sys/class/power_supply/BAT0/capacity", "90"),
                          ("watchdog_ms", "30000")):
            os.makedirs(os.path.dirname(os.path.join(sim, rel)),
                        exist_ok=True)
            with open(os.path.join(sim, rel), "w") as f:
                f.write(text + "\n")
        os.mkfifo(os.path.join(sim, "button"))
        with open(os.path.join(dev, "fieldd.conf"), "w") as f:
            f.write("board = sim:%s\nstatus_led = status\n"
                    "collector = 127.0.0.1:9\n" % sim)
        rec = {"site_id": "SITE-001", "admin1": "SS01", "admin2": "SS0101",
               "registration_date": time.strftime("%Y-%m-%d"),
               "consent": "no", "shelter_type": "tent", "intention": "stay",
               "needs": ["food"], "members": [
                   {"sex": "female", "age_years": 30,
                    "relationship": "head"}]}
        for _ in range(200):
            subprocess.run([os.path.join(build, "fieldctl"), "-d", dev,
                            "submit", "dtm_household"], input=json.dumps(rec),
                           text=True, capture_output=True, check=True)
        log = open(os.path.join(root, "fieldd.log"), "w")
        proc = subprocess.Popen([os.path.join(build, "fieldd"), "-d", dev,
                                 "--listen", "127.0.0.1:0"],
                                stdout=log, stderr=log)
        time.sleep(60 if seconds >= 60 else 5)    # settle: first attempts
        start = switches(proc.pid)
        windows = []
        last = start
        t0 = time.time()
        while time.time() - t0 < seconds:
            time.sleep(5)
            now = switches(proc.pid)
            windows.append(now - last)
            last = now
        elapsed = time.time() - t0
        total = last - start
        rss = rss_kib(proc.pid)
        base = rss_kib(os.getpid())
        per_min = total * 60.0 / elapsed
        busiest = max(windows) if windows else 0
        gap = 5.0 / busiest if busiest else float("inf")
        print("fieldd idle: %.1f wake-ups a minute over %d s (budget 60: "
              "%.2fx); busiest 5 s held %d, i.e. no faster than one per "
              "%.1f s" % (per_min, round(elapsed), per_min / 60.0, busiest,
                          gap))
        print("fieldd idle: resident %.2f MiB, %.2fx a bare python3 "
              "process (%.2f MiB) in the same run" % (
                  rss / 1024.0, rss / float(base), base / 1024.0))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
