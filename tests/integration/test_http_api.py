"""fieldd's local API against a real fieldd: the three forms accepted and
sealed, every bad input refused with the right status and nothing written,
duplicates, tokens, slow clients, limits."""
import http.client
import json
import os
import time
import unittest

import fieldlib as fl


class HttpApi(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dev = fl.Device(config="max_body_kb = 16\n"
                                   "request_timeout_s = 2\n"
                                   "idle_timeout_s = 2\n"
                                   "max_connections = 8\n")
        cls.dev.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.dev.stop()
        cls.dev.cleanup()
        assert rc == 0, "fieldd did not stop cleanly: %r" % rc

    def records(self):
        return self.dev.status()["records"]

    def assert_refused(self, status, method, path, body=None, **kw):
        before = self.records()
        st, data, _ = self.dev.request(method, path, body, **kw)
        self.assertEqual(st, status, data)
        self.assertEqual(self.records(), before, "a refused request wrote")
        return data

    def test_forms_listed_and_served(self):
        st, data, hdr = self.dev.request("GET", "/api/forms")
        self.assertEqual(st, 200)
        ids = sorted(f["form_id"] for f in data["forms"])
        self.assertEqual(ids, ["dtm_household", "dtm_site_assessment",
                               "mrc_visit"])
        self.assertEqual(hdr.get("Cache-Control"), "no-store")
        st, form, _ = self.dev.request("GET", "/api/forms/dtm_household")
        self.assertEqual(st, 200)
        self.assertEqual(form["form_id"], "dtm_household")
        names = [r.get("name") for r in form["survey"]]
        for n in ("site_id", "consent", "members", "age_years"):
            self.assertIn(n, names)
        st, _, _ = self.dev.request("GET", "/api/forms/nope")
        self.assertEqual(st, 404)
        st, _, _ = self.dev.request("GET",
                                    "/api/forms/dtm_household?version=0.0")
        self.assertEqual(st, 404)

    def test_each_form_stored_sealed_and_opens(self):
        sent = {}
        for form, rec in (("dtm_household", fl.household()),
                          ("dtm_site_assessment", fl.site_assessment()),
                          ("mrc_visit", fl.mrc_visit())):
            st, data, _ = self.dev.submit(form, rec)
            self.assertEqual(st, 201, data)
            self.assertEqual(data["form"], form)
            self.assertFalse(data["duplicate"])
            self.assertGreater(data["seq"], 0)
            sent[data["_id"]] = (form, rec, data["seq"])
        opened = {r["_id"]: r for r in self.dev.open_records()}
        for rid, (form, rec, seq) in sent.items():
            r = opened[rid]
            self.assertEqual(r["_form"], form)
            self.assertEqual(r["_seq"], seq)
            self.assertEqual(r["_device"], "dev-test")
            for k, v in rec.items():
                self.assertEqual(r[k], v, k)

    def test_duplicate_id_returns_original_seq(self):
        rec = fl.mrc_visit()
        rec["_id"] = "3f2b8c1e-5a47-4d2e-9b61-0c7d8e9f1a2b"
        st, first, _ = self.dev.submit("mrc_visit", rec)
        self.assertEqual(st, 201, first)
        before = self.records()
        st, again, _ = self.dev.submit("mrc_visit", rec)
        self.assertEqual(st, 200, again)
        self.assertTrue(again["duplicate"])
        self.assertEqual(again["seq"], first["seq"])
        self.assertEqual(again["_id"], rec["_id"])
        self.assertEqual(self.records(), before)

    def test_validation_errors_listed_together(self):
        rec = fl.household()
        rec["members"][1]["age_years"] = 130
        rec["members"][2]["relationship"] = "head"
        rec["registration_date"] = fl.today(3)
        rec["intention"] = "maybe"
        data = self.assert_refused(422, "POST", "/api/records/dtm_household",
                                   rec)
        self.assertEqual(data["form"], "dtm_household")
        self.assertTrue(data["version"])
        paths = [e["path"] for e in data["errors"]]
        self.assertIn("members[2].age_years", paths)
        self.assertIn("registration_date", paths)
        self.assertIn("intention", paths)
        self.assertIn("members", paths)   # two heads
        # No submitted value is echoed back.
        self.assertNotIn("Amina", json.dumps(data))
        self.assertNotIn("130", json.dumps(data["errors"][0]["reason"]))

    def test_wrong_types(self):
        for field, value in (("population_households", "120"),
                             ("population_households", 1.5),
                             ("assessment_date", "2026-02-30"),
                             ("priority_needs", "food,water,shelter,health"),
                             ("site_name", 7),
                             ("location", {"latitude": 91,
                                           "longitude": 0})):
            rec = fl.site_assessment()
            rec[field] = value
            data = self.assert_refused(
                422, "POST", "/api/records/dtm_site_assessment", rec)
            self.assertIn(field, [e["path"] for e in data["errors"]],
                          (field, value))

    def test_malformed_json(self):
        for body in (b"{", b"[1,2]", b"\"x\"", b"{\"a\":1,\"a\":2}",
                     b"{\"site_id\": \"SITE\xff\"}", b""):
            data = self.assert_refused(
                400, "POST", "/api/records/mrc_visit", body,
                headers={"Content-Type": "application/json"})
            self.assertIn("error", data)

    def test_unknown_form_and_version(self):
        data = self.assert_refused(404, "POST", "/api/records/no_such_form",
                                   fl.mrc_visit())
        self.assertIn("no_such_form", data["error"])
        data = self.assert_refused(404, "POST",
                                   "/api/records/mrc_visit?version=9.9",
                                   fl.mrc_visit())
        self.assertIn("9.9", data["error"])
        rec = fl.mrc_visit()
        rec["_version"] = "0.1"
        self.assert_refused(404, "POST", "/api/records/mrc_visit", rec)

    def test_tokens(self):
        self.assert_refused(401, "POST", "/api/records/mrc_visit",
                            fl.mrc_visit(), token=None)
        self.assert_refused(401, "POST", "/api/records/mrc_visit",
                            fl.mrc_visit(), token="x" * 43)
        self.assert_refused(401, "GET", "/api/status", token="short")
        st, _, hdr = self.dev.request("GET", "/api/counts", token=None)
        self.assertEqual(st, 401)
        self.assertIn("Bearer", hdr.get("WWW-Authenticate", ""))

    def test_oversized_and_wrong_content_type(self):
        big = fl.mrc_visit()
        big["notes"] = "n" * (20 * 1024)
        self.assert_refused(413, "POST", "/api/records/mrc_visit", big)
        self.assert_refused(415, "POST", "/api/records/mrc_visit",
                            json.dumps(fl.mrc_visit()),
                            headers={"Content-Type": "text/plain"})
        self.assert_refused(405, "GET", "/api/records/mrc_visit")
        self.assert_refused(404, "GET", "/api/nothing")

    def test_slow_client_and_garbage(self):
        before = self.records()
        t0 = time.time()
        out = self.dev.raw(b"POST /api/records/mrc_visit HTTP/1.1\r\n"
                           b"Host: x\r\nContent-Length: 100\r\n\r\n{\"a\"",
                           timeout=10)
        self.assertIn(b" 408 ", out.split(b"\r\n")[0])
        self.assertLess(time.time() - t0, 9)
        out = self.dev.raw(b"\x16\x03\x01garbage\r\n\r\n")
        self.assertIn(b" 400 ", out.split(b"\r\n")[0])
        self.assertEqual(self.records(), before)
        # fieldd still serves.
        st, _, _ = self.dev.request("GET", "/api/status")
        self.assertEqual(st, 200)

    def test_counts_and_status(self):
        st, _, _ = self.dev.submit("dtm_household",
                                   fl.household(name=None, members=2))
        self.assertEqual(st, 201)
        st, data, _ = self.dev.request("GET", "/api/counts")
        self.assertEqual(st, 200)
        self.assertEqual(data["threshold"], 5)
        hh = [c for c in data["counts"] if c["form"] == "dtm_household"
              and c["measure"] == "households"]
        self.assertTrue(hh and hh[0]["place"] == "SITE-001")
        # one household: suppressed, never shown as a count
        self.assertIsNone(hh[0]["total"])
        self.assertEqual(hh[0]["_suppressed"], "under the threshold")
        for _ in range(6):
            self.dev.submit("dtm_household", fl.household(name=None,
                                                          members=5))
        st, data, _ = self.dev.request("GET", "/api/counts")
        ind = [c for c in data["counts"] if c["form"] == "dtm_household"
               and c["measure"] == "individuals"][0]
        self.assertEqual(ind["total"], 32)
        sex = {v["value"]: v["n"] for v in ind["dims"]["sex"]}
        self.assertEqual(sex, {"female": 19, "male": 13})
        ages = {v["value"]: v for v in ind["dims"]["age_band"]}
        # 60+ has 6, 0-4 has 6: shown; every value under 5 is hidden
        for d in ind["dims"].values():
            for v in d:
                if v["n"] is not None:
                    self.assertGreaterEqual(v["n"], 5, v)
        self.assertEqual(ages["60+"]["n"], 6)
        self.assertEqual(data["suppressed"], 0)
        # a date range that holds nothing, and a bad one
        st, data, _ = self.dev.request("GET", "/api/counts?to=2000-01-01")
        self.assertEqual(data["counts"], [])
        st, data, _ = self.dev.request("GET", "/api/counts?from=2026-02-30")
        self.assertEqual(st, 400)
        st, s, _ = self.dev.request("GET", "/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(s["device_id"], "dev-test")
        self.assertGreaterEqual(s["records"], 1)
        self.assertGreater(s["free_bytes"], 0)

    def test_pin_login_sessions_and_submissions(self):
        self.dev.ctl("user", "pin", "enumerator-1", input="2468\n")
        st, body, _ = self.dev.request("POST", "/api/login",
                                       {"user": "enumerator-1",
                                        "pin": "1357"}, token=None)
        self.assertEqual(st, 401)
        self.assertNotIn("1357", json.dumps(body))
        st, body, _ = self.dev.request("POST", "/api/login",
                                       {"user": "enumerator-1",
                                        "pin": "2468"}, token=None)
        self.assertEqual(st, 200, body)
        session = body["token"]
        self.assertEqual(body["user"], "enumerator-1")
        st, me, _ = self.dev.request("GET", "/api/me", token=session)
        self.assertEqual((st, me), (200, {"user": "enumerator-1"}))
        rec = fl.mrc_visit()
        st, made, _ = self.dev.submit("mrc_visit", rec, token=session)
        self.assertEqual(st, 201)
        st, sub, _ = self.dev.request("GET", "/api/submissions",
                                      token=session)
        self.assertEqual(st, 200)
        mine = [r for r in sub["today"] if r["id"] == made["_id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(sorted(mine[0]), ["created", "form", "id",
                                           "version"])
        self.assertGreaterEqual(sub["pending"], 1)
        self.assertNotIn(rec["centre_id"], json.dumps(sub))
        # a bad body, and a GET, are refused clearly
        st, body, _ = self.dev.request("POST", "/api/login", "nope",
                                       token=None)
        self.assertEqual(st, 400)
        st, _, _ = self.dev.request("GET", "/api/login", token=None)
        self.assertEqual(st, 405)
        # wrong PINs lock the name out, the right one included
        self.dev.ctl("user", "add", "enumerator-2")
        self.dev.ctl("user", "pin", "enumerator-2", input="97531\n")
        codes = [self.dev.request("POST", "/api/login",
                                  {"user": "enumerator-2", "pin": "0000"},
                                  token=None)[0] for _ in range(5)]
        self.assertEqual(codes, [401, 401, 401, 401, 429])
        st, _, _ = self.dev.request("POST", "/api/login",
                                    {"user": "enumerator-2",
                                     "pin": "97531"}, token=None)
        self.assertEqual(st, 429)
        p = self.dev.ctl("user", "pin", "enumerator-2", input="12\n",
                         check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("4 to 12 digits", p.stderr)

    def test_requests_per_address_are_bounded(self):
        # from another loopback address: the board's own is not limited
        codes = []
        c = http.client.HTTPConnection("127.0.0.1", self.dev.port,
                                       timeout=30,
                                       source_address=("127.0.0.2", 0))
        for _ in range(80):
            c.request("GET", "/api/status",
                      headers={"Authorization": "Bearer " + self.dev.token})
            r = c.getresponse()
            r.read()
            codes.append(r.status)
            if r.status == 429:
                self.assertEqual(r.getheader("Retry-After"), "1")
                break
        c.close()
        self.assertIn(429, codes)
        self.assertGreaterEqual(codes.count(200), 50)

    def test_web_app_pages_carry_a_policy(self):
        st, body, hdr = self.dev.request("GET", "/", token=None)
        self.assertEqual(st, 200)
        self.assertIn("script-src 'self'", hdr["Content-Security-Policy"])
        self.assertNotIn("unsafe-inline", hdr["Content-Security-Policy"])
        self.assertEqual(hdr["X-Content-Type-Options"], "nosniff")
        st, _, hdr = self.dev.request("GET", "/nope.js", token=None)
        self.assertEqual(st, 404)
        self.assertIn("Content-Security-Policy", hdr)
        st, _, _ = self.dev.request("GET", "/../device.db", token=None)
        self.assertNotEqual(st, 200)



class SystemConfig(unittest.TestCase):
    """fieldd -c FILE (the package's /etc/fieldd/fieldd.conf) is read
    first, DATADIR/fieldd.conf over it: enrolment writes the collector
    there, and -c must not hide it."""

    def test_both_files(self):
        dev = fl.Device()
        try:
            conf = os.path.join(dev.root, "system.conf")
            with open(conf, "w") as f:
                f.write("free_space_floor_mb = 3\nmax_body_kb = 300\n")
            with open(os.path.join(dev.dir, "fieldd.conf"), "a") as f:
                f.write("free_space_floor_mb = 5\n")
            dev.start("-c", conf)
            st, body, _ = dev.request("GET", "/api/status")
            self.assertEqual(st, 200)
            self.assertEqual(body["free_floor_bytes"], 5 << 20)
            big = {"x": "a" * (280 * 1024)}     # within 300 KiB, over 256
            st, body, _ = dev.submit("dtm_household", big)
            self.assertEqual(st, 422)           # read, not 413
            dev.stop()
            with open(conf, "a") as f:
                f.write("no_such_key = 1\n")
            p = fl.run("fieldd", "-d", dev.dir, "-c", conf, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("system.conf:3: unknown key", p.stderr)
        finally:
            dev.cleanup()

if __name__ == "__main__":
    fl.main()
