"""The enumerators' web app (web/field) in a real browser, against a real
fieldd: headless Debian chromium driven by playwright-core
(tests/browser/field_page.js).

A device with an enumerator and a PIN; fieldd serves the page at / and
the API under /api/.  In the browser (a 360x740 phone and the board's
1024x600 7-inch screen):

  - a wrong PIN shows an error and keeps no token; the PIN logs in, and
    the forms listed are /api/forms with their titles;
  - a household with three members (consent's skip logic hides and
    empties the names and phone), a resource-centre visit (finished in
    Arabic) and a site assessment ("use my location") are filled in and
    sent: each is in the store (GET /api/submissions, /api/status,
    `fieldctl status`), and opened with the collector's key each holds
    exactly the answers typed and nothing else;
  - an age of 130 and a phone that does not match show their errors
    beside their fields as they are left, in the daemon's words, and
    nothing is sent; with the page's rules switched off the server's 422
    shows the same errors beside the same fields; the draft is listed,
    then discarded;
  - half a visit comes back after a reload and after a restart of fieldd
    (same port, so the same origin and storage);
  - in Arabic the form is dir="rtl", mirrored, with the form's Arabic
    labels, titles and constraint messages;
  - nothing of a sent record is shown or kept afterwards: today's list has
    ids, forms and times only;
  - log out forgets the token; a refused token brings the login back;
  - no console error but the expected 401/422 answers, no page error, no
    request outside the board's origin; every control 44 px or more, no
    sideways scrolling; the files served are web/field's, with the CSP.

Screenshots and the browser's report go to $TEST_ARTEFACTS/field_page
(build/artefacts/field_page when unset).

Needs node (>= 20), npm and chromium (tools/deps.sh installs chromium);
playwright-core is installed into tests/browser/node_modules with `npm ci`
when missing.  Without them the test fails, it is not skipped.
"""
import datetime
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import unittest
import urllib.request

import browserlib as bl
import fieldlib as fl

ROOT = bl.ROOT
BROWSER = bl.BROWSER
WEB = os.path.join(ROOT, "web", "field")
FORMS = os.path.join(ROOT, "proto", "forms")
CHROMIUM = bl.CHROMIUM
USER = "enumerator-1"       # fieldlib.Device makes it
PIN = "2468"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
       "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
       "frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'none'")
AR = "العربية"


def definition(form):
    with open(os.path.join(FORMS, form + ".json"), encoding="utf-8") as f:
        return json.load(f)


def row(form, name):
    return next(r for r in definition(form)["survey"]
                if r.get("name") == name)


def choice_label(form, lst, name, lang):
    return next(c["label::" + lang] for c in definition(form)["choices"]
                if c["list_name"] == lst and c["name"] == name)


def day(today, delta):
    return (datetime.date.fromisoformat(today) +
            datetime.timedelta(days=delta)).isoformat()


class FieldPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.time()
        bl.need_browser_tools("field page")
        cls.art = bl.artefacts_dir("field_page")
        cls.dev = dev = fl.Device("board-field-page")
        try:
            cls._set_up(dev)
        except BaseException:
            dev.cleanup()
            raise
        cls.total_s = time.time() - t0

    @classmethod
    def _set_up(cls, dev):
        dev.ctl("user", "pin", USER, input=PIN + "\n")
        dev.start()
        st, s, _ = dev.request("GET", "/api/status")
        assert st == 200 and s["records"] == 0, (st, s)
        cls.port = dev.port
        sync = os.path.join(dev.root, "browser-sync")
        os.makedirs(sync)
        out_path = os.path.join(dev.root, "field_page.out")
        err_path = os.path.join(dev.root, "field_page.err")
        cls.restarts = []
        cls.expired = 0
        t0 = time.time()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            p = subprocess.Popen(
                ["node", os.path.join(BROWSER, "field_page.js"), "--url",
                 "http://127.0.0.1:%d/" % dev.port, "--user", USER, "--pin",
                 PIN, "--out", cls.art, "--sync", sync, "--chromium",
                 CHROMIUM], stdout=out, stderr=err, cwd=BROWSER)
            try:
                deadline = time.time() + 600
                while p.poll() is None:
                    if time.time() > deadline:
                        raise AssertionError("field_page.js took over 600 s")
                    for what in ("restart", "expire"):
                        req = os.path.join(sync, what + ".req")
                        if os.path.exists(req):
                            os.unlink(req)
                            getattr(cls, "_" + what)(dev)
                            open(os.path.join(sync, what + ".ok"),
                                 "w").close()
                    time.sleep(0.05)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        cls.browser_s = time.time() - t0
        with open(out_path) as f:
            stdout = f.read()
        with open(err_path) as f:
            stderr = f.read()
        if p.returncode != 0:
            raise AssertionError("field_page.js failed (%d):\n%s\n%s\n"
                                 "fieldd log:\n%s" % (
                                     p.returncode, stderr, stdout[-2000:],
                                     dev.log()[-3000:]))
        cls.seen = json.loads(stdout)
        with open(os.path.join(cls.art, "field_page.json"), "w") as f:
            json.dump(cls.seen, f, indent=1, ensure_ascii=False)
        cls.today = cls.seen["today"]
        cls.saved = {
            "dtm_household": cls.seen["phone"]["household"]["saved"],
            "mrc_visit": cls.seen["phone"]["mrc"]["saved"],
            "dtm_site_assessment": cls.seen["tablet"]["saved"]}

    @classmethod
    def _restart(cls, dev):
        """The board restarts, on the same port."""
        r0 = time.time()
        assert dev.stop() == 0, dev.log()
        dev.start("--listen", "127.0.0.1:%d" % cls.port)
        assert dev.port == cls.port
        cls.restarts.append(time.time() - r0)

    @classmethod
    def _expire(cls, dev):
        """Every login session ends, as 12 hours after the login."""
        db = sqlite3.connect(os.path.join(dev.dir, "device.db"), timeout=30)
        try:
            with db:
                n = db.execute("UPDATE sessions SET expires_ms = 1").rowcount
        finally:
            db.close()
        assert n >= 1, "no session to expire"
        cls.expired = n

    @classmethod
    def tearDownClass(cls):
        t = cls.seen["phone"]["times"]
        print("field page: %.1f s in all, browser %.1f s (phone: load %d "
              "ms, login %d ms, household %d ms, errors %d ms, visit %d ms;"
              " 7-inch: site %d ms), board restart %.1f s" % (
                  cls.total_s, cls.browser_s, t["load"], t["login"],
                  t["household"], t["constraint"], t["mrc"],
                  cls.seen["tablet"]["times"]["site"],
                  sum(cls.restarts)), file=sys.stderr)
        cls.dev.cleanup()

    # --- logging in -------------------------------------------------------

    def test_wrong_pin_then_pin(self):
        p = self.seen["phone"]
        self.assertTrue(p["login"]["loginVisible"])
        self.assertFalse(p["login"]["appVisible"])
        w = p["wrong"]
        self.assertEqual(w["error"], "Wrong name or PIN.")
        self.assertEqual(w["state"], "login")
        self.assertFalse(w["homeVisible"])
        self.assertIsNone(w["token"], "a refused login kept a token")
        h = p["home"]
        self.assertTrue(h["tokenKept"])
        self.assertEqual(h["user"], USER)
        self.assertFalse(h["errorShown"])
        st, body, _ = self.dev.request("GET", "/api/forms")
        self.assertEqual(st, 200)
        self.assertEqual([(f["form"], f["version"]) for f in h["forms"]],
                         [(f["form_id"], f["version"])
                          for f in body["forms"]])
        for f in h["forms"]:
            self.assertEqual(f["title"],
                             definition(f["form"])["title::English"])

    def test_logout_and_refused_token(self):
        lo = self.seen["phone"]["logout"]
        self.assertTrue(lo["loginVisible"])
        self.assertFalse(lo["homeVisible"])
        self.assertIsNone(lo["token"])
        r = self.seen["phone"]["refused"]
        self.assertTrue(r["errorVisible"])
        self.assertIn("log in again", r["error"])
        self.assertFalse(r["homeVisible"])
        self.assertIsNone(r["token"], "a refused token is kept")

    # --- the three forms, sent and stored ---------------------------------

    def test_records_in_the_store(self):
        st, sub, _ = self.dev.request("GET", "/api/submissions")
        self.assertEqual(st, 200, sub)
        got = {s["id"]: s["form"] for s in sub["today"]}
        self.assertEqual(len(got), 3, sub)
        for form, saved in self.saved.items():
            self.assertEqual(saved["form"], form)
            self.assertEqual(got.get(saved["id"]), form, (form, sub))
            self.assertIn(saved["id"][:8], saved["text"])
        self.assertEqual(sub["pending"], 3)    # no collector: all wait
        st, s, _ = self.dev.request("GET", "/api/status")
        self.assertEqual(s["records"], 3)
        self.assertEqual(self.dev.status()["records"], 3)
        self.assertRegex(self.dev.ctl("status").stdout, r"records\s+3\b")
        # posted: three stored, one refused on purpose (422), one with an
        # expired session (401)
        posts = self.seen["phone"]["log"]["posts"] + \
            self.seen["tablet"]["log"]["posts"]
        self.assertEqual(sorted(p.split(" ")[0] for p in posts),
                         ["201", "201", "201", "401", "422"], posts)

    def opened(self):
        if not hasattr(self.__class__, "_opened"):
            self.__class__._opened = {r["_id"]: r
                                      for r in self.dev.open_records()}
        return self._opened

    def answers(self, form):
        r = self.opened()[self.saved[form]["id"]]
        self.assertEqual(r["_form"], form)
        return {k: v for k, v in r.items() if not k.startswith("_")}

    def test_household_as_typed(self):
        rec = self.answers("dtm_household")
        self.assertEqual(rec, {
            "site_id": "SITE-001", "admin1": "SS01", "admin2": "SS0101",
            "registration_date": day(self.today, -1), "consent": "yes",
            "head_name": "Amina Testcase", "phone": "+211 912 345 678",
            "origin_admin1": "SS02",
            "displacement_date": day(self.today, -30),
            "displacement_reason": "conflict", "shelter_type": "tent",
            "intention": "stay", "needs": ["food", "water"],
            "members": [
                {"member_name": "Amina Testcase", "sex": "female",
                 "age_years": 34, "relationship": "head",
                 "documentation": "national_id"},
                {"member_name": "Deng Testcase", "sex": "male",
                 "age_years": 36, "relationship": "spouse",
                 "vulnerabilities": ["chronic_illness"]},
                {"member_name": "Nyandeng Testcase", "sex": "female",
                 "age_years": 7, "relationship": "child"}]})
        h = self.seen["phone"]["household"]
        self.assertEqual(h["itemsAtStart"], 1)     # the form's minimum
        self.assertEqual(h["items4"], 4)
        self.assertEqual(h["itemsBeforeSend"], 3)  # the fourth removed
        self.assertEqual(h["errorsBeforeSend"], {})

    def test_visit_as_typed(self):
        rec = self.answers("mrc_visit")
        self.assertEqual(rec, {
            "centre_id": "MRC-01", "visit_date": day(self.today, -1),
            "client_code": "AB12CD", "consent": "yes", "sex": "female",
            "age_years": 29, "nationality": "ETH",
            "migration_stage": "pre_departure", "visit_mode": "in_person",
            "reasons": ["contract_review", "labour_rights"],
            "services": ["information", "referral"],
            "referred_to": ["legal_aid"], "destination_country": "SAU",
            "follow_up_needed": "yes", "follow_up_date": day(self.today, 6),
            "notes": "Contract reviewed; follow up"})

    def test_site_assessment_as_typed(self):
        rec = self.answers("dtm_site_assessment")
        loc = rec.pop("location")
        self.assertAlmostEqual(loc["latitude"], 9.537512, places=6)
        self.assertAlmostEqual(loc["longitude"], 31.660531, places=6)
        self.assertEqual(loc["accuracy"], 12)
        self.assertEqual(set(loc), {"latitude", "longitude", "accuracy"})
        self.assertEqual(sorted(rec.pop("priority_needs")),
                         ["food", "shelter", "water"])
        self.assertEqual(rec, {
            "site_id": "SITE-007", "site_name": "Riverside camp",
            "site_type": "camp", "admin1": "SS01", "admin2": "SS0101",
            "assessment_date": day(self.today, -2),
            "population_households": 120, "population_individuals": 540,
            "females_0_4": 40, "males_0_4": 38, "females_18_59": 150,
            "arrivals_last_7_days": 12, "displacement_reason": "conflict",
            "site_management": "ngo", "health_facility_on_site": "yes",
            "latrines": 14, "key_informant_type": "site_manager",
            "notes": "Water point broken since Monday"})
        t = self.seen["tablet"]
        self.assertTrue(t["locateButton"])
        self.assertEqual(t["location"], ["9.537512", "31.660531"])
        self.assertEqual(t["accuracyShown"], "accuracy 12 m")
        self.assertEqual(t["fourNeeds"]["reason"], "choose at most 3")
        self.assertIsNone(t["threeNeeds"])

    def test_every_field_type(self):
        """A made-up form (answered by the script, never sent) for what
        the shipped forms do not use: decimal (a comma taken as the
        point), Arabic-Indic digits, a multiline text, an optional
        select with Clear, a repeat with a relevant and a maximum."""
        t = self.seen["tablet"]["types"]
        # a form the page cannot render yet is left out, not the list
        self.assertIn("ui_types", t["listed"])
        self.assertIn("mrc_visit", t["listed"])
        self.assertNotIn("ui_newer", t["listed"])
        self.assertEqual(t["hint"], "A point or a comma")
        self.assertEqual(t["inputmode"], "decimal")
        self.assertTrue(t["required"])
        self.assertEqual(t["notNumber"], {"text": "must be a number",
                                          "reason": "must be a number"})
        self.assertEqual(t["textarea"], 1)
        self.assertFalse(t["clearBefore"])
        self.assertTrue(t["clearAfter"])
        self.assertFalse(t["kidsBefore"])
        self.assertTrue(t["kidsAfter"])
        self.assertEqual(t["items0"], 0)
        self.assertTrue(t["addDisabledAtMax"])
        base = {"weight_kg": 3.5, "count": 34,
                "story": "line one\nline two"}
        self.assertEqual(t["draft"], dict(base, has_kids="yes", kids=[
            {"kid_age": 4}, {"kid_age": 2}]))
        self.assertTrue(t["kidsHiddenOnNo"])
        # a repeat no longer asked goes from the draft, as the board's
        # form_state removes it
        self.assertEqual(t["draftOnNo"], dict(base, has_kids="no"))
        self.assertEqual(t["draftCleared"], base)

    # --- skip logic -------------------------------------------------------

    def test_skip_logic(self):
        s = self.seen["phone"]["household"]["skip"]
        self.assertEqual(s["before"], {"head_name": False, "phone": False,
                                       "member_name": False})
        self.assertEqual(s["yes"], {"head_name": True, "phone": True,
                                    "member_name": True})
        self.assertFalse(s["no"]["head_name"])
        self.assertFalse(s["no"]["draftHasName"],
                         "an answer to a question not asked is kept")
        self.assertEqual(s["again"], "", "a dropped answer came back")
        m = self.seen["phone"]["mrc"]
        self.assertFalse(m["destBefore"])
        self.assertTrue(m["destAfter"])
        self.assertFalse(m["referredBefore"])

    # --- errors: the page's and the server's ------------------------------

    def test_constraint_errors_beside_fields(self):
        c = self.seen["phone"]["constraint"]
        phone_msg = row("dtm_household", "phone")[
            "constraint_message::English"]
        age_msg = row("dtm_household", "age_years")[
            "constraint_message::English"]
        self.assertIsNone(c["phoneWhileTyping"], "an error before leaving")
        self.assertEqual(c["phoneLeft"], {"text": phone_msg,
                                          "reason": phone_msg})
        self.assertEqual(c["ageLeft"], {"text": age_msg, "reason": age_msg})
        want = {"phone": phone_msg, "members[1].age_years": age_msg}
        self.assertEqual(c["errorsShown"], want)
        self.assertEqual(c["stateAfterSubmit"], "form")
        self.assertIn("correct", c["formError"])
        self.assertEqual(c["focused"], "phone")     # the first error
        self.assertEqual(c["postsBefore"], c["postsAfter"],
                         "a record with errors was sent")
        # the server's 422, shown beside the same fields, same words
        self.assertEqual(c["server"]["errorsShown"], want)
        self.assertEqual(c["server"]["state"], "form")
        self.assertIn("refused", c["server"]["formError"])
        # and the server says exactly that of such a record
        rec = fl.household()
        rec["phone"] = "12ab"
        rec["members"][0]["age_years"] = 130
        st, body, _ = self.dev.submit("dtm_household", rec)
        self.assertEqual(st, 422)
        self.assertEqual({e["path"]: e["reason"] for e in body["errors"]},
                         want)
        # the draft was kept, listed, then discarded
        self.assertEqual([d["form"] for d in c["draftsListed"]],
                         ["dtm_household"])
        self.assertEqual(c["resumed"], {
            "site_id": "SITE-002", "admin1": "SS01", "admin2": "SS0102",
            "registration_date": self.today, "consent": "yes",
            "phone": "12ab", "members[1].sex": "male",
            "members[1].age_years": "130", "members[1].relationship": "head"})
        self.assertEqual(c["draftKept"], 1)
        self.assertEqual(c["draftAfterDiscard"], 0)
        self.assertTrue(c["noDraftsShown"])

    # --- drafts -----------------------------------------------------------

    def test_draft_after_reload_and_restart(self):
        m = self.seen["phone"]["mrc"]
        want = {"centre_id": "MRC-01", "visit_date": day(self.today, -1),
                "client_code": "AB12CD", "consent": "yes", "sex": "female",
                "age_years": "29", "nationality": "ETH",
                "reasons": ["contract_review", "labour_rights"]}
        self.assertEqual(m["filled"], want)
        self.assertEqual(m["afterReload"], want)
        self.assertEqual(m["formAfterReload"], "mrc_visit")
        self.assertEqual(len(self.restarts), 1, "fieldd was not restarted")
        self.assertEqual(m["afterRestart"], want)
        self.assertEqual(m["valuesInArabic"], want)
        # a session that expires with the form open: the login, then the
        # same draft
        e = m["expired"]
        self.assertGreaterEqual(self.expired, 1)
        self.assertIn("log in again", e["error"])
        self.assertIsNone(e["token"])
        self.assertEqual(e["formBack"], "mrc_visit")
        self.assertEqual(e["values"], want)

    # --- right to left ----------------------------------------------------

    def test_arabic_right_to_left(self):
        m = self.seen["phone"]["mrc"]
        r = m["rtl"]
        d = definition("mrc_visit")
        self.assertEqual(r["dir"], "rtl")
        self.assertEqual(r["lang"], "ar")
        self.assertEqual(r["direction"], "rtl")
        self.assertEqual(r["htmlDir"], "rtl")
        self.assertEqual(r["title"], d["title::" + AR])
        self.assertEqual(r["label"], row("mrc_visit", "centre_id")[
            "label::" + AR])
        self.assertEqual(r["choice"], choice_label("mrc_visit", "sexes",
                                                   "female", AR))
        self.assertEqual(r["submit"], "إرسال")
        # mirrored: text from the right, radios right of their labels
        self.assertLess(r["labelRightGap"], 20)
        self.assertGreater(r["labelLeftGap"], r["labelRightGap"])
        self.assertTrue(r["radioRightOfText"])
        self.assertEqual(r["inputDir"], "ltr")   # "MRC-01" stays readable
        age = row("mrc_visit", "age_years")
        self.assertEqual(m["arabicError"], {
            "text": age["constraint_message::" + AR],
            "reason": age["constraint_message::English"]})
        self.assertIsNone(m["arabicErrorFixed"])
        self.assertIn(m["saved"]["id"][:8], m["saved"]["text"])
        self.assertIn("تم الحفظ", m["saved"]["text"])
        self.assertEqual(m["homeDir"], "rtl")

    # --- privacy ----------------------------------------------------------

    def test_sent_record_never_shown_back(self):
        a = self.seen["phone"]["household"]["after"]
        self.assertEqual(a["shownValues"], [])
        self.assertEqual(a["keptValues"], [], "the phone kept a sent record")
        self.assertEqual(a["inputsWithValues"], 0)
        self.assertEqual(a["drafts"], 0)
        titles = {f: definition(f)["title::English"] for f in self.saved}
        rows = self.seen["phone"]["todayAfter"]
        self.assertEqual(len(rows), 2)   # the phone's two, before the site
        for r in rows:
            self.assertEqual(len(r["cells"]), 3, r)
            self.assertEqual(r["cells"][0], r["id"][:8])
            self.assertEqual(r["cells"][1], titles[r["form"]])
            self.assertRegex(r["cells"][2], r"^\d\d:\d\d$")
        self.assertEqual({r["id"] for r in rows},
                         {self.saved["dtm_household"]["id"],
                          self.saved["mrc_visit"]["id"]})
        self.assertEqual(self.seen["phone"]["pending"], "1")

    # --- the browser's view -----------------------------------------------

    def test_no_errors_no_foreign_requests(self):
        expected = {"phone": ["401 POST /api/login",
                              "422 POST /api/records/dtm_household",
                              "401 POST /api/records/mrc_visit",
                              "401 GET /api/me"],
                    "tablet": []}
        for view, failed in expected.items():
            log = self.seen[view]["log"]
            self.assertEqual(log["foreign"], [], view)
            self.assertEqual(log["pageErrors"], [], view)
            self.assertEqual(log["failed"], failed, view)
            # the console's only errors: chromium's line for each of them
            self.assertEqual(len(log["console"]), len(failed), log["console"])
            for line in log["console"]:
                self.assertRegex(line, r"^error: Failed to load resource: "
                                 r"the server responded with a status of "
                                 r"(401|422) ", view)
            for r in log["requests"]:
                self.assertTrue(r.split(" ", 1)[1].startswith(
                    self.seen["origin"] + "/"), r)

    def test_layout_and_screenshots(self):
        p, t = self.seen["phone"], self.seen["tablet"]
        for name, lay, width in (
                ("phone home", p["home"]["layout"], 360),
                ("phone household", p["household"]["layout"], 360),
                ("phone arabic", p["mrc"]["layout"], 360),
                ("7-inch home", t["home"]["layout"], 1024),
                ("7-inch site", t["layout"], 1024)):
            with self.subTest(view=name):
                self.assertEqual(lay["innerWidth"], width)
                self.assertLessEqual(lay["scrollWidth"], width)
                self.assertEqual(lay["small"], [])
                self.assertGreater(lay["checked"], 3)
        for f in p["shots"] + t["shots"]:
            path = os.path.join(self.art, f)
            self.assertTrue(os.path.isfile(path) and
                            os.path.getsize(path) > 1000, path)
        self.assertIn("field_phone_household.png", p["shots"])
        self.assertIn("field_7inch_form.png", t["shots"])

    # --- what fieldd serves -------------------------------------------------

    def test_files_served_are_web_field(self):
        names = sorted(n for n in os.listdir(WEB)
                       if os.path.isfile(os.path.join(WEB, n)))
        for need in ("index.html", "app.js", "app.css", "rules.js",
                     "rules.wasm"):
            self.assertIn(need, names)
        for name in names:
            path = "/" if name == "index.html" else "/" + name
            st, body, h = self.dev.request("GET", path, token=None)
            self.assertEqual(st, 200, path)
            hl = {k.lower(): v for k, v in h.items()}
            self.assertEqual(hl.get("content-security-policy"), CSP, path)
            self.assertEqual(hl.get("x-content-type-options"), "nosniff")
            with open(os.path.join(WEB, name), "rb") as f:
                want = f.read()
            if name.endswith(".wasm"):
                self.assertEqual(hl.get("content-type"), "application/wasm")
                with urllib.request.urlopen("http://127.0.0.1:%d/%s" % (
                        self.dev.port, name)) as r:
                    body = r.read()
                self.assertEqual(body, want, name)
                continue
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            self.assertEqual(body.encode(), want, path + ": not web/field/"
                             + name + " (fieldd built before it changed?)")
        st, _, _ = self.dev.request("GET", "/no-such-file.js", token=None)
        self.assertEqual(st, 404)

    def test_files_served_gzipped_to_who_takes_it(self):
        base = "http://127.0.0.1:%d/" % self.dev.port
        sizes = {}
        for name in ("app.js", "rules.js", "rules.wasm", "index.html",
                     "app.css"):
            with open(os.path.join(WEB, name), "rb") as f:
                want = f.read()
            for ae, gz in (("gzip, deflate, br", True), ("br;q=1, gzip",
                           True), ("gzip;q=0", False), ("identity", False),
                           ("xgzip", False), (None, False)):
                req = urllib.request.Request(base + name)
                if ae:
                    req.add_header("Accept-Encoding", ae)
                with urllib.request.urlopen(req) as r:
                    body = r.read()
                    enc = r.headers.get("Content-Encoding")
                    vary = r.headers.get("Vary")
                self.assertEqual(vary, "Accept-Encoding", name)
                if gz:
                    self.assertEqual(enc, "gzip", (name, ae))
                    sizes[name] = len(body)
                    body = gzip.decompress(body)
                else:
                    self.assertIsNone(enc, (name, ae))
                self.assertEqual(body, want, (name, ae))
        # the scripts a phone loads, gzipped, well under their size
        self.assertLess(sum(sizes.values()), 130 * 1024, sizes)
        st, _, _ = self.dev.request("GET", "/app.js.gz", token=None)
        self.assertEqual(st, 404)

    def test_no_inline_script_or_style(self):
        with open(os.path.join(WEB, "index.html"), encoding="utf-8") as f:
            html = f.read()
        for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html,
                             re.S | re.I):
            self.assertIn("src=", m.group(1))
            self.assertEqual(m.group(2).strip(), "")
        self.assertNotRegex(html, r"<style\b")
        self.assertNotRegex(html, r"\sstyle\s*=")
        self.assertNotRegex(html, r"\son[a-z]+\s*=")
        self.assertNotRegex(html, r"(src|href)\s*=\s*\"(https?:)?//")
        with open(os.path.join(WEB, "app.js"), encoding="utf-8") as f:
            js = f.read()
        for bad in ("innerHTML", "outerHTML", ".style.", "'style'",
                    "eval(", "new Function", "document.write",
                    "http://", "https://"):
            self.assertNotIn(bad, js)


if __name__ == "__main__":
    fl.main()
