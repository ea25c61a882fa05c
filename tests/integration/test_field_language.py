"""The web app speaks the whole forms language, in a real browser against
a real fieldd (tests/browser/field_language.js, headless chromium).

The board takes tests/data/xlsform/places_2000.xlsx (`fieldctl form add`):
groups (one field-list), a note with ${enumerator} piped in, cascading
selects over 2,000 places, a repeat with repeat_count, a calculation
(count-if over the repeat), time, dateTime and metadata.  In a phone-sized
page:

  - the form is listed and paged by group, progress shown, Submit only on
    the last page; the note pipes the name typed;
  - choosing a state leaves only its counties, then the sites of the
    state; typing in the site's search box narrows 1,000 places to the
    one asked for, which is chosen;
  - the household size makes exactly that many members, with no add
    button; a member's label pipes his position;
  - an age of 130 is refused in the phone beside its field with the
    board's own reason (the same record POSTed to the board answers 422
    with that path and reason), and nothing is sent;
  - corrected, the record goes and the board answers 201; what it stored
    has the calculation, start/end/today/deviceid/username, the time and
    the dateTime with its offset.

Needs node, npm and chromium, as test_field_page.py.
"""
import json
import os
import subprocess
import unittest

import browserlib as bl
import fieldlib as fl

ROOT = bl.ROOT
WORKBOOK = os.path.join(ROOT, "tests", "data", "xlsform", "places_2000.xlsx")
USER = "enumerator-1"
PIN = "2468"


class FieldLanguageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        bl.need_browser_tools("field language")
        cls.dev = dev = fl.Device("board-field-language")
        try:
            dev.ctl("user", "pin", USER, input=PIN + "\n")
            dev.ctl("form", "add", WORKBOOK)
            dev.start()
            p = subprocess.run(
                ["node", os.path.join(bl.BROWSER, "field_language.js"),
                 "--url", "http://127.0.0.1:%d/" % dev.port, "--user", USER,
                 "--pin", PIN, "--chromium", bl.CHROMIUM],
                capture_output=True, text=True, timeout=300, cwd=bl.BROWSER)
            if p.returncode != 0:
                raise AssertionError("field_language.js failed:\n%s\n%s\n%s"
                                     % (p.stderr[-4000:], p.stdout[-2000:],
                                        dev.log()[-3000:]))
            cls.seen = json.loads(p.stdout)
        except BaseException:
            dev.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dev.cleanup()

    def test_listed_and_paged_by_group(self):
        s = self.seen
        self.assertIn("places_2000", s["forms"])
        self.assertEqual(s["page1"]["page"], "1")
        self.assertTrue(s["page1"]["progressShown"])
        self.assertRegex(s["page1"]["progress"], r"^Page 1 of \d+$")
        self.assertTrue(s["page1"]["next"])
        self.assertFalse(s["page1"]["submit"])
        self.assertEqual(s["page2"]["paths"][:4],
                         ["location", "admin1", "admin2", "site"])
        self.assertIn("hh_size", s["page3"]["paths"])
        self.assertTrue(s["submitShown"])
        self.assertNotIn("start", s["page1"]["paths"])

    def test_note_pipes_the_answer(self):
        self.assertEqual(self.seen["note"], "Welcome, Awut")

    def test_cascading_selects_and_search(self):
        s = self.seen
        self.assertEqual(s["admin2Choices"], ["SS0201"])
        self.assertEqual(s["sitesListed"], 30)      # PICKER_SHOWN of 1,000
        self.assertEqual(s["sitesMatching"], ["S1999"])
        self.assertIn("Site 1999 Camp", s["picked"])

    def test_repeat_count_sets_the_items(self):
        s = self.seen
        self.assertEqual(s["items"], 2)
        self.assertEqual(s["addButtons"], 0)
        self.assertIn("Age of member 2", s["memberLabel"])

    def test_refused_in_the_phone_as_the_board_says(self):
        s = self.seen
        self.assertEqual(s["ageError"], "does not meet the form's constraint")
        self.assertIn(["members[2].age",
                       "does not meet the form's constraint"],
                      s["refused"]["errors"])
        self.assertEqual(s["postsBeforeFix"], 0)
        # the board, given the same answers, says the same
        rec = dict(s["state"])
        rec["members"] = [dict(m) for m in rec["members"]]
        rec["members"][1]["age"] = 130
        st, data, _ = self.dev.request(
            "POST", "/api/records/places_2000", rec)
        self.assertEqual(st, 422, data)
        self.assertIn({"path": "members[2].age",
                       "reason": "does not meet the form's constraint"},
                      data["errors"])

    def test_sent_and_taken(self):
        s = self.seen
        self.assertEqual(s["posts"], [201])
        self.assertIn("Saved", s["notice"])
        self.assertEqual(s["log"]["pageErrors"], [])
        self.assertEqual(s["log"]["foreign"], [])
        st = s["state"]
        self.assertEqual(st["adults"], 1)      # count-if, written in
        for k in ("start", "today", "deviceid"):
            self.assertIn(k, st)
        self.assertRegex(st["start"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
                         r"\.\d{3}[+-]\d\d:\d\d$")
        self.assertEqual(st["visit_time"], "09:30")
        self.assertRegex(st["next_visit"],
                         r"^2026-12-20T10:15:00[+-]\d\d:\d\d$")
        self.assertEqual(st["site"], "S1999")


if __name__ == "__main__":
    fl.main()
