"""Helpers for the sync tests: a real collectord, enrolled devices, bulk
records through fieldctl import, and the fault proxy between them."""
import atexit
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import fieldlib as fl
import pglib


def wait_for_line(path, pattern, proc, what, since=0, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            f.seek(since)
            m = re.findall(pattern, f.read())
        if m:
            return m[-1]
        if proc.poll() is not None:
            raise AssertionError("%s exited:\n%s" % (what, open(path).read()))
        time.sleep(0.05)
    raise AssertionError("%s did not start:\n%s" % (what, open(path).read()))


def init_collector(cdir, *args, store=None):
    """collectctl -d cdir init --host 127.0.0.1 [args]: with store (a URL)
    or, when FIELD_STORE=pg, a fresh PostgreSQL database, the collector
    keeps its records there (--store); else in cdir/collector.db.  Returns
    the store URL, or None for SQLite."""
    if store is None and pglib.enabled():
        store = pglib.new_database()
    extra = ["--store", store] if store else []
    fl.run("collectctl", "-d", cdir, "init", "--host", "127.0.0.1",
           *(list(args) + extra))
    return store


def store_rows(cdir, store, sql):
    """Rows of a read-only query on a collector's store: its SQLite file,
    or the PostgreSQL database store names.  Values are strings for
    PostgreSQL, Python types for SQLite: compare with str() or int()."""
    if store:
        return pglib.psql(store, sql)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        cdir, "collector.db"), uri=True, timeout=30)
    try:
        return [list(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def store_value(cdir, store, sql):
    """The first column of the first row of sql, as an int when it looks
    like one."""
    rows = store_rows(cdir, store, sql)
    v = rows[0][0] if rows else None
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


class Collector:
    """A collector directory and, once started, a collectord process.

    store: a store URL for collectctl init --store (postgresql://...); by
    default SQLite in the folder, or a fresh PostgreSQL database when
    FIELD_STORE=pg (pglib).  frontend() makes further collectord
    front-ends on the same PostgreSQL store."""

    def __init__(self, root=None, store=None):
        self.own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="synctest.")
        self.dir = os.path.join(self.root, "collector")
        self.log_path = os.path.join(self.root, "collectord.log")
        self.own_store = store is None and pglib.enabled()
        self.store = init_collector(self.dir, store=store)
        self.proc = None
        self.port = None
        self.frontends = []

    def frontend(self):
        """A further front-end on this collector's PostgreSQL store: a
        copy of its folder (CA, TLS key and certificate, seal.pub, forms,
        collectord.conf naming the same store), changed in nothing, with
        its own collectord process, port and log.  Start it with start()
        like this one; cleanup() of this one stops it too."""
        if not self.store:
            raise AssertionError("front-ends share a PostgreSQL store; "
                                 "this collector keeps SQLite")
        n = len(self.frontends) + 2
        fe = Collector.__new__(Collector)
        fe.own_root = False
        fe.root = self.root
        fe.dir = os.path.join(self.root, "collector-fe%d" % n)
        fe.log_path = os.path.join(self.root, "collectord-fe%d.log" % n)
        fe.own_store = False
        fe.store = self.store
        fe.proc = None
        fe.port = None
        fe.frontends = []
        shutil.copytree(self.dir, fe.dir, symlinks=True)
        self.frontends.append(fe)
        return fe

    def store_bytes(self):
        """What the store holds, as bytes, to look for what must never be
        there: the SQLite file, or for PostgreSQL a dump with blobs as
        bytes.  Without device_counts: the counts snapshots devices send
        carry place codes (SITE-001) by design; records never do."""
        if self.store:
            return pglib.dump(self.store, exclude_data=("device_counts",))
        with open(os.path.join(self.dir, "collector.db"), "rb") as f:
            return f.read()

    def ctl(self, *args, **kw):
        return fl.run("collectctl", "-d", self.dir, *args, **kw)

    def start(self, *extra, port=0, env=None):
        """env: variables added to collectord's environment (a slow
        fsync, fl.slow_fsync)."""
        self.logf = open(self.log_path, "a")
        since = self.logf.tell()
        self.proc = subprocess.Popen(
            [os.path.join(fl.BIN, "collectord"), "-d", self.dir, "--listen",
             "127.0.0.1:%d" % port] + list(extra),
            stdout=self.logf, stderr=self.logf,
            env=dict(os.environ, **env) if env else None)
        self.port = int(wait_for_line(self.log_path,
                                      r"listening on 127\.0\.0\.1:(\d+)",
                                      self.proc, "collectord", since))
        return self.port

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        self.proc = None
        self.logf.close()
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def token(self, device_id=None):
        args = ["enroll-token"]
        if device_id:
            args += ["--device-id", device_id]
        return self.ctl(*args).stdout.strip().splitlines()[-1]

    def devices(self):
        out = self.ctl("devices", "--json").stdout
        return {d["device_id"]: d for d in map(json.loads, out.splitlines())}

    def open_records(self):
        p = self.ctl("open", "--key", os.path.join(self.dir, "seal.key"))
        return [json.loads(line) for line in p.stdout.splitlines() if line]

    def cleanup(self):
        for fe in self.frontends:
            fe.cleanup()
        if self.proc is not None:
            self.stop(signal.SIGKILL)
        if self.own_store:
            pglib.drop_database(self.store)
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)


class SyncDevice:
    """A device sealing to the collector's key, enrolled with it."""

    def __init__(self, collector, device_id, enroll=True):
        self.collector = collector
        self.id = device_id
        self.dir = os.path.join(collector.root, "dev-" + device_id)
        self.log_path = os.path.join(collector.root, device_id + ".log")
        self.proc = None
        fl.run("fieldctl", "-d", self.dir, "init", "--collector-key",
               os.path.join(collector.dir, "seal.pub"), "--device-id",
               device_id)
        with open(os.path.join(self.dir, "fieldd.conf"), "w") as f:
            f.write(fl.HOST_CLOCK)
        if enroll:
            self.ctl("enroll", "--collector",
                     "127.0.0.1:%d" % collector.port, "--token",
                     collector.token(device_id))

    def ctl(self, *args, **kw):
        return fl.run("fieldctl", "-d", self.dir, *args, **kw)

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def point_at(self, port):
        self.ctl("config", "set", "collector", "127.0.0.1:%d" % port)

    def sync(self, attempts=1, check=False, timeout=120):
        return self.ctl("sync", "--attempts", str(attempts), check=check,
                        timeout=timeout)

    def bulk(self, n, members=1, one_site=False):
        """n households (each with `members` members) by CSV import;
        returns their record ids.  one_site: all at one site, registered
        over the 60 days before yesterday (one place with many days of
        counts), else at 40 sites yesterday."""
        hh = os.path.join(self.collector.root, "hh-%s.csv" % self.id)
        mem = os.path.join(self.collector.root, "mem-%s.csv" % self.id)
        ids = []
        day = fl.today(-1)
        with open(hh, "w") as h, open(mem, "w") as m:
            h.write("KEY,site_id,admin1,admin2,registration_date,consent,"
                    "intention,needs\n")
            m.write("PARENT_KEY,KEY,sex,age_years,relationship\n")
            for i in range(n):
                rid = str(uuid.uuid4())
                ids.append(rid)
                h.write("uuid:%s,SITE-%03d,SS01,SS0101,%s,no,stay,"
                        "food water\n" % (rid, 0 if one_site else i % 40,
                                          fl.today(-1 - i % 60) if one_site
                                          else day))
                for k in range(members):
                    m.write("uuid:%s,uuid:%s/members[%d],%s,%d,%s\n" % (
                        rid, rid, k + 1, "female" if k % 2 == 0 else "male",
                        [34, 36, 7, 3, 66][k % 5],
                        "head" if k == 0 else "child"))
        self.ctl("import", "dtm_household", hh, "--repeat",
                 "members=" + mem)
        return ids

    def start(self):
        self.logf = open(self.log_path, "a")
        since = self.logf.tell()
        self.proc = subprocess.Popen(
            [os.path.join(fl.BIN, "fieldd"), "-d", self.dir, "--listen",
             "127.0.0.1:0"], stdout=self.logf, stderr=self.logf)
        _proxies.append(self.proc)
        wait_for_line(self.log_path, r"listening on http://127\.0\.0\.1:(\d+)",
                      self.proc, "fieldd", since)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        self.proc = None
        self.logf.close()
        return rc

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


_proxies = []     # and fieldd processes


@atexit.register
def _stop_proxies():
    """A test that failed half-way leaves no proxy or fieldd running."""
    for p in _proxies:
        if p.poll() is None:
            p.kill()
            p.wait()


class Proxy:
    """build/.../faultproxy between a device and the collector."""

    def __init__(self, target_port, *flags, binary=None):
        self.binary = binary or os.environ.get(
            "FAULTPROXY", os.path.join(fl.BIN, "faultproxy"))
        self.proc = subprocess.Popen(
            [self.binary] + list(flags) + ["0", str(target_port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        _proxies.append(self.proc)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise AssertionError("faultproxy did not start: " + line)
        self.port = int(m.group(1))

    def stop(self):
        """Stops it; returns its final counters as a dict."""
        self.proc.send_signal(signal.SIGTERM)
        out = self.proc.communicate(timeout=30)[0]
        stats = {}
        for line in out.splitlines():
            if line.startswith("faultproxy stats:"):
                for kv in line.split(":", 1)[1].split():
                    k, v = kv.split("=")
                    stats[k] = int(v)
        return stats


def assert_stored_once(test, c, devices_ids):
    """devices_ids: {device_id: [record ids in seq order]}.  The collector
    c holds each record exactly once, under its (device, seq), and no
    other record."""
    opened = c.open_records()
    seen = {}
    for r in opened:
        key = (r["_device"], r["_seq"])
        test.assertNotIn(key, seen, "record stored twice")
        seen[key] = r["_id"]
    test.assertEqual(len(opened), sum(len(v) for v in devices_ids.values()))
    for dev, ids in devices_ids.items():
        for seq, rid in enumerate(ids, 1):
            test.assertEqual(seen.get((dev, seq)), rid,
                             "device %s seq %d" % (dev, seq))


def note(msg):
    """A line of progress on stderr, beside unittest's."""
    sys.stderr.write("  %s\n" % msg)
    sys.stderr.flush()


def sync_proc(d, attempts=30):
    """fieldctl sync of a device, running; its output on .communicate()."""
    return subprocess.Popen(
        [os.path.join(fl.BIN, "fieldctl"), "-d", d.dir, "sync",
         "--attempts", str(attempts)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
