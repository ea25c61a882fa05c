"""Several collectord front-ends on one PostgreSQL store.

Two front-ends, each its own copy of one collector's folder (same CA, TLS
certificate, sealing public key, forms) and its own process and port,
keep their records in one database.  A device may reach either; whatever
happens between them -- the link cut mid-batch, a device moving from one
to the other between attempts, the same records arriving at both at
once, a front-end killed with SIGKILL mid-batch -- every record is stored
exactly once and each device's watermark equals the collector's.

Always against PostgreSQL: the database is made in the cluster tests/
run.sh starts for its PostgreSQL pass (FIELD_PG_URL), or, run by hand,
in one pglib starts (tools/pg.sh).  tests/run.sh runs it in that pass
only."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

import fieldlib as fl
import pglib
import synclib as sl


note = sl.note
sync_proc = sl.sync_proc


class FrontendsTest(unittest.TestCase):
    def setUp(self):
        self.db = pglib.new_database("frontends")
        self.a = sl.Collector(store=self.db)
        self.b = self.a.frontend()
        self.a.start()
        self.b.start()
        self.proxies = []

    def tearDown(self):
        for px in self.proxies:
            if px.proc.poll() is None:
                px.proc.kill()
                px.proc.wait()
        self.a.cleanup()
        pglib.drop_database(self.db)

    def proxy(self, fe, *flags):
        px = sl.Proxy(fe.port, *flags)
        self.proxies.append(px)
        return px

    def devices(self, n, records, members=1):
        devs = {}
        for i in range(n):
            d = sl.SyncDevice(self.a, "fe-board-%d" % i)
            d.ctl("config", "set", "sync_retry_max_s", "1")
            devs[d] = d.bulk(records, members=members)
        return devs

    def check_exactly_once(self, devs):
        """devs: {SyncDevice: [record ids in seq order]}.  Every record
        once under its (device, seq), nothing refused, and each device's
        watermark on the device, through front-end A and through B all
        equal to its record count."""
        sl.assert_stored_once(self, self.a,
                              {d.id: ids for d, ids in devs.items()})
        self.assertEqual(sl.store_value(None, self.db,
                                        "SELECT count(*) FROM refused"), 0)
        via_a, via_b = self.a.devices(), self.b.devices()
        for d, ids in devs.items():
            self.assertEqual(d.status()["acked_seq"], len(ids), d.id)
            self.assertEqual(via_a[d.id]["acked_seq"], len(ids), d.id)
            self.assertEqual(via_b[d.id]["acked_seq"], len(ids), d.id)

    def acked_total(self):
        rows = pglib.psql(self.db, "SELECT coalesce(sum(acked_seq), 0) "
                          "FROM devices")
        return int(rows[0][0])

    def test_devices_switch_frontends_through_cuts(self):
        """Four devices, 6000 records, each device's link cut every 20 KB
        on average and stalled now and then; between attempts each device
        moves to the other front-end."""
        devs = self.devices(4, 1500)
        pa = self.proxy(self.a, "--cut-mean", "20000", "--seed", "71",
                        "--stall-prob", "0.005", "--stall-ms", "200")
        pb = self.proxy(self.b, "--cut-mean", "20000", "--seed", "72",
                        "--stall-prob", "0.005", "--stall-ms", "200")
        progress = {d.id: {"A": 0, "B": 0} for d in devs}
        errors = []

        def run(d, first):
            try:
                turn = first
                deadline = time.time() + 600
                while time.time() < deadline:
                    name, px = (("A", pa), ("B", pb))[turn % 2]
                    d.point_at(px.port)
                    before = d.status()["acked_seq"]
                    p = d.sync(attempts=2, timeout=300)
                    after = d.status()["acked_seq"]
                    progress[d.id][name] += after - before
                    if p.returncode == 0:
                        return
                    turn += 1
                errors.append("%s: not done in time" % d.id)
            except Exception as e:          # reported by the main thread
                errors.append("%s: %r" % (d.id, e))

        threads = [threading.Thread(target=run, args=(d, i))
                   for i, d in enumerate(devs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sa, sb = pa.stop(), pb.stop()
        note("cuts: A %d, B %d; acknowledged through A and B: %s" % (
            sa["cuts"], sb["cuts"], progress))
        self.assertEqual(errors, [])
        self.assertGreaterEqual(sa["cuts"] + sb["cuts"], 100, (sa, sb))
        # each device's records went through both front-ends
        for dev, p in progress.items():
            self.assertGreater(p["A"], 0, (dev, p))
            self.assertGreater(p["B"], 0, (dev, p))
        self.check_exactly_once(devs)
        self.assertTrue(self.a.alive() and self.b.alive())

    def test_a_waiting_batch_holds_up_no_other_device(self):
        """Device X's batch waits inside its transaction (another
        session holds a row with X's first record id, uncommitted): Y's
        sync through the other front-end goes through meanwhile -- one
        device's batch no longer holds every other device's.  X's batch
        drew its arrival numbers before Y's committed higher ones, so
        analysis started now waits for X, and counts every record once:
        numbers are still seen only in commit order."""
        devs = self.devices(2, 40)
        x, y = list(devs)
        blocker = subprocess.Popen(
            [os.path.join(pglib.PGBIN, "psql"), "-X", "-q", "-A", "-t", "-v",
             "ON_ERROR_STOP=1", self.db], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            blocker.stdin.write(
                "BEGIN;\nINSERT INTO records(device_id, seq, id, form_id,"
                " form_version, created_ms, corrected_ms, clock, epoch_id,"
                " epoch_pub, sealed, received_ms, arrival) VALUES("
                "'elsewhere', 1, '%s', 'f', '1', 0, 0, 0, 0, '', '', 0, -1);"
                "\nSELECT 'held';\n" % devs[x][0])
            blocker.stdin.flush()
            self.assertIn("held", blocker.stdout.readline())
            x.point_at(self.a.port)
            px = sync_proc(x, attempts=1)
            deadline = time.time() + 20
            while time.time() < deadline and not pglib.psql(
                    self.db, "SELECT 1 FROM pg_stat_activity WHERE"
                    " wait_event_type = 'Lock' AND query LIKE"
                    " 'INSERT INTO records%'"):
                time.sleep(0.1)
            self.assertIsNone(px.poll(), "X's sync did not wait")
            y.point_at(self.b.port)
            t0 = time.monotonic()
            p = y.sync(attempts=1, timeout=30)
            note("Y synced in %.2f s while X's batch waited" % (
                time.monotonic() - t0))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(y.status()["acked_seq"], len(devs[y]))
            self.assertIsNone(px.poll(), "X's batch should still wait")
            # Analysis now: it must wait for X's batch, not skip it.
            key = os.path.join(self.a.dir, "seal.key")
            an = subprocess.Popen(
                [os.path.join(fl.BIN, "collectctl"), "-d", self.a.dir,
                 "analyse", "--key", key], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            time.sleep(1)
            blocker.stdin.write("ROLLBACK;\n")
            blocker.stdin.flush()
            out = px.communicate(timeout=120)[0]
            self.assertEqual(px.returncode, 0, out[-2000:])
            first = an.communicate(timeout=120)[0]
            second = self.a.ctl("analyse", "--key", key).stdout
        finally:
            blocker.stdin.close()
            blocker.wait(timeout=30)
            blocker.stdout.close()
        seen = sum(int(m) for m in re.findall(r"analysed (\d+) records",
                                                first + second))
        self.assertEqual(seen, len(devs[x]) + len(devs[y]), first + second)
        self.check_exactly_once(devs)

    def test_same_records_to_both_at_once(self):
        """The same device's records reach A and B at the same time: a
        twin of a device (its folder copied: same certificate, same
        records) syncs to B while the device syncs to A; and one device
        folder synced by two fieldctl processes, the first still on its
        slow link to A when the second goes to B."""
        devs = self.devices(2, 1500)
        twin_of, d2 = list(devs)
        twin = sl.SyncDevice.__new__(sl.SyncDevice)
        twin.collector, twin.id, twin.proc = self.a, twin_of.id, None
        twin.dir = twin_of.dir + "-twin"
        twin.log_path = twin_of.log_path + ".twin"
        shutil.copytree(twin_of.dir, twin.dir, symlinks=True)
        pa = self.proxy(self.a, "--rate", "150000")
        pb = self.proxy(self.b, "--rate", "150000")
        twin_of.point_at(pa.port)
        twin.point_at(pb.port)
        procs = [sync_proc(d) for d in (twin_of, twin)]
        outs = [p.communicate(timeout=300)[0] for p in procs]
        for p, out in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out[-2000:])
        self.assertEqual(twin.status()["acked_seq"], len(devs[twin_of]))

        # One folder, two processes: the first on a slow link to A ...
        slow = self.proxy(self.a, "--rate", "20000")
        d2.point_at(slow.port)
        first = sync_proc(d2)
        deadline = time.time() + 60
        while time.time() < deadline:
            info = self.a.devices()[d2.id]
            if info["acked_seq"] > 0:
                break
            time.sleep(0.1)
        self.assertIsNone(first.poll(), "the slow sync ended too soon")
        # ... the second, while it still sends, to B at full speed.
        d2.point_at(self.b.port)
        second = d2.sync(attempts=30, timeout=300)
        out1 = first.communicate(timeout=300)[0]
        note("one folder, two syncs: the first (to A) exit %d, the second "
             "(to B) exit %d" % (first.returncode, second.returncode))
        # Either may meet the other's lock on the device's own store; a
        # last sync settles the device, and nothing may be doubled.
        if second.returncode != 0 or first.returncode != 0:
            self.assertEqual(d2.sync(attempts=5).returncode, 0,
                             second.stderr + out1)
        self.check_exactly_once(devs)
        self.assertTrue(self.a.alive() and self.b.alive())

    def test_kill9_frontend_mid_batch(self):
        """Four devices sync 8000 records to A over a slow link; A is
        killed with SIGKILL while batches are in flight; the devices move
        to B and finish there.  Then A comes back and serves more."""
        devs = self.devices(4, 2000)
        pa = self.proxy(self.a, "--rate", "60000", "--seed", "9")
        target = {"port": pa.port}
        errors = []
        total = sum(len(v) for v in devs.values())

        def run(d):
            try:
                deadline = time.time() + 600
                while time.time() < deadline:
                    d.point_at(target["port"])
                    if d.sync(attempts=2, timeout=300).returncode == 0:
                        return
                errors.append("%s: not done in time" % d.id)
            except Exception as e:
                errors.append("%s: %r" % (d.id, e))

        threads = [threading.Thread(target=run, args=(d,)) for d in devs]
        for t in threads:
            t.start()
        deadline = time.time() + 120
        while self.acked_total() < total // 5 and time.time() < deadline:
            time.sleep(0.1)
        at_kill = self.acked_total()
        note("A killed at %d of %d records acknowledged" % (at_kill, total))
        self.assertGreater(at_kill, 0)
        self.assertLess(at_kill, total, "all acknowledged before the kill")
        self.a.stop(signal.SIGKILL)
        target["port"] = self.b.port
        for t in threads:
            t.join()
        pa.stop()
        self.assertEqual(errors, [])
        self.assertTrue(self.b.alive())
        self.check_exactly_once(devs)
        # A, back, serves a device as before
        self.a.start()
        d = next(iter(devs))
        devs[d] += d.bulk(20)
        d.point_at(self.a.port)
        self.assertEqual(d.sync().returncode, 0)
        self.check_exactly_once(devs)

    def test_database_connection_lost(self):
        """The database drops every collectord connection (a restart, a
        failover): the next batch finds it made again, nothing is lost,
        and no front-end needs a restart."""
        devs = self.devices(2, 300)
        d1, d2 = list(devs)
        d1.point_at(self.a.port)
        self.assertEqual(d1.sync(attempts=3).returncode, 0)
        killed = pglib.psql(self.db, "SELECT count(pg_terminate_backend(pid))"
                            " FROM pg_stat_activity WHERE datname ="
                            " current_database() AND pid <>"
                            " pg_backend_pid()")
        self.assertGreaterEqual(int(killed[0][0]), 1)
        devs[d1] += d1.bulk(50)
        for d in (d1, d2):
            d.point_at(self.a.port)
            p = d.sync(attempts=5)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(self.a.alive())
        self.assertIn("connection lost; made again", self.a.log())
        self.check_exactly_once(devs)


if __name__ == "__main__":
    fl.main()
