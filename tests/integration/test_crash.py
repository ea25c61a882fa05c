"""kill -9 of fieldd during a stream of HTTP submissions: every record
that got a 201 is present after a restart and opens, and seqs stay
gap-free.  Also under concurrent load, where many phones' records share
one commit (daemon/commit.h), killed at random moments: every 201 is
there with its seq and its values, and nothing that was not sent."""
import random
import signal
import threading
import time
import unittest
import uuid

import fieldlib as fl


class Crash(unittest.TestCase):

    def setUp(self):
        self.dev = fl.Device()

    def tearDown(self):
        self.dev.cleanup()

    def stream(self, acked, stop):
        while not stop.is_set():
            try:
                st, data, _ = self.dev.submit("dtm_household",
                                              fl.household(name=None),
                                              timeout=5)
            except OSError:
                continue
            if st == 201:
                acked.append((data["_id"], data["seq"]))

    def test_kill_during_stream(self):
        all_acked = []
        for round_ in range(3):
            self.dev.start()
            acked, stop = [], threading.Event()
            threads = [threading.Thread(target=self.stream,
                                        args=(acked, stop))
                       for _ in range(4)]
            for t in threads:
                t.start()
            deadline = time.time() + 30
            while len(acked) < 150 and time.time() < deadline:
                time.sleep(0.01)
            self.dev.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            self.assertGreater(len(acked), 0)
            all_acked += acked

        opened = self.dev.open_records()
        by_id = {r["_id"]: r["_seq"] for r in opened}
        for rid, seq in all_acked:
            self.assertIn(rid, by_id, "acknowledged record lost")
            self.assertEqual(by_id[rid], seq)
        seqs = sorted(by_id.values())
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)),
                         "seq has gaps")
        # A restarted daemon carries on from there.
        self.dev.start()
        st, data, _ = self.dev.submit("mrc_visit", fl.mrc_visit())
        self.assertEqual(st, 201, data)
        self.assertEqual(data["seq"], len(seqs) + 1)
        self.assertEqual(self.dev.stop(), 0)
        self.assertEqual(self.dev.status()["epochs"] >= 4, True)

    def load(self, sent, acked, stop, rnd):
        """One phone: records with ids of its own, as fast as answered."""
        while not stop.is_set():
            rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            rec = fl.household(name="Head %s" % rid[:8],
                               members=rnd.randint(1, 4))
            rec["_id"] = rid
            sent[rid] = rec
            try:
                st, data, _ = self.dev.submit("dtm_household", rec,
                                              timeout=10)
            except OSError:
                continue
            if st == 201:
                acked.append((rid, data["seq"]))

    def test_kill_under_concurrent_load(self):
        rnd = random.Random()
        seed = rnd.randrange(1 << 30)
        rnd.seed(seed)
        sent, acked = {}, []
        # Commits a little slower than this machine's, as on a card, so
        # a kill finds groups of several phones in flight.
        env = fl.slow_fsync(delay_us=2000)
        for round_ in range(4):
            self.dev.start(env=env)
            stop = threading.Event()
            threads = [threading.Thread(
                target=self.load,
                args=(sent, acked, stop, random.Random(rnd.random())))
                for _ in range(12)]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.3, 1.5))
            self.dev.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
        self.assertGreater(len(acked), 0)

        opened = {r["_id"]: r for r in self.dev.open_records()}
        for rid, seq in acked:
            self.assertIn(rid, opened, "acknowledged record lost (seed %d)"
                          % seed)
            self.assertEqual(opened[rid]["_seq"], seq)
        for rid, r in opened.items():
            # nothing that was not sent, and what was sent, whole
            self.assertIn(rid, sent, "a record nobody sent (seed %d)" % seed)
            self.assertEqual(r["head_name"], sent[rid]["head_name"])
            self.assertEqual(len(r["members"]), len(sent[rid]["members"]))
        seqs = sorted(r["_seq"] for r in opened.values())
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)),
                         "seq has gaps (seed %d)" % seed)
        self.assertEqual(self.dev.status()["records"], len(seqs))


if __name__ == "__main__":
    fl.main()
