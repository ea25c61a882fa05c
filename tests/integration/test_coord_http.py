"""collectord's HTTP for coordinators: tokens, perturbation and
suppression always on,
caching headers, formats, bad parameters, the page's headers."""
import http.client
import json
import os
import re
import time
import unittest

import countslib as cl
import fieldlib as fl
import synclib as sl


class CoordHttpTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = sl.Collector()
        cls.c.start()
        dev = sl.SyncDevice(cls.c, "dev-http")
        cl.load(dev, cl.generate(cls.c.root, seed=7, households=200,
                                 visits=150, sites=10))
        # one household that gave its names: they must go nowhere here
        dev.ctl("submit", "dtm_household", input=json.dumps(fl.household(
            name="Zainab Privacyname", phone="+211 955 000 111")))
        dev.sync(attempts=5, check=True, timeout=300)
        cls.c.stop()
        cls.key = os.path.join(cls.c.dir, "seal.key")
        cls.c.ctl("analyse", "--key", cls.key)
        cls.token = cls.c.ctl("coordinator", "add",
                              "amina").stdout.strip()
        cls.c.start("--http", "127.0.0.1:0")
        cls.http = int(sl.wait_for_line(
            cls.c.log_path, r"http listening on 127\.0\.0\.1:(\d+)",
            cls.c.proc, "collectord http"))

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()
        cls.c.cleanup()

    def get(self, path, token="default", method="GET", headers=None):
        h = dict(headers or {})
        if token == "default":
            token = self.token
        if token is not None:
            h["Authorization"] = "Bearer " + token
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=30)
        conn.request(method, path, headers=h)
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        return r, body

    def test_tokens(self):
        r, body = self.get("/counts?form=mrc_visit&by=reason", token=None)
        self.assertEqual(r.status, 401)
        self.assertNotIn("visits", body)
        self.assertIn("Bearer", r.getheader("WWW-Authenticate"))
        r, body = self.get("/forms", token="fct_wrong")
        self.assertEqual(r.status, 401)
        self.assertNotIn("dtm_household", body)
        r, body = self.get("/counts?form=mrc_visit&by=reason")
        self.assertEqual(r.status, 200, body)
        # a removed coordinator's token stops working
        t2 = self.c.ctl("coordinator", "add", "temp").stdout.strip()
        self.assertEqual(self.get("/forms", token=t2)[0].status, 200)
        self.c.ctl("coordinator", "remove", "temp")
        self.assertEqual(self.get("/forms", token=t2)[0].status, 401)
        self.assertIn("amina", self.c.ctl("coordinator", "list").stdout)
        p = self.c.ctl("coordinator", "add", "amina", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists", p.stderr)
        # no token value ever reaches the log
        self.assertNotIn(self.token, self.c.log())
        self.assertNotIn("fct_wrong", self.c.log())

    def test_coordinators_always_get_suppressed_counts(self):
        small = 0
        for form, by in (("dtm_household", "sex,age_band"),
                         ("dtm_household", "site_id"),
                         ("mrc_visit", "reason,migration_stage"),
                         ("mrc_visit", "nationality")):
            r, body = self.get("/counts?form=%s&by=%s" % (form, by))
            self.assertEqual(r.status, 200, body)
            got = json.loads(body)
            self.assertEqual(got["threshold"], 5)
            true = json.loads(self.c.ctl(
                "counts", "--form", form, "--by", by, "--format", "json",
                "--key", self.key).stdout)
            self.assertTrue(got["perturbed"])
            shown = cl.result_map(got)
            for k, v in cl.result_map(true).items():
                for m, n in v.items():
                    # perturbed by the records' keys, never under the
                    # threshold: a small count is not shown as it is
                    w = shown.get(k, {}).get(m, 0)
                    self.assertFalse(w is not None and 1 <= w < 5,
                                     (form, by, k, m, w))
                    if 1 <= n < 5:
                        small += 1
                        self.assertNotEqual(w, n, (form, by, k, m))
            for k, v in shown.items():
                for m, w in v.items():
                    self.assertFalse(w is not None and 1 <= w < 5)
        self.assertGreater(small, 0, "the dataset needs small cells")
        # no parameter lowers the threshold
        r, body = self.get("/counts?form=mrc_visit&by=reason&threshold=1")
        self.assertEqual(r.status, 400)
        self.assertIn("unknown parameter threshold", body)

    def test_caching_headers(self):
        path = "/counts?form=dtm_household&by=need&from=%s" % fl.today(-60)
        r, body = self.get(path)
        self.assertEqual(r.status, 200)
        etag = r.getheader("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        self.assertIn("no-cache", r.getheader("Cache-Control"))
        r2, body2 = self.get(path, headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        self.assertEqual(body2, "")
        # another query, another validator
        r3, _ = self.get(path + "&to=" + fl.today())
        self.assertNotEqual(r3.getheader("ETag"), etag)
        r4, _ = self.get("/forms")
        r5, _ = self.get("/forms", headers={"If-None-Match":
                                            r4.getheader("ETag")})
        self.assertEqual(r5.status, 304)

    def test_formats(self):
        r, body = self.get("/counts?form=dtm_household&by=admin1,sex"
                           "&format=hxl")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/csv"))
        lines = body.splitlines()
        self.assertTrue(lines[1].startswith("#adm1+code,#group+sex,"))
        r, body = self.get("/counts?form=mrc_visit&by=sex&format=csv")
        self.assertTrue(body.startswith("sex,visits,suppressed"))
        r, body = self.get("/counts?form=mrc_visit&by=sex&format=xml")
        self.assertEqual(r.status, 400)
        self.assertIn("format", json.loads(body)["error"])
        r, body = self.get("/forms")
        forms = {f["id"]: f for f in json.loads(body)["forms"]}
        self.assertEqual(forms["dtm_household"]["item_dims"],
                         ["sex", "age_band", "vulnerability"])
        self.assertEqual(forms["dtm_site_assessment"]["latest_by"],
                         "site_id")
        self.assertIn("week", forms["mrc_visit"]["dims"])

    def test_added_form_listed_before_any_record(self):
        """A workbook added while collectord runs is in /forms within
        its poll, counted by default, with its labels, before any record
        of it; /counts answers for it (nothing counted yet)."""
        self.c.ctl("form", "add", os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "data",
            "xlsform", "water_points.xlsx"))
        deadline = time.time() + 15
        forms = {}
        while "water_points" not in forms and time.time() < deadline:
            time.sleep(0.3)
            r, body = self.get("/forms")
            self.assertEqual(r.status, 200)
            forms = {f["id"]: f for f in json.loads(body)["forms"]}
        wp = forms.get("water_points")
        self.assertIsNotNone(wp, "the added form is not in /forms")
        self.assertEqual(wp["counts"], "default")
        self.assertEqual((wp["place"], wp["date"]), ("site", "visit_date"))
        self.assertEqual([m["name"] for m in wp["measures"]], ["records"])
        self.assertEqual(wp["labels"]["title"], {"English": "Water points"})
        self.assertEqual(wp["labels"]["fields"]["status"]["Français"],
                         "État du point")
        self.assertEqual(forms["mrc_visit"]["counts"], "declared")
        r, body = self.get("/counts?form=water_points&by=status")
        self.assertEqual(r.status, 200, body)
        self.assertEqual(json.loads(body)["rows"], [])

    def test_bad_parameters_name_the_parameter(self):
        for q, what in (("form=nope", "form: nope"),
                        ("by=sex", "form: missing"),
                        ("form=mrc_visit&by=colour", "by: unknown dimension"),
                        ("form=mrc_visit&from=2026-13-01", "from:"),
                        ("form=mrc_visit&where=sex", "where:"),
                        ("form=mrc_visit&by=%zz", "malformed"),
                        ("form=mrc_visit&by=a,b,c,d,e", "at most 4")):
            r, body = self.get("/counts?" + q)
            self.assertEqual(r.status, 400, q)
            self.assertIn(what, json.loads(body)["error"], q)
        r, body = self.get("/counts?form=mrc_visit", method="POST")
        self.assertEqual(r.status, 405)

    def test_no_personal_data_in_analysis_tables_or_answers(self):
        for name in os.listdir(self.c.dir):
            if name.startswith("analysis.db"):
                with open(os.path.join(self.c.dir, name), "rb") as f:
                    data = f.read()
                self.assertNotIn(b"Privacyname", data, name)
                self.assertNotIn(b"955 000 111", data, name)
        if self.c.store:
            # PostgreSQL: whatever tables it keeps, none holds them
            data = self.c.store_bytes()
            self.assertFalse(b"Privacyname" in data, "a name in the store")
            self.assertFalse(b"955 000 111" in data, "a phone in the store")
        for form in ("dtm_household", "mrc_visit"):
            _, body = self.get("/counts?form=%s&by=site_id" % form
                               if form == "dtm_household" else
                               "/counts?form=%s&by=centre_id" % form)
            self.assertNotIn("Privacyname", body)
        self.assertNotIn("Privacyname", self.c.log())

    def test_page_and_its_headers(self):
        r, body = self.get("/", token=None)
        self.assertEqual(r.status, 200)
        self.assertIn("text/html", r.getheader("Content-Type"))
        csp = r.getheader("Content-Security-Policy")
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(r.getheader("X-Content-Type-Options"), "nosniff")
        self.assertNotRegex(body, r"<script>[^<]")     # no inline script
        self.assertNotRegex(body, r"https?://")        # nothing from afar
        for src in re.findall(r'(?:src|href)="(/?[a-z][^":]*)"', body):
            r2, _ = self.get("/" + src.lstrip("/"), token=None)
            self.assertEqual(r2.status, 200, src)
        r, _ = self.get("/nope.js", token=None)
        self.assertEqual(r.status, 404)
        r, _ = self.get("/../collector.db", token=None)
        self.assertNotEqual(r.status, 200)

    def test_zz_lockout(self):
        # last (tests run in name order): it locks 127.0.0.1 out
        codes = [self.get("/forms", token="fct_x")[0].status
                 for _ in range(10)]
        self.assertIn(429, codes)
        self.assertEqual(set(codes), {401, 429})
        r, body = self.get("/forms")
        self.assertEqual(r.status, 429)
        self.assertNotIn("dtm_household", body)


if __name__ == "__main__":
    fl.main()
