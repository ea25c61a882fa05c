"""The coordinator page (web/coord) in a real browser, against a real
collectord: headless Debian chromium driven by playwright-core
(tests/browser/coord_page.js).

A collector gets records of all three shipped forms, and of two forms a
team added as workbooks with no counts sheet (tests/data/xlsform/
water_points.xlsx and distribution.xlsx, labelled in English, French and
Arabic), from an enrolled device over sync (households at three sites over three months, big and
small; site assessments of six sites in two rounds; resource-centre
visits), `collectctl analyse` counts them, a coordinator token is made,
and collectord serves the page and /counts on --http.  Then:

  - without a token the page shows the login and no data; a wrong token
    gives an error and no data;
  - with the token every number the page draws (each SVG mark's
    data-value, or data-suppressed) equals /counts fetched directly with
    the chart's own query: the same value, suppressed exactly where
    /counts suppresses (drawn hatched and marked "suppressed", never as
    zero), every cell of each chart drawn, the threshold stated;
  - no console error or warning, no failed request, no request outside
    the collector's origin; the page's files are the ones in web/coord;
  - the added forms have their tabs and a generic panel (totals, by
    place, by month, by each select_one), counted by default, with their
    labels in the language picked (French and Arabic round-trip);
  - desktop (1280x900) and phone (390x844) draw the same numbers; on the
    phone nothing is wider than the screen and every button is a 44px
    touch target; printed, there are no tabs and every form shows;
  - "Forget token" brings the login back and forgets the token.

Screenshots, a printed PDF and the browser's report go to
$TEST_ARTEFACTS/coord_page (build/artefacts/coord_page when unset).

Needs node (>= 20), npm and chromium (tools/deps.sh installs chromium);
playwright-core is installed into tests/browser/node_modules with
`npm ci` when missing.  Without them the test fails, it is not skipped.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import time
import unittest
import urllib.parse
import uuid

import browserlib as bl
import fieldlib as fl
import synclib as sl

ROOT = bl.ROOT
XLSFORM = os.path.join(ROOT, "tests", "data", "xlsform")
BROWSER = bl.BROWSER
WEB = os.path.join(ROOT, "web", "coord")
CHROMIUM = bl.CHROMIUM

# What each form's dashboard draws (coord.js DASHBOARDS).
CHARTS = {
    "dtm_household": ["totals", "site_month", "pyramid", "needs"],
    "dtm_site_assessment": ["totals", "sites", "pyramid", "needs"],
    "mrc_visit": ["totals", "reason", "stage", "month"],
    # added workbooks without counts: the generic panel
    "water_points": ["totals", "place", "month", "by_admin1", "by_status"],
    "distribution": ["totals", "place", "month", "by_kit", "by_head_sex"],
}
# Charts whose values /counts must suppress somewhere, given the data.
# Counts are perturbed by random record keys (analysis/perturb.h), so a
# small count is suppressed unless its records happen to count 0 times in
# all or 5 times or more: the data make that all but impossible here (the
# stage chart's one small cell, in_transit's 3 visits, escapes 1 time in
# 8, so it is not listed).
MUST_SUPPRESS = [("dtm_household", "site_month"),
                 ("dtm_site_assessment", "sites"),
                 ("dtm_site_assessment", "pyramid"),
                 ("mrc_visit", "reason")]


# --- the data -----------------------------------------------------------

HH_SITES = [("SITE-A", 120), ("SITE-B", 60), ("SITE-C", 3), ("SITE-D", 25)]
NEEDS = ["food water", "shelter food", "water", "health shelter", "food",
         "shelter water sanitation"]


def write_households(root):
    """Households at four sites (one of three households), registered over
    the last 80 days, of 1 to 7 members; returns (main csv, members csv,
    count)."""
    rng = random.Random(20261129)
    hh = os.path.join(root, "households.csv")
    mem = os.path.join(root, "members.csv")
    n = 0
    with open(hh, "w") as h, open(mem, "w") as m:
        h.write("KEY,site_id,admin1,admin2,registration_date,consent,"
                "shelter_type,intention,needs\n")
        m.write("PARENT_KEY,KEY,sex,age_years,relationship,"
                "vulnerabilities\n")
        for site, count in HH_SITES:
            for i in range(count):
                rid = str(uuid.uuid4())
                needs = rng.choice(NEEDS)
                if site == "SITE-A" and i < 2:
                    needs += " documentation"
                h.write("uuid:%s,%s,SS01,SS010%d,%s,no,%s,%s,%s\n" % (
                    rid, site, 1 + (site == "SITE-C"),
                    fl.today(-rng.randint(1, 80)),
                    rng.choice(["tent", "makeshift", "host_family"]),
                    rng.choice(["stay", "stay", "return", "unknown"]),
                    needs))
                for k in range(rng.choice([1, 2, 3, 3, 4, 5, 5, 6, 7])):
                    age = (rng.randint(20, 55) if k == 0 else
                           rng.choice([rng.randint(0, 17)] * 3 +
                                      [rng.randint(18, 59),
                                       rng.randint(60, 85)]))
                    vul = "disability" if rng.random() < 0.05 else ""
                    m.write("uuid:%s,uuid:%s/members[%d],%s,%d,%s,%s\n" % (
                        rid, rid, k + 1, rng.choice(["female", "male"]), age,
                        "head" if k == 0 else "child", vul))
                n += 1
    return hh, mem, n


CELLS = ["%ss_%s" % (s, a) for s in ("female", "male")
         for a in ("0_4", "5_11", "12_17", "18_59", "60_plus")]


def write_assessments(root):
    """Six sites in two rounds; SITE-F is tiny (3 people), and only it has
    males of 60 and over (3 of them): both are suppressed (perturbed by at
    most 1 a record, 3 stays under 5)."""
    path = os.path.join(root, "sites.csv")
    cols = ["site_id", "site_name", "site_type", "admin1", "admin2",
            "assessment_date", "population_households",
            "population_individuals"] + CELLS + [
            "arrivals_last_7_days", "departures_last_7_days",
            "displacement_reason", "priority_needs"]
    rows = []
    for rnd, ago in ((1, 40), (2, 8)):
        for s, site in enumerate(["SITE-A", "SITE-B", "SITE-C", "SITE-D",
                                  "SITE-E", "SITE-F"]):
            if site == "SITE-F":
                cells = dict.fromkeys(CELLS, 0)
                cells["males_60_plus"] = 3
                hh, ind = 1, 3
                needs = "food documentation"
            else:
                cells = {c: 10 + 7 * s + 3 * k + 5 * rnd
                         for k, c in enumerate(CELLS)}
                cells["males_60_plus"] = 0
                ind = sum(cells.values()) + 2
                hh = ind // 4
                needs = ["food shelter water", "food shelter",
                         "food health", "shelter water",
                         "food shelter sanitation"][s]
            r = dict(site_id=site, site_name="Site " + site[-1],
                     site_type="camp", admin1="SS01", admin2="SS0101",
                     assessment_date=fl.today(-ago),
                     population_households=hh, population_individuals=ind,
                     arrivals_last_7_days=3 * s + rnd,
                     departures_last_7_days=s, displacement_reason="conflict",
                     priority_needs=needs, **cells)
            rows.append(r)
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        for r in rows:
            f.write(",".join(str(r[c]) for c in cols) + "\n")
    return path, len(rows)


def write_visits(root):
    """Visits to two centres: many for some reasons and stages, a few for
    others (trafficking_concern, complaint and health, 2 each; in_transit,
    3)."""
    path = os.path.join(root, "visits.csv")
    reasons = (["contract_review"] * 8 + ["safe_migration_info"] * 6 +
               ["recruitment_fees"] * 3 + ["remittances"] * 2)
    stages = (["pre_departure"] * 7 + ["considering"] * 4 +
              ["returned"] * 5 + ["at_destination"] * 3)
    n = 0
    with open(path, "w") as f:
        f.write("KEY,centre_id,visit_date,consent,sex,age_years,nationality,"
                "migration_stage,visit_mode,reasons,services,"
                "destination_country\n")
        for i in range(90):
            stage = stages[i % len(stages)]
            reason = reasons[i % len(reasons)]
            if i % 9 == 0:
                reason += " legal_aid"
            if i in (3, 40):
                reason = "trafficking_concern"
            if i in (10, 70):
                reason = "complaint"
            if i in (20, 80):
                reason = "health"
            if i in (5, 50, 77):
                stage = "in_transit"
            dest = "SAU" if stage in ("considering", "pre_departure") else ""
            f.write("uuid:%s,MRC-0%d,%s,no,%s,%d,%s,%s,in_person,%s,"
                    "information,%s\n" % (
                        uuid.uuid4(), 1 + i % 2, fl.today(-(1 + i)),
                        ["female", "male"][i % 2], 18 + i % 40,
                        ["ETH", "SOM"][i % 3 == 0], stage, reason, dest))
            n += 1
    return path, n


def write_added(root):
    """Records of the two added forms: water points visited over two
    months (WP3 rarely), kit distributions in three villages."""
    wp = os.path.join(root, "water_points.csv")
    with open(wp, "w") as f:
        f.write("KEY,visit_date,admin1,site,status,problems,users\n")
        for i in range(40):
            site = "WP1" if i % 2 else ("WP2" if i % 10 else "WP3")
            f.write("uuid:%s,%s,%s,%s,%s,%s,%d\n" % (
                uuid.uuid4(), fl.today(-(1 + i)), "SS0" + str(1 + i % 2),
                site, "broken" if i % 4 == 0 else "working",
                "pump queue" if i % 3 == 0 else "", 50 + i))
    dist = os.path.join(root, "distribution.csv")
    with open(dist, "w") as f:
        f.write("KEY,distribution_date,village_name,kit,head_sex\n")
        for i in range(30):
            f.write("uuid:%s,%s,%s,%s,%s\n" % (
                uuid.uuid4(), fl.today(-(2 + i % 20)),
                ["Lologo", "Gumbo", "Munuki"][i % 3],
                "hygiene" if i % 5 else "shelter",
                ["female", "male"][i % 2]))
    return [("water_points", wp, 40), ("distribution", dist, 30)]


# --- the test -----------------------------------------------------------

class CoordPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.time()
        bl.need_browser_tools("coordinator page")
        cls.art = bl.artefacts_dir("coord_page")
        cls.c = c = sl.Collector()
        try:
            cls._set_up(c)
        except BaseException:
            c.cleanup()
            raise
        cls.setup_s = time.time() - t0

    @classmethod
    def _set_up(cls, c):
        for name in ("water_points.xlsx", "distribution.xlsx"):
            c.ctl("form", "add", os.path.join(XLSFORM, name))
        c.start()
        dev = sl.SyncDevice(c, "board-coord")
        p = dev.sync()     # the added forms reach the board
        assert p.returncode == 0, p.stdout + p.stderr
        n_added = 0
        for form, path, n in write_added(c.root):
            dev.ctl("import", form, path)
            n_added += n
        hh, mem, n_hh = write_households(c.root)
        dev.ctl("import", "dtm_household", hh, "--repeat", "members=" + mem)
        sites, n_sites = write_assessments(c.root)
        dev.ctl("import", "dtm_site_assessment", sites)
        visits, n_visits = write_visits(c.root)
        dev.ctl("import", "mrc_visit", visits)
        total = n_hh + n_sites + n_visits + n_added
        p = dev.sync()
        assert p.returncode == 0, p.stdout + p.stderr
        assert "acknowledged up to seq %d of %d" % (total, total) in \
            p.stdout, p.stdout
        c.stop()
        c.ctl("analyse", "--key", os.path.join(c.dir, "seal.key"),
              timeout=300)
        out = c.ctl("coordinator", "add", "coord-test").stdout
        cls.token = [ln for ln in out.splitlines() if ln.strip()][-1].strip()
        # collectord with its coordinator HTTP
        c.logf = open(c.log_path, "a")
        since = c.logf.tell()
        c.proc = subprocess.Popen(
            [os.path.join(fl.BIN, "collectord"), "-d", c.dir, "--listen",
             "127.0.0.1:0", "--http", "127.0.0.1:0"],
            stdout=c.logf, stderr=c.logf)
        cls.port = int(sl.wait_for_line(
            c.log_path, r"http listening on 127\.0\.0\.1:(\d+)", c.proc,
            "collectord --http", since))
        cls.url = "http://127.0.0.1:%d/" % cls.port
        st, cls.forms, _ = cls.get("/forms")
        assert st == 200, (st, cls.forms)
        # the browser, once: everything it saw
        t0 = time.time()
        p = subprocess.run(
            ["node", os.path.join(BROWSER, "coord_page.js"), "--url",
             cls.url, "--token", cls.token, "--out", cls.art,
             "--chromium", CHROMIUM],
            capture_output=True, text=True, timeout=600, cwd=BROWSER)
        cls.browser_s = time.time() - t0
        if p.returncode != 0:
            raise AssertionError("coord_page.js failed (%d):\n%s\n%s\n"
                                 "collectord log:\n%s" % (
                                     p.returncode, p.stderr, p.stdout[-2000:],
                                     c.log()[-3000:]))
        cls.seen = json.loads(p.stdout)
        with open(os.path.join(cls.art, "coord_page.json"), "w") as f:
            json.dump(cls.seen, f, indent=1)

    @classmethod
    def tearDownClass(cls):
        print("coord page: setup and browser %.1f s (browser %.1f s)" % (
            cls.setup_s, cls.browser_s), file=sys.stderr)
        cls.c.cleanup()

    @classmethod
    def get(cls, path, token="default", headers=None):
        h = dict(headers or {})
        if token == "default":
            token = cls.token
        if token is not None:
            h["Authorization"] = "Bearer " + token
        conn = http.client.HTTPConnection("127.0.0.1", cls.port, timeout=60)
        try:
            conn.request("GET", path, headers=h)
            r = conn.getresponse()
            body = r.read()
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body
            return r.status, parsed, dict(r.getheaders())
        finally:
            conn.close()

    # --- without a token, and with a wrong one ---------------------------

    def test_login_and_wrong_token(self):
        lg = self.seen["login"]
        self.assertTrue(lg["loginVisible"])
        self.assertFalse(lg["appVisible"])
        self.assertEqual(lg["marks"], 0)
        w = lg["wrong"]
        self.assertTrue(w["errorVisible"])
        self.assertIn("refused", w["error"])
        self.assertTrue(w["loginVisible"])
        self.assertFalse(w["appVisible"])
        self.assertEqual(w["marks"], 0, "data shown for a wrong token")
        self.assertIsNone(w["stored"], "a refused token is kept")
        self.assertEqual(lg["log"]["foreign"], [])
        self.assertEqual(lg["log"]["pageErrors"], [])
        # the only failures: the refused token's 401s
        for f in lg["log"]["failed"]:
            self.assertTrue(f.startswith("401 "), f)
        # and the server agrees: no data without the right token
        for tok in (None, "wrong"):
            st, body, _ = self.get("/counts?form=mrc_visit", token=tok)
            self.assertEqual(st, 401)
            self.assertIn("error", body)

    # --- the numbers -----------------------------------------------------

    def counts(self, query):
        st, body, _ = self.get("/counts?" + query)
        self.assertEqual(st, 200, (query, body))
        return body

    def check_chart(self, ch):
        q = urllib.parse.parse_qs(ch["query"])
        self.assertEqual(q["form"], [ch["form"]])
        res = self.counts(ch["query"])
        by = res["by"]
        rows = {}
        for r in res["rows"] + res["totals"]:
            key = "|".join("*" if r[d] is None else str(r[d]) for d in by)
            rows.setdefault(key, r)
        where = "%s/%s" % (ch["form"], ch["chart"])
        self.assertTrue(ch["marks"], where + ": nothing drawn")
        n_sup = 0
        for mk in ch["marks"]:
            what = "%s key %r %s" % (where, mk["key"], mk["measure"])
            self.assertIn(mk["key"], rows, what + ": no such row in /counts")
            self.assertIn(mk["measure"], res["measures"], what)
            r = rows[mk["key"]]
            why = (r.get("_suppressed") or {}).get(mk["measure"])
            if mk["suppressed"]:
                n_sup += 1
                self.assertIsNone(r[mk["measure"]], what)
                self.assertTrue(why, what + ": suppressed without a reason")
                self.assertIsNone(mk["value"], what)
                self.assertTrue(mk["distinct"], what + ": drawn as a value")
                self.assertIn("suppressed", mk["text"], what)
            else:
                self.assertIsNone(why, what + ": /counts suppressed it")
                self.assertEqual(mk["value"], r[mk["measure"]], what)
                self.assertFalse(mk["distinct"], what)
                self.assertIn("{:,}".format(mk["value"]), mk["text"], what)
        # every cell of the table is drawn (the test data fits the
        # charts' limits)
        drawn = {(m["key"], m["measure"]) for m in ch["marks"]}
        measures = {m["measure"] for m in ch["marks"]}
        for key, r in rows.items():
            if by and "*" not in key.split("|"):
                for m in measures:
                    if ch["chart"] == "pyramid" and \
                            r[by[0]] not in ("female", "male"):
                        continue
                    self.assertIn((key, m), drawn, where + ": not drawn")
        if ch["chart"] == "totals":
            want = {"dtm_household": ["households", "individuals"],
                    "dtm_site_assessment": ["sites", "households",
                                            "individuals",
                                            "arrivals_last_7_days",
                                            "departures_last_7_days"],
                    "mrc_visit": ["visits"],
                    "water_points": ["records"],
                    "distribution": ["records"]}[ch["form"]]
            self.assertEqual(sorted(measures), sorted(want), where)
        if (ch["form"], ch["chart"]) == ("dtm_site_assessment", "pyramid"):
            self.assertEqual(sorted(measures), sorted(CELLS), where)
        return n_sup

    def test_numbers_equal_counts(self):
        d = self.seen["desktop"]
        self.assertEqual(d["chartErrors"], [])
        got = {}
        for ch in d["charts"]:
            got.setdefault(ch["form"], []).append(ch["chart"])
        self.assertEqual(got, CHARTS)
        sup = {}
        shown = 0
        for ch in d["charts"]:
            with self.subTest(chart=ch["form"] + "/" + ch["chart"]):
                sup[(ch["form"], ch["chart"])] = self.check_chart(ch)
                shown += sum(not m["suppressed"] for m in ch["marks"])
        for k in MUST_SUPPRESS:
            self.assertGreater(sup.get(k, 0), 0, "%s/%s: nothing suppressed"
                               % k)
        self.assertGreater(shown, 50)
        # counted once per site: the latest round of six sites
        tot = next(c for c in d["charts"] if c["form"] ==
                   "dtm_site_assessment" and c["chart"] == "totals")
        sites = next(m for m in tot["marks"] if m["measure"] == "sites")
        self.assertEqual(sites["value"], 6)

    def test_added_forms_counted_by_default(self):
        """The added forms are in /forms from the start with their default
        counts and their labels, and the page draws their numbers."""
        forms = {f["id"]: f for f in self.forms["forms"]}
        wp = forms["water_points"]
        self.assertEqual(wp["counts"], "default")
        self.assertEqual(wp["place"], "site")
        self.assertEqual(wp["date"], "visit_date")
        self.assertEqual(wp["dims"], ["site", "admin1", "status", "day",
                                      "week", "month"])
        self.assertEqual(wp["measures"], [{"name": "records",
                                           "kind": "records",
                                           "suppress": True}])
        self.assertEqual(wp["languages"], ["English", "Français",
                                           "العربية"])
        self.assertEqual(wp["labels"]["choices"]["status"]["broken"],
                         {"English": "Broken", "Français": "En panne",
                          "العربية": "معطل"})
        self.assertEqual(wp["labels"]["fields"]["site"]["العربية"],
                         "نقطة المياه")
        self.assertEqual(forms["distribution"]["place"], "village_name")
        self.assertEqual(forms["mrc_visit"]["counts"], "declared")
        d = self.seen["desktop"]
        for fid, title in (("water_points", "Water points"),
                           ("distribution", "Kit distribution")):
            self.assertIn(title, d["tabs"])
            tot = next(c for c in d["charts"] if c["form"] == fid and
                       c["chart"] == "totals")
            # what /counts says, perturbed (each record counts 0, 1 or 2,
            # analysis/perturb.h): within 4 sqrt(n) of the true count
            want = 40 if fid == "water_points" else 30
            st, body, _ = self.get("/counts?form=" + fid)
            self.assertEqual(st, 200)
            shown = body["totals"][-1]["records"]
            self.assertEqual([m["value"] for m in tot["marks"]], [shown])
            self.assertLessEqual(abs(shown - want), 4 * want ** 0.5)
        lab = d["labels"]
        # one language for the page: the first form's default at first
        self.assertIn("Hygiene kit", lab["start"]["distribution"])
        self.assertIn("Broken", lab["start"]["water_points"])
        self.assertEqual(forms["distribution"]["languages"][0], "Français")
        self.assertIn("En panne", lab["Français"]["water_points"])
        self.assertIn("Kit d'hygiène", lab["Français"]["distribution"])
        self.assertIn("معطل", lab["العربية"]["water_points"])
        self.assertIn("حقيبة النظافة", lab["العربية"]["distribution"])
        self.assertEqual(lab["languages"], ["English", "Français",
                                            "العربية"])

    def test_period(self):
        per = self.seen["desktop"]["period"]
        self.assertEqual(per["open"], ["form-mrc_visit"])   # tab kept
        self.assertEqual(len(per["charts"]), sum(map(len, CHARTS.values())))
        for ch in per["charts"]:
            with self.subTest(chart=ch["form"] + "/" + ch["chart"]):
                self.assertIn("from=" + per["from"], ch["query"])
                self.check_chart(ch)

    def test_download(self):
        dl = self.seen["desktop"]["download"]
        self.assertEqual(dl["name"], "mrc_visit-reason-csv.csv")
        st, body, _ = self.get("/counts?form=mrc_visit&by=reason&format=csv")
        self.assertEqual(st, 200)
        self.assertEqual(dl["text"].encode(), body)

    def test_threshold_tabs_generation(self):
        d = self.seen["desktop"]
        self.assertIn("under %d" % self.forms["threshold"], d["about"])
        self.assertIn("Counts of people are perturbed", d["about"])
        self.assertIn("generation %d" % self.forms["generation"], d["about"])
        self.assertEqual(len(d["tabs"]), len(self.forms["forms"]))
        for i, shown in enumerate(d["tabViews"]):
            self.assertEqual(shown, ["form-" + self.forms["forms"][i]["id"]])

    # --- the browser's view of the page ----------------------------------

    def test_no_errors_no_foreign_requests(self):
        for view in ("desktop", "phone"):
            log = self.seen[view]["log"]
            self.assertEqual(log["console"], [], view)
            self.assertEqual(log["pageErrors"], [], view)
            self.assertEqual(log["failed"], [], view)
            self.assertEqual(log["foreign"], [], view)
            self.assertTrue(any(r.endswith("/counts?form=mrc_visit")
                                for r in log["requests"]), view)

    def test_files_served_are_web_coord(self):
        for path, name, ctype in (("/", "index.html", "text/html"),
                                  ("/coord.js", "coord.js", "javascript"),
                                  ("/coord.css", "coord.css", "text/css")):
            st, body, h = self.get(path, token=None)
            self.assertEqual(st, 200, path)
            ctypes = {k.lower(): v for k, v in h.items()}
            self.assertIn(ctype, ctypes.get("content-type", ""), path)
            with open(os.path.join(WEB, name), "rb") as f:
                want = f.read()
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            self.assertEqual(body, want, path + ": not web/coord/" + name +
                             " (collectord built before it changed?)")

    def test_phone_and_print(self):
        p = self.seen["phone"]

        def numbers(charts):
            return {(c["form"], c["chart"], c["query"]):
                    {(m["key"], m["measure"]): (m["value"], m["suppressed"])
                     for m in c["marks"]} for c in charts}
        self.assertEqual(numbers(p["charts"]),
                         numbers(self.seen["desktop"]["charts"]))
        self.assertLessEqual(p["scrollWidth"], 390)
        self.assertLessEqual(p["widestSvg"], 390)
        self.assertEqual(p["smallTargets"], [])
        self.assertGreaterEqual(p["fontSizes"], 11)
        pr = self.seen["desktop"]["print"]
        self.assertEqual(pr["formsShown"], len(self.forms["forms"]))
        self.assertEqual(pr["forms"], len(self.forms["forms"]))
        self.assertFalse(pr["tabsShown"])
        self.assertFalse(pr["toolsShown"])
        for name in ("coord_desktop.png", "coord_phone.png",
                     "coord_print.pdf", "coord_wrong_token.png"):
            f = os.path.join(self.art, name)
            self.assertTrue(os.path.isfile(f) and os.path.getsize(f) > 1000,
                            f)

    def test_forget_token(self):
        f = self.seen["phone"]["forgot"]
        self.assertTrue(f["loginVisible"])
        self.assertEqual(f["marks"], 0)
        self.assertIsNone(f["stored"])
        self.assertTrue(f["afterReload"])


if __name__ == "__main__":
    fl.main()
