"""kill -9 of fieldd during a stream of HTTP submissions: every record
that got a 201 is present after a restart and opens, and seqs stay
gap-free."""
import signal
import threading
import time
import unittest

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


if __name__ == "__main__":
    fl.main()
