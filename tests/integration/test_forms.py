"""Forms from a person to every board: collectctl form check, add and
list; collectord handing an added form to devices at their next sync with
no restart, once; a form a board cannot take refused there, the reason
recorded at the collector and shown by form list, and not sent again;
fieldctl form add on a board with no collector, taken by a running fieldd
on SIGHUP."""
import json
import os
import re
import signal
import unittest

import fieldlib as fl
import synclib as sl


# Real workbooks this board refuses, and why (a regular expression): a
# CSV or file attached to the form, mistakes pyxform refuses too, and one
# bound of ours a published form passes.
REAL_REFUSED = {
    "reach_som_dsa_site_assessment_2021.xlsx": r"survey row \d+, column "
    r"[A-Z]+ \(\w+\): calculation: .*pulldata needs a CSV attached",
    "unhcr_americas_household_survey.xlsx": r"survey row 170, column P "
    r"\(IDP01\): constraint: .*a typographic quote",
    "unhcr_americas_xlsform_master.xlsx": r"survey row 612: duplicate name",
    "unicef_liberia_coverage_survey_r1.xlsx": r"choices row 155: 1 repeats a "
    r"choice of spid \(allow_choice_duplicates in settings allows it\)",
}


def small_form(form_id="site_check", version="1", fields=3):
    """A form of our own, its version below the shipped ones' (2026.11.1):
    a catalogue that hands down only versions above the device's highest
    would never send it."""
    survey = [{"type": "text", "name": "site", "label": "Site",
               "required": "yes"}]
    for i in range(fields - 1):
        survey.append({"type": "integer", "name": "n%d" % i,
                       "label": "Number %d" % i,
                       "constraint": ". >= 0 and . <= 1000"})
    return {"form_id": form_id, "version": version,
            "title": "Site check", "survey": survey}


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "tests", "data", "xlsform")


def rapid_needs_record():
    """A valid record of tests/data/xlsform/rapid_needs.xlsx: group fields
    flat, as ODK flattens them too; calculations as the form computes."""
    return {
        "start": "2026-12-06T09:00:00.000+03:00",
        "end": "2026-12-06T09:20:00.000+03:00",
        "today": fl.today(), "deviceid": "board-xlsx",
        "enumerator": "E-7", "admin1": "SS01", "admin2": "SS0102",
        "site": "2_5", "hh_size": 2,
        "members": [{"position": 1, "age": 34, "sex": "female"},
                    {"position": 2, "age": 3, "sex": "male"}],
        "adults": 1, "needs": ["water", "food"], "water_ok": "0",
        "visit_time": "09:05", "next_visit": "2026-12-20T10:00:00+03:00",
    }


class Forms(unittest.TestCase):

    def setUp(self):
        self.c = sl.Collector()
        self.c.start()
        self.files = []

    def tearDown(self):
        self.c.cleanup()

    def write(self, name, obj):
        path = os.path.join(self.c.root, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def sent(self, form_id, device):
        return len(re.findall(r"device %s: form %s version \S+ sent" % (
            device, form_id), self.c.log()))

    def test_check(self):
        p = self.c.ctl("form", "check", self.write("f.json", small_form()))
        self.assertIn("form site_check, version 1: 3 fields, 0 groups, "
                      "0 repeats", p.stdout)
        bad = small_form()
        bad["survey"][1]["constraint"] = ". >= "
        p = self.c.ctl("form", "check", self.write("bad.json", bad),
                       check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("n0", p.stderr)
        p = self.c.ctl("form", "check", self.write("f.txt", {}),
                       check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("expected an XLSForm workbook (.xlsx) or a JSON",
                      p.stderr)

    def test_added_form_reaches_device_once_without_restart(self):
        d = sl.SyncDevice(self.c, "board-1")
        self.assertEqual(d.sync().returncode, 0)
        rec = {"site": "S-1", "n0": 4}
        p = d.ctl("submit", "site_check", input=json.dumps(rec),
                  check=False)
        self.assertNotEqual(p.returncode, 0)
        p = self.c.ctl("form", "add", self.write("f.json", small_form()))
        self.assertIn("devices get it at their next sync", p.stdout)
        self.assertIn("site_check", self.c.ctl("form", "list").stdout)
        self.assertEqual(d.sync().returncode, 0)
        self.assertTrue(self.c.alive())
        self.assertEqual(self.sent("site_check", "board-1"), 1)
        p = d.ctl("submit", "site_check", input=json.dumps(rec))
        self.assertEqual(p.stdout.split()[1], "1")
        # held now: not sent again
        self.assertEqual(d.sync().returncode, 0)
        self.assertEqual(self.sent("site_check", "board-1"), 1)
        opened = self.c.open_records()
        self.assertEqual([(r["_form"], r["site"]) for r in opened],
                         [("site_check", "S-1")])
        # no counts declared and no date: counted by default, by its
        # place (site) on the day the board made it
        p = self.c.ctl("analyse", "--key", os.path.join(self.c.dir,
                                                       "seal.key"))
        self.assertNotIn("set aside)", p.stdout.replace("(0 set aside)", ""))
        got = json.loads(self.c.ctl(
            "counts", "--form", "site_check", "--by", "site,day", "--format",
            "json", "--key", os.path.join(self.c.dir, "seal.key")).stdout)
        self.assertEqual([(r["site"], r["day"], r["records"])
                          for r in got["rows"]],
                         [("S-1", opened[0]["_created"][:10], 1)])

    def test_add_refuses_a_changed_definition_under_a_version(self):
        path = self.write("f.json", small_form())
        self.c.ctl("form", "add", path)
        p = self.c.ctl("form", "add", path)
        self.assertIn("already there: nothing to do", p.stdout)
        changed = small_form()
        changed["title"] = "Another title"
        p = self.c.ctl("form", "add", self.write("g.json", changed),
                       check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("a change needs a new version", p.stderr)
        self.assertEqual(len(os.listdir(os.path.join(self.c.dir, "forms"))),
                         1)

    def test_refused_on_the_board_recorded_and_not_resent(self):
        d = sl.SyncDevice(self.c, "small-board")
        with open(os.path.join(d.dir, "fieldd.conf"), "a") as f:
            f.write("form_max_kb = 1\n")
        self.c.ctl("form", "add", self.write("big.json",
                                             small_form(fields=40)))
        self.assertEqual(d.sync().returncode, 0)
        self.assertEqual(self.sent("site_check", "small-board"), 1)
        self.assertIn("refused from the collector: site_check version 1",
                      d.ctl("form", "list").stdout)
        # the board says so at its next hello, and is not sent it again
        self.assertEqual(d.sync().returncode, 0)
        self.assertEqual(self.sent("site_check", "small-board"), 1)
        out = self.c.ctl("form", "list").stdout
        self.assertRegex(out, r"refused by small-board \([0-9T:-]+Z\): the "
                         r"definition is \d+ KiB; this board takes forms "
                         r"up to 1 KiB \(form_max_kb\)")
        self.assertIn("refused form site_check", self.c.log())
        # a board that takes it gets it, and the other's refusal stays
        d2 = sl.SyncDevice(self.c, "big-board")
        self.assertEqual(d2.sync().returncode, 0)
        self.assertEqual(self.sent("site_check", "big-board"), 1)
        out = self.c.ctl("form", "list").stdout
        self.assertIn("refused by small-board", out)
        self.assertNotIn("refused by big-board", out)

    def check(self, name, rc=0):
        p = self.c.ctl("form", "check", os.path.join(DATA, name),
                       check=False)
        self.assertEqual(p.returncode, rc, p.stdout + p.stderr)
        return p

    def test_workbook_taken_with_notes(self):
        p = self.check("rapid_needs.xlsx")
        self.assertIn("form rapid_needs, version 2026120601: 19 fields, "
                      "2 groups, 1 repeats, 1 notes, 6 lists (16 choices)",
                      p.stdout)
        self.assertIn('note: sheet "README" is not an XLSForm sheet we '
                      'read: skipped', p.stdout)
        self.assertIn("note: settings: public_key is not used here "
                      "(records are sealed to the collector's own key)",
                      p.stdout)
        self.assertRegex(p.stdout, r"note: survey column R has no name in "
                         r"row 1: its cells \(from row 3\) are not read")
        p = self.check("no_settings.xlsx")
        self.assertRegex(p.stdout, r"form no_settings, version \d{12}:")
        self.assertIn("note: no form_id in settings: the file's name, "
                      "no_settings", p.stdout)

    def test_workbook_mistakes_named_by_sheet_row_and_column(self):
        for name, want in (
                ("bad_constraint.xlsx", r"survey row 14, column H "
                 r"\(hh_size\): constraint: offset 10: expected a value"),
                ("bad_type.xlsx", r"survey row 23 \(water_ok\): unknown "
                 r"type \"colour\""),
                ("bad_list.xlsx", r"survey row 9 \(admin1\): no choice list "
                 r"\"states\""),
                ("bad_pulldata.xlsx", r"survey row 20, column J \(adults\): "
                 r"calculation: .*pulldata needs a CSV attached"),
                ("bad_header.xlsx", r"survey row 1, column O \(relevant\): "
                 r"the column is named twice \(also column G\)"),
                ("bad_external_twice.xlsx", r"^collectctl form check: "
                 r"external_choices row 2: list settlement is on the "
                 r"choices sheet too\n$"),
                ("bad_external_name.xlsx", r"external_choices row 4: needs "
                 r"list_name and name")):
            with self.subTest(name):
                p = self.check(name, rc=1)
                self.assertRegex(p.stderr, want)
                self.assertEqual(p.stdout, "")

    def test_external_choices_taken_as_pyxform_takes_them(self):
        """select_one_external over the external_choices sheet: a place
        list with "other" under every county, its filter column spelt
        County, and a field name of 72 bytes (REACH's forms have them)."""
        p = self.check("external_places.xlsx")
        self.assertIn("form external_places, version 2026120601: 3 fields, "
                      "0 groups, 0 repeats, 0 notes, 2 lists (6 choices)",
                      p.stdout)
        self.c.ctl("form", "add", os.path.join(DATA, "external_places.xlsx"))
        d = sl.SyncDevice(self.c, "board-external")
        self.assertEqual(d.sync().returncode, 0)
        n = "households_reporting_from_this_settlement_in_the_last_thirty_days"
        for county, place, ok in (("juba", "gudele", True),
                                  ("bor", "other", True),
                                  ("juba", "other", True),
                                  ("juba", "malakal_town", False),
                                  ("juba", "nowhere", False)):
            with self.subTest(county=county, place=place):
                rec = {"county": county, "settlement": place, n: 4}
                p = d.ctl("submit", "external_places",
                          input=json.dumps(rec), check=False)
                self.assertEqual(p.returncode, 0 if ok else 1, p.stderr)
                if not ok:
                    self.assertIn("settlement", p.stderr)

    def test_shipped_forms_as_workbooks_pick_places_from_the_list(self):
        """examples/forms/*.xlsx: our three forms as workbooks, version
        2026.12.1, places picked by cascading selects from a master list.
        Added at the collector, they reach a board by sync; a record of
        them must name an admin2 of its admin1 and a site of its admin2,
        and the typed id of the old version is refused."""
        forms = os.path.join(ROOT, "examples", "forms")
        for name in ("dtm_household", "dtm_site_assessment", "mrc_visit"):
            p = self.c.ctl("form", "add", os.path.join(forms, name + ".xlsx"))
            self.assertIn("version 2026.12.1", p.stdout)
        d = sl.SyncDevice(self.c, "board-shipped")
        self.assertEqual(d.sync().returncode, 0)
        place = {"admin1": "SS01", "admin2": "SS0101"}
        cases = (
            ("dtm_household", dict(fl.household(), site_id="SS0101-002",
                                   **place), None),
            ("dtm_site_assessment", dict(fl.site_assessment(),
                                         site_id="SS0101-001", **place),
             None),
            ("mrc_visit", dict(fl.mrc_visit(), centre_id="MRC-JUB-01",
                               **place), None),
            # a site of another admin2
            ("dtm_household", dict(fl.household(), site_id="SS0301-001",
                                   **place), "site_id"),
            # an admin2 of another admin1
            ("dtm_household", dict(fl.household(), site_id="SS0101-002",
                                   admin1="SS03", admin2="SS0101"),
             "admin2"),
            # the typed id the 2026.11.1 version takes
            ("dtm_household", dict(fl.household(), **place), "site_id"),
            ("mrc_visit", dict(fl.mrc_visit(), **place), "centre_id"),
        )
        for form, rec, bad in cases:
            with self.subTest(form=form, bad=bad):
                rec = dict(rec, _version="2026.12.1")
                p = d.ctl("submit", form, input=json.dumps(rec),
                          check=False)
                if bad is None:
                    self.assertEqual(p.returncode, 0, p.stderr)
                else:
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(bad, p.stderr)

    def test_workbook_to_board_and_back(self):
        """Added as a workbook, it reaches a board by sync; a record made
        there is validated by the board, sealed, synced, and opened and
        validated again at the collector against the same version."""
        self.c.ctl("form", "add", os.path.join(DATA, "rapid_needs.xlsx"))
        d = sl.SyncDevice(self.c, "board-xlsx")
        self.assertEqual(d.sync().returncode, 0)
        bad = dict(rapid_needs_record(), adults=2)
        p = d.ctl("submit", "rapid_needs", input=json.dumps(bad),
                  check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("adults", p.stderr)
        bad = dict(rapid_needs_record(), site="-99")   # not in SS0102
        p = d.ctl("submit", "rapid_needs", input=json.dumps(bad),
                  check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("site", p.stderr)
        d.ctl("submit", "rapid_needs",
              input=json.dumps(rapid_needs_record()))
        self.assertEqual(d.sync().returncode, 0)
        [rec] = self.c.open_records()
        self.assertEqual((rec["_form"], rec["_version"], rec["site"]),
                         ("rapid_needs", "2026120601", "2_5"))
        p = self.c.ctl("analyse", "--key",
                       os.path.join(self.c.dir, "seal.key"))
        self.assertNotIn("failed", p.stdout + p.stderr)
        p = self.c.ctl("counts", "--form", "rapid_needs", "--by", "admin1",
                       "--key", os.path.join(self.c.dir, "seal.key"),
                       "--format", "csv")
        self.assertIn("SS01", p.stdout)

    def test_real_humanitarian_workbooks(self):
        """Published needs assessments (tests/data/xlsform/real/), taken
        as they are, or refused for a stated reason this board cannot
        meet."""
        real = os.path.join(DATA, "real")
        for name in sorted(os.listdir(real)):
            if not name.endswith(".xlsx"):
                continue
            with self.subTest(name):
                p = self.c.ctl("form", "check", os.path.join(real, name),
                               check=False)
                why = REAL_REFUSED.get(name)
                if why is None:
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertRegex(p.stdout, r"^form \S+, version \S+: "
                                     r"\d+ fields")
                else:
                    self.assertEqual(p.returncode, 1)
                    self.assertRegex(p.stderr, why)

    def test_real_workbooks_reach_a_board(self):
        """The real workbooks taken above go to a board in one sync, and
        the board checks records of them (an empty one names a required
        field, as the collector's analyse would)."""
        real = os.path.join(DATA, "real")
        ids = []
        for name in sorted(os.listdir(real)):
            if name.endswith(".xlsx") and name not in REAL_REFUSED:
                p = self.c.ctl("form", "add", os.path.join(real, name))
                ids.append(re.search(r"form (\S+), version", p.stdout)[1])
        self.assertGreaterEqual(len(ids), 4)
        d = sl.SyncDevice(self.c, "board-real")
        self.assertEqual(d.sync().returncode, 0)
        listed = d.ctl("form", "list").stdout
        for form_id in ids:
            with self.subTest(form_id):
                self.assertIn(form_id, listed)
                p = d.ctl("submit", form_id, input="{}", check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("required", p.stderr)

    def test_fieldctl_form_add_taken_by_running_fieldd_on_sighup(self):
        dev = fl.Device()
        try:
            dev.start()
            path = os.path.join(dev.root, "f.json")
            with open(path, "w") as f:
                json.dump(small_form(), f)
            p = dev.ctl("form", "add", path)
            self.assertIn("site_check", p.stdout)
            st, _, _ = dev.request("GET", "/api/forms/site_check")
            self.assertEqual(st, 404)
            dev.proc.send_signal(signal.SIGHUP)
            sl.wait_for_line(dev.log_path, r"forms reloaded", dev.proc,
                             "fieldd")
            st, _, _ = dev.request("GET", "/api/forms/site_check")
            self.assertEqual(st, 200)
            st, _, _ = dev.submit("site_check", {"site": "S-9"})
            self.assertEqual(st, 201)
            self.assertIn("site_check", dev.ctl("form", "list").stdout)
        finally:
            dev.cleanup()


if __name__ == "__main__":
    fl.main()
