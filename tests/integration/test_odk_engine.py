"""ODK's own form engine against a real fieldd: every shipped form and the
test workbooks (tests/data/xlsform, added with fieldctl form add) are
taken from the form list and downloaded over Digest auth, filled in by
@getodk/xforms-engine under Node (tests/odk/odk_fill.mjs), and the
instance the engine serialises is POSTed to /submission as Collect posts
it.  The engine and the board must agree on every verdict: the engine
finds a record valid -> 201; the engine refuses it -> the board refuses
it too (400).  A record the engine lets through and the board refuses
would be stuck on the phone for good.

The household cases the old XForm let through (two heads, no members,
31 members) are among them.  Node and npm are needed; the engine is
installed into tests/odk/node_modules (npm ci) when missing.

Of the real workbooks (tests/data/xlsform/real), the smallest the board
takes runs by default; the engine needs 20 s to 3 min for each of the
others (lists of thousands of places), so ODK_ENGINE_ALL=1 runs them
all."""
import copy
import json
import os
import re
import shutil
import subprocess
import unittest

import fieldlib as fl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ODK = os.path.join(ROOT, "tests", "odk")
XLSFORM = os.path.join(ROOT, "tests", "data", "xlsform")
USER = "enumerator-1"
PIN = "2468"
AUTO = object()     # a case the engine fills by itself


def need_engine():
    """node >= 20 and the engine installed; an AssertionError that says
    what is missing otherwise (never a skip)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise AssertionError("%s is missing: this test needs Node.js "
                                 ">= 20 and npm" % tool)
    v = subprocess.run(["node", "--version"], capture_output=True,
                       text=True).stdout.strip()
    m = re.match(r"v(\d+)", v)
    if not m or int(m.group(1)) < 20:
        raise AssertionError("node %s is too old: the engine needs >= 20"
                             % v)
    fl.npm_ready(ODK, os.path.join("@getodk", "xforms-engine"))


def household_cases():
    ok = fl.household()
    m = ok["members"]
    spouse = dict(m[1])
    return [
        ("valid", ok),
        ("auto", AUTO),
        ("no consent", fl.household(name=None)),
        ("two heads", dict(ok, members=[dict(x, relationship="head")
                                         for x in m])),
        ("no head", dict(ok, members=[dict(x, relationship="child")
                                      for x in m])),
        ("no members", dict(ok, members=[])),
        ("31 members", dict(ok, members=[m[0]] + [dict(spouse)] * 30)),
        ("30 members", dict(ok, members=[m[0]] + [dict(spouse)] * 29)),
        ("age 121", dict(ok, members=[dict(m[0], age_years=121)] + m[1:])),
        ("member without sex", dict(ok, members=[
            {k: v for k, v in m[0].items() if k != "sex"}] + m[1:])),
        ("site id lower case", dict(ok, site_id="site-1")),
        ("registered tomorrow", dict(ok, registration_date=fl.today(1))),
        ("no site id", {k: v for k, v in ok.items() if k != "site_id"}),
    ]


def mrc_cases():
    ok = fl.mrc_visit()
    return [
        ("valid", ok),
        ("auto", AUTO),
        ("age 5", dict(ok, age_years=5)),
        ("no reasons", {k: v for k, v in ok.items() if k != "reasons"}),
        ("follow-up before visit", dict(ok, follow_up_needed="yes",
                                        follow_up_date=fl.today(-30))),
        ("follow-up", dict(ok, follow_up_needed="yes",
                           follow_up_date=fl.today(3))),
    ]


def site_cases():
    ok = fl.site_assessment()
    return [
        ("valid", ok),
        ("auto", AUTO),
        ("fewer people than households", dict(ok,
                                              population_individuals=10)),
        ("four needs", dict(ok, priority_needs=["food", "shelter", "water",
                                                "health"])),
        ("with a point", dict(ok, location="9.5 31.6 400 5")),
    ]


def rapid_cases():
    ok = {"enumerator": "Enumerator 7", "admin1": "SS01",
          "admin2": "SS0101", "site": "1", "hh_size": 2,
          "members": [{"age": 34, "sex": "female"},
                      {"age": 6, "sex": "male"}],
          "needs": ["food", "water"], "water_ok": "1",
          "visit_time": "10:30:00",
          "next_visit": "2026-12-10T09:00:00.000+03:00", "comment": "fine"}
    return [
        ("valid", ok),
        ("auto", AUTO),
        ("a county of another state", dict(ok, admin2="SS0201")),
        ("member too old", dict(ok, members=[{"age": 130, "sex": "male"},
                                            {"age": 6, "sex": "male"}])),
        ("four needs", dict(ok, needs=["food", "water", "shelter",
                                       "health"])),
        ("no enumerator", {k: v for k, v in ok.items()
                           if k != "enumerator"}),
        ("household of 31", dict(ok, hh_size=31, members=[])),
        ("one person", dict(ok, hh_size=1, members=ok["members"][:1])),
        # a web client's date and time comes without an offset, which
        # the board does not take: the XForm says so
        ("next visit without offset", dict(
            ok, next_visit="2026-12-10T09:00:00")),
    ]


class OdkEngine(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        need_engine()
        cls.dev = fl.Device()
        cls.dev.ctl("user", "pin", USER, input=PIN + "\n")
        for name in ("rapid_needs.xlsx", "no_settings.xlsx"):
            cls.dev.ctl("form", "add", os.path.join(XLSFORM, name))
        # a repeat_count that is an expression, a dynamic default, a
        # trigger, groups in a repeat
        counted = os.path.join(cls.dev.root, "counted.json")
        with open(counted, "w") as f:
            json.dump({"form_id": "counted", "version": "1",
                       "title": "Counted", "survey": [
                           {"type": "integer", "name": "n", "label": "N",
                            "required": "yes",
                            "constraint": ". >= 1 and . <= 5"},
                           {"type": "date", "name": "d", "label": "D",
                            "default": "today()"},
                           {"type": "text", "name": "echo", "label": "E",
                            "calculation": "concat('n=', ${n})",
                            "trigger": "${n}"},
                           {"type": "begin_repeat", "name": "r",
                            "label": "R", "repeat_count": "${n} - 1"},
                           {"type": "begin_group", "name": "g",
                            "label": "G"},
                           {"type": "integer", "name": "v", "label": "V",
                            "required": "yes", "constraint": ". > 0"},
                           {"type": "end_group"},
                           {"type": "calculate", "name": "twice",
                            "calculation": "${v} * 2"},
                           {"type": "end_repeat"},
                           {"type": "calculate", "name": "total",
                            "calculation": "sum(${twice})"}]}, f)
        cls.dev.ctl("form", "add", counted)
        # the real workbooks the board takes, smallest first
        cls.real = []
        real = os.path.join(XLSFORM, "real")
        books = sorted((os.path.getsize(os.path.join(real, n)), n)
                       for n in os.listdir(real) if n.endswith(".xlsx"))
        for _, name in books:
            before = cls.form_ids()
            p = cls.dev.ctl("form", "add", os.path.join(real, name),
                            check=False)
            if p.returncode == 0:
                cls.real += sorted(cls.form_ids() - before)
            if cls.real and not os.environ.get("ODK_ENGINE_ALL"):
                break
        cls.dev.start()

    @classmethod
    def form_ids(cls):
        return {line.split()[0] for line in
                cls.dev.ctl("form", "list").stdout.splitlines()
                if line.strip()}

    @classmethod
    def tearDownClass(cls):
        rc = cls.dev.stop()
        cls.dev.cleanup()
        assert rc == 0, "fieldd did not stop cleanly: %r" % rc

    def fill(self, forms, timeout=600):
        """Each case (name, values) of each form filled by the engine and
        submitted; values AUTO: the engine's required questions answered
        until it takes the record (odk_fill.mjs)."""
        job = {"url": "http://127.0.0.1:%d" % self.dev.port, "user": USER,
               "pin": PIN, "forms": {
                   f: [{"name": n, "values": {}, "auto": True}
                       if v is AUTO else {"name": n, "values": v}
                       for n, v in cases]
                   for f, cases in forms.items()}}
        p = subprocess.run(["node", os.path.join(ODK, "odk_fill.mjs")],
                           input=json.dumps(job), capture_output=True,
                           text=True, timeout=timeout, cwd=ODK)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return json.loads(p.stdout)

    def agree(self, answers, want_valid=(), untaken=()):
        """Every answer: the engine and the board agree; the cases named
        in want_valid are found valid by both; those in untaken hold a
        value the engine does not let the enumerator give."""
        bad = []
        for a in answers:
            self.assertNotIn("load_error", a, a)
            if a["case"] in untaken:
                self.assertNotEqual(a["unset"], [], a)
            else:
                self.assertEqual(a["unset"], [], "a value the engine did "
                                 "not take: %r" % a)
            if a["engine_valid"] and a["status"] != 201:
                bad.append("%s / %s: the engine finalises it, the board "
                           "answers %d: %s" % (a["form"], a["case"],
                                               a["status"], a["message"]))
            elif not a["engine_valid"] and a["status"] != 400:
                bad.append("%s / %s: the engine refuses it (%s), the board "
                           "answers %d" % (a["form"], a["case"],
                                           a["violations"], a["status"]))
            if a["case"] in want_valid and not a["engine_valid"]:
                bad.append("%s / %s: should be valid: %s" % (
                    a["form"], a["case"], a["violations"]))
        self.assertEqual(bad, [], "\n".join(bad))

    def test_shipped_forms(self):
        answers = self.fill({"dtm_household": household_cases(),
                             "mrc_visit": mrc_cases(),
                             "dtm_site_assessment": site_cases()})
        self.agree(answers, want_valid=("valid", "auto", "30 members",
                                        "follow-up", "with a point"))
        by = {(a["form"], a["case"]): a for a in answers}
        # the rules on the household's repeat are the engine's too
        for case in ("two heads", "no head", "no members", "31 members"):
            a = by[("dtm_household", case)]
            self.assertFalse(a["engine_valid"], case)
            self.assertIn("/dtm_household/_check_members",
                          [v["ref"] for v in a["violations"]], case)
            self.assertIn("members", a["message"], case)
        self.assertTrue(by[("dtm_household", "no consent")]["engine_valid"])

    def test_workbook_forms(self):
        answers = self.fill({"rapid_needs": rapid_cases(),
                             "no_settings": [("empty", {}),
                                             ("auto", AUTO)],
                             "counted": [
                                 ("valid", {"n": 3, "r": [{"v": 1},
                                                          {"v": 2}]}),
                                 ("auto", AUTO),
                                 ("a value 0", {"n": 2, "r": [{"v": 0}]}),
                                 ("one", {"n": 1})]})
        self.agree(answers, want_valid=("valid", "auto", "one person",
                                        "one"),
                   untaken=("a county of another state",))
        by = {a["case"]: a for a in answers}
        # the cascading select: a county of another state is no choice
        self.assertIn("admin2(not taken)",
                      by["a county of another state"]["unset"])
        self.assertFalse(by["a county of another state"]["engine_valid"])
        self.assertFalse(by["next visit without offset"]["engine_valid"])
        self.assertFalse(by["a value 0"]["engine_valid"])

    def test_real_workbooks(self):
        """Every real workbook the board takes is given to ODK clients and
        loads in the engine; an untouched record and one the engine
        fills itself get the same verdict from both, and the smallest
        (the one run by default) is filled to a record both take: its
        groups, relevance, calculations and constraints agree."""
        self.assertGreater(len(self.real), 0)
        answers = []
        for f in self.real:     # one engine run each: minutes for some
            answers += self.fill({f: [("untouched", {}), ("auto", AUTO)]},
                                 timeout=1800)
        self.agree(answers)
        first = [a for a in answers if a["form"] == self.real[0] and
                 a["case"] == "auto"][0]
        self.assertTrue(first["engine_valid"], first)
        self.assertEqual(first["status"], 201, first)


class ShippedWorkbooks(unittest.TestCase):
    """The shipped forms' workbooks (examples/forms: places picked from a
    master list by cascading selects), a newer version of each on a board
    of their own: the same agreement, places from the list."""

    def test_examples(self):
        need_engine()
        dev = fl.Device()
        try:
            dev.ctl("user", "pin", USER, input=PIN + "\n")
            d = os.path.join(ROOT, "examples", "forms")
            for name in ("dtm_household", "dtm_site_assessment",
                         "mrc_visit"):
                dev.ctl("form", "add", os.path.join(d, name + ".xlsx"))
            dev.start()
            place = {"admin1": "SS01", "admin2": "SS0101",
                     "site_id": "SS0101-001"}
            hh = dict(fl.household(), **place)
            m = hh["members"]
            site = dict(fl.site_assessment(), **place)
            mrc = dict(fl.mrc_visit(), admin1="SS01", admin2="SS0101",
                       centre_id="MRC-JUB-01")
            forms = {
                "dtm_household": [
                    ("valid", hh),
                    ("two heads", dict(hh, members=[
                        dict(x, relationship="head") for x in m])),
                    ("no members", dict(hh, members=[])),
                    ("31 members", dict(hh, members=[m[0]] + [m[1]] * 30)),
                    ("a site of another county", dict(
                        hh, site_id="SS0301-001")),
                ],
                "dtm_site_assessment": [("valid", site),
                                        ("untouched", {}), ("auto", AUTO)],
                "mrc_visit": [("valid", mrc), ("untouched", {}),
                              ("auto", AUTO)],
            }
            t = OdkEngine("test_shipped_forms")
            t.dev = dev
            answers = t.fill(forms)
            t.agree(answers, want_valid=("valid", "auto"),
                    untaken=("a site of another county",))
            by = {(a["form"], a["case"]): a for a in answers}
            for case in ("two heads", "no members", "31 members"):
                self.assertFalse(by[("dtm_household", case)]
                                 ["engine_valid"], case)
            self.assertEqual(dev.stop(), 0)
        finally:
            dev.cleanup()


if __name__ == "__main__":
    fl.main()
