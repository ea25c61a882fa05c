"""Group commit across sessions in collectord (issue 17, item 5).

Batches of several devices that arrive while a transaction is storing
others are stored together by the next one, off the event loop; each
device's ack leaves only after the commit that covers its batch.  What
is checked, with real processes and real databases:

- SQLite, every fsync made slow (tests/tools/slowsync.c preloaded into
  collectord): four devices syncing at once are stored in fewer
  transactions than batches, and every record exactly once.
- SQLite, kill -9 of collectord while a commit is held at its fsync
  (the slowsync gate), with other devices' batches waiting: every record
  a device holds as acknowledged is in the store, none twice; after a
  restart everything arrives exactly once.
- PostgreSQL, two front-ends: a transaction of front-end A is held (an
  uncommitted row of another session holds one of X's record ids), and
  the batches of Y and Z reach A meanwhile: none of them is acknowledged
  while it is held, they are then stored together in one transaction,
  and analysis started meanwhile (W's records committed through B with
  higher arrival numbers) skips no arrival number that commits later.
  Then kill -9 of A while such a transaction is held: nothing of it is
  acknowledged or stored, and everything arrives exactly once after.

The PostgreSQL case uses the run's cluster (FIELD_PG_URL) or, run by
hand, one pglib starts (tools/pg.sh)."""
import os
import re
import signal
import subprocess
import time
import unittest

import fieldlib as fl
import pglib
import synclib as sl


note = sl.note
sync_proc = sl.sync_proc


def batches_and_transactions(c):
    """What collectord said as it stopped: (batches, transactions)."""
    m = re.findall(r"(\d+) records in (\d+) batches, (\d+) transactions",
                   c.log())
    if not m:
        raise AssertionError("collectord did not count its transactions:\n"
                             + c.log()[-2000:])
    return int(m[-1][1]), int(m[-1][2])


def make_devices(c, n, records, prefix):
    devs = {}
    for i in range(n):
        d = sl.SyncDevice(c, "%s-%d" % (prefix, i))
        d.ctl("config", "set", "sync_retry_max_s", "1")
        devs[d] = d.bulk(records)
    return devs


def wait_until(cond, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class SqliteGroupCommit(unittest.TestCase):
    def setUp(self):
        if os.environ.get("FIELD_STORE") == "pg":
            self.skipTest("slow fsyncs are collectord's only on SQLite")
        self.c = sl.Collector(store="")
        self.c.start()

    def tearDown(self):
        self.c.cleanup()

    def test_several_devices_share_a_commit(self):
        devs = make_devices(self.c, 4, 150, "gc")
        self.c.stop()
        # Each fsync takes 100 ms, as on a slow disk: batches that come
        # meanwhile must wait for the next transaction, not each for one
        # of their own.
        self.c.start(env=fl.slow_fsync(delay_us=100000))
        for d in devs:
            d.point_at(self.c.port)
        procs = {d: sync_proc(d) for d in devs}
        for d, p in procs.items():
            out = p.communicate(timeout=300)[0]
            self.assertEqual(p.returncode, 0, out[-2000:])
        self.c.stop()
        batches, tx = batches_and_transactions(self.c)
        note("%d batches in %d transactions" % (batches, tx))
        self.assertLess(tx, batches, "no batches shared a transaction")
        sl.assert_stored_once(self, self.c,
                              {d.id: ids for d, ids in devs.items()})
        for d, ids in devs.items():
            self.assertEqual(d.status()["acked_seq"], len(ids), d.id)

    def test_kill9_while_a_commit_is_held(self):
        devs = make_devices(self.c, 4, 400, "gk")
        self.c.stop()
        gate = os.path.join(self.c.root, "gate")
        count = os.path.join(self.c.root, "fsyncs")
        self.c.start(env=fl.slow_fsync(delay_us=20000, gate=gate,
                                       count=count))
        for d in devs:
            d.point_at(self.c.port)
        procs = {d: sync_proc(d, attempts=1) for d in devs}

        def fsyncs():
            try:
                return os.path.getsize(count)
            except OSError:
                return 0
        # Some batches acknowledged (as a device sees it), then the next
        # commit is held at its fsync with the others' batches waiting
        # behind it.
        wait_until(lambda: any(d.status()["acked_seq"] > 0 for d in devs),
                   "a device's first ack", timeout=120)
        with open(gate, "w"):
            pass
        # A commit started before the gate may already be counted: the
        # count stops moving once one waits at the gate.
        time.sleep(1)
        held = fsyncs()
        before = {d: d.status()["acked_seq"] for d in devs}
        time.sleep(1)
        self.assertEqual(fsyncs(), held, "no commit held at the gate")
        # No ack leaves while the commit is held (batches that came
        # meanwhile wait for it, unacknowledged).
        self.assertEqual({d: d.status()["acked_seq"] for d in devs}, before)
        self.c.stop(signal.SIGKILL)
        os.unlink(gate)
        for p in procs.values():
            p.communicate(timeout=120)
        # Every record a device holds as acknowledged is stored, once.
        acked_any = 0
        for d, ids in devs.items():
            acked = d.status()["acked_seq"]
            acked_any += acked
            self.assertLess(acked, len(ids), "%s finished before the kill"
                            % d.id)
            for seq in range(1, acked + 1):
                self.assertEqual(sl.store_value(
                    self.c.dir, None, "SELECT count(*) FROM records WHERE"
                    " device_id = '%s' AND seq = %d" % (d.id, seq)), 1,
                    "%s seq %d acknowledged, not stored" % (d.id, seq))
        self.assertGreater(acked_any, 0, "nothing was acknowledged")
        note("%d records acknowledged before the kill" % acked_any)
        self.c.start()
        for d in devs:
            d.point_at(self.c.port)
            p = d.sync(attempts=5, timeout=180)
            self.assertEqual(p.returncode, 0, p.stderr)
        sl.assert_stored_once(self, self.c,
                              {d.id: ids for d, ids in devs.items()})
        self.assertEqual(sl.store_value(self.c.dir, None,
                                        "SELECT count(*) FROM refused"), 0)


class PgGroupCommit(unittest.TestCase):
    def setUp(self):
        self.db = pglib.new_database("groupcommit")
        self.a = sl.Collector(store=self.db)
        self.b = self.a.frontend()
        self.a.start()
        self.b.start()
        self.blocker = None

    def tearDown(self):
        if self.blocker is not None and self.blocker.poll() is None:
            self.blocker.kill()
            self.blocker.wait()
        self.a.cleanup()
        pglib.drop_database(self.db)

    def hold(self, rid):
        """Another session inserts a row with record id rid and keeps its
        transaction open: a batch storing rid waits for it."""
        self.blocker = subprocess.Popen(
            [os.path.join(pglib.PGBIN, "psql"), "-X", "-q", "-A", "-t", "-v",
             "ON_ERROR_STOP=1", self.db], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.blocker.stdin.write(
            "BEGIN;\nINSERT INTO records(device_id, seq, id, form_id,"
            " form_version, created_ms, corrected_ms, clock, epoch_id,"
            " epoch_pub, sealed, received_ms, arrival) VALUES("
            "'elsewhere', 1, '%s', 'f', '1', 0, 0, 0, 0, '', '', 0, -1);"
            "\nSELECT 'held';\n" % rid)
        self.blocker.stdin.flush()
        self.assertIn("held", self.blocker.stdout.readline())

    def release(self):
        self.blocker.stdin.write("ROLLBACK;\n")
        self.blocker.stdin.close()
        self.blocker.wait(timeout=30)
        self.blocker.stdout.close()

    def waiting_insert(self):
        return bool(pglib.psql(
            self.db, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type"
            " = 'Lock' AND query LIKE 'INSERT INTO records%'"))

    def acked(self, dev_id):
        rows = pglib.psql(self.db, "SELECT acked_seq FROM devices WHERE"
                          " id = '%s'" % dev_id)
        return int(rows[0][0])

    def test_batches_wait_for_the_commit_that_covers_them(self):
        devs = make_devices(self.a, 4, 30, "pgc")
        x, y, z, w = list(devs)
        for d in (x, y, z):
            d.point_at(self.a.port)
        w.point_at(self.b.port)
        self.hold(devs[x][0])
        px = sync_proc(x, attempts=1)
        wait_until(self.waiting_insert, "X's batch to wait")
        # Y and Z reach A while X's transaction is held: their batches
        # wait for the next one, unacknowledged.
        py, pz = sync_proc(y, attempts=1), sync_proc(z, attempts=1)
        time.sleep(1.5)
        for d, p in ((x, px), (y, py), (z, pz)):
            self.assertIsNone(p.poll(), "%s's sync ended while held" % d.id)
            self.assertEqual(self.acked(d.id), 0, d.id)
            self.assertEqual(d.status()["acked_seq"], 0,
                             "%s was acknowledged while held" % d.id)
        # W through B commits higher arrival numbers meanwhile.
        p = w.sync(attempts=1, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        key = os.path.join(self.a.dir, "seal.key")
        an = subprocess.Popen(
            [os.path.join(fl.BIN, "collectctl"), "-d", self.a.dir,
             "analyse", "--key", key], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        self.release()
        for d, p in ((x, px), (y, py), (z, pz)):
            out = p.communicate(timeout=120)[0]
            self.assertEqual(p.returncode, 0, out[-2000:])
        first = an.communicate(timeout=120)[0]
        second = self.a.ctl("analyse", "--key", key).stdout
        seen = sum(int(m) for m in re.findall(r"analysed (\d+) records",
                                                first + second))
        self.assertEqual(seen, sum(len(v) for v in devs.values()),
                         first + second)
        self.a.stop()
        batches, tx = batches_and_transactions(self.a)
        note("front-end A: %d batches in %d transactions" % (batches, tx))
        self.assertLess(tx, batches, "Y's and Z's batches did not share "
                        "a transaction")
        sl.assert_stored_once(self, self.b,
                              {d.id: ids for d, ids in devs.items()})
        for d, ids in devs.items():
            self.assertEqual(d.status()["acked_seq"], len(ids), d.id)

    def test_kill9_of_a_frontend_while_its_transaction_is_held(self):
        devs = make_devices(self.a, 3, 30, "pgk")
        for d in devs:
            d.point_at(self.a.port)
        x = list(devs)[0]
        self.hold(devs[x][0])
        procs = [sync_proc(d, attempts=1) for d in devs]
        wait_until(self.waiting_insert, "X's batch to wait")
        time.sleep(1)
        self.a.stop(signal.SIGKILL)
        self.release()
        for p in procs:
            p.communicate(timeout=120)
        # A's transaction died with it: nothing of it stored, nothing
        # acknowledged of X's; whatever a device holds as acknowledged
        # is stored.
        self.assertEqual(x.status()["acked_seq"], 0)
        for d in devs:
            acked = d.status()["acked_seq"]
            n = int(pglib.psql(self.db, "SELECT count(*) FROM records"
                               " WHERE device_id = '%s' AND seq <= %d"
                               % (d.id, acked))[0][0])
            self.assertEqual(n, acked, d.id)
        self.assertEqual(int(pglib.psql(
            self.db, "SELECT count(*) FROM records WHERE device_id = '%s'"
            % x.id)[0][0]), 0)
        for d in devs:
            d.point_at(self.b.port)
            p = d.sync(attempts=5, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
        sl.assert_stored_once(self, self.b,
                              {d.id: ids for d, ids in devs.items()})
        self.assertEqual(int(pglib.psql(
            self.db, "SELECT count(*) FROM refused")[0][0]), 0)


if __name__ == "__main__":
    fl.main()
