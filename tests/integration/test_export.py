"""collectctl export: records synced to a real collector come back, form by
form, as CSV (a main file and one per repeat group, linked by record id)
and JSONL, with the values `collectctl open` prints -- the quote that
defuses a spreadsheet formula being the one documented difference -- in
files only their owner can read, written all or nothing."""
import csv
import io
import json
import os
import shutil
import stat
import subprocess
import unittest

import fieldlib as fl
import synclib as sl

V1, V2 = "2026.11.1", "2026.12.1"

# Text a CSV writer and a spreadsheet must both get right.
TRICKY = ['Doe, "Jo"\nsecond line', '=HYPERLINK("http://x.example","y")',
          "أمينة محمد", "@SUM(A1)", "-2+3", "\tTabbed", "plain"]
FORMULA = "=+-@\t\r"


def guarded(s):
    """A text cell as the export writes it (OWASP formula prefix)."""
    return "'" + s if s and s[0] in FORMULA else s


def mrc_v2():
    """mrc_visit 2026.12.1: notes dropped, a decimal and an integer that
    may be negative added after age_years."""
    with open("proto/forms/mrc_visit.json") as f:
        form = json.load(f)
    form["version"] = V2
    survey = [r for r in form["survey"] if r.get("name") != "notes"]
    at = [r.get("name") for r in survey].index("age_years") + 1
    survey[at:at] = [{"type": "decimal", "name": "travel_cost",
                      "label": "Travel cost"},
                     {"type": "integer", "name": "net_change",
                      "label": "Change since last visit"}]
    form["survey"] = survey
    return form


def households():
    a = fl.household(name="Amina", members=len(TRICKY))
    for m, name in zip(a["members"], TRICKY):
        m["member_name"] = name
    a["members"][1]["vulnerabilities"] = ["disability", "chronic_illness"]
    a["head_name"] = "=1+1"
    b = fl.household(name=None, members=2)        # no consent: no names
    c = fl.household(name="سارة", members=1)
    c["members"][0]["documentation"] = "passport"
    c["needs"] = ["shelter"]
    return [a, b, c]


def sites():
    a = fl.site_assessment("SITE-001")
    a["location"] = {"latitude": -1.2921, "longitude": 36.8219,
                     "altitude": 1795.5, "accuracy": 4.25}
    a["notes"] = "-3 tents lost, see @coordinator"
    b = fl.site_assessment("SITE-002")
    b["location"] = "12.5 -7.25"
    b["site_name"] = 'Camp "North", block 2'
    c = fl.site_assessment("SITE-003")             # no location
    return [a, b, c]


def mrc_visits_v1():
    a = fl.mrc_visit()
    a["reasons"] = ["contract_review", "recruitment_fees"]
    a["services"] = ["information", "referral"]
    a["referred_to"] = ["legal_aid", "counter_trafficking"]
    a["notes"] = "+ call back; وثائق"
    b = fl.mrc_visit()
    b["notes"] = "line one\r\nline two"
    return [a, b]


def mrc_visits_v2():
    a = fl.mrc_visit()
    a["travel_cost"] = -3.5
    a["net_change"] = -3
    b = fl.mrc_visit()
    b["travel_cost"] = 0.1
    return [a, b]


# Reads an .xlsx with Debian's openpyxl (python3-openpyxl; `python3` on
# PATH may be another interpreter): every sheet's cells, with their types.
XLSX_DUMP = r"""
import json, sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    out[ws.title] = [[{"v": c.value, "t": c.data_type} for c in row]
                     for row in ws.iter_rows()]
print(json.dumps(out))
"""


def read_xlsx(path):
    p = subprocess.run(["/usr/bin/python3", "-c", XLSX_DUMP, path],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def read_csv(path, bom=False):
    with open(path, newline="", encoding="utf-8-sig" if bom else "utf-8") \
            as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


class Export(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = sl.Collector()
        os.makedirs(os.path.join(cls.c.dir, "forms"))
        with open(os.path.join(cls.c.dir, "forms", "mrc_visit.json"),
                  "w") as f:
            json.dump(mrc_v2(), f)
        cls.c.start()
        cls.key = os.path.join(cls.c.dir, "seal.key")
        d = sl.SyncDevice(cls.c, "exp-1")
        for form, recs in (("dtm_household", households()),
                           ("dtm_site_assessment", sites()),
                           ("mrc_visit", mrc_visits_v1())):
            for r in recs:
                d.ctl("submit", form, input=json.dumps(r))
        # the first sync hands the device mrc_visit 2026.12.1
        p = d.sync()
        assert p.returncode == 0, p.stderr
        for r in mrc_visits_v2():
            d.ctl("submit", "mrc_visit", input=json.dumps(r))
        p = d.sync()
        assert p.returncode == 0, p.stderr
        cls.c.stop()
        out = cls.c.ctl("open", "--key", cls.key).stdout
        cls.lines = [l for l in out.split("\n") if l]
        cls.opened = [json.loads(l) for l in cls.lines]
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def outdir(self):
        Export.n += 1
        return os.path.join(self.c.root, "out%d" % Export.n, "export")

    def export(self, form, out, *extra, check=True):
        args = ["export", "--key", self.key, "--form", form, "--out", out]
        return self.c.ctl(*(args + list(extra)), check=check)

    def of(self, form):
        return [r for r in self.opened if r["_form"] == form]

    def assertCell(self, cell, v, what):
        """cell, as the CSV holds it, is the value open printed."""
        if v is None:
            self.assertEqual(cell, "", what)
        elif isinstance(v, bool):
            self.fail("unexpected boolean in " + what)
        elif isinstance(v, int):
            self.assertEqual(cell, str(v), what)
        elif isinstance(v, float):
            self.assertEqual(float(cell), v, what)
            self.assertFalse(cell.startswith("'"), what)
        elif isinstance(v, str):
            self.assertEqual(cell, guarded(v), what)
        elif isinstance(v, list):
            self.assertEqual(cell, guarded(" ".join(v)), what)
        elif isinstance(v, dict):
            nums = [float(x) for x in cell.split(" ")]
            want = [v["latitude"], v["longitude"]]
            if "altitude" in v or "accuracy" in v:
                want.append(v.get("altitude", 0.0))
            if "accuracy" in v:
                want.append(v["accuracy"])
            self.assertEqual(nums, want, what)
        else:
            self.fail("unexpected value in " + what)

    def check_form(self, form, out, repeats=()):
        """Every file of the export against open's records of form."""
        recs = self.of(form)
        self.assertTrue(recs)
        header, rows = read_csv(os.path.join(out, form + ".csv"))
        self.assertEqual(header[:7], ["_id", "_version", "_device", "_seq",
                                      "_created", "_corrected", "_clock"])
        self.assertEqual(len(header), len(set(header)))
        self.assertEqual(len(rows), len(recs))
        for row, rec in zip(rows, recs):
            for k in rec:
                if k == "_form" or k in repeats:
                    continue
                self.assertIn(k, header)
            for col in header:
                self.assertCell(row[col], rec.get(col),
                                "%s seq %s %s" % (form, rec["_seq"], col))
        for rep in repeats:
            self.assertNotIn(rep, header)
            rh, items = read_csv(os.path.join(out, "%s-%s.csv" % (form, rep)))
            self.assertEqual(rh[:2], ["_parent_id", "_index"])
            want = [(r["_id"], i, item) for r in recs
                    for i, item in enumerate(r.get(rep, []), 1)]
            self.assertEqual(len(items), len(want))
            for row, (rid, i, item) in zip(items, want):
                self.assertEqual(row["_parent_id"], rid)
                self.assertEqual(row["_index"], str(i))
                for k in item:
                    self.assertIn(k, rh)
                for col in rh[2:]:
                    self.assertCell(row[col], item.get(col),
                                    "%s[%d].%s" % (rep, i, col))
        with open(os.path.join(out, form + ".jsonl"), encoding="ascii") as f:
            self.assertEqual(f.read().split("\n")[:-1],
                             [l for l, r in zip(self.lines, self.opened)
                              if r["_form"] == form])
        for n in os.listdir(out):
            self.assertFalse(n.endswith(".tmp"), n)
            self.assertEqual(os.stat(os.path.join(out, n)).st_mode & 0o777,
                             0o600, n)
        return header, rows

    def test_analyse_sets_aside_an_unknown_version_then_counts_it(self):
        forms = os.path.join(self.c.dir, "forms")
        aside = os.path.join(self.c.root, "forms-aside")
        os.rename(forms, aside)     # the collector without 2026.12.1
        try:
            out = self.c.ctl("analyse", "--key", self.key).stdout
            self.assertIn("(2 set aside)", out)
            got = json.loads(self.c.ctl(
                "counts", "--form", "mrc_visit", "--format", "json",
                "--key", self.key).stdout)
            self.assertEqual(got["totals"][0]["visits"], 2)
        finally:
            os.rename(aside, forms)
        out = self.c.ctl("analyse", "--key", self.key).stdout
        self.assertIn("analysed 0 records (0 set aside)", out)
        self.assertIn("2 records set aside before are counted now", out)
        got = json.loads(self.c.ctl(
            "counts", "--form", "mrc_visit", "--format", "json", "--key",
            self.key).stdout)
        self.assertEqual(got["totals"][0]["visits"], 4)

    def test_households_and_members(self):
        out = self.outdir()
        p = self.export("dtm_household", out)
        n_members = sum(len(r["members"]) for r in self.of("dtm_household"))
        self.assertEqual(p.stdout.strip(),
                         "exported 3 records of dtm_household (%d members "
                         "rows) to %s" % (n_members, out))
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o700)
        self.assertEqual(sorted(os.listdir(out)), [
            "dtm_household-members.csv", "dtm_household.csv",
            "dtm_household.jsonl"])
        header, rows = self.check_form("dtm_household", out, ("members",))
        # the current version's survey order, repeat group left out
        self.assertEqual(header[7:10], ["site_id", "admin1", "admin2"])
        # the formula prefix is there, and only for text
        self.assertEqual(rows[0]["head_name"], "'=1+1")
        self.assertEqual(rows[0]["phone"], "'+211 912 345 678")
        self.assertEqual(rows[0]["needs"], "food water")
        _, items = read_csv(os.path.join(out, "dtm_household-members.csv"))
        names = [r["member_name"] for r in items[:len(TRICKY)]]
        self.assertEqual(names, [guarded(t) for t in TRICKY])
        self.assertEqual(names[1][:2], "'=")
        self.assertEqual(items[1]["vulnerabilities"],
                         "disability chronic_illness")
        self.assertEqual(items[0]["age_years"], "34")
        self.assertEqual(items[len(TRICKY)]["member_name"], "")
        # RFC 4180 on the bytes: CRLF rows, doubled quotes, no BOM, UTF-8
        raw = slurp(os.path.join(out, "dtm_household-members.csv"))
        self.assertFalse(raw.startswith(b"\xef\xbb\xbf"))
        self.assertTrue(raw.startswith(b"_parent_id,_index,"))
        self.assertIn(b'"Doe, ""Jo""\nsecond line"', raw)
        self.assertIn("أمينة محمد".encode(), raw)
        self.assertTrue(raw.endswith(b"\r\n"))
        self.assertEqual(raw.count(b"\r\n"), len(items) + 1)

    def test_labels_split_bom_french(self):
        """--labels --lang Français --split-multiple --bom: French labels
        for headers and choices, a 0/1 column per choice after the
        select_multiple, and the UTF-8 mark Excel needs, in every CSV."""
        out = self.outdir()
        self.export("dtm_household", out, "--labels", "--lang", "Français",
                    "--split-multiple", "--bom")
        for name in ("dtm_household.csv", "dtm_household-members.csv"):
            raw = slurp(os.path.join(out, name))
            self.assertTrue(raw.startswith(b"\xef\xbb\xbf_"), name)
        self.assertFalse(slurp(os.path.join(out, "dtm_household.jsonl"))
                         .startswith(b"\xef"))
        header, rows = read_csv(os.path.join(out, "dtm_household.csv"),
                                bom=True)
        recs = self.of("dtm_household")
        self.assertEqual(header[:7], ["_id", "_version", "_device", "_seq",
                                      "_created", "_corrected", "_clock"])
        self.assertIn("Identifiant du site", header)
        at = header.index("Besoins")
        self.assertEqual(header[at + 1:at + 4], ["Besoins/Abri",
                                                 "Besoins/Nourriture",
                                                 "Besoins/Eau"])
        self.assertEqual(recs[0]["needs"], ["food", "water"])
        self.assertEqual(rows[0]["Besoins"], "Nourriture; Eau")
        self.assertEqual((rows[0]["Besoins/Abri"],
                          rows[0]["Besoins/Nourriture"],
                          rows[0]["Besoins/Eau"]), ("0", "1", "1"))
        self.assertEqual(rows[2]["Besoins/Abri"], "1")
        # text stays as it was, the formula prefix too
        self.assertEqual(rows[0]["Nom du chef de ménage"], "'=1+1")
        mh, items = read_csv(os.path.join(out, "dtm_household-members.csv"),
                             bom=True)
        self.assertEqual(mh[:2], ["_parent_id", "_index"])
        self.assertEqual(items[0]["_parent_id"], recs[0]["_id"])
        want = {"female": "Femme", "male": "Homme"}
        self.assertEqual([r["Sexe"] for r in items],
                         [want[m["sex"]] for r in recs
                          for m in r["members"]])
        self.assertEqual(items[1]["Vulnérabilités"],
                         "Handicap; Maladie chronique")
        self.assertEqual((items[1]["Vulnérabilités/Handicap"],
                          items[1]["Vulnérabilités/Enceinte ou allaitante"]),
                         ("1", "0"))
        self.assertEqual(items[0]["Vulnérabilités/Handicap"], "")
        self.assertEqual(items[0]["Nom"], "'" + TRICKY[0]
                         if TRICKY[0][0] in FORMULA else TRICKY[0])
        self.assertEqual(items[0]["Âge en années"], "34")

    def test_codes_split_arabic_default(self):
        """Codes (the default) with --split-multiple: field/choice columns,
        every other cell as before; --labels --lang العربية: Arabic."""
        out = self.outdir()
        self.export("mrc_visit", out, "--split-multiple")
        header, rows = read_csv(os.path.join(out, "mrc_visit.csv"))
        at = header.index("reasons")
        self.assertEqual(header[at + 1], "reasons/safe_migration_info")
        self.assertEqual(rows[0]["reasons"],
                         "contract_review recruitment_fees")
        self.assertEqual(rows[0]["reasons/contract_review"], "1")
        self.assertEqual(rows[0]["reasons/complaint"], "0")
        self.assertFalse(slurp(os.path.join(out, "mrc_visit.csv"))
                         .startswith(b"\xef\xbb\xbf"))
        out = self.outdir()
        self.export("mrc_visit", out, "--labels", "--lang", "العربية")
        header, rows = read_csv(os.path.join(out, "mrc_visit.csv"))
        self.assertIn("أسباب الزيارة", header)
        self.assertEqual(rows[0]["أسباب الزيارة"],
                         "مراجعة العقد; رسوم التوظيف")
        self.assertEqual(rows[0]["الجنس"], "أنثى")
        # a field with no Arabic label: the default language's
        self.assertIn("Travel cost", header)

    def test_labels_bad_options(self):
        out = self.outdir()
        p = self.export("mrc_visit", out, "--labels", "--lang", "Deutsch",
                        check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--lang Deutsch: form mrc_visit has no labels in it; "
                      "it has:", p.stderr)
        self.assertIn("Français", p.stderr)
        self.assertFalse(os.path.exists(out))
        p = self.export("mrc_visit", out, "--lang", "Français", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--lang is the language of --labels", p.stderr)
        p = self.export("mrc_visit", out, "--xlsx", "--bom", check=False)
        self.assertEqual(p.returncode, 2)

    def test_xlsx(self):
        """--xlsx: one workbook, a sheet for the records and one per
        repeat group linked by _parent_id, numbers as numbers, text
        never a formula; labels in Arabic and French read back."""
        out = self.outdir()
        p = self.export("dtm_household", out, "--xlsx", "--labels",
                        "--lang", "Français", "--split-multiple")
        self.assertIn("exported 3 records of dtm_household", p.stdout)
        self.assertEqual(sorted(os.listdir(out)), [
            "dtm_household.jsonl", "dtm_household.xlsx"])
        for n in os.listdir(out):
            self.assertEqual(os.stat(os.path.join(out, n)).st_mode & 0o777,
                             0o600, n)
        wb = read_xlsx(os.path.join(out, "dtm_household.xlsx"))
        self.assertEqual(list(wb), ["dtm_household", "members"])
        recs = self.of("dtm_household")
        main, members = wb["dtm_household"], wb["members"]
        head = [c["v"] for c in main[0]]
        self.assertEqual(len(main), 1 + len(recs))
        self.assertEqual(head[:2], ["_id", "_version"])
        rows = [{h: c for h, c in zip(head, r)} for r in main[1:]]
        self.assertEqual([r["_id"]["v"] for r in rows],
                         [r["_id"] for r in recs])
        self.assertEqual(rows[0]["Besoins"]["v"], "Nourriture; Eau")
        self.assertEqual(rows[0]["Besoins/Eau"], {"v": 1, "t": "n"})
        # a text that looks like a formula is a string, unprefixed
        self.assertEqual(rows[0]["Nom du chef de ménage"],
                         {"v": "=1+1", "t": "s"})
        mhead = [c["v"] for c in members[0]]
        self.assertEqual(mhead[:2], ["_parent_id", "_index"])
        items = [{h: c for h, c in zip(mhead, r)} for r in members[1:]]
        want = [(r["_id"], i, m) for r in recs
                for i, m in enumerate(r["members"], 1)]
        self.assertEqual(len(items), len(want))
        for it, (rid, i, m) in zip(items, want):
            self.assertEqual(it["_parent_id"]["v"], rid)
            self.assertEqual(it["_index"], {"v": i, "t": "n"})
            self.assertEqual(it["Âge en années"],
                             {"v": m["age_years"], "t": "n"})
        # text round-trips as it is: Arabic, quotes, line breaks, no prefix
        self.assertEqual([it["Nom"]["v"] for it in items[:len(TRICKY)]],
                         TRICKY)
        # Arabic labels, codes when asked for none
        out = self.outdir()
        self.export("mrc_visit", out, "--xlsx", "--labels", "--lang",
                    "العربية")
        wb = read_xlsx(os.path.join(out, "mrc_visit.xlsx"))
        head = [c["v"] for c in wb["mrc_visit"][0]]
        row = dict(zip(head, wb["mrc_visit"][1]))
        self.assertEqual(row["أسباب الزيارة"]["v"],
                         "مراجعة العقد; رسوم التوظيف")
        self.assertEqual(row["العمر بالسنوات"]["t"], "n")

    def test_sites_geopoints(self):
        out = self.outdir()
        p = self.export("dtm_site_assessment", out)
        self.assertEqual(p.stdout.strip(), "exported 3 records of "
                         "dtm_site_assessment to %s" % out)
        self.assertEqual(sorted(os.listdir(out)), [
            "dtm_site_assessment.csv", "dtm_site_assessment.jsonl"])
        _, rows = self.check_form("dtm_site_assessment", out)
        self.assertEqual(rows[0]["location"], "-1.2921 36.8219 1795.5 4.25")
        self.assertEqual(rows[1]["location"], "12.5 -7.25")
        self.assertEqual(rows[2]["location"], "")
        self.assertEqual(rows[0]["notes"], "'-3 tents lost, see @coordinator")
        self.assertEqual(rows[1]["site_name"], 'Camp "North", block 2')
        self.assertEqual(rows[0]["population_individuals"], "540")
        self.assertEqual(rows[0]["_clock"], "trusted")

    def test_two_versions(self):
        out = self.outdir()
        p = self.export("mrc_visit", out)
        self.assertIn("exported 4 records of mrc_visit to", p.stdout)
        header, rows = self.check_form("mrc_visit", out)
        self.assertEqual([r["_version"] for r in rows], [V1, V1, V2, V2])
        # the current version's order, then what only the older one had
        fields = [r["name"] for r in mrc_v2()["survey"]]
        self.assertEqual(header[7:], fields + ["notes"])
        self.assertEqual(rows[0]["reasons"],
                         "contract_review recruitment_fees")
        self.assertEqual(rows[0]["referred_to"],
                         "legal_aid counter_trafficking")
        self.assertEqual(rows[0]["notes"], "'+ call back; وثائق")
        self.assertEqual(rows[1]["notes"], "line one\r\nline two")
        self.assertEqual(rows[0]["travel_cost"], "")
        # negative numbers are numbers: no prefix
        self.assertEqual(rows[2]["travel_cost"], "-3.5")
        self.assertEqual(rows[2]["net_change"], "-3")
        self.assertEqual(rows[3]["travel_cost"], "0.1")
        self.assertEqual(rows[3]["notes"], "")

    def test_again_replaces(self):
        out = self.outdir()
        os.makedirs(out, mode=0o755)
        with open(os.path.join(out, "mrc_visit.csv"), "w") as f:
            f.write("stale\n")
        os.chmod(os.path.join(out, "mrc_visit.csv"), 0o644)
        self.export("mrc_visit", out)
        self.export("mrc_visit", out)
        self.check_form("mrc_visit", out)
        # a folder that existed keeps its mode; the files are 0600
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o755)

    def test_failures_leave_nothing(self):
        # a complete earlier export stays as it was through every failure
        keep = self.outdir()
        self.export("dtm_household", keep)
        before = {n: slurp(os.path.join(keep, n)) for n in os.listdir(keep)}
        other = os.path.join(self.c.root, "other-keys")
        fl.run("collectctl", "keygen", other)
        wrong = os.path.join(other, "seal.key")
        loose = os.path.join(self.c.root, "loose.key")
        shutil.copy(self.key, loose)
        os.chmod(loose, 0o644)
        afile = os.path.join(self.c.root, "a-file")
        with open(afile, "w"):
            pass
        cases = [
            # (args, exit code, what stderr must say)
            (["--key", self.key, "--form", "dtm_nothing", "--out", keep], 1,
             ['unknown form "dtm_nothing"', "dtm_household", "mrc_visit"]),
            (["--key", wrong, "--form", "dtm_household", "--out", keep], 1,
             ["device exp-1 seq 1: cannot open (wrong key",
              "3 records of dtm_household did not open; nothing written"]),
            (["--form", "dtm_household", "--out", keep], 2,
             ["--key FILE is required"]),
            (["--key", os.path.join(other, "nokey"), "--form",
              "dtm_household", "--out", keep], 1,
             ["--key: %s: No such file" % os.path.join(other, "nokey")]),
            (["--key", loose, "--form", "dtm_household", "--out", keep], 1,
             ["readable by others"]),
            (["--key", self.key, "--form", "dtm_household"], 2,
             ["--out DIR is required"]),
            (["--key", self.key, "--out", keep], 2,
             ["--form F is required"]),
        ]
        for args, code, says in cases:
            p = self.c.ctl("export", *args, check=False)
            self.assertEqual(p.returncode, code, args)
            self.assertEqual(p.stdout, "", args)
            for s in says:
                self.assertIn(s, p.stderr, args)
            # never a record's content
            for t in ("Amina", "Doe", "HYPERLINK", "SITE-00"):
                self.assertNotIn(t, p.stderr, args)
            self.assertEqual({n: slurp(os.path.join(keep, n))
                              for n in os.listdir(keep)}, before, args)
        # new folders are not left behind either (outdir is two deep)
        new = self.outdir()
        p = self.c.ctl("export", "--key", wrong, "--form", "dtm_household",
                       "--out", new, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertFalse(os.path.exists(os.path.dirname(new)))
        p = self.export("dtm_nothing", new, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertFalse(os.path.exists(os.path.dirname(new)))
        # an output that is not a folder, or cannot be one
        for bad in (afile, os.path.join(afile, "sub")):
            p = self.export("mrc_visit", bad, check=False)
            self.assertEqual(p.returncode, 1, bad)
            self.assertIn("--out %s" % bad, p.stderr)
        self.assertEqual(os.path.getsize(afile), 0)
        if os.geteuid() != 0:          # root writes anywhere
            ro = self.outdir()
            os.makedirs(ro)
            os.chmod(ro, 0o500)
            p = self.export("mrc_visit", ro, check=False)
            os.chmod(ro, 0o700)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot write in %s" % ro, p.stderr)
            self.assertEqual(os.listdir(ro), [])

    def test_form_without_records(self):
        # a collector whose records are all of other forms: headers only,
        # from the current version
        c = sl.Collector()
        try:
            out = os.path.join(c.root, "out")
            p = c.ctl("export", "--key", os.path.join(c.dir, "seal.key"),
                      "--form", "dtm_household", "--out", out)
            self.assertEqual(p.stdout.strip(), "exported 0 records of "
                             "dtm_household (0 members rows) to %s" % out)
            header, rows = read_csv(os.path.join(out, "dtm_household.csv"))
            self.assertEqual(rows, [])
            self.assertIn("head_name", header)
            self.assertNotIn("members", header)
            mh, _ = read_csv(os.path.join(out,
                                          "dtm_household-members.csv"))
            self.assertEqual(mh[:3], ["_parent_id", "_index", "member_name"])
            with open(os.path.join(out, "dtm_household.jsonl")) as f:
                self.assertEqual(f.read(), "")
        finally:
            c.cleanup()


if __name__ == "__main__":
    fl.main()
