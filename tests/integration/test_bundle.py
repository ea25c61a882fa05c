"""USB bundles end to end with the real binaries: a board enrolled with a
running collectord exports its unacknowledged records to a folder (the
stick), collectctl imports them, writes a receipt, and the board imports
it and has nothing pending.  Altered, cut, replayed and revoked bundles
are refused with exit 1 and one line on stderr, and the collector's
records stay as they were."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import fieldlib as fl
import synclib as sl

DEVICE = "board-usb"
NOTE = "needs a lawyer urgently"


class BundleTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="bundletest.")
        self.cdir = os.path.join(self.root, "collector")
        self.ddir = os.path.join(self.root, "device")
        self.usb = os.path.join(self.root, "usb")
        os.mkdir(self.usb)
        self.proc = None
        # SQLite in the folder, or PostgreSQL when FIELD_STORE=pg
        self.store = sl.init_collector(self.cdir)
        port = self.port = self.start_collectord()
        token = self.cctl("enroll-token", "--device-id",
                          DEVICE).stdout.strip().splitlines()[-1]
        fl.run("fieldctl", "-d", self.ddir, "init", "--collector-key",
               os.path.join(self.cdir, "seal.pub"), "--device-id", DEVICE)
        with open(os.path.join(self.ddir, "fieldd.conf"), "w") as f:
            f.write(fl.HOST_CLOCK)
        self.dctl("enroll", "--collector", "127.0.0.1:%d" % port, "--token",
                  token)

    def tearDown(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.logf.close()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.store:
            sl.pglib.drop_database(self.store)

    def start_collectord(self):
        log = os.path.join(self.root, "collectord.log")
        self.logf = open(log, "a")
        self.proc = subprocess.Popen(
            [os.path.join(fl.BIN, "collectord"), "-d", self.cdir,
             "--listen", "127.0.0.1:0"], stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(log, errors="replace") as f:
                m = re.findall(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                return int(m[-1])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("collectord did not start: " + open(log).read())

    def cctl(self, *args, **kw):
        return fl.run("collectctl", "-d", self.cdir, *args, **kw)

    def dctl(self, *args, **kw):
        return fl.run("fieldctl", "-d", self.ddir, *args, **kw)

    def submit(self, n):
        for i in range(n):
            rec = fl.mrc_visit()
            rec["age_years"] = 20 + i
            rec["notes"] = NOTE
            self.dctl("submit", "mrc_visit", input=json.dumps(rec))

    def export(self):
        p = self.dctl("export", self.usb)
        path = p.stdout.splitlines()[0]
        self.assertTrue(os.path.isfile(path), p.stdout)
        return path, p

    def held(self):
        """What the collector's store holds: records, refused, bundles, and
        the device's watermark."""
        q = lambda sql: sl.store_value(self.cdir, self.store, sql)
        return (q("SELECT count(*) FROM records"),
                q("SELECT count(*) FROM refused"),
                q("SELECT count(*) FROM bundles"),
                q("SELECT acked_seq FROM devices WHERE id = '%s'" % DEVICE))

    def refused(self, path, why):
        before = self.held()
        p = fl.run("collectctl", "-d", self.cdir, "import", path,
                   check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertRegex(p.stderr, why)
        self.assertNotIn(NOTE, p.stderr)
        self.assertEqual(self.held(), before)
        return p

    def test_export_import_receipt(self):
        self.submit(4)
        st = json.loads(self.dctl("status", "--json").stdout)
        self.assertEqual(st["pending"], 4)
        path, p = self.export()
        self.assertEqual(os.path.basename(path), "%s-1-4.fldb" % DEVICE)
        self.assertIn("4 records (seq 1 to 4)", p.stdout)
        # No temporary files are left on the stick.
        self.assertEqual(sorted(os.listdir(self.usb)),
                         [os.path.basename(path)])
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"FLDBNDL1"))
        self.assertNotIn(NOTE.encode(), data)

        # Altered anywhere, cut short, or not a bundle: refused, nothing
        # changes.
        bad = os.path.join(self.root, "bad.fldb")
        for at in (12, 200, len(data) // 2, len(data) - 1):
            with open(bad, "wb") as f:
                f.write(data[:at] + bytes([data[at] ^ 0x04]) +
                        data[at + 1:])
            self.refused(bad, r"bad\.fldb: ")
        with open(bad, "wb") as f:
            f.write(data[:-20])
        self.refused(bad, r"body does not match")
        with open(bad, "wb") as f:
            f.write(b"FLDRCPT1" + data[8:])
        self.refused(bad, r"byte 0: not a bundle")
        self.assertEqual(self.held(), (0, 0, 0, 0))

        p = self.cctl("import", path)
        self.assertIn("records new 4, already held 0, refused 0", p.stdout)
        self.assertEqual(self.held(), (4, 0, 1, 4))
        # The same bundle again is a replay.
        self.refused(path, r"imported already.*replay")

        # The receipt, into the stick's folder, raises the watermark.
        p = self.cctl("receipt", DEVICE, self.usb)
        rpath = p.stdout.splitlines()[0]
        self.assertEqual(os.path.dirname(rpath), self.usb)
        p = self.dctl("import-receipt", rpath)
        self.assertIn("watermark 0 -> 4", p.stdout)
        st = json.loads(self.dctl("status", "--json").stdout)
        self.assertEqual(st["pending"], 0)
        self.assertEqual(st["acked_seq"], 4)
        self.assertIn("pending       0", self.dctl("status").stdout)

        # Nothing pending: a clear message, exit 0, no new file.
        os.unlink(path)
        p = self.dctl("export", self.usb)
        self.assertIn("nothing to export", p.stdout)
        self.assertFalse([n for n in os.listdir(self.usb)
                          if n.endswith(".fldb")])

        # Later records: the next bundle holds only them.
        self.submit(2)
        path, p = self.export()
        self.assertEqual(os.path.basename(path), "%s-5-6.fldb" % DEVICE)
        self.cctl("import", path)
        self.assertEqual(self.held(), (6, 0, 2, 6))

    def test_receipt_refusals(self):
        self.submit(2)
        path, _ = self.export()
        self.cctl("import", path)
        rpath = os.path.join(self.root, "r.fldr")
        self.cctl("receipt", DEVICE, rpath)
        with open(rpath, "rb") as f:
            data = f.read()
        bad = os.path.join(self.root, "bad.fldr")
        for at in (3, 20, len(data) - 2):
            with open(bad, "wb") as f:
                f.write(data[:at] + bytes([data[at] ^ 0x01]) +
                        data[at + 1:])
            p = self.dctl("import-receipt", bad, check=False)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        # Another device, enrolled with the same collector, refuses it.
        token = self.cctl("enroll-token", "--device-id",
                          "board-other").stdout.strip().splitlines()[-1]
        other = os.path.join(self.root, "other")
        fl.run("fieldctl", "-d", other, "init", "--collector-key",
               os.path.join(self.cdir, "seal.pub"), "--device-id",
               "board-other")
        p = fl.run("fieldctl", "-d", other, "import-receipt", rpath,
                   check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is this device enrolled", p.stderr)
        fl.run("fieldctl", "-d", other, "enroll", "--collector",
               "127.0.0.1:%d" % self.port, "--token", token)
        p = fl.run("fieldctl", "-d", other, "import-receipt", rpath,
                   check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("a receipt for device %s; this is device "
                      "board-other" % DEVICE, p.stderr)
        self.assertEqual(
            json.loads(self.dctl("status", "--json").stdout)["acked_seq"], 0)
        self.dctl("import-receipt", rpath)
        self.assertEqual(
            json.loads(self.dctl("status", "--json").stdout)["pending"], 0)

    def test_revoked_device_refused(self):
        self.submit(3)
        path, _ = self.export()
        self.cctl("revoke", DEVICE)
        self.refused(path, r"revoked")
        p = self.cctl("receipt", DEVICE, self.usb, check=False)
        self.assertEqual(p.returncode, 1)

    def test_bundle_then_link(self):
        """Records carried on a stick and then the link: each arrives once
        and the link sends only what the receipt left pending."""
        self.submit(3)
        path, _ = self.export()
        self.cctl("import", path)
        rpath = os.path.join(self.root, "r.fldr")
        self.cctl("receipt", DEVICE, rpath)
        self.dctl("import-receipt", rpath)
        self.submit(2)
        p = self.dctl("sync", check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.held()[0], 5)
        self.assertEqual(self.held()[3], 5)
        st = json.loads(self.dctl("status", "--json").stdout)
        self.assertEqual(st["pending"], 0)
        # An old bundle of records the link has delivered since: taken
        # as a new bundle, every record already held.
        self.submit(1)
        path2, _ = self.export()
        self.dctl("sync")
        p = self.cctl("import", path2)
        self.assertIn("records new 0, already held 1", p.stdout)
        self.assertEqual(self.held()[0], 6)


if __name__ == "__main__":
    fl.main()
