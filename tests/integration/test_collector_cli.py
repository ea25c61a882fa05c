"""collectctl's collector commands: init makes a complete collector with
private keys readable only by its owner and refuses to overwrite one;
enrolment tokens are one-line, unique, and pin the collector's CA."""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import fieldlib as fl
import pglib


class CollectorCli(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="fieldtest.")
        self.cdir = os.path.join(self.root, "collector")
        # FIELD_STORE=pg: init names a fresh PostgreSQL database
        self.store = pglib.new_database() if pglib.enabled() else None

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)
        if self.store:
            pglib.drop_database(self.store)

    def ctl(self, *args, **kw):
        if args[:1] == ("init",) and self.store:
            args += ("--store", self.store)
        return fl.run("collectctl", "-d", self.cdir, *args, **kw)

    def test_init(self):
        self.ctl("init", "--host", "collector.example")
        modes = {n: os.stat(os.path.join(self.cdir, n)).st_mode & 0o777
                 for n in os.listdir(self.cdir)}
        for n in ("seal.key", "ca.key", "server.key"):
            self.assertEqual(modes[n], 0o600, n)
        for n in ("seal.pub", "ca.crt", "server.crt"):
            self.assertIn(n, modes)
        if self.store:
            self.assertNotIn("collector.db", modes)
            with open(os.path.join(self.cdir, "collectord.conf")) as f:
                self.assertIn("store = %s\n" % self.store, f.read())
        else:
            self.assertIn("collector.db", modes)
        self.assertEqual(os.stat(self.cdir).st_mode & 0o777, 0o700)
        with open(os.path.join(self.cdir, "seal.pub")) as f:
            self.assertTrue(f.read().startswith("x25519-public:"))
        # A second init changes nothing.
        before = open(os.path.join(self.cdir, "ca.key")).read()
        p = self.ctl("init", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refusing to overwrite", p.stderr)
        self.assertEqual(open(os.path.join(self.cdir, "ca.key")).read(),
                         before)
        p = self.ctl("init", "--host", "bad host,O=x", check=False)
        self.assertEqual(p.returncode, 1)

    def test_config_written_and_checked(self):
        self.ctl("init", "--host", "collector.example")
        conf = os.path.join(self.cdir, "collectord.conf")
        with open(conf) as f:
            text = f.read()
        # named for the world: it listens to the world
        self.assertIn("listen = 0.0.0.0:7443", text)
        self.assertIn("max_conns = 256", text)
        self.assertIn("suppress_threshold = 5", text)
        n = text.count("\n")
        with open(conf, "a") as f:
            f.write("max_conns = lots\nbogus = 1\n")
        p = subprocess.run([os.path.join(fl.BIN, "collectord"), "-d",
                            self.cdir, "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("collectord.conf:%d: max_conns: expected 1 to 65536"
                      % (n + 1), p.stderr)
        self.assertIn("collectord.conf:%d: bogus: unknown key" % (n + 2),
                      p.stderr)
        # a sealing key pair alone is never overwritten by init
        other = os.path.join(self.root, "keys")
        fl.run("collectctl", "keygen", other)
        p = fl.run("collectctl", "-d", other, "init", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a sealing key", p.stderr)

    def test_enroll_token_pins_ca(self):
        self.ctl("init")
        t1 = self.ctl("enroll-token").stdout.strip().splitlines()[-1]
        t2 = self.ctl("enroll-token", "--device-id", "dev-7",
                      "--hours", "1").stdout.strip().splitlines()[-1]
        self.assertNotEqual(t1, t2)
        m = re.fullmatch(r"fld1\.([A-Za-z0-9_-]{32})\.([0-9a-f]{64})", t1)
        self.assertIsNotNone(m, t1)
        pem = open(os.path.join(self.cdir, "ca.crt")).read()
        der = base64.b64decode("".join(
            l for l in pem.splitlines() if not l.startswith("-----")))
        self.assertEqual(m.group(2), hashlib.sha256(der).hexdigest())
        self.assertEqual(t2.split(".")[2], m.group(2))
        for bad in (["--hours", "0"], ["--device-id", "a b"]):
            p = self.ctl("enroll-token", *bad, check=False)
            self.assertNotEqual(p.returncode, 0, bad)

    def test_devices_and_revoke(self):
        self.ctl("init")
        out = self.ctl("devices").stdout.splitlines()
        self.assertEqual(len(out), 1)          # the header only
        self.assertEqual(self.ctl("devices", "--json").stdout, "")
        p = self.ctl("revoke", "dev-1", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no enrolled device dev-1", p.stderr)
        p = fl.run("collectctl", "-d", os.path.join(self.root, "none"),
                   "devices", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no collector", p.stderr)


if __name__ == "__main__":
    fl.main()
