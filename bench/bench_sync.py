#!/usr/bin/env python3
"""bench_sync.py [BUILD]: the sync benchmarks, each against a
baseline taken in the same run.

  1. Wire bytes per record: one device syncs 2000 household records (3
     members each) to collectord through build/faultproxy in pass-through
     mode; its byte counters (both directions: TLS handshake, hello,
     counts, catalogue, batches, acks) divided by the records.  Baseline:
     the same records as ODK Collect submits them (OpenRosa XML multipart
     POST, bench/openrosa.py), the request alone.  Budget: at most 0.20x.
  2. Goodput over a slow, lossy link: faultproxy at 8000 B/s each way
     (64 kbit/s), 300 ms delay, a cut after 50 KB on average (fixed
     seed); goodput = the upstream bytes a clean run of the same device
     needs / (8000 B/s x the time until everything is acknowledged).
     "300 ms delay" is read as a round trip of 300 ms (150 ms each way,
     what `tc netem delay 300ms` on one side gives).  Budget: at least
     85%.  The same link with 300 ms each way (600 ms round trip) is
     reported beside it (budget 70%).  The proxy charges each new
     connection TCP's round trip before its first bytes, unless they came
     in its SYN (TCP Fast Open, which the device asks for; the kernel's
     net.ipv4.tcp_fastopen must allow the server side, bit 2).  Each
     line also gives the records that reached the collector whole more
     than once (collectord's own count at its stop, less those acked).
  6. The first attempt after a restart: a board learns a link cut every
     5 KB on average (64 kbit/s, 150 ms each way) over 12 attempts of one
     fieldctl process; then, per seed (8), a new process's single attempt
     from a copy of that board, against the same collectord still
     running: remembering what was learned (batch size, round trip, TLS
     session), and having forgotten it (as the version before).  Each
     copy starts at the collector's watermark, so what one seed gains is
     not sent again by the next.  Goodput = what the collector gained x
     clean bytes per record / (8000 B/s x the attempts' time), over all
     seeds and per seed (mean, range).  No budget.
  3. Collector ingest: 50 enrolled devices with 2000 records each sync at
     once to one collectord; records / wall time from the first sync
     started to the last acknowledged.  The collector's folder is on the
     disk; the devices' stores are on tmpfs when /dev/shm is there (their
     fsyncs happen on their own SD cards in the field, not on the
     collector's disk), but their fieldctl processes share its cores.
     Baselines: the bare SQLite insert rate of the same rows into the
     collector's table (WAL, synchronous=FULL, one transaction per batch
     of the mean size the collector saw) and one device alone.  Budget:
     at least 20,000 records/s (on 2 cores).
  4. Records opened for analysis: collectctl analyse over the records the
     ingest benchmark stored (open, validate, write facts), against
     collectctl open of the same records printed to /dev/null.
  5. Collector ingest on PostgreSQL: the 50 devices of part 3, the same
     sealed records (copies of the devices' folders), sync at once to one
     collectord on SQLite, then to 1, 2 and 4 collectord front-ends
     sharing one PostgreSQL database (a fresh database for each count,
     the devices spread evenly over the front-ends); records / wall time
     as in part 3, in one run.  PostgreSQL is a private cluster on
     loopback started by tools/pg.sh in a folder on the same file system
     as the collectors', fsync and synchronous_commit on.  Each line
     gives the CPU-s of collectord, of PostgreSQL (server and backends)
     and of the load generator (the devices' fieldctl processes), which
     share the machine's cores, and the batches and transactions the
     collectords logged (group commit), and records per CPU-s of the
     three (on a machine whose cores are busy, the rate cannot pass the
     cores times that).  --rounds N runs every kind N times, every other
     round in reverse order, and gives medians and the median of each
     round's ratios.  Budgets: two front-ends at least 1.0x one SQLite
     collectord, four at least 1.5x two.

The records: DTM households of 3 members, every field of the form
answered, one camp site per device, PER_DAY registrations a day (this
decides how many count cells the counts snapshot carries).  The same
records are imported (fieldctl import, an ODK Central-style CSV export)
and built as OpenRosa submissions.

Every process it starts is its own and is stopped at the end; temporary
folders are removed.  Python 3 standard library only.  Options:
--only 1,2,6,3,5; --link-seeds N (part 2); --restart-seeds N (part 6,
default 8); --devices N and --records N (ingest, parts 3 and 5);
--rounds N (part 5: each kind N times, medians);
--keep (keep the temporary folders); -v (progress on stderr).
"""
import argparse
import csv
import datetime
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORM_PATH = os.path.join(ROOT, "proto", "forms", "dtm_household.json")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no bench/__pycache__ in the tree
import openrosa  # noqa: E402

SEED = 20261129
WIRE_RECORDS = 2000
LINK_RATE = 8000            # bytes per second, each way
LINK_DELAY_MS = 150         # each way: a 300 ms round trip
LINK_CUT_MEAN = 50000
LINK_RECORDS = 400
LINK_DEADLINE = 150         # seconds before the lossy run is given up
INGEST_DEVICES = 50
RESTART_RECORDS = 1000
RESTART_CUT_MEAN = 5000
RESTART_LEARN = 12          # attempts the first process learns over
RESTART_SEEDS = 8
INGEST_RECORDS = 2000

BUDGET_WIRE = 0.20
BUDGET_GOODPUT = 0.85
BUDGET_GOODPUT_FAR = 0.70
BUDGET_INGEST = 20000
# Part 5: two PostgreSQL front-ends against one collectord on SQLite, and
# four front-ends against two (issue 17).
BUDGET_PG_VS_SQLITE = 1.0
BUDGET_PG_4_VS_2 = 1.5

VERBOSE = False
STARTED = []                # every Popen, stopped at exit if still running
GOODPUTS = {}               # one-way delay: goodput of each seed


def log(msg):
    if VERBOSE:
        sys.stderr.write("bench_sync: %s\n" % msg)
        sys.stderr.flush()


def verdict(ok):
    return "within budget" if ok else "OVER BUDGET"


# ---------------------------------------------------------------------------
# Records: deterministic DTM households of 3, the same for both protocols.

FIRST = ["Achol", "Nyakuoth", "Deng", "Garang", "Nyandeng", "Mabior", "Akuol",
         "Lual", "Ayen", "Majok", "Nyibol", "Kuol", "Abuk", "Chol", "Adut",
         "Malual", "Nyaluak", "Gatluak", "Nyabol", "Riek", "Amina", "Halima",
         "Ibrahim", "Fatuma", "Yusuf", "Mariam", "Khamis", "Zainab"]
FAMILY = ["Deng", "Garang", "Mayen", "Kiir", "Machar", "Lual", "Akech",
          "Atem", "Bol", "Manyang", "Nhial", "Tut", "Gatkuoth", "Ajak",
          "Wol", "Majak", "Chuol", "Yien", "Koang", "Ruach"]
NEEDS = ["shelter", "food", "water", "sanitation", "health", "education",
         "protection", "livelihoods", "nfi", "documentation"]
VULN = ["pregnant_lactating", "disability", "chronic_illness"]
DOCS = ["none", "national_id", "birth_certificate", "none", "passport"]


PER_DAY = 200               # households a board's team registers a day


def household(rng, i, site=1, today=None):
    """Household number i of 3 members registered at one camp site (a
    board serves one site), PER_DAY a day going back from yesterday, as a
    JSON dict with its _id."""
    today = today or datetime.date.today()
    reg = today - datetime.timedelta(days=1 + i // PER_DAY)
    disp = reg - datetime.timedelta(days=rng.randint(10, 700))
    fam = rng.choice(FAMILY)
    head = "%s %s" % (rng.choice(FIRST), fam)
    spouse = "%s %s" % (rng.choice(FIRST), fam)
    child = "%s %s" % (rng.choice(FIRST), fam)
    hs, ss = ("female", "male") if rng.random() < 0.5 else ("male", "female")
    members = [
        {"member_name": head, "sex": hs, "age_years": rng.randint(20, 65),
         "relationship": "head", "documentation": rng.choice(DOCS)},
        {"member_name": spouse, "sex": ss, "age_years": rng.randint(18, 60),
         "relationship": "spouse", "documentation": rng.choice(DOCS)},
        {"member_name": child, "sex": rng.choice(["female", "male"]),
         "age_years": rng.randint(0, 17), "relationship": "child",
         "documentation": "birth_certificate" if rng.random() < 0.3
         else "none"},
    ]
    if rng.random() < 0.25:
        members[rng.randint(0, 2)]["vulnerabilities"] = [rng.choice(VULN)]
    return {
        "_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "site_id": "SITE-%03d" % site,
        "admin1": "SS%02d" % (1 + site // 10 % 10),
        "admin2": "SS%02d%02d" % (1 + site // 10 % 10, 1 + site % 10),
        "registration_date": reg.isoformat(),
        "consent": "yes",
        "head_name": head,
        "phone": "+211 9%02d %03d %03d" % (rng.randint(10, 99),
                                           rng.randint(0, 999),
                                           rng.randint(0, 999)),
        "origin_admin1": "SS0%d" % rng.randint(2, 9),
        "origin_admin2": "SS0%d%02d" % (rng.randint(2, 9), rng.randint(1, 20)),
        "displacement_date": disp.isoformat(),
        "displacement_reason": rng.choice(["conflict", "conflict", "disaster",
                                           "economic", "eviction"]),
        "shelter_type": rng.choice(["tent", "makeshift", "collective_building",
                                    "host_family"]),
        "intention": rng.choice(["stay", "return", "relocate", "unknown"]),
        "needs": sorted(rng.sample(NEEDS, rng.randint(1, 3)),
                        key=NEEDS.index),
        "members": members,
    }


def households(n, seed, site=1):
    rng = random.Random(seed)
    return [household(rng, i, site) for i in range(n)]


HH_COLS = ["site_id", "admin1", "admin2", "registration_date", "consent",
           "head_name", "phone", "origin_admin1", "origin_admin2",
           "displacement_date", "displacement_reason", "shelter_type",
           "intention", "needs"]
MEM_COLS = ["member_name", "sex", "age_years", "relationship",
            "vulnerabilities", "documentation"]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, list):
        return " ".join(v)
    return str(v)


def write_csv(recs, hh_path, mem_path):
    """The records as an ODK Central-style export: KEY is uuid:ID."""
    with open(hh_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["KEY"] + HH_COLS)
        for r in recs:
            w.writerow(["uuid:" + r["_id"]] + [cell(r.get(c)) for c in HH_COLS])
    with open(mem_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["PARENT_KEY"] + MEM_COLS)
        for r in recs:
            for m in r["members"]:
                w.writerow(["uuid:" + r["_id"]] +
                           [cell(m.get(c)) for c in MEM_COLS])


def openrosa_bytes(recs, seed):
    """Mean bytes of the OpenRosa request, and of request + response."""
    form = openrosa.load_form(FORM_PATH)
    rng = random.Random(seed)
    tz = datetime.timezone(datetime.timedelta(hours=2))
    req = resp = 0
    for i, r in enumerate(recs):
        day = datetime.date.fromisoformat(r["registration_date"])
        created = datetime.datetime(day.year, day.month, day.day, 8, 0, 0,
                                    tzinfo=tz) + datetime.timedelta(
                                        minutes=7 * (i % 80),
                                        seconds=rng.randint(0, 59))
        q = openrosa.submission_request(form, r, rng, created, nc=i + 2)
        req += len(q)
        resp += len(openrosa.submission_response(r, created))
    return req / len(recs), (req + resp) / len(recs)


# ---------------------------------------------------------------------------
# Processes.

BIN = "build"


def binpath(name):
    return os.path.join(BIN, name)


def run(*args, timeout=300, check=True):
    cmd = [binpath(args[0])] + [str(a) for a in args[1:]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def wait_log(path, pattern, proc, what, since=0, timeout=30):
    """The last match of pattern in the log after offset since."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            f.seek(since)
            m = re.findall(pattern, f.read())
        if m:
            return m[-1]
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    with open(path, errors="replace") as f:
        raise RuntimeError("%s did not start:\n%s" % (what, f.read()[-2000:]))


def cpu_seconds(pid):
    """User + system CPU time of a live process, from /proc."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Collector:
    def __init__(self, root, name="collector", store=None):
        """store: a postgresql:// URL (collectctl init --store), or None
        for SQLite in the folder."""
        self.dir = os.path.join(root, name)
        self.log_path = self.dir + ".log"
        self.proc = None
        self.port = None
        run("collectctl", "-d", self.dir, "init", "--host", "127.0.0.1",
            *(["--store", store] if store else []))

    def frontend(self, name):
        """Another collectord front-end on the same (PostgreSQL) store: a
        copy of this collector's folder, beside it."""
        c = Collector.__new__(Collector)
        c.dir = os.path.join(os.path.dirname(self.dir), name)
        c.log_path = c.dir + ".log"
        c.proc = None
        c.port = None
        shutil.copytree(self.dir, c.dir, symlinks=True)
        return c

    def token(self, device_id):
        out = run("collectctl", "-d", self.dir, "enroll-token",
                  "--device-id", device_id).stdout
        return [ln for ln in out.splitlines() if ln.strip()][-1].strip()

    def start(self):
        self.logf = open(self.log_path, "a")
        since = self.logf.tell()
        self.proc = subprocess.Popen(
            [binpath("collectord"), "-d", self.dir, "--listen",
             "127.0.0.1:0"], stdout=self.logf, stderr=self.logf)
        STARTED.append(self.proc)
        self.port = int(wait_log(self.log_path,
                                 r"listening on 127\.0\.0\.1:(\d+)",
                                 self.proc, "collectord", since))
        log("collectord %s on port %d" % (self.dir, self.port))

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.logf.close()

    def devices(self):
        out = run("collectctl", "-d", self.dir, "devices", "--json").stdout
        return [json.loads(ln) for ln in out.splitlines() if ln.strip()]

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Device:
    def __init__(self, root, device_id, collector):
        self.id = device_id
        self.dir = os.path.join(root, device_id)
        run("fieldctl", "-d", self.dir, "init", "--collector-key",
            os.path.join(collector.dir, "seal.pub"), "--device-id", device_id)

    def ctl(self, *args, **kw):
        return run("fieldctl", "-d", self.dir, *args, **kw)

    def enroll(self, collector):
        self.ctl("enroll", "--collector", "127.0.0.1:%d" % collector.port,
                 "--token", collector.token(self.id))

    def point_at(self, port):
        self.ctl("config", "set", "collector", "127.0.0.1:%d" % port)

    def import_cmd(self, recs):
        hh = self.dir + ".households.csv"
        mem = self.dir + ".members.csv"
        write_csv(recs, hh, mem)
        return [binpath("fieldctl"), "-d", self.dir, "import", "dtm_household",
                hh, "--repeat", "members=" + mem]

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def sync_proc(self, logf, attempts=1):
        p = subprocess.Popen([binpath("fieldctl"), "-d", self.dir, "sync",
                              "--attempts", str(attempts)],
                             stdout=logf, stderr=logf)
        STARTED.append(p)
        return p


class Proxy:
    """build/faultproxy in front of a port; its byte counters."""

    def __init__(self, target_port, *flags):
        self.proc = subprocess.Popen(
            [binpath("faultproxy"), "--listen", "0", "--target",
             str(target_port), "--seed", str(SEED)] + [str(f) for f in flags],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        STARTED.append(self.proc)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError("faultproxy did not start: %r" % line)
        self.port = int(m.group(1))

    @staticmethod
    def parse(line):
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}

    def stats(self):
        self.proc.send_signal(signal.SIGUSR1)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("faultproxy exited")
            if line.startswith("faultproxy stats:"):
                return self.parse(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out = self.proc.communicate(timeout=30)[0]
        lines = [ln for ln in out.splitlines()
                 if ln.startswith("faultproxy stats:")]
        return self.parse(lines[-1]) if lines else {}


def parallel(cmds, jobs):
    """Runs the commands, at most jobs at a time; raises on a failure."""
    running = []
    cmds = list(cmds)
    while cmds or running:
        while cmds and len(running) < jobs:
            c = cmds.pop(0)
            running.append((c, subprocess.Popen(c, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT,
                                                text=True)))
        c, p = running.pop(0)
        out = p.communicate()[0]
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s" % (" ".join(c),
                                                        p.returncode, out))


def sync_until_done(dev, deadline, logf, attempts=1):
    """Runs fieldctl sync (with its own retries) again until it says
    everything is acknowledged, or the deadline; returns (seconds, runs,
    exit code of the last)."""
    t0 = time.monotonic()
    runs = 0
    rc = None
    while time.monotonic() - t0 < deadline:
        runs += 1
        p = dev.sync_proc(logf, attempts)
        try:
            rc = p.wait(timeout=max(1, deadline - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            p.terminate()
            p.wait()
            break
        if rc == 0:
            break
    return time.monotonic() - t0, runs, rc


def pending(dev, collector):
    last = dev.status()["last_seq"]
    acked = {d.get("device", d.get("device_id", d.get("id"))):
             d.get("acked_seq", 0) for d in collector.devices()}
    return last - acked.get(dev.id, 0)


def copy_pair(root, cdir, ddir, suffix):
    """A copy of a collector and its enrolled device (same keys, same
    sealed records), so two runs see identical data."""
    croot = os.path.join(root, suffix)
    os.makedirs(croot)
    shutil.copytree(cdir, os.path.join(croot, "collector"), symlinks=True)
    shutil.copytree(ddir, os.path.join(croot, os.path.basename(ddir)),
                    symlinks=True)
    return croot


class Clone:
    """A Collector or Device object over a copied folder."""

    @staticmethod
    def collector(croot):
        c = Collector.__new__(Collector)
        c.dir = os.path.join(croot, "collector")
        c.log_path = c.dir + ".log"
        c.proc = None
        c.port = None
        return c

    @staticmethod
    def device(croot, device_id):
        d = Device.__new__(Device)
        d.id = device_id
        d.dir = os.path.join(croot, device_id)
        return d


def prepared_device(root, name, nrec, seed):
    """A collector and a device enrolled with it holding nrec records."""
    base = os.path.join(root, name)
    os.makedirs(base)
    col = Collector(base)
    col.start()
    dev = Device(base, "bench-" + name, col)
    dev.enroll(col)
    col.stop()
    recs = households(nrec, seed)
    t0 = time.monotonic()
    parallel([dev.import_cmd(recs)], 1)
    log("%s: %d records imported in %.1f s" % (name, nrec,
                                                time.monotonic() - t0))
    return base, col, dev, recs


# ---------------------------------------------------------------------------
# 1. Wire bytes per record.

def bench_wire(root):
    base, col, dev, recs = prepared_device(root, "wire", WIRE_RECORDS, SEED)
    st = dev.status()
    sealed = st["sealed_bytes"] / max(1, st["records"])
    col.start()
    proxy = Proxy(col.port)
    dev.point_at(proxy.port)
    with open(os.path.join(base, "sync.log"), "a") as lf:
        secs, runs, rc = sync_until_done(dev, 120, lf, 3)
    ps = proxy.stop()
    left = pending(dev, col)
    col.stop()
    if rc != 0 or left:
        raise RuntimeError("wire: sync did not finish (exit %s, %d pending)"
                           % (rc, left))
    ours = (ps["bytes_up"] + ps["bytes_down"]) / len(recs)
    up = ps["bytes_up"] / len(recs)
    req, exch = openrosa_bytes(recs, SEED + 1)
    ratio = ours / req
    print("sync wire bytes: %.0f bytes/record over a %d-record sync (TLS "
          "with handshake, hello, counts, acks, both directions; %.0f up; "
          "sealed record %.0f bytes; %d connection%s); OpenRosa submission "
          "of the same records as ODK Collect sends it %.0f bytes (request "
          "only; %.0f with the 201 answer); ratio %.2fx (budget %.2fx) %s"
          % (ours, len(recs), up, sealed, ps["connections"],
             "" if ps["connections"] == 1 else "s", req, exch, ratio,
             BUDGET_WIRE, verdict(ratio <= BUDGET_WIRE)))
    sys.stdout.flush()
    return ratio <= BUDGET_WIRE


# ---------------------------------------------------------------------------
# 2. Goodput over a slow, lossy link.

def bench_goodput(root, delay_ms=LINK_DELAY_MS, budget=BUDGET_GOODPUT,
                  seed=SEED):
    base, col, dev, recs = prepared_device(root, "link-%d-%d" % (
        delay_ms, seed), LINK_RECORDS, SEED + 2)
    st = dev.status()
    sealed_total = st["sealed_bytes"]
    clean_root = copy_pair(root, col.dir, dev.dir, "link-clean-%d-%d" % (
        delay_ms, seed))
    lossy_root = copy_pair(root, col.dir, dev.dir, "link-lossy-%d-%d" % (
        delay_ms, seed))

    # The clean run: what the same sync costs on a perfect link.
    ccol, cdev = Clone.collector(clean_root), Clone.device(clean_root, dev.id)
    ccol.start()
    proxy = Proxy(ccol.port)
    cdev.point_at(proxy.port)
    with open(os.path.join(clean_root, "sync.log"), "a") as lf:
        _, _, rc = sync_until_done(cdev, 120, lf, 3)
    clean = proxy.stop()
    ccol.stop()
    if rc != 0:
        raise RuntimeError("goodput: the clean sync failed (exit %s)" % rc)

    # The lossy run.
    lcol, ldev = Clone.collector(lossy_root), Clone.device(lossy_root, dev.id)
    lcol.start()
    proxy = Proxy(lcol.port, "--rate", LINK_RATE, "--delay-ms",
                  delay_ms, "--cut-mean", LINK_CUT_MEAN, "--seed", seed)
    ldev.point_at(proxy.port)
    with open(os.path.join(lossy_root, "sync.log"), "a") as lf:
        secs, runs, rc = sync_until_done(ldev, LINK_DEADLINE, lf, 1000)
    lossy = proxy.stop()
    left = pending(ldev, lcol)
    lcol.stop()
    acked = len(recs) - left
    # Records that reached the collector whole more than once (their
    # batch came again: an ack the cut lost, a hole filled twice).
    got = re.findall(r"stopped, (\d+) records in", lcol.log_text())
    twice = int(got[-1]) - acked if got else -1
    # Only what was acknowledged counts: the clean bytes pro rata.
    useful = clean["bytes_up"] * acked / len(recs)
    goodput = useful / (LINK_RATE * secs)
    payload = sealed_total * acked / len(recs) / (LINK_RATE * secs)
    ideal = clean["bytes_up"] / LINK_RATE
    sent = lossy.get("bytes_up", 0)
    # Time the uplink carried nothing: handshakes, back-off, ack waits.
    idle = max(0.0, secs - sent / LINK_RATE)
    print("sync goodput over %d kbit/s, %d ms one way, a cut every %d KB "
          "(seed %d): %.0f%% of the link (%d of %d records acknowledged in "
          "%.1f s, %.1f s at full rate; %d cuts, %d connections, %d with "
          "TCP Fast Open; %.0f KB "
          "sent up against %.0f KB clean, %d records sent again whole, "
          "uplink idle %.1f s; sealed payload alone %.0f%%) %s"
          % (LINK_RATE * 8 // 1000, delay_ms, LINK_CUT_MEAN // 1000,
             seed, goodput * 100, acked, len(recs), secs, ideal,
             lossy.get("cuts", 0), lossy.get("connections", 0),
             lossy.get("fast_opens", 0), sent / 1000,
             clean["bytes_up"] / 1000, twice, idle, payload * 100,
             "(budget %.0f%%) %s" % (budget * 100, verdict(
                 goodput >= budget and left == 0))))
    if runs > 1:
        log("goodput: fieldctl sync was run %d times" % runs)
    sys.stdout.flush()
    GOODPUTS.setdefault(delay_ms, []).append(goodput)
    return goodput >= budget and left == 0


# ---------------------------------------------------------------------------
# 6. The first attempt after a restart, on a link that cuts every 5 KB.

def col_acked(col, device_id):
    return {d.get("device", d.get("device_id", d.get("id"))):
            d.get("acked_seq", 0) for d in col.devices()}.get(device_id, 0)


def bench_restart(root):
    base, col, dev, recs = prepared_device(root, "restart", RESTART_RECORDS,
                                           SEED + 6)
    # Clean bytes per record, for what an acknowledged record is worth.
    croot = copy_pair(root, col.dir, dev.dir, "restart-clean")
    ccol, cdev = Clone.collector(croot), Clone.device(croot, dev.id)
    ccol.start()
    proxy = Proxy(ccol.port)
    cdev.point_at(proxy.port)
    with open(os.path.join(croot, "sync.log"), "a") as lf:
        _, _, rc = sync_until_done(cdev, 120, lf, 3)
    per_rec = proxy.stop()["bytes_up"] / len(recs)
    ccol.stop()
    if rc != 0:
        raise RuntimeError("restart: the clean sync failed (exit %s)" % rc)
    # One process learns the link over a few attempts, then stops; the
    # collector goes on running (a board restarts, not the collector).
    col.start()
    proxy = Proxy(col.port, "--rate", LINK_RATE, "--delay-ms",
                  LINK_DELAY_MS, "--cut-mean", RESTART_CUT_MEAN)
    dev.point_at(proxy.port)
    with open(os.path.join(base, "sync.log"), "a") as lf:
        p = dev.sync_proc(lf, RESTART_LEARN)
        p.wait(timeout=600)
    proxy.stop()
    learned = dev.status()
    learned_acked = learned.get("acked_seq", 0)
    # Then, for each seed, a new process's first attempt from a copy of
    # that board: remembering what was learned, and having forgotten it
    # (the two meta keys and the TLS session file deleted, as on a board
    # of the version before).  What counts is what the collector gained.
    # Each copy starts at the collector's watermark, as the board would
    # after the attempts before it: every record it sends is new there,
    # so each seed's gain is its own, not one an earlier seed made.
    res = {"remembered": [0, 0.0], "forgotten": [0, 0.0]}
    per_seed = {"remembered": [], "forgotten": []}
    try:
        for i in range(RESTART_SEEDS):
            for kind in ("remembered", "forgotten"):
                rdev = Clone.device(os.path.join(root, "restart-%s-%d" % (
                    kind, i)), dev.id)
                shutil.copytree(dev.dir, rdev.dir, symlinks=True)
                db = sqlite3.connect(os.path.join(rdev.dir, "device.db"))
                db.execute("UPDATE meta SET value = ? WHERE key ="
                           " 'acked_seq'", (str(col_acked(col, dev.id)),))
                if kind == "forgotten":
                    db.execute("DELETE FROM meta WHERE key IN"
                               " ('sync_link_batch_bytes',"
                               " 'sync_link_rtt_ms')")
                db.commit()
                db.close()
                if kind == "forgotten":
                    sess = os.path.join(rdev.dir, "tls", "session")
                    if os.path.exists(sess):
                        os.unlink(sess)
                before = col_acked(col, dev.id)
                proxy = Proxy(col.port, "--rate", LINK_RATE, "--delay-ms",
                              LINK_DELAY_MS, "--cut-mean", RESTART_CUT_MEAN,
                              "--seed", SEED + 600 + i)
                rdev.point_at(proxy.port)
                with open(os.path.join(base, "sync.log"), "a") as lf:
                    t0 = time.monotonic()
                    rdev.sync_proc(lf, 1).wait(timeout=300)
                    secs = time.monotonic() - t0
                proxy.stop()
                gained = col_acked(col, dev.id) - before
                res[kind][0] += gained
                res[kind][1] += secs
                per_seed[kind].append(gained * per_rec / (LINK_RATE * secs))
                shutil.rmtree(os.path.dirname(rdev.dir), ignore_errors=True)
    finally:
        col.stop()
    good = {k: v[0] * per_rec / (LINK_RATE * v[1]) if v[1] else 0.0
            for k, v in res.items()}
    spread = {k: "mean of the seeds %.0f%%, %.0f%% to %.0f%%, %d of %d "
              "seeds got records through" % (
                  100 * sum(v) / len(v), 100 * min(v), 100 * max(v),
                  sum(1 for g in v if g > 0), len(v))
              for k, v in per_seed.items() if v}
    print("sync first attempt after a restart over %d kbit/s, %d ms one way, "
          "a cut every %d KB (%d seeds, one new fieldctl process each): "
          "%.0f%% of the link with the link remembered (%s; batches of %s "
          "bytes, round trip %s ms learned over %d attempts that got %d "
          "records through; the TLS session resumed; %d records "
          "acknowledged in %.1f s), %.0f%% forgotten (%s; 8 KiB batches, a "
          "full handshake; %d records in %.1f s) (no budget)"
          % (LINK_RATE * 8 // 1000, LINK_DELAY_MS, RESTART_CUT_MEAN // 1000,
             RESTART_SEEDS, good["remembered"] * 100,
             spread.get("remembered", ""),
             learned.get("link_batch_bytes"), learned.get("link_rtt_ms"),
             RESTART_LEARN, learned_acked, res["remembered"][0],
             res["remembered"][1], good["forgotten"] * 100,
             spread.get("forgotten", ""), res["forgotten"][0],
             res["forgotten"][1]))
    sys.stdout.flush()
    return True


# ---------------------------------------------------------------------------
# 3. Collector ingest from concurrent devices.

def fstype(path):
    """The file system type path is on, from /proc/mounts."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as f:
            for ln in f:
                parts = ln.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) \
                        and len(mnt) > len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def bare_sqlite_rate(path, rows, batch):
    """Inserts rows into the collector's records table, WAL +
    synchronous=FULL, one transaction per batch; records per second."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE records(device_id TEXT NOT NULL, seq INTEGER "
               "NOT NULL, id TEXT NOT NULL UNIQUE, form_id TEXT NOT NULL, "
               "form_version TEXT NOT NULL, created_ms INTEGER NOT NULL, "
               "corrected_ms INTEGER NOT NULL, clock INTEGER NOT NULL, "
               "epoch_id INTEGER NOT NULL, epoch_pub BLOB NOT NULL, "
               "sealed BLOB NOT NULL, received_ms INTEGER NOT NULL, "
               "PRIMARY KEY(device_id, seq))")
    t0 = time.monotonic()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO records VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                       rows[i:i + batch])
        db.execute("COMMIT")
    secs = time.monotonic() - t0
    db.close()
    return len(rows) / secs


def bench_ingest(root, devroot):
    """devroot: where the devices live (their disk is not the
    collector's: on tmpfs, so their own fsyncs do not queue on it)."""
    base = os.path.join(root, "ingest")
    os.makedirs(base)
    dbase = os.path.join(devroot, "ingest-devices")
    os.makedirs(dbase)
    col = Collector(base)
    col.start()
    devs = []
    t0 = time.monotonic()
    for i in range(INGEST_DEVICES):
        d = Device(dbase, "bench-dev-%02d" % i, col)
        d.enroll(col)
        devs.append(d)
    log("ingest: %d devices enrolled in %.1f s" % (len(devs),
                                                   time.monotonic() - t0))
    t0 = time.monotonic()
    parallel([d.import_cmd(households(INGEST_RECORDS, SEED + 100 + i, i + 1))
              for i, d in enumerate(devs)], os.cpu_count() or 2)
    log("ingest: %d records imported in %.1f s" % (
        INGEST_DEVICES * INGEST_RECORDS, time.monotonic() - t0))
    sealed = devs[0].status()["sealed_bytes"] / INGEST_RECORDS
    for d in devs:
        d.point_at(col.port)

    total = INGEST_DEVICES * INGEST_RECORDS
    cpu0 = col.cpu()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    lf = open(os.path.join(base, "sync.log"), "a")
    t0 = time.monotonic()
    procs = [d.sync_proc(lf) for d in devs]
    rcs = [p.wait(timeout=600) for p in procs]
    secs = time.monotonic() - t0
    cpu = col.cpu() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    dcpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    lf.close()
    acked = {d.get("device", d.get("device_id", d.get("id"))):
             d.get("acked_seq", 0) for d in col.devices()}
    got = sum(min(acked.get(d.id, 0), INGEST_RECORDS) for d in devs)
    col.stop()
    failed = sum(1 for rc in rcs if rc != 0)
    rate = got / secs
    m = re.findall(r"(\d+) records in (\d+) batches", col.log_text())
    batch = max(1, round(int(m[-1][0]) / max(1, int(m[-1][1])))) if m \
        else 100

    # One device alone, on the same collector kind: a fresh pair.
    base1, col1, dev1, _ = prepared_device(root, "ingest-one",
                                           INGEST_RECORDS, SEED + 99)
    col1.start()
    dev1.point_at(col1.port)
    with open(os.path.join(base1, "sync.log"), "a") as lf1:
        t1 = time.monotonic()
        p = dev1.sync_proc(lf1)
        p.wait(timeout=300)
        one = INGEST_RECORDS / (time.monotonic() - t1)
    col1.stop()

    # Bare inserts of the same rows, one transaction per batch of the
    # mean size the collector received (its log says records and batches).
    rng = random.Random(SEED)
    blob = bytes(rng.getrandbits(8) for _ in range(int(sealed)))
    pub = bytes(rng.getrandbits(8) for _ in range(32))
    now = int(time.time() * 1000)
    rows = []
    for i in range(INGEST_DEVICES):
        for s in range(1, INGEST_RECORDS + 1):
            rows.append(("bench-dev-%02d" % i, s,
                         str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                         "dtm_household", "2026.11.1", now, now, 1,
                         1 + s // 1000, pub, blob, now))
    bare_path = os.path.join(root, "bare.db")
    bare = bare_sqlite_rate(bare_path, rows, batch)

    ok = rate >= BUDGET_INGEST and failed == 0 and got == total
    print("collector ingest: %.0f records/s from %d concurrent devices "
          "(devices' stores on %s) "
          "(%d of %d records acknowledged in %.2f s, %d syncs failed; "
          "collectord used %.1f CPU-s, %.0f records per CPU-s, the devices' "
          "fieldctl on the same %d cores %.1f CPU-s); one device alone "
          "%.0f/s; bare SQLite inserts of the same rows in transactions of "
          "%d %.0f/s (%.2fx of it) (budget %d/s) %s"
          % (rate, INGEST_DEVICES, fstype(dbase), got, total, secs, failed,
             cpu,
             got / cpu if cpu else float("nan"), os.cpu_count() or 1, dcpu,
             one, batch, bare, rate / bare, BUDGET_INGEST, verdict(ok)))
    sys.stdout.flush()
    analysed = bench_analyse(col, got)
    return ok and analysed


def bench_analyse(col, n):
    """4. Records opened per second: collectctl analyse over what the
    ingest benchmark stored, against collectctl open of the same records
    (opening and printing them, no validation, no facts) as the baseline."""
    key = os.path.join(col.dir, "seal.key")
    t0 = time.monotonic()
    with open(os.devnull, "w") as null:
        subprocess.run([binpath("collectctl"), "-d", col.dir, "open",
                        "--key", key], stdout=null, check=True, timeout=900)
    base = n / (time.monotonic() - t0)
    t0 = time.monotonic()
    out = run("collectctl", "-d", col.dir, "analyse", "--key", key,
              timeout=900).stdout
    rate = n / (time.monotonic() - t0)
    m = re.search(r"analysed (\d+) records \((\d+) set aside\)", out)
    ok = m is not None and int(m.group(1)) == n and m.group(2) == "0"
    print("records opened for analysis: %.0f records/s (%d records: opened, "
          "validated, facts written), %.2fx of collectctl open printing the "
          "same records (%.0f/s)%s" % (rate, n, rate / base, base,
                                       "" if ok else " RECORDS MISSING"))
    sys.stdout.flush()
    return ok


# ---------------------------------------------------------------------------
# 5. Collector ingest on PostgreSQL over two front-ends, beside SQLite.

class PgCluster:
    """A private PostgreSQL cluster (tools/pg.sh) in a folder of its own
    (the postgres user must reach it: not under root's 0700 folders)."""

    def __init__(self, near):
        self.dir = tempfile.mkdtemp(prefix="fieldbench-pg.",
                                    dir=os.path.dirname(near))
        p = subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"),
                            "start", self.dir], capture_output=True,
                           text=True, timeout=900)
        if p.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError("tools/pg.sh start failed:\n" + p.stderr)
        self.url = p.stdout.strip().splitlines()[-1]
        log("postgresql at %s (%s)" % (self.url, self.dir))

    def cpu(self):
        """CPU-s of the server and every process it runs (backends,
        WAL writer, checkpointer), those alive now."""
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                pm = int(f.readline())
        except (OSError, ValueError):
            return float("nan")
        total = cpu_seconds(pm)
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pm:
                total += cpu_seconds(int(pid))
        return total

    def createdb(self, name):
        p = subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"),
                            "createdb", self.dir, name], capture_output=True,
                           text=True, timeout=120, check=True)
        return p.stdout.strip().splitlines()[-1]

    def stop(self, keep=False):
        subprocess.run(["sh", os.path.join(ROOT, "tools", "pg.sh"), "stop",
                        self.dir], capture_output=True, timeout=120)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def concurrent_ingest(frontends, devs, logpath, pg=None):
    """Every device syncs at once, device i to frontends[i % n]; returns
    a dict: got (records acknowledged), secs (from the first sync
    started to the last one done), failed (syncs), cpu (collectord CPU-s
    over all front-ends), pg (PostgreSQL's CPU-s, when pg is given), gen
    (the load generator's: the devices' fieldctl processes)."""
    for i, d in enumerate(devs):
        d.point_at(frontends[i % len(frontends)].port)
    cpu0 = sum(c.cpu() for c in frontends)
    pg0 = pg.cpu() if pg else 0.0
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(logpath, "a") as lf:
        t0 = time.monotonic()
        procs = [d.sync_proc(lf) for d in devs]
        rcs = [p.wait(timeout=900) for p in procs]
        secs = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(c.cpu() for c in frontends) - cpu0
    pgcpu = pg.cpu() - pg0 if pg else 0.0
    acked = {d.get("device", d.get("device_id", d.get("id"))):
             d.get("acked_seq", 0) for d in frontends[0].devices()}
    got = sum(min(acked.get(d.id, 0), INGEST_RECORDS) for d in devs)
    return {"got": got, "secs": secs,
            "failed": sum(1 for rc in rcs if rc != 0), "cpu": cpu,
            "pg": pgcpu, "gen": (ru1.ru_utime + ru1.ru_stime) -
            (ru0.ru_utime + ru0.ru_stime)}


def copy_devices(devs, dest):
    out = []
    os.makedirs(dest)
    for d in devs:
        c = Clone.device(dest, d.id)
        shutil.copytree(d.dir, c.dir, symlinks=True)
        out.append(c)
    return out


def transactions(cols):
    """Batches and transactions the collectords logged as they stopped
    (group commit: one transaction stores many batches)."""
    nb = nt = 0
    for c in cols:
        m = re.findall(r"records in (\d+) batches, (\d+) transactions",
                       c.log_text())
        if m:
            nb += int(m[-1][0])
            nt += int(m[-1][1])
    return nb, nt


PG_FRONTENDS = (1, 2, 4)
# Part 5 runs every kind this many times (--rounds), alternating the
# order, and gives medians: on a shared machine one run of a few seconds
# each swings with the load of whatever else runs.
ROUNDS = 1


def bench_ingest_pg(root, devroot, keep=False):
    """5. The same devices and sealed records to one collectord on
    SQLite, then to 1, 2 and 4 front-ends sharing one PostgreSQL
    database (a database of their own for each count), in one run."""
    base = os.path.join(root, "ingest-pg")
    os.makedirs(base)
    dbase = os.path.join(devroot, "ingest-pg-devices")
    os.makedirs(dbase)
    try:
        pg = PgCluster(root)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print("collector ingest on PostgreSQL: NOT MEASURED (no PostgreSQL "
              "cluster: %s)" % str(e).strip().splitlines()[-1])
        sys.stdout.flush()
        return False
    started = []
    res = {}
    try:
        # The devices' records, imported once: sealed to the SQLite
        # collector's key (ingest never opens them), then each device's
        # folder copied once per run, each copy enrolled with its
        # collector.
        sq = Collector(base, "sqlite")
        orig = []
        for i in range(INGEST_DEVICES):
            orig.append(Device(os.path.join(dbase, "orig"),
                               "bench-dev-%02d" % i, sq))
        t0 = time.monotonic()
        parallel([d.import_cmd(households(INGEST_RECORDS, SEED + 100 + i,
                                          i + 1))
                  for i, d in enumerate(orig)], os.cpu_count() or 2)
        log("ingest-pg: %d records imported in %.1f s" % (
            INGEST_DEVICES * INGEST_RECORDS, time.monotonic() - t0))
        for r in range(ROUNDS):
            # Each round: fresh collectors, databases and copies of the
            # devices; every other round in the reverse order, so a load
            # that drifts during a round weighs on each kind alike.
            runs = [("sqlite", [sq if r == 0 else
                                Collector(base, "sqlite-r%d" % r)])]
            for n in PG_FRONTENDS:
                first = Collector(base, "pg%d-a-r%d" % (n, r),
                                  store=pg.createdb("bench_ingest%d_r%d"
                                                    % (n, r)))
                runs.append(("pg%d" % n, [first] + [
                    first.frontend("pg%d-%s-r%d" % (n, chr(ord("a") + k), r))
                    for k in range(1, n)]))
            if r % 2:
                runs.reverse()
            for name, cols in runs:
                devs = copy_devices(orig, os.path.join(
                    dbase, "%s-r%d" % (name, r)))
                for c in cols:
                    c.start()
                    started.append(c)
                for d in devs:
                    d.enroll(cols[0])
                one = concurrent_ingest(
                    cols, devs, os.path.join(base, "sync-%s-r%d.log" %
                                             (name, r)),
                    None if name == "sqlite" else pg)
                for c in cols:
                    c.stop()
                for d in devs:
                    shutil.rmtree(d.dir)
                one["batches"], one["tx"] = transactions(cols)
                one["rate"] = one["got"] / one["secs"]
                res.setdefault(name, []).append(one)
                log("ingest-pg: round %d, %s %.0f/s" % (r + 1, name,
                                                        one["rate"]))
    finally:
        for c in started:
            c.stop()
        pg.stop(keep)
    total = INGEST_DEVICES * INGEST_RECORDS
    if len(res) != 1 + len(PG_FRONTENDS) or \
            any(len(v) != ROUNDS for v in res.values()):
        print("collector ingest on PostgreSQL: NOT MEASURED (a run did not "
              "finish)")
        return False
    ok = all(x["got"] == total and x["failed"] == 0
             for v in res.values() for x in v)

    def median(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2] if len(xs) % 2 else \
            (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2

    def per_cpu(x):
        """Records per CPU-s of everything the ingest ran: collectord,
        PostgreSQL and the devices' fieldctl (on 2 cores, at most twice
        this many records per second)."""
        c = x["cpu"] + x["pg"] + x["gen"]
        return x["got"] / c if c else float("nan")

    def figs(v):
        x = v[len(v) // 2] if len(v) % 2 else v[0]
        rates = [y["rate"] for y in v]
        return ("%.0f records/s (median of %d: %s; %d of %d acknowledged, "
                "%d syncs failed in all; %d batches in %d transactions; "
                "CPU-s: collectord %.1f, PostgreSQL %.1f, the devices' "
                "fieldctl %.1f; %.0f records per CPU-s of the three)" % (
                    median(rates), len(v), ", ".join("%.0f" % y for y in
                                                      rates),
                    min(y["got"] for y in v), total,
                    sum(y["failed"] for y in v), x["batches"], x["tx"],
                    x["cpu"], x["pg"], x["gen"], median(
                        [per_cpu(y) for y in v])))
    sq_v = res["sqlite"]
    for n in PG_FRONTENDS:
        v = res["pg%d" % n]
        print("collector ingest on PostgreSQL, %d front-end%s: %s; %.2fx "
              "one collectord on SQLite (median of the rounds' ratios)" % (
                  n, "" if n == 1 else "s", figs(v), median(
                      [v[i]["rate"] / sq_v[i]["rate"]
                       for i in range(ROUNDS)])))
    print("collector ingest, one collectord on SQLite, same devices and "
          "records: %s" % figs(sq_v))

    def ratio(a, b):
        return median([res[a][i]["rate"] / res[b][i]["rate"]
                       for i in range(ROUNDS)])
    r2s, r21, r42 = ratio("pg2", "sqlite"), ratio("pg2", "pg1"), \
        ratio("pg4", "pg2")
    ok_budget = r2s >= BUDGET_PG_VS_SQLITE and r42 >= BUDGET_PG_4_VS_2
    print("collector ingest on PostgreSQL (%d devices x %d records, %d "
          "round%s, PostgreSQL 15 on loopback, fsync on, data on %s, %d "
          "cores): two front-ends %.2fx one SQLite collectord (budget "
          "%.1fx), two/one %.2fx, four/two %.2fx (budget %.1fx) (medians "
          "of the rounds' ratios) %s%s" % (
              INGEST_DEVICES, INGEST_RECORDS, ROUNDS, "" if ROUNDS == 1
              else "s", fstype(base), os.cpu_count() or 1, r2s,
              BUDGET_PG_VS_SQLITE, r21, r42, BUDGET_PG_4_VS_2,
              verdict(ok_budget), "" if ok else " RECORDS MISSING"))
    sys.stdout.flush()
    return ok


def main():
    global BIN, VERBOSE, WIRE_RECORDS, INGEST_DEVICES, INGEST_RECORDS, ROUNDS
    global RESTART_SEEDS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--only", default="1,2,6,3,5")
    ap.add_argument("--devices", type=int, default=INGEST_DEVICES)
    ap.add_argument("--records", type=int, default=INGEST_RECORDS)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--link-seeds", type=int, default=1)
    ap.add_argument("--restart-seeds", type=int, default=RESTART_SEEDS)
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    BIN, VERBOSE = a.build, a.v
    INGEST_DEVICES, INGEST_RECORDS = a.devices, a.records
    ROUNDS = max(1, a.rounds)
    RESTART_SEEDS = a.restart_seeds
    for prog in ("collectord", "collectctl", "fieldctl", "faultproxy"):
        if not os.access(binpath(prog), os.X_OK):
            sys.stderr.write("bench_sync: %s is missing (make all %s)\n"
                             % (binpath(prog), binpath("faultproxy")))
            return 1
    root = tempfile.mkdtemp(prefix="fieldbench-sync.")
    devroot = root
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        devroot = tempfile.mkdtemp(prefix="fieldbench-sync.", dir="/dev/shm")
    ok = True
    try:
        only = a.only.split(",")
        if "1" in only:
            ok &= bench_wire(root)
        if "2" in only:
            # The number of cuts a run meets swings its figure by a few
            # points: --link-seeds N runs each link with N cut sequences.
            for i in range(a.link_seeds):
                ok &= bench_goodput(root, seed=SEED + i)
                ok &= bench_goodput(root, 2 * LINK_DELAY_MS,
                                    BUDGET_GOODPUT_FAR, SEED + i)
            if a.link_seeds > 1:
                for d, g in sorted(GOODPUTS.items()):
                    print("sync goodput, %d ms one way, over %d seeds: mean "
                          "%.0f%%, from %.0f%% to %.0f%%" % (
                              d, len(g), 100 * sum(g) / len(g),
                              100 * min(g), 100 * max(g)))
        if "6" in only:
            ok &= bench_restart(root)
        if "3" in only:
            ok &= bench_ingest(root, devroot)
        if "5" in only:
            ok &= bench_ingest_pg(root, devroot, a.keep)
    finally:
        for p in STARTED:
            if p.poll() is None:
                p.kill()
                p.wait()
        if a.keep:
            sys.stderr.write("bench_sync: kept %s %s\n" % (root, devroot))
        else:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(devroot, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
