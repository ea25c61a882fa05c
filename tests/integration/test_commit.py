"""Group commit in fieldd (daemon/commit.h), with the card's fsync held
open by the test (tests/tools/slowsync.c preloaded: fsync waits while a
gate file exists), so nothing here depends on timing:

- while a commit waits for the card, fieldd still answers reads, the web
  app and logins;
- submits that arrive meanwhile are not answered before their commit, and
  then go to the card together (fewer fsyncs than submits), each with its
  own gap-free seq;
- a stop (SIGTERM) while a commit is held still answers it, 201, and the
  record is there;
- the log says what each commit stored in one line, not one line per
  record.
"""
import os
import re
import signal
import threading
import time
import unittest

import fieldlib as fl


class GroupCommit(unittest.TestCase):

    def setUp(self):
        self.dev = fl.Device()
        self.gate = os.path.join(self.dev.root, "gate")
        self.count = os.path.join(self.dev.root, "fsyncs")
        self.dev.start(env=fl.slow_fsync(gate=self.gate, count=self.count))

    def tearDown(self):
        if os.path.exists(self.gate):
            os.unlink(self.gate)
        self.dev.cleanup()

    def fsyncs(self):
        try:
            return os.path.getsize(self.count)
        except OSError:
            return 0

    def hold(self):
        """Closes the gate; returns the fsync count then."""
        open(self.gate, "w").close()
        return self.fsyncs()

    def wait_for(self, cond, what):
        deadline = time.time() + 30
        while not cond():
            self.assertLess(time.time(), deadline, what)
            time.sleep(0.01)

    def submit_in_thread(self, results, i):
        def go():
            rec = fl.household(name="Head %d" % i)
            results[i] = self.dev.submit("dtm_household", rec, timeout=60)
        t = threading.Thread(target=go)
        t.start()
        return t

    def test_reads_go_on_and_waiting_submits_share_a_commit(self):
        before = self.hold()
        results = {}
        first = self.submit_in_thread(results, 0)
        # the writer is at the card: its fsync is waiting at the gate
        self.wait_for(lambda: self.fsyncs() > before,
                      "the first submit never reached fsync")
        # The loop is free: reads, the web app, a login all answer.
        st, body, _ = self.dev.request("GET", "/api/health", timeout=10)
        self.assertEqual(st, 200, body)
        st, body, _ = self.dev.request("GET", "/api/status", timeout=10)
        self.assertEqual(st, 200, body)
        st, _, _ = self.dev.request("GET", "/", token=None, timeout=10)
        self.assertEqual(st, 200)
        st, body, _ = self.dev.request("GET", "/api/forms", timeout=10)
        self.assertEqual(st, 200, body)
        # Seven more phones while that commit is held.
        threads = [self.submit_in_thread(results, i) for i in range(1, 8)]
        # Each is checked on the loop, then waits: a refused one would
        # be answered now, a stored one only after its commit.
        time.sleep(0.3)
        self.assertEqual(results, {}, "answered before the commit")
        held = self.fsyncs()
        os.unlink(self.gate)
        first.join()
        for t in threads:
            t.join()
        seqs = []
        for i in range(8):
            st, body, _ = results[i]
            self.assertEqual(st, 201, body)
            seqs.append(body["seq"])
        self.assertEqual(sorted(seqs), list(range(1, 9)))
        # The seven went to the card together: one commit (one fsync of
        # the log), give or take, not seven.
        self.assertLessEqual(self.fsyncs() - held, 3,
                             "the waiting submits did not share a commit")
        self.assertEqual(self.dev.stop(), 0)
        self.assertEqual(sorted(r["_seq"] for r in self.dev.open_records()),
                         list(range(1, 9)))
        # One line per commit, with how many and which seqs, not one per
        # record (each record's id is in the debug log).
        log = self.dev.log()
        lines = re.findall(r"commit: stored (\d+) record\(s\), seq (\d+) "
                           r"to (\d+)", log)
        self.assertEqual(sum(int(n) for n, _, _ in lines), 8, log[-3000:])
        self.assertLessEqual(len(lines), 3, lines)
        self.assertEqual(sorted(int(lo) for _, lo, _ in lines)[0], 1)
        self.assertEqual(max(int(hi) for _, _, hi in lines), 8)
        self.assertNotIn("api: stored", log)

    def test_stop_while_a_commit_is_held_still_answers(self):
        before = self.hold()
        results = {}
        t = self.submit_in_thread(results, 0)
        self.wait_for(lambda: self.fsyncs() > before,
                      "the submit never reached fsync")
        self.dev.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        os.unlink(self.gate)
        t.join()
        st, body, _ = results[0]
        self.assertEqual(st, 201, body)
        # stopped by itself (a second SIGTERM would kill it outright)
        self.assertEqual(self.dev.proc.wait(timeout=30), 0)
        self.dev.proc = None
        self.dev.logf.close()
        self.assertEqual([r["_seq"] for r in self.dev.open_records()],
                         [body["seq"]])


if __name__ == "__main__":
    fl.main()
