"""A throwaway PostgreSQL cluster for the collector's tests (tools/pg.sh).

FIELD_STORE=pg makes every synclib.Collector without an explicit store
keep its records in a fresh database of this cluster (tests/run.sh runs
the collector's tests a second time so).  The cluster is the one named by
FIELD_PG_URL (tests/run.sh starts one for its whole PostgreSQL pass), or,
without it, one started here on first use, shared by every test of this
process and stopped at exit.
"""
import atexit
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_SH = os.path.join(ROOT, "tools", "pg.sh")
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")

_lock = threading.Lock()
_base = None        # postgresql://postgres@127.0.0.1:PORT
_own_dir = None     # the cluster's folder when this process started it


def enabled():
    """True when the collector tests are to run against PostgreSQL."""
    return os.environ.get("FIELD_STORE", "sqlite") in ("pg", "postgresql")


def available():
    return os.access(os.path.join(PGBIN, "initdb"), os.X_OK) or \
        os.access("/usr/bin/apt-get", os.X_OK)


def base_url():
    """The cluster's base URL, starting one when there is none yet."""
    global _base, _own_dir
    with _lock:
        if _base is None:
            env = os.environ.get("FIELD_PG_URL")
            if env:
                _base = env.rstrip("/")
            else:
                d = tempfile.mkdtemp(prefix="fieldpg.")
                p = subprocess.run(["sh", PG_SH, "start", d],
                                   capture_output=True, text=True,
                                   timeout=600)
                if p.returncode != 0:
                    shutil.rmtree(d, ignore_errors=True)
                    raise AssertionError("tools/pg.sh start failed:\n" +
                                         p.stdout + p.stderr)
                _own_dir = d
                _base = p.stdout.strip().splitlines()[-1]
                atexit.register(_stop)
        return _base


def _stop():
    global _base, _own_dir
    if _own_dir:
        subprocess.run(["sh", PG_SH, "stop", _own_dir], capture_output=True,
                       timeout=120)
        shutil.rmtree(_own_dir, ignore_errors=True)
        _own_dir = _base = None


def _split(url):
    m = re.match(r"postgres(?:ql)?://(?:([^@/]*)@)?([^:/]+):(\d+)(?:/([^?]*))?",
                 url)
    if not m:
        raise ValueError("not a postgresql URL: " + url)
    return m.group(1) or "postgres", m.group(2), m.group(3), \
        m.group(4) or "postgres"


def psql(url, sql, check=True):
    """Runs sql on the database url names; the rows, each a list of
    fields (psql's unaligned output, fields split on \\x1f)."""
    user, host, port, db = _split(url)
    p = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-q", "-A", "-t",
                        "-v", "ON_ERROR_STOP=1", "-F", "\x1f", "-h", host,
                        "-p", port, "-U", user, "-d", db, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("psql %s: %s\n%s" % (url, sql, p.stderr))
    return [line.split("\x1f") for line in p.stdout.splitlines()]


def new_database(prefix="fieldtest"):
    """A fresh, empty database; its URL."""
    base = base_url()
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:12])
    psql(base + "/postgres", 'CREATE DATABASE "%s"' % name)
    return "%s/%s" % (base, name)


def drop_database(url):
    """Drops a database made by new_database (its connections too);
    errors are ignored (the cluster is thrown away anyway)."""
    user, host, port, db = _split(url)
    base = "postgresql://%s@%s:%s/postgres" % (user, host, port)
    psql(base, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db, check=False)


def dump(url, exclude_data=()):
    """Everything the database holds, as bytes: pg_dump's plain output
    with every bytea (\\x...) turned back into its bytes, so a search for
    plaintext finds it in a blob as it would in a SQLite file."""
    user, host, port, db = _split(url)
    p = subprocess.run([os.path.join(PGBIN, "pg_dump"), "-h", host, "-p",
                        port, "-U", user, "-d", db] +
                       ["--exclude-table-data=" + t for t in exclude_data],
                       capture_output=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("pg_dump %s failed:\n%s" % (
            url, p.stderr.decode(errors="replace")))
    return re.sub(rb"\\\\x([0-9a-f]+)",
                  lambda m: bytes.fromhex(m.group(1).decode()), p.stdout)
