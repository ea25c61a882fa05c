"""Every file the programs make, with its mode.

A board and a collector are taken through their whole life (init, users,
records by fieldctl and by fieldd, enrolment, sync, a USB bundle, the
analysis tables, an export), then every file under their folders is
listed with its mode in this test's log.  Databases (with their -wal and
-shm files) and private keys must be the owner's alone (0600): they hold
sealed records, tokens' hashes, PIN digests and keys.  Nothing may be
writable by anyone but its owner, and every folder is 0700."""
import json
import os
import stat
import unittest

import fieldlib as fl
import synclib as sl

PRIVATE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".key")


def listing(root):
    out = []
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            out.append((os.path.relpath(p, root),
                        stat.S_IMODE(os.lstat(p).st_mode),
                        os.path.isdir(p)))
    return sorted(out)


class Modes(unittest.TestCase):

    def setUp(self):
        self.c = sl.Collector()
        self.c.start()

    def tearDown(self):
        self.c.cleanup()

    def test_every_file_each_program_makes(self):
        d = sl.SyncDevice(self.c, "modes-board")
        d.ctl("user", "add", "enumerator-1")
        d.ctl("user", "pin", "enumerator-1", input="482915\n")
        d.ctl("submit", "mrc_visit", input=json.dumps(fl.mrc_visit()))
        d.start()
        d.stop()
        self.assertEqual(d.sync().returncode, 0)
        usb = os.path.join(self.c.root, "usb")
        os.makedirs(usb)
        d.ctl("submit", "mrc_visit", input=json.dumps(fl.mrc_visit()))
        d.ctl("export", usb)
        key = os.path.join(self.c.dir, "seal.key")
        self.c.ctl("analyse", "--key", key)
        out = os.path.join(self.c.root, "export")
        self.c.ctl("export", "--key", key, "--form", "mrc_visit", "--out",
                   out)
        bad = []
        for root in (d.dir, self.c.dir, usb, out):
            rows = listing(root)
            print("\n%s:" % root)
            for name, mode, is_dir in rows:
                print("  %04o %s%s" % (mode, name, "/" if is_dir else ""))
                if is_dir:
                    if mode != 0o700:
                        bad.append("%s/%s is %04o, not 0700" % (root, name,
                                                               mode))
                elif name.endswith(PRIVATE_SUFFIXES) and mode != 0o600:
                    bad.append("%s/%s is %04o, not 0600" % (root, name,
                                                           mode))
                elif mode & 0o022:
                    bad.append("%s/%s is %04o: writable by others" % (
                        root, name, mode))
        self.assertTrue(any(n == "device.db" for n, _, _ in listing(d.dir)))
        self.assertTrue(any(n == "collector.db"
                            for n, _, _ in listing(self.c.dir)))
        self.assertTrue(any(n == "analysis.db"
                            for n, _, _ in listing(self.c.dir)))
        self.assertEqual(bad, [])


if __name__ == "__main__":
    fl.main()
