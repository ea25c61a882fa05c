"""Counts from the analysis tables (collectctl analyse, counts): every count
an analyst gets equals a brute-force recomputation from the opened
records; site assessments count the latest round only; without the key
counts are perturbed and suppressed, and suppression never leaves a cell
recoverable from the totals shown; HXL and CSV read back."""
import csv
import io
import json
import os
import re
import unittest
from fractions import Fraction

import countslib as cl
import fieldlib as fl
import synclib as sl

QUERIES = {
    "dtm_household": [
        [], ["site_id"], ["admin1"], ["sex"], ["age_band"],
        ["sex", "age_band"], ["need"], ["vulnerability"], ["intention"],
        ["month"], ["week"], ["admin1", "need"], ["sex", "vulnerability"],
        ["site_id", "month"], ["admin1", "sex", "age_band"],
        ["shelter_type", "intention"],
    ],
    "dtm_site_assessment": [
        [], ["admin1"], ["site_type"], ["need"], ["admin1", "site_type"],
        ["site_id"],
    ],
    "mrc_visit": [
        [], ["reason"], ["migration_stage"], ["sex", "age_band"],
        ["nationality"], ["month"], ["reason", "migration_stage"],
        ["centre_id", "service"], ["referral"],
    ],
}


class CountsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = sl.Collector()
        cls.c.start()
        cls.dev = sl.SyncDevice(cls.c, "dev-counts")
        cls.files = cl.generate(cls.c.root, seed=20261129)
        cl.load(cls.dev, cls.files)
        cls.dev.sync(attempts=5, check=True, timeout=300)
        cls.c.stop()
        cls.key = os.path.join(cls.c.dir, "seal.key")
        out = cls.c.ctl("analyse", "--key", cls.key).stdout
        assert out.startswith("analysed "), out
        cls.records = cls.c.open_records()

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def counts(self, form, by, *extra, key=True, check=True):
        args = ["counts", "--form", form, "--format", "json"]
        if by:
            args += ["--by", ",".join(by)]
        if key:
            args += ["--key", self.key]
        p = self.c.ctl(*(args + list(extra)), check=check)
        return json.loads(p.stdout) if check else p

    def test_counts_equal_brute_force(self):
        total = 0
        for form, queries in QUERIES.items():
            for by in queries:
                for frm, to in ((None, None), (fl.today(-40), fl.today(-10))):
                    extra = []
                    if frm:
                        extra = ["--from", frm, "--to", to]
                    got = self.counts(form, by, *extra)
                    want, ms = cl.brute(form, self.records, by, frm, to)
                    self.assertEqual(got["measures"], ms, (form, by))
                    self.assertIsNone(got["threshold"])
                    self.assertEqual(got["suppressed"], 0)
                    have = cl.result_map(got)
                    # shown: everything non-zero, and the same numbers
                    for k, v in want.items():
                        if any(v.values()) or all(x is None for x in k):
                            self.assertEqual(have.get(k), v,
                                             (form, by, frm, k))
                    for k, v in have.items():
                        self.assertEqual(want.get(k, {m: 0 for m in ms}), v,
                                         (form, by, frm, k))
                    total += 1
        self.assertGreater(total, 50)

    def test_where_filters(self):
        cases = [("dtm_household", ["age_band"], [("admin1", "SS01")]),
                 ("dtm_household", ["need"], [("sex", "female")]),
                 ("dtm_household", ["site_id"], [("vulnerability",
                                                  "disability")]),
                 ("dtm_household", ["sex"], [("month", fl.today(-20)[:7])]),
                 ("mrc_visit", ["reason"], [("service", "referral"),
                                            ("sex", "female")]),
                 ("dtm_site_assessment", ["site_type"],
                  [("admin1", "SS02")])]
        for form, by, where in cases:
            extra = []
            for d, v in where:
                extra += ["--where", "%s=%s" % (d, v)]
            got = cl.result_map(self.counts(form, by, *extra))
            want, _ = cl.brute(form, self.records, by, where=where)
            for k, v in want.items():
                if any(v.values()):
                    self.assertEqual(got.get(k), v, (form, by, where, k))
        # a value never seen matches nothing
        got = self.counts("dtm_household", ["sex"], "--where",
                          "admin1=ZZ99")
        self.assertEqual(got["rows"], [])
        self.assertEqual(got["totals"][-1]["individuals"], 0)

    def test_site_assessments_count_latest_round_only(self):
        sa = [r for r in self.records if r["_form"] == "dtm_site_assessment"]
        sites = {r["site_id"] for r in sa}
        self.assertLess(len(sites), len(sa), "dataset needs repeat rounds")
        got = self.counts("dtm_site_assessment", [])
        tot = got["totals"][0]
        self.assertEqual(tot["sites"], len(sites))
        latest = {}
        for r in sa:
            if r["site_id"] not in latest or r["assessment_date"] >= \
                    latest[r["site_id"]]["assessment_date"]:
                latest[r["site_id"]] = r
        self.assertEqual(tot["individuals"], sum(
            r["population_individuals"] for r in latest.values()))
        self.assertLess(tot["individuals"], sum(
            r["population_individuals"] for r in sa))

    def test_suppression_protects_small_cells(self):
        checked = 0
        for form, queries in QUERIES.items():
            for by in queries:
                true = self.counts(form, by)
                sup = self.counts(form, by, key=False)
                self.assertEqual(sup["threshold"], 5)
                self.check_suppressed(form, by, true, sup)
                checked += 1
        self.assertGreater(checked, 20)

    def check_suppressed(self, form, by, true, sup):
        """Without the key: counts of people perturbed by their records'
        keys (each record 0, 1 or 2 times; a summed value moved by at most
        1 a record), no value under the threshold shown, and no suppressed
        value recoverable from the page."""
        t, s = cl.result_map(true), cl.result_map(sup)
        keep = {m for m in true["measures"]
                if not (form == "dtm_site_assessment" and m == "sites")}
        decl, _ = cl.schema(form)
        summed = {m["name"] for m in decl["measures"] if "sum" in m}
        self.assertTrue(sup["perturbed"])
        self.assertFalse(true["perturbed"])
        rows = {tuple(r[b] for b in by): r.get("_suppressed", {})
                for r in sup["rows"] + sup["totals"]}
        n = moved = 0
        for k in set(t) | set(s):       # suppressed zeros are only in s
            for m in true["measures"]:
                v = t.get(k, {}).get(m, 0)
                shown = s.get(k, {}).get(m, 0)
                if shown is None:
                    n += 1
                    self.assertIn(m, rows[k], (form, by, k))
                    self.assertIn(rows[k][m], (
                        "under the threshold",
                        "protects a cell under the threshold"))
                elif m not in keep:
                    self.assertEqual(shown, v, (form, by, k, m))
                else:
                    self.assertFalse(1 <= shown < 5, (form, by, k, m))
                    if m in summed:     # one record a site, latest round
                        rec = t.get(k, {}).get("sites", 0)
                        self.assertLessEqual(abs(shown - v), rec,
                                             (form, by, k, m))
                    else:
                        self.assertTrue(0 <= shown <= 2 * v,
                                        (form, by, k, m, v, shown))
                    moved += shown != v
        self.assertEqual(n, sup["suppressed"])
        self.assertTrue(moved or not keep or len(t) < 3, (form, by))
        # sums only hold where no dimension takes several values
        _, dims = cl.schema(form)
        if any(b in dims and dims[b]["multi"] for b in by):
            return
        for m in keep:
            self.assertFalse(recoverable(by, t, s, m), (form, by, m))

    def test_hxl_and_csv_read_back(self):
        got = self.counts("dtm_household", ["admin1", "sex", "age_band"])
        hxl = self.c.ctl("counts", "--form", "dtm_household", "--by",
                         "admin1,sex,age_band", "--format", "hxl", "--key",
                         self.key).stdout
        rows = list(csv.reader(io.StringIO(hxl)))
        self.assertEqual(rows[0], ["admin1", "sex", "age_band",
                                   "individuals", "suppressed"])
        tag = re.compile(r"^#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*$")
        for t in rows[1]:
            self.assertRegex(t, tag)
        self.assertEqual(rows[1][:4], ["#adm1+code", "#group+sex",
                                       "#group+age", "#affected+ind"])
        data = {tuple(r[:3]): int(r[3]) for r in rows[2:]}
        want = {k: v["individuals"] for k, v in cl.result_map(got).items()
                if None not in k and v["individuals"]}
        self.assertEqual(data, want)
        # CSV: the same cells, then totals reading "Total"
        text = self.c.ctl("counts", "--form", "mrc_visit", "--by",
                          "sex,migration_stage", "--format", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        sup = cl.result_map(self.counts("mrc_visit", ["sex",
                                                      "migration_stage"],
                                        key=False))
        for r in rows:
            k = tuple(None if r[b] == "Total" else r[b]
                      for b in ("sex", "migration_stage"))
            v = sup[k]["visits"]
            self.assertEqual(r["visits"], "suppressed" if v is None
                             else str(v))
            self.assertEqual(bool(r["suppressed"]), v is None)
        self.assertTrue(any(r["sex"] == "Total" for r in rows))
        table = self.c.ctl("counts", "--form", "mrc_visit", "--by",
                           "reason").stdout
        self.assertIn("visits", table.splitlines()[0])
        self.assertIn("suppressed", table)

    def test_bad_queries_name_the_parameter(self):
        for args, what in (
                (["--form", "nope"], "form: nope"),
                (["--form", "mrc_visit", "--by", "colour"],
                 "by: unknown dimension colour"),
                (["--form", "mrc_visit", "--by", "sex,sex"], "named twice"),
                (["--form", "mrc_visit", "--from", "2026-02-30"], "from:"),
                (["--form", "mrc_visit", "--where", "sex"], "where:"),
                (["--form", "mrc_visit", "--where", "week=2026-W60"],
                 "where: week"),
                (["--form", "mrc_visit", "--format", "xml"], "format:"),
                (["--form", "mrc_visit", "--threshold", "1"], "threshold:"),
                (["--form", "mrc_visit", "--key", "/nonexistent"],
                 "/nonexistent")):
            p = self.c.ctl("counts", *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(what, p.stderr, args)
            self.assertEqual(p.stdout, "", args)

    def test_analyse_is_incremental_and_refuses_another_key(self):
        out = self.c.ctl("analyse", "--key", self.key).stdout
        self.assertIn("analysed 0 records", out)
        other = os.path.join(self.c.root, "other")
        fl.run("collectctl", "keygen", other)
        p = self.c.ctl("analyse", "--key", os.path.join(other, "seal.key"),
                       check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not this collector's", p.stderr)
        p = self.c.ctl("counts", "--form", "mrc_visit", "--key",
                       os.path.join(other, "seal.key"), check=False)
        self.assertIn("not this collector's key", p.stderr)


def recoverable(by, true, shown, m):
    """True when some suppressed value of measure m is fixed by the sums of
    the entries shown (Gaussian elimination over the rationals)."""
    k = len(by)
    if k == 0:
        return False
    cells = [key for key in true if None not in key]
    unknown = {}
    for key in true:
        if shown.get(key, {}).get(m, 0) is None:
            unknown[key] = len(unknown)
    for key, v in shown.items():
        if v.get(m, 0) is None:
            unknown.setdefault(key, len(unknown))
    if not unknown:
        return False

    def val(key):
        return true.get(key, {}).get(m, 0)

    eqs = []

    def line(parts, total):
        row = [Fraction(0)] * (len(unknown) + 1)
        for key, sign in [(p, 1) for p in parts] + [(total, -1)]:
            if key in unknown:
                row[unknown[key]] += sign
            else:
                row[-1] -= sign * val(key)
        eqs.append(row)

    grand = tuple([None] * k)
    if k == 2:
        rows = {c[0] for c in cells}
        cols = {c[1] for c in cells}
        for r in rows:
            line([(r, c) for c in cols], (r, None))
        for c in cols:
            line([(r, c) for r in rows], (None, c))
        line([(r, None) for r in rows], grand)
        line([(None, c) for c in cols], grand)
    else:
        line(cells, grand)
    n = len(unknown)

    def rank(mat):
        mat = [r[:n] for r in mat]
        rk = 0
        for col in range(n):
            piv = next((i for i in range(rk, len(mat)) if mat[i][col]), None)
            if piv is None:
                continue
            mat[rk], mat[piv] = mat[piv], mat[rk]
            for i in range(len(mat)):
                if i != rk and mat[i][col]:
                    f = mat[i][col] / mat[rk][col]
                    mat[i] = [a - f * b for a, b in zip(mat[i], mat[rk])]
            rk += 1
        return rk

    base = rank(eqs)
    for i in range(n):
        e = [Fraction(0)] * (n + 1)
        e[i] = Fraction(1)
        if rank(eqs + [e]) == base:
            return True
    return False


if __name__ == "__main__":
    fl.main()
