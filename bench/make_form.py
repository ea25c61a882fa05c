#!/usr/bin/python3
"""bench/make_form.py OUT.xlsx OUT-record.json: the large form the forms
benchmarks use, as real needs assessments are at their largest: 550
fields in 55 groups (a note each, relevance on every other group), 100
choice lists, an admin1 -> admin2 -> site cascade over a 2,000-place
master list (choice_filter), calculations, and a record of it that is
valid.  Run with Debian's python3-openpyxl (/usr/bin/python3)."""
import datetime
import json
import sys

import openpyxl

GROUPS = 55
PER_GROUP = 10          # fields a group, the cascade and calculations among
LISTS = 100             # choice lists besides the cascade's
SITES = 2000


def main(out, rec_out):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label::English", "label::Français",
               "required", "relevant", "constraint", "calculation",
               "choice_filter", "appearance"])
    choices = []
    rec = {}
    ws.append(["today", "today"])
    rec["today"] = datetime.date.today().isoformat()
    ws.append(["select_one admin1", "admin1", "State", "État", "yes"])
    ws.append(["select_one admin2", "admin2", "County", "Comté", "yes",
               None, None, None, "admin1 = ${admin1}"])
    ws.append(["select_one site", "site", "Site", "Site", "yes", None,
               None, None, "admin2 = ${admin2}"])
    rec.update(admin1="A01", admin2="A01_01", site="S0001")
    for a in range(1, 11):
        choices.append(["admin1", "A%02d" % a, "State %d" % a, None, None])
        for b in range(1, 11):
            choices.append(["admin2", "A%02d_%02d" % (a, b),
                            "County %d.%d" % (a, b), "A%02d" % a, None])
    for s in range(1, SITES + 1):
        a = (s - 1) // 200 + 1
        b = (s - 1) // 20 % 10 + 1
        choices.append(["site", "S%04d" % s, "Site %d" % s, None,
                        "A%02d_%02d" % (a, b)])
    for k in range(LISTS):
        for c in range(1, 6 + k % 5):
            choices.append(["list%d" % k, str(c), "Answer %d" % c, None,
                            None])
    fields = 3
    n = 0
    for g in range(GROUPS):
        relevant = "${q%d_0} >= 0" % (g - 1) if g % 2 and g > 0 else None
        ws.append(["begin_group", "g%d" % g, "Section %d" % g, None, None,
                   relevant, None, None, None, "field-list"])
        ws.append(["note", "note%d" % g, "Section %d of %d, site ${site}" %
                   (g + 1, GROUPS)])
        for i in range(PER_GROUP):
            name = "q%d_%d" % (g, i)
            if fields >= 550:
                break
            kind = i % 5
            if kind == 0:
                ws.append(["integer", name, "How many %d?" % n, None,
                           "yes", None, ". >= 0 and . <= 1000"])
                rec[name] = 5
            elif kind == 1:
                ws.append(["select_one list%d" % (n % LISTS), name,
                           "Which %d?" % n, None, "yes"])
                rec[name] = "1"
            elif kind == 2:
                ws.append(["select_multiple list%d" % (n % LISTS), name,
                           "Which ones %d?" % n, None, None, None,
                           "count-selected(.) <= 3"])
                rec[name] = ["1", "2"]
            elif kind == 3:
                ws.append(["calculate", name, None, None, None, None, None,
                           "${q%d_0} * 2 + 1" % g])
                rec[name] = 11
            else:
                ws.append(["text", name, "Say %d" % n, None, None, None,
                           "string-length(.) <= 200"])
                rec[name] = "a few words"
            fields += 1
            n += 1
        ws.append(["end_group", "g%d" % g])
    cs = wb.create_sheet("choices")
    cs.append(["list_name", "name", "label::English", "admin1", "admin2"])
    for row in choices:
        cs.append(row)
    st = wb.create_sheet("settings")
    st.append(["form_id", "version", "form_title"])
    st.append(["bench_large", "2026120601", "A large needs assessment"])
    wb.properties.created = wb.properties.modified = \
        datetime.datetime(2026, 12, 6)
    wb.save(out)
    with open(rec_out, "w") as f:
        json.dump(rec, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
