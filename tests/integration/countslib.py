"""Datasets for the counts tests: random valid records of the three shipped
forms, imported on a device as CSV and synced to a collector, and the
brute-force counts computed from the opened records to compare with."""
import csv
import datetime
import json
import os
import random
import uuid
from collections import defaultdict

import fieldlib as fl

FORMS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "proto",
                         "forms")

NEEDS = ["shelter", "food", "water", "sanitation", "health", "education",
         "protection", "livelihoods", "nfi", "documentation"]
VULNS = ["pregnant_lactating", "disability", "chronic_illness",
         "unaccompanied_child", "separated_child", "elderly_alone"]
REASONS = ["safe_migration_info", "job_offer_verification",
           "contract_review", "labour_rights", "recruitment_fees",
           "documentation", "remittances", "financial_literacy", "complaint",
           "return_reintegration", "trafficking_concern", "health",
           "legal_aid", "other"]
SERVICES = ["information", "counselling", "referral", "legal_assistance",
            "document_support", "training", "complaint_filed"]
REFERRALS = ["legal_aid", "health", "shelter", "counter_trafficking",
             "labour_office", "consulate", "ngo"]
STAGES = ["considering", "pre_departure", "in_transit", "at_destination",
          "returned"]
AGES = ["0_4", "5_11", "12_17", "18_59", "60_plus"]


# The columns of a households CSV and of its members CSV, as `fieldctl
# import` takes them (ODK's export shape: KEY and PARENT_KEY).
HH_COLUMNS = ["KEY", "site_id", "admin1", "admin2", "registration_date",
              "consent", "intention", "needs", "shelter_type"]
MEMBER_COLUMNS = ["PARENT_KEY", "KEY", "sex", "age_years", "relationship",
                  "vulnerabilities"]

def form_def(form):
    with open(os.path.join(FORMS_DIR, form + ".json")) as f:
        return json.load(f)


def age_band(form, age):
    for b in form_def(form)["settings"]["age_bands"]:
        if age >= b["min"] and (b.get("max") is None or age <= b["max"]):
            return b["name"]
    return None


def _subset(rng, items, most):
    return rng.sample(items, rng.randint(0, most))


def _site(i):
    return "SITE-%03d" % i, "SS0%d" % (1 + i % 2), "SS0%d0%d" % (
        1 + i % 2, 1 + i % 3)


def generate(root, seed, households=600, assessments_per_site=3, sites=24,
             visits=400, days=70):
    """Writes CSV files for the three forms; returns {form: (csv, repeats)}."""
    rng = random.Random(seed)
    today = datetime.date.today()

    def day():
        return (today - datetime.timedelta(days=rng.randint(1, days))
                ).isoformat()

    files = {}
    hh = os.path.join(root, "hh.csv")
    mem = os.path.join(root, "mem.csv")
    with open(hh, "w", newline="") as h, open(mem, "w", newline="") as m:
        hw, mw = csv.writer(h), csv.writer(m)
        hw.writerow(HH_COLUMNS)
        mw.writerow(MEMBER_COLUMNS)
        for i in range(households):
            rid = "uuid:" + str(uuid.UUID(int=rng.getrandbits(128),
                                          version=4))
            # a few sites get most households, some very few: small cells
            s = int(rng.paretovariate(1.2)) % sites
            site, a1, a2 = _site(s)
            hw.writerow([rid, site, a1, a2, day(), "no",
                         rng.choice(["stay", "return", "relocate", "unknown",
                                     ""]),
                         " ".join(_subset(rng, NEEDS, 3)),
                         rng.choice(["tent", "makeshift", "host_family", ""])])
            for k in range(rng.randint(1, 7)):
                mw.writerow([rid, "%s/members[%d]" % (rid, k + 1),
                             rng.choice(["female", "male"]),
                             rng.choice([rng.randint(0, 17),
                                         rng.randint(18, 59),
                                         rng.randint(60, 95)]),
                             "head" if k == 0 else "child",
                             " ".join(_subset(rng, VULNS, 2))])
    files["dtm_household"] = (hh, {"members": mem})
    sa = os.path.join(root, "sa.csv")
    with open(sa, "w", newline="") as f:
        w = csv.writer(f)
        cells = ["%s_%s" % (s, a) for s in ("females", "males") for a in AGES]
        w.writerow(["KEY", "site_id", "site_name", "site_type", "admin1",
                    "admin2", "assessment_date", "population_households",
                    "population_individuals"] + cells + ["priority_needs"])
        for s in range(sites):
            site, a1, a2 = _site(s)
            stype = rng.choice(["camp", "collective_centre",
                                "spontaneous_settlement", "transit_site"])
            for r in range(rng.randint(1, assessments_per_site)):
                pops = [rng.choice([rng.randint(0, 4), rng.randint(5, 400)])
                        for _ in cells]
                ind = sum(pops) + rng.randint(0, 20)
                w.writerow(["uuid:" + str(uuid.UUID(int=rng.getrandbits(128),
                                                    version=4)),
                            site, "Site %d" % s, stype, a1, a2, day(),
                            rng.randint(0, ind // 3), ind] + pops +
                           [" ".join(_subset(rng, NEEDS, 3))])
    files["dtm_site_assessment"] = (sa, {})
    mv = os.path.join(root, "mrc.csv")
    with open(mv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["KEY", "centre_id", "visit_date", "consent", "sex",
                    "age_years", "nationality", "migration_stage", "reasons",
                    "services", "referred_to"])
        for i in range(visits):
            services = _subset(rng, SERVICES, 3)
            w.writerow(["uuid:" + str(uuid.UUID(int=rng.getrandbits(128),
                                                version=4)),
                        rng.choice(["MRC-KTM", "MRC-DHK", "MRC-MNL"]), day(),
                        "no", rng.choice(["female", "male", "other", ""]),
                        rng.choice([rng.randint(10, 100), ""]),
                        rng.choice(["NPL", "BGD", "PHL", "IND", "LKA", ""]),
                        rng.choice(STAGES + [""]),
                        " ".join(rng.sample(REASONS, rng.randint(1, 3))),
                        " ".join(services),
                        " ".join(_subset(rng, REFERRALS, 2))
                        if "referral" in services else ""])
    files["mrc_visit"] = (mv, {})
    return files


def load(device, files):
    """Imports the CSV files on a SyncDevice."""
    for form, (path, repeats) in files.items():
        args = ["import", form, path]
        for g, p in repeats.items():
            args += ["--repeat", "%s=%s" % (g, p)]
        device.ctl(*args)


# --- brute force -------------------------------------------------------------

def schema(form):
    d = form_def(form)["counts"]
    dims = {d["place"]: {"field": d["place"], "item": False, "multi": False,
                         "band": False}}
    survey = {r["name"]: r for r in form_def(form)["survey"] if "name" in r}
    for x in d["dimensions"]:
        f = x["field"]
        item = "." in f
        leaf = f.split(".")[-1]
        dims[x["name"]] = {"field": leaf, "item": item,
                           "multi": survey[leaf]["type"].startswith(
                               "select_multiple"),
                           "band": "bands" in x}
    return d, dims


def _time(kind, date):
    d = datetime.date.fromisoformat(date)
    if kind == "day":
        return date
    if kind == "month":
        return date[:7]
    y, w, _ = d.isocalendar()
    return "%04d-W%02d" % (y, w)


def _values(form, dims, name, rec, item, date):
    if name in ("day", "week", "month"):
        return [_time(name, date)]
    dm = dims[name]
    src = item if dm["item"] else rec
    v = src.get(dm["field"])
    if dm["band"]:
        return [age_band(form, v)] if isinstance(v, int) else [""]
    if dm["multi"]:
        return list(v) if isinstance(v, list) else []
    if v is None or v == "":
        return [""]
    return [str(v)]


def brute(form, records, by, frm=None, to=None, where=()):
    """{tuple(values or None): {measure: n}} for the cells and totals a
    query shows (query.h), from opened records."""
    decl, dims = schema(form)
    item_level = any(n not in ("day", "week", "month") and dims[n]["item"]
                     for n in list(by) + [w[0] for w in where])
    rows = []
    recs = [r for r in records if r["_form"] == form]
    recs = [r for r in recs if (frm is None or r[decl["date"]] >= frm) and
            (to is None or r[decl["date"]] <= to)]
    if decl.get("latest_by"):
        latest = {}
        for r in recs:      # in arrival order: a later one of a day wins
            p = r[decl["place"]]
            if p not in latest or r[decl["date"]] >= latest[p][
                    decl["date"]]:
                latest[p] = r
        recs = [r for r in recs if latest[r[decl["place"]]] is r]
    measures = []
    for m in decl["measures"]:
        if item_level and m.get("count") in (None, "records"):
            continue
        measures.append(m)
    for r in recs:
        items = r.get("members", []) if item_level else [None]
        for it in items:
            if all(v in _values(form, dims, n, r, it, r[decl["date"]])
                   for n, v in where):
                mv = {}
                for m in measures:
                    if item_level or m.get("count") == "records":
                        mv[m["name"]] = 1
                    elif "count" in m:
                        mv[m["name"]] = len(r.get(m["count"], []))
                    else:
                        mv[m["name"]] = r.get(m["sum"], 0) or 0
                rows.append(([_values(form, dims, n, r, it, r[decl["date"]])
                              for n in by], mv))
    k = len(by)
    shapes = [tuple(range(k)), ()] if k != 2 else [(0, 1), (0,), (1,), ()]
    if k == 0:
        shapes = [()]
    out = defaultdict(lambda: defaultdict(int))
    for vals, mv in rows:
        for shape in shapes:
            combos = [[]]
            for i in range(k):
                opts = vals[i] if i in shape else [None]
                combos = [c + [o] for c in combos for o in opts]
            for c in combos:
                for name, n in mv.items():
                    out[tuple(c)][name] += n
    out[tuple([None] * k)]   # the grand total is always there
    return {key: dict(v) for key, v in out.items()}, [m["name"]
                                                      for m in measures]


def result_map(res):
    """{tuple(values or None): {measure: value or None}} from /counts JSON."""
    by = res["by"]
    out = {}
    for r in res["rows"] + res["totals"]:
        out[tuple(r[b] for b in by)] = {m: r[m] for m in res["measures"]}
    return out
