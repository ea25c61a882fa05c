"""One set of record rules: the web app's rules (web/field/rules.js
running the board's C compiled to web/field/rules.wasm) say what fieldd
says.

  - rules.wasm was made from the C as it is now (the hash of its sources
    is the one web/wasm/sources_hash.sh gives: `make wasm` after changing
    the forms core);
  - tests/rules/rules_test.js runs the module over tests/rules/cases.json,
    whose verdicts tests/unit/test_rules_shared.c holds form_validate to,
    and checks the calls the page makes (state, choices);
  - every shipped form in proto/forms parses in rules.js, with the
    daemon's id and version;
  - against a real fieldd: the definitions GET /api/forms/ID serves parse
    in rules.js, and every record of the cases on shipped forms, POSTed to
    /api/records/ID, gets the answer rules.js predicts from the served
    definition: 201 or 200 when it finds no error, else 422 with exactly
    its errors (path and reason, in order) and more_errors.

Needs node (>= 20); without it the test fails, it is not skipped.
"""
import datetime
import json
import os
import shutil
import subprocess
import unittest

import fieldlib as fl

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "web", "field", "rules.js")
CASES = os.path.join(ROOT, "tests", "rules", "cases.json")
FORMS = os.path.join(ROOT, "proto", "forms")
NODE = shutil.which("node") or "/usr/bin/node"

# Reads {"defs": {id: JSON text}, "items": [{form, record (JSON text),
# today}]} on stdin; prints, per item, rules.js's errors and dropped count
# (or the error it throws), one JSON array.
VERDICTS_JS = r"""
const R = require(process.argv[1]);
R.loadSync(require('fs').readFileSync(process.argv[1].replace(/js$/, 'wasm')));
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const forms = {};
for (const id of Object.keys(input.defs))
	forms[id] = R.parse(input.defs[id]);
const out = input.items.map((it) => {
	try {
		const e = R.validate(forms[it.form], it.record, it.today);
		return { errors: e.map((x) => [x.path, x.reason]),
		    dropped: e.dropped };
	} catch (x) {
		return { thrown: x.message };
	}
});
process.stdout.write(JSON.stringify(out));
"""

# Parses each file named on the command line; prints [id, version] per
# file, or the error.
PARSE_JS = r"""
const R = require(process.argv[1]);
const fs = require('fs');
R.loadSync(fs.readFileSync(process.argv[1].replace(/js$/, 'wasm')));
const out = process.argv.slice(2).map((f) => {
	try {
		const form = R.parse(fs.readFileSync(f, 'utf8'));
		return [form.id, form.version];
	} catch (e) {
		return { error: f + ': ' + e.message };
	}
});
process.stdout.write(JSON.stringify(out));
"""

SOURCES_JS = r"""
const R = require(process.argv[1]);
R.loadSync(require('fs').readFileSync(process.argv[1].replace(/js$/, 'wasm')));
process.stdout.write(JSON.stringify(R.sources()));
"""


def node(script, *args, input=None):
    if not os.path.exists(NODE):
        raise AssertionError("node is needed to run web/field/rules.js "
                             "(install nodejs >= 20)")
    p = subprocess.run([NODE, "-e", script, RULES] + list(args),
                       input=input, capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError("node failed (%d):\n%s%s" % (
            p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return json.loads(p.stdout)


def utc_today():
    # fieldd's clock_today: the UTC date
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


class RulesShared(unittest.TestCase):

    def test_rules_js_passes_the_shared_cases(self):
        if not os.path.exists(NODE):
            self.fail("node is needed to run tests/rules/rules_test.js")
        p = subprocess.run([NODE, os.path.join(ROOT, "tests", "rules",
                                               "rules_test.js")],
                           capture_output=True, text=True, timeout=600,
                           cwd=ROOT)
        self.assertEqual(p.returncode, 0, "rules.js disagrees with the "
                         "daemon's rules:\n" + p.stdout[-6000:] +
                         p.stderr[-3000:])
        self.assertIn(" cases, 0 mismatched", p.stdout)
        self.assertIn("API checks: passed", p.stdout)

    def test_every_shipped_form_parses(self):
        files = sorted(os.path.join(FORMS, f) for f in os.listdir(FORMS)
                       if f.endswith(".json"))
        self.assertGreaterEqual(len(files), 3)
        got = node(PARSE_JS, *files)
        for f, g in zip(files, got):
            self.assertIsInstance(g, list, g)
            with open(f, encoding="utf-8") as fp:
                d = json.load(fp)
            self.assertEqual(g, [d["form_id"], d["version"]], f)

    def test_rules_wasm_is_made_from_the_sources(self):
        want = subprocess.run(["sh", os.path.join(ROOT, "web", "wasm",
                                                  "sources_hash.sh")],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
        got = node(SOURCES_JS)
        self.assertEqual(got, want, "web/field/rules.wasm was made from "
                         "other sources than the forms core now: run "
                         "`make wasm` and commit it")


class LiveVerdicts(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dev = fl.Device()
        cls.dev.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.dev.stop()
        cls.dev.cleanup()
        assert rc == 0, "fieldd did not stop cleanly: %r" % rc

    def served_definitions(self):
        st, data, _ = self.dev.request("GET", "/api/forms")
        self.assertEqual(st, 200, data)
        defs = {}
        for f in data["forms"]:
            st, body, _ = self.dev.request("GET", "/api/forms/" +
                                           f["form_id"])
            self.assertEqual(st, 200, body)
            defs[f["form_id"]] = json.dumps(body, ensure_ascii=False)
        self.assertEqual(sorted(defs), ["dtm_household",
                                        "dtm_site_assessment", "mrc_visit"])
        return defs

    def post_all(self, items):
        answers = []
        for it in items:
            st, data, _ = self.dev.request(
                "POST", "/api/records/" + it["form"],
                it["record"].encode("utf-8"),
                headers={"Content-Type": "application/json"})
            answers.append((st, data))
        return answers

    def test_api_answers_what_rules_js_predicts(self):
        with open(CASES, encoding="utf-8") as f:
            cases = json.load(f)
        items = [{"form": c["form"], "name": c["name"],
                  "record": json.dumps(c["record"], ensure_ascii=False)}
                 for c in cases if isinstance(c["form"], str) and
                 isinstance(c.get("record"), dict)]
        self.assertGreater(len(items), 150)
        defs = self.served_definitions()
        for attempt in range(2):
            today = utc_today()
            for it in items:
                it["today"] = today
            want = node(VERDICTS_JS, input=json.dumps(
                {"defs": defs, "items": items}))
            answers = self.post_all(items)
            if utc_today() == today:
                break       # else midnight passed: once more
        compared = 0
        other = []
        for it, w, (st, data) in zip(items, want, answers):
            what = "%s: %s" % (it["name"], it["record"][:200])
            self.assertNotIn("thrown", w, what)
            if st in (200, 201):
                self.assertEqual(w, {"errors": [], "dropped": 0},
                                 what + ": fieldd took it")
            elif st == 422:
                got = {"errors": [[e["path"], e["reason"]]
                                  for e in data["errors"]],
                       "dropped": data["more_errors"]}
                self.assertEqual(w, got, what)
            else:
                # not validated: another version named by _version
                other.append((st, what))
                self.assertEqual(st, 404, what)
                self.assertIn("_version", json.loads(it["record"]), what)
                continue
            compared += 1
        self.assertGreaterEqual(compared, len(items) - 5, other)


if __name__ == "__main__":
    fl.main()
