"""collectctl migrate-store: a collector moves from SQLite to PostgreSQL
with no more than a restart.  The first copy runs while collectord keeps
ingesting; the second, with collectord stopped, brings what arrived in
between; collectord then starts on PostgreSQL and devices go on from their
watermarks.  Every record once, watermarks equal, and a copy that fails
leaves collectord.conf as it was."""
import os
import unittest

import fieldlib as fl
import pglib
import synclib as sl


class MigrateStore(unittest.TestCase):
    def setUp(self):
        self.c = sl.Collector(store="")      # SQLite, whatever FIELD_STORE
        self.c.start()
        self.d = sl.SyncDevice(self.c, "mig-1")

    def tearDown(self):
        self.c.cleanup()

    def sync_ok(self):
        p = self.d.sync(attempts=3)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr +
                         self.c.log()[-3000:])

    def conf(self):
        with open(os.path.join(self.c.dir, "collectord.conf")) as f:
            return f.read()

    def test_move_with_a_restart(self):
        first = self.d.bulk(300)
        self.sync_ok()
        url = pglib.new_database()
        sqlite = "sqlite:" + os.path.join(self.c.dir, "collector.db")
        # while collectord runs on SQLite
        p = self.c.ctl("migrate-store", "--from", sqlite, "--to", url)
        self.assertIn("records", p.stdout)
        self.assertIn("store = " + url, self.conf())
        second = self.d.bulk(200)           # arrive after the first copy
        self.sync_ok()
        port = self.c.port
        self.c.stop()
        self.c.ctl("migrate-store", "--from", sqlite, "--to", url)
        self.assertEqual(self.conf().count("store ="), 1)
        self.c.start(port=port)             # now on PostgreSQL
        third = self.d.bulk(100)
        self.sync_ok()
        ids = [r["_id"] for r in self.c.open_records()]
        self.assertEqual(sorted(ids), sorted(first + second + third))
        dev = self.c.devices()["mig-1"]
        self.assertEqual(dev["acked_seq"], 600)
        self.assertEqual(self.d.status()["acked_seq"], 600)
        # the SQLite file is left as it was, for a way back
        self.assertTrue(os.path.exists(os.path.join(self.c.dir,
                                                    "collector.db")))

    def test_failure_changes_nothing(self):
        before = self.conf()
        sqlite = "sqlite:" + os.path.join(self.c.dir, "collector.db")
        p = self.c.ctl("migrate-store", "--from", sqlite, "--to",
                       "postgresql://nobody@127.0.0.1:1/none", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("postgresql:", p.stderr)
        self.assertEqual(self.conf(), before)
        p = self.c.ctl("migrate-store", "--from", "sqlite:/no/such.db",
                       "--to", pglib.new_database(), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--from: /no/such.db", p.stderr)
        p = self.c.ctl("migrate-store", "--from", sqlite, "--to",
                       "mysql://x", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(self.conf(), before)


if __name__ == "__main__":
    fl.main()
