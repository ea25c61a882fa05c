"""Records with known names and phone numbers leave no trace of them in
the data directory (database, WAL, shared memory, anything else) or in
the logs, while fieldd runs and after it stops."""
import os
import unittest

import fieldlib as fl

MARKERS = ["Zephyrine Okonkwo-Balde", "+211 955 123 987",
           "Quillon Maboreke", "notes-marker-7731"]


class Privacy(unittest.TestCase):

    def setUp(self):
        self.dev = fl.Device()

    def tearDown(self):
        self.dev.cleanup()

    def scan(self, where):
        needles = []
        for m in MARKERS:
            needles += [m.encode(), m.encode("utf-16-le"),
                        m.split()[0].encode()]
        for path in list(self.dev.files()) + [self.dev.log_path]:
            with open(path, "rb") as f:
                data = f.read()
            for n in needles:
                self.assertNotIn(n, data, "%s found in %s (%s)" % (
                    n, path, where))

    def test_no_personal_data_on_disk_or_in_logs(self):
        self.dev.start("-v")    # debug logging: the most that is logged
        for i in range(30):
            rec = fl.household(name=MARKERS[0], phone=MARKERS[1])
            rec["members"][1]["member_name"] = MARKERS[2]
            st, data, _ = self.dev.submit("dtm_household", rec)
            self.assertEqual(st, 201, data)
        # A refused record with personal data: not in logs either.
        rec = fl.household(name=MARKERS[0], phone="not a phone")
        st, data, _ = self.dev.submit("dtm_household", rec)
        self.assertEqual(st, 422)
        self.assertNotIn(MARKERS[0], str(data))
        rec = fl.mrc_visit()
        rec["notes"] = MARKERS[3]
        st, _, _ = self.dev.submit("mrc_visit", rec)
        self.assertEqual(st, 201)
        self.assertTrue(any(p.endswith("-wal") for p in self.dev.files()))
        self.scan("while running")
        self.assertEqual(self.dev.stop(), 0)
        # fieldctl's path too.
        p = self.dev.ctl("submit", "dtm_household",
                         input=__import__("json").dumps(
                             fl.household(name=MARKERS[2])))
        self.scan("after stop")
        # And the data is really there for the collector.
        opened = self.dev.open_records()
        self.assertEqual(sum(1 for r in opened
                             if r.get("head_name") == MARKERS[0]), 30)
        self.assertTrue(any(r.get("notes") == MARKERS[3] for r in opened))


if __name__ == "__main__":
    fl.main()
