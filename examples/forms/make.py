#!/usr/bin/python3
"""Makes the shipped forms as XLSForm workbooks (examples/forms/*.xlsx):
the same questions, rules and counts as proto/forms/*.json, in the shape
field teams keep them in Excel, with one change that a deployment needs
and a JSON written by hand could not carry well: places are picked from a
master list with cascading selects (admin1, then the admin2s of that
admin1, then the sites or centres of that admin2) instead of typed
P-codes and ids checked by pattern.

The master list here is a small example (P-codes of South Sudan's
Common Operational Dataset shape, made-up sites).  A deployment replaces
the rows of the lists admin1, admin2 and site (or centre) on the choices
sheet with its own, keeps the filter columns, gives the workbook a new
version, and adds it: collectctl -d CDIR form add dtm_household.xlsx.

Run with Debian's python3-openpyxl: /usr/bin/python3 examples/forms/make.py
(the workbooks are committed; the tests read them as they are)."""
import copy
import datetime
import json
import os

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
FORMS = os.path.join(HERE, "..", "..", "proto", "forms")
VERSION = "2026.12.1"
FIXED = datetime.datetime(2026, 12, 6)

# The example master list: (P-code, English, French) and its parents.
ADMIN1 = [("SS01", "Central Equatoria", "Équatoria-Central"),
          ("SS03", "Jonglei", "Jonglei"),
          ("SS06", "Upper Nile", "Haut-Nil")]
ADMIN2 = [("SS0101", "Juba", "Djouba", "SS01"),
          ("SS0102", "Kajo-keji", "Kajo-keji", "SS01"),
          ("SS0301", "Bor South", "Bor Sud", "SS03"),
          ("SS0601", "Malakal", "Malakal", "SS06")]
SITES = [("SS0101-001", "Mahad", "Mahad", "SS01", "SS0101"),
         ("SS0101-002", "Gurei", "Gurei", "SS01", "SS0101"),
         ("SS0102-001", "Kajo-keji town", "Kajo-keji ville", "SS01",
          "SS0102"),
         ("SS0301-001", "Bor PoC", "Bor PoC", "SS03", "SS0301"),
         ("SS0601-001", "Malakal PoC", "Malakal PoC", "SS06", "SS0601")]
CENTRES = [("MRC-JUB-01", "Juba resource centre",
            "Centre de ressources de Djouba", "SS01", "SS0101"),
           ("MRC-MAL-01", "Malakal resource centre",
            "Centre de ressources de Malakal", "SS06", "SS0601")]

PLACE_LABELS = {
    "admin1": ("State (admin 1)", "État (admin 1)"),
    "admin2": ("County (admin 2)", "Comté (admin 2)"),
    "site_id": ("Site", "Site"),
    "centre_id": ("Resource centre", "Centre de ressources"),
}


def place_rows(form_id, langs):
    """The cascading place questions that replace the typed ones."""
    last = ("centre_id", "centre") if form_id == "mrc_visit" else \
        ("site_id", "site")
    rows = []
    for name, lst, flt in (("admin1", "admin1", None),
                           ("admin2", "admin2", "admin1 = ${admin1}"),
                           (last[0], last[1], "admin2 = ${admin2}")):
        r = {"type": "select_one " + lst, "name": name, "required": "yes"}
        en, fr = PLACE_LABELS[name]
        for lang in langs:
            r["label::" + lang] = fr if lang == "Français" else en
        if flt:
            r["choice_filter"] = flt
        rows.append(r)
    return rows


def place_choices(form_id, langs):
    out = []

    def add(lst, code, en, fr, **filters):
        r = {"list_name": lst, "name": code}
        for lang in langs:
            r["label::" + lang] = fr if lang == "Français" else en
        r.update(filters)
        out.append(r)
    for code, en, fr in ADMIN1:
        add("admin1", code, en, fr)
    for code, en, fr, a1 in ADMIN2:
        add("admin2", code, en, fr, admin1=a1)
    lst, rows = ("centre", CENTRES) if form_id == "mrc_visit" else \
        ("site", SITES)
    for code, en, fr, a1, a2 in rows:
        add(lst, code, en, fr, admin1=a1, admin2=a2)
    return out


def languages(d):
    langs = []
    for k in d:
        if k.startswith("title::"):
            langs.append(k[len("title::"):])
    return langs


def convert(d):
    """The JSON definition d as a workbook with cascading places."""
    d = copy.deepcopy(d)
    langs = languages(d)
    place_names = {"site_id", "admin1", "admin2", "centre_id"}
    survey = [r for r in d["survey"] if r.get("name") not in place_names]
    survey = place_rows(d["form_id"], langs) + survey
    choices = place_choices(d["form_id"], langs) + d.get("choices", [])

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    sheet(ws, survey)
    sheet(wb.create_sheet("choices"), choices)
    ws = wb.create_sheet("settings")
    settings = {"form_id": d["form_id"], "version": VERSION,
                "default_language": d.get("default_language", "English")}
    for lang in langs:
        settings["form_title::" + lang] = d["title::" + lang]
    ws.append(list(settings))
    ws.append(list(settings.values()))
    counts_sheet(wb.create_sheet("counts"), d)
    return wb


def sheet(ws, rows):
    head = []
    for r in rows:
        for k in r:
            if k not in head:
                head.append(k)
    ws.append(head)
    for r in rows:
        ws.append([r.get(k) for k in head])


def counts_sheet(ws, d):
    c = d["counts"]
    ws.append(["kind", "name", "field", "bands", "count", "sum", "min",
               "max"])
    ws.append(["date", None, c["date"]])
    ws.append(["place", None, c["place"]])
    if c.get("latest_by"):
        ws.append(["latest_by", None, c["latest_by"]])
    for dim in c["dimensions"]:
        ws.append(["dimension", dim["name"], dim["field"], dim.get("bands")])
    for m in c["measures"]:
        ws.append(["measure", m["name"], None, None, m.get("count"),
                   m.get("sum")])
    for b in d.get("settings", {}).get("age_bands", []):
        ws.append(["band", b["name"], None, None, None, None, b["min"],
                   b.get("max")])


def main():
    for name in ("dtm_site_assessment", "dtm_household", "mrc_visit"):
        with open(os.path.join(FORMS, name + ".json"), encoding="utf-8") as f:
            d = json.load(f)
        wb = convert(d)
        wb.properties.created = wb.properties.modified = FIXED
        wb.save(os.path.join(HERE, name + ".xlsx"))


if __name__ == "__main__":
    main()
