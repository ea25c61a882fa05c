#!/usr/bin/env python3
"""A stand-in for collectord's coordinator HTTP, for working on the page
(web/coord) without a collector:

    python3 tests/browser/stub_server.py [--port 8099] [--token T]

It serves web/coord/* at / and GET /forms and /counts in collectord's
contract, computed from a small made-up data set with simple suppression
(primary cells under the threshold, and one more cell in a line that has
just one).  It is not the real thing: the test (test_coord_page.py) runs
against collectord.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "web", "coord")
THRESHOLD = 5
AGES = [(0, 4, "0-4"), (5, 11, "5-11"), (12, 17, "12-17"), (18, 59, "18-59"),
        (60, 200, "60+")]
NEEDS = ["shelter", "food", "water", "sanitation", "health", "education",
         "protection", "livelihoods", "nfi", "documentation"]
CELLS = ["%ss_%s" % (s, a) for s in ("female", "male")
         for a in ("0_4", "5_11", "12_17", "18_59", "60_plus")]

FORMS = [
    {"id": "dtm_household", "title": "DTM household registration",
     "place": "site_id", "date": "registration_date", "latest_by": None,
     "dims": ["admin1", "admin2", "site_id", "day", "week", "month", "sex",
              "age_band", "vulnerability", "intention", "need",
              "shelter_type"],
     "item_dims": ["sex", "age_band", "vulnerability"],
     "measures": [{"name": "households", "suppress": True},
                  {"name": "individuals", "suppress": True}]},
    {"id": "dtm_site_assessment", "title": "DTM site assessment",
     "place": "site_id", "date": "assessment_date", "latest_by": "site_id",
     "dims": ["admin1", "admin2", "site_id", "day", "week", "month",
              "site_type", "displacement_reason", "need"],
     "item_dims": [],
     "measures": [{"name": n, "suppress": True} for n in
                  ["sites", "households", "individuals"] + CELLS +
                  ["arrivals_last_7_days", "departures_last_7_days"]]},
    {"id": "mrc_visit", "title": "Migrant resource centre visit",
     "place": "centre_id", "date": "visit_date", "latest_by": None,
     "dims": ["centre_id", "day", "week", "month", "sex", "age_band",
              "nationality", "migration_stage", "visit_mode", "reason",
              "service", "referral"],
     "item_dims": [],
     "measures": [{"name": "visits", "suppress": True}]},
]


def band(age):
    for lo, hi, name in AGES:
        if lo <= age <= hi:
            return name
    return ""


def make_data(seed=7):
    rnd = random.Random(seed)
    day0 = datetime.date(2026, 9, 1)
    hh = []
    for i in range(400):
        site = "SITE-%03d" % (1 + min(int(rnd.expovariate(0.5)), 7))
        d = day0 + datetime.timedelta(days=rnd.randrange(90))
        members = [{"sex": rnd.choice(["female", "male"]),
                    "age_band": band(rnd.choice([1, 3, 7, 9, 14, 25, 33, 41,
                                                 52, 67]))}
                   for _ in range(rnd.randint(1, 6))]
        hh.append({"site_id": site, "admin1": "SS01", "admin2": "SS0101",
                   "date": d, "intention": rnd.choice(["stay", "return"]),
                   "need": rnd.sample(NEEDS[:6], 2), "members": members,
                   "shelter_type": "tent"})
    sa = []
    for s in range(1, 6):
        for rnd_no in range(2):
            rec = {"site_id": "SITE-%03d" % s, "admin1": "SS01",
                   "admin2": "SS0101", "site_type": "camp",
                   "displacement_reason": "conflict",
                   "date": day0 + datetime.timedelta(days=30 * rnd_no + s),
                   "need": rnd.sample(NEEDS, 3)}
            cells = {c: rnd.randint(0, 60) for c in CELLS}
            if s == 5:
                cells["males_60_plus"] = 2
            rec.update(cells)
            rec["individuals"] = sum(cells.values()) + 3
            rec["households"] = rec["individuals"] // 4
            rec["arrivals_last_7_days"] = rnd.randint(0, 20)
            rec["departures_last_7_days"] = rnd.randint(0, 5)
            sa.append(rec)
    mrc = []
    reasons = ["safe_migration_info", "contract_review", "recruitment_fees",
               "trafficking_concern", "remittances"]
    for i in range(120):
        mrc.append({"centre_id": "MRC-01",
                    "date": day0 + datetime.timedelta(days=rnd.randrange(90)),
                    "sex": rnd.choice(["female", "male"]),
                    "age_band": band(rnd.randint(16, 60)),
                    "nationality": "ETH",
                    "migration_stage": rnd.choice(
                        ["considering", "pre_departure", "returned"] * 3 +
                        ["in_transit"]),
                    "reason": rnd.sample(reasons, 1 + (i % 2)),
                    "service": ["information"], "referral": []})
    return {"dtm_household": hh, "dtm_site_assessment": sa, "mrc_visit": mrc}


def time_dim(d, dim):
    if dim == "day":
        return d.isoformat()
    if dim == "month":
        return d.strftime("%Y-%m")
    y, w, _ = d.isocalendar()
    return "%d-W%02d" % (y, w)


def values(unit, dim):
    v = unit["date"] if dim in ("day", "week", "month") else unit.get(dim, "")
    if dim in ("day", "week", "month"):
        return [time_dim(v, dim)]
    return v if isinstance(v, list) else [v]


def counts(data, q):
    form = next(f for f in FORMS if f["id"] == q["form"])
    by = q["by"]
    item = any(d in form["item_dims"] for d in by)
    recs = [r for r in data[form["id"]]
            if (not q["from"] or r["date"].isoformat() >= q["from"])
            and (not q["to"] or r["date"].isoformat() <= q["to"])
            and all(v in values(r, d) for d, v in q["where"].items())]
    if form["latest_by"]:
        latest = {}
        for r in recs:
            k = r[form["latest_by"]]
            if k not in latest or r["date"] >= latest[k]["date"]:
                latest[k] = r
        recs = list(latest.values())
    if form["id"] == "dtm_household":
        measures = ["individuals"] if item else ["households", "individuals"]
        units = ([dict(r, **m) for r in recs for m in r["members"]] if item
                 else recs)

        def val(u, m):
            return 1 if (m == "households" or item) else len(u["members"])
    elif form["id"] == "mrc_visit":
        measures, units = ["visits"], recs

        def val(u, m):
            return 1
    else:
        measures = [m["name"] for m in form["measures"]]
        units = recs

        def val(u, m):
            return 1 if m == "sites" else u[m]
    # entries: coordinate tuple (None = total) -> {measure: value}
    table = {}

    def add(key, u):
        t = table.setdefault(key, {m: 0 for m in measures})
        for m in measures:
            t[m] += val(u, m)
    for u in units:
        combos = [()]
        for d in by:
            combos = [c + (v,) for c in combos for v in values(u, d)]
        for c in combos:
            add(c, u)
        seen = set()
        for c in combos:
            for mask in range(1, 2 ** len(by)):
                if len(by) > 2 and mask != 2 ** len(by) - 1:
                    continue
                k = tuple(None if mask >> i & 1 else c[i]
                          for i in range(len(by)))
                if k not in seen:
                    seen.add(k)
                    add(k, u)
    if not by:
        table.setdefault((), {m: 0 for m in measures})
    cells = sorted(k for k in table if None not in k)
    totals = sorted((k for k in table if None in k),
                    key=lambda k: (sum(x is None for x in k),
                                   [x or "" for x in k]))
    sup = {}
    for k, t in table.items():
        for m in measures:
            if 0 < t[m] < THRESHOLD:
                sup[(k, m)] = "under the threshold"
    # secondary, simply: a line (cells sharing all coords but one) with a
    # single suppressed entry gets its smallest other entry suppressed
    for m in measures:
        changed = True
        while changed:
            changed = False
            for i in range(len(by)):
                lines = {}
                for k in table:
                    if k[i] is None and len(by) == 1:
                        lines.setdefault((), []).append(k)
                    elif k[i] is not None:
                        lines.setdefault(k[:i] + k[i + 1:], []).append(k)
                for ks in lines.values():
                    s = [k for k in ks if (k, m) in sup]
                    if len(s) == 1:
                        rest = sorted((k for k in ks if (k, m) not in sup),
                                      key=lambda k: table[k][m])
                        if rest:
                            sup[(rest[0], m)] = \
                                "protects a cell under the threshold"
                            changed = True

    def row(k):
        r = {d: k[i] for i, d in enumerate(by)}
        why = {}
        for m in measures:
            if (k, m) in sup:
                r[m] = None
                why[m] = sup[(k, m)]
            else:
                r[m] = table[k][m]
        if why:
            r["_suppressed"] = why
        return r
    return {"form": form["id"], "by": by, "from": q["from"] or None,
            "to": q["to"] or None, "where": q["where"], "measures": measures,
            "threshold": THRESHOLD, "suppressed": len(sup),
            "rows": [row(k) for k in cells] if by else [],
            "totals": [row(k) for k in totals] if by else [row(())],
            "generation": 12}


def as_csv(res):
    cols = res["by"] + res["measures"]
    out = [",".join(cols)]
    for r in res["rows"] + res["totals"]:
        out.append(",".join("" if r[c] is None else str(r[c]) for c in cols))
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    token = "coord-token"
    data = None

    def send(self, code, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
        if code == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; "
                         "style-src 'self'; script-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        static = {"/": "index.html", "/coord.js": "coord.js",
                  "/coord.css": "coord.css"}
        if u.path in static:
            name = static[u.path]
            ctype = {"html": "text/html; charset=utf-8",
                     "js": "text/javascript", "css": "text/css"}[
                         name.rsplit(".", 1)[1]]
            with open(os.path.join(WEB, name), "rb") as f:
                return self.send(200, f.read(), ctype)
        if self.headers.get("Authorization") != "Bearer " + self.token:
            return self.send(401, {"error": "a coordinator token is needed"})
        if u.path == "/forms":
            return self.send(200, {"forms": FORMS, "threshold": THRESHOLD,
                                   "generation": 12})
        if u.path != "/counts":
            return self.send(404, {"error": "no such path"})
        qs = urllib.parse.parse_qs(u.query)
        q = {"form": qs.get("form", [""])[0],
             "by": [d for d in qs.get("by", [""])[0].split(",") if d],
             "from": qs.get("from", [""])[0], "to": qs.get("to", [""])[0],
             "where": dict(w.split(":", 1) for w in qs.get("where", []))}
        form = next((f for f in FORMS if f["id"] == q["form"]), None)
        if form is None:
            return self.send(400, {"error": "form: no such form"})
        for d in q["by"]:
            if d not in form["dims"]:
                return self.send(400, {"error": "by: no dimension " + d})
        res = counts(self.data, q)
        fmt = qs.get("format", ["json"])[0]
        if fmt in ("csv", "hxl"):
            return self.send(200, as_csv(res), "text/csv")
        return self.send(200, res)

    def log_message(self, *a):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--token", default="coord-token")
    a = p.parse_args()
    Handler.token = a.token
    Handler.data = make_data()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("http listening on 127.0.0.1:%d" % srv.server_address[1],
          flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
