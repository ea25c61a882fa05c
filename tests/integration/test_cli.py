"""fieldctl and collectctl end to end: init, submit, import, counts,
status, users, the free-space floor, a damaged database, and that the
device's programs cannot open what they seal."""
import json
import os
import subprocess
import unittest

import fieldlib as fl


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Cli(unittest.TestCase):

    def setUp(self):
        self.dev = fl.Device()

    def tearDown(self):
        self.dev.cleanup()

    def test_submit_and_duplicate(self):
        rec = fl.household()
        rec["_id"] = "8d6f0e5c-1b2a-4c3d-8e9f-a0b1c2d3e4f5"
        p = self.dev.ctl("submit", "dtm_household", input=json.dumps(rec))
        rid, seq = p.stdout.split()
        self.assertEqual(rid, rec["_id"])
        self.assertEqual(seq, "1")
        p = self.dev.ctl("submit", "dtm_household", input=json.dumps(rec))
        self.assertEqual(p.stdout.split(), [rid, "1", "duplicate"])
        path = os.path.join(self.dev.root, "visit.json")
        write(path, json.dumps(fl.mrc_visit()))
        p = self.dev.ctl("submit", "mrc_visit", path)
        self.assertEqual(p.stdout.split()[1], "2")
        self.assertEqual(self.dev.status()["records"], 2)

    def test_submit_refused_lists_errors(self):
        rec = fl.mrc_visit()
        rec["age_years"] = 5
        rec["reasons"] = []
        rec["nationality"] = "ethiopia"
        p = self.dev.ctl("submit", "mrc_visit", input=json.dumps(rec),
                         check=False)
        self.assertEqual(p.returncode, 1)
        for path in ("age_years", "reasons", "nationality"):
            self.assertIn("mrc_visit version", p.stderr)
            self.assertIn(path + ":", p.stderr)
        self.assertEqual(p.stdout, "")
        p = self.dev.ctl("submit", "nope", input="{}", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown form nope", p.stderr)
        p = self.dev.ctl("submit", "mrc_visit", input="{oops", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("malformed JSON at line 1", p.stderr)
        self.assertEqual(self.dev.status()["records"], 0)

    def households_csv(self, bad=False):
        d = self.dev.root
        hh = os.path.join(d, "households.csv")
        mem = os.path.join(d, "members.csv")
        date = fl.today(-1)
        rows = ["KEY,site_id,admin1,admin2,registration_date,consent,"
                "head_name,phone,intention,needs,SubmissionDate"]
        rows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b61,SITE-001,SS01,SS0101,%s,no,,,stay,"
                    "food water,2026-11-20" % date)
        rows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b62,SITE-002,SS01,SS0102,%s,yes,Test Person,"
                    "+211 912 000 111,return,,2026-11-20" % date)
        if bad:
            rows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b63,SITE-003,SS01,SS0101,%s,maybe,,,stay,,"
                        "2026-11-20" % fl.today(5))
        write(hh, "\r\n".join(rows) + "\r\n")
        mrows = ["PARENT_KEY,KEY,sex,age_years,relationship,member_name"]
        mrows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b61,uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b61/members[1],female,30,head,")
        mrows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b61,uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b61/members[2],male,4,child,")
        mrows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b62,uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b62/members[1],male,%s,head,Test Person"
                     % ("200" if bad else "41"))
        if bad:
            mrows.append("uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b63,uuid:6b1c2a4e-0f3d-4e5a-9b7c-1d2e3f4a5b63/members[1],male,20,head,")
        write(mem, "\n".join(mrows) + "\n")
        return hh, mem

    def test_import_all_or_nothing(self):
        hh, mem = self.households_csv(bad=True)
        p = self.dev.ctl("import", "dtm_household", hh, "--repeat",
                         "members=" + mem, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("line 3: form dtm_household", p.stderr)   # age 200
        self.assertIn("members[1].age_years", p.stderr)
        self.assertIn("line 4: ", p.stderr)                     # consent
        self.assertIn("consent", p.stderr)
        self.assertIn("registration_date", p.stderr)
        self.assertIn("nothing imported", p.stderr)
        self.assertEqual(self.dev.status()["records"], 0)

        hh, mem = self.households_csv()
        p = self.dev.ctl("import", "dtm_household", hh, "--repeat",
                         "members=" + mem)
        self.assertIn("imported 2 records", p.stdout)
        opened = self.dev.open_records()
        self.assertEqual(len(opened), 2)
        first = [r for r in opened if r["site_id"] == "SITE-001"][0]
        self.assertEqual(first["needs"], ["food", "water"])
        self.assertEqual([m["age_years"] for m in first["members"]], [30, 4])
        # Importing the same file again stores nothing new.
        p = self.dev.ctl("import", "dtm_household", hh, "--repeat",
                         "members=" + mem)
        self.assertIn("imported 0 records", p.stdout)
        self.assertEqual(self.dev.status()["records"], 2)
        counts = json.loads(self.dev.ctl("counts", "--json").stdout)
        ind = sum(c["n"] for c in counts["counts"]
                  if c["form"] == "dtm_household" and c["dim"] == ""
                  and c["measure"] == "individuals")
        self.assertEqual(ind, 3)
        csv = self.dev.ctl("counts", "--csv").stdout.splitlines()
        self.assertEqual(csv[0], "form,day,place,dim,value,measure,n")
        self.assertGreater(len(csv), 5)

    def test_users(self):
        tok = self.dev.ctl("user", "add", "enumerator-2").stdout.strip()
        self.assertEqual(len(tok), 43)
        p = self.dev.ctl("user", "add", "enumerator-2", check=False)
        self.assertEqual(p.returncode, 1)
        self.dev.start()
        st, _, _ = self.dev.request("GET", "/api/status", token=tok)
        self.assertEqual(st, 200)
        self.dev.ctl("user", "remove", "enumerator-2")
        st, _, _ = self.dev.request("GET", "/api/status", token=tok)
        self.assertEqual(st, 401)
        p = self.dev.ctl("user", "remove", "enumerator-2", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.dev.stop(), 0)

    def test_free_space_floor(self):
        write(os.path.join(self.dev.dir, "fieldd.conf"),
              "free_space_floor_mb = 1048576\n")
        p = self.dev.ctl("submit", "mrc_visit",
                         input=json.dumps(fl.mrc_visit()), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("storage low", p.stderr)
        self.dev.start()
        st, data, _ = self.dev.submit("mrc_visit", fl.mrc_visit())
        self.assertEqual(st, 507, data)
        self.assertIn("below the floor", data["error"])
        self.assertEqual(self.dev.status()["records"], 0)
        self.assertIn("new records refused", self.dev.ctl("status").stdout)
        self.assertEqual(self.dev.stop(), 0)

    def test_damaged_database_refused(self):
        for _ in range(50):
            self.dev.ctl("submit", "mrc_visit",
                         input=json.dumps(fl.mrc_visit()))
        db = os.path.join(self.dev.dir, "device.db")
        size = os.path.getsize(db)
        self.assertGreater(size, 4 * 4096)
        with open(db, "r+b") as f:
            f.seek(4096 * 2)
            f.write(b"\xa5" * 4096)
        p = fl.run("fieldd", "-d", self.dev.dir, "--listen", "127.0.0.1:0",
                   check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("damaged", p.stderr)
        p = self.dev.ctl("status", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("damaged", p.stderr)

    def test_device_cannot_open_records(self):
        for prog in ("fieldd", "fieldctl"):
            syms = subprocess.run(["nm", os.path.join(fl.BIN, prog)],
                                  capture_output=True, text=True).stdout
            self.assertNotIn("seal_open", syms, prog)
            self.assertIn("seal_record", syms, prog)
        syms = subprocess.run(["nm", os.path.join(fl.BIN, "collectctl")],
                              capture_output=True, text=True).stdout
        self.assertIn("seal_open", syms)

    def test_wrong_key_and_refusals(self):
        self.dev.ctl("submit", "mrc_visit", input=json.dumps(fl.mrc_visit()))
        other = os.path.join(self.dev.root, "other")
        fl.run("collectctl", "keygen", other)
        p = fl.run("collectctl", "open", "--key",
                   os.path.join(other, "seal.key"),
                   os.path.join(self.dev.dir, "device.db"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot open", p.stderr)
        self.assertEqual(p.stdout, "")
        p = fl.run("collectctl", "keygen", other, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refusing", p.stderr)
        p = self.dev.ctl("init", "--collector-key",
                         os.path.join(other, "seal.pub"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a device", p.stderr)
        self.assertEqual(os.stat(self.dev.dir).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(self.dev.cdir, "seal.key"))
                         .st_mode & 0o777, 0o600)


if __name__ == "__main__":
    fl.main()
