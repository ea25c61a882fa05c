#!/usr/bin/python3
"""Makes the XLSForm workbooks tests/integration/test_forms.py reads: one
that uses the language as real humanitarian forms do (taken), and one per
mistake (refused with the sheet, row and column at fault).  Run with
Debian's python3-openpyxl (/usr/bin/python3 tests/data/xlsform/make.py);
the workbooks are committed, so the tests do not need openpyxl.

Each bad workbook is the good one with one change, listed in BAD with the
message form check must print."""
import copy
import datetime
import os

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED = datetime.datetime(2026, 12, 6)

SURVEY_HEAD = ["type", "name", "label::English", "label::Français", "hint",
               "required", "relevant", "constraint", "constraint_message",
               "calculation", "choice_filter", "repeat_count", "appearance",
               "default", "read_only"]

SURVEY = [
    ["start", "start"],
    ["end", "end"],
    ["today", "today"],
    ["deviceid", "deviceid"],
    ["note", "intro", "Welcome, ${enumerator}", "Bienvenue"],
    ["text", "enumerator", "Enumerator", "Enquêteur", None, "TRUE"],
    ["begin_group", "location", "Location", "Lieu", None, None, None, None,
     None, None, None, None, "field-list"],
    ["select_one admin1", "admin1", "State", "État", None, "yes"],
    ["select_one admin2", "admin2", "County", "Comté", None, "1", None,
     None, None, None, "admin1 = ${admin1}"],
    ["select_one site", "site", "Site", "Site", None, "T", None, None, None,
     None, "admin2 = ${admin2}"],
    ["end_group", "location"],
    ["gps", "where", "Where", "Où"],
    ["integer", "hh_size", "People in the household", "Personnes", None,
     "yes", None, ". >= 1 and . <= 30", "1 to 30"],
    ["begin_repeat", "members", "Member ${position}", "Membre", None, None,
     None, None, None, None, None, "${hh_size}"],
    ["calculate", "position", None, None, None, None, None, None, None,
     "position(..)"],
    ["integer", "age", "Age of member ${position}", "Âge", None, "yes",
     None, ". >= 0 and . <= 120"],
    ["select_one sex", "sex", "Sex", "Sexe", None, "yes"],
    ["end_repeat", "members"],
    ["calculate", "adults", None, None, None, None, None, None, None,
     "count-if(${members}, ${age} >= 18)"],
    ["begin group", "needs_group", "Needs", "Besoins", None, None,
     "${hh_size} > 0"],
    ["select_multiple need", "needs", "Needs", "Besoins", None, "yes", None,
     "count-selected(.) <= 3"],
    ["select_one yes_no", "water_ok", "Enough water?", "Assez d'eau ?"],
    ["time", "visit_time", "Time", "Heure"],
    ["dateTime", "next_visit", "Next visit", "Prochaine visite"],
    ["text", "comment", "Comment", "Commentaire", None, "no", None, None,
     None, None, None, None, None, "none", "false"],
    ["end group", "needs_group"],
]

CHOICES_HEAD = ["list_name", "name", "label::English", "label::Français",
                "admin1", "admin2"]
CHOICES = [
    ["admin1", "SS01", "Central Equatoria", "Équatoria-Central"],
    ["admin1", "SS02", "Jonglei", "Jonglei"],
    ["admin2", "SS0101", "Juba", "Djouba", "SS01"],
    ["admin2", "SS0102", "Terekeka", "Terekeka", "SS01"],
    ["admin2", "SS0201", "Bor South", "Bor Sud", "SS02"],
    ["site", "1", "Site one", "Site un", "SS01", "SS0101"],
    ["site", "2_5", "Site two", "Site deux", "SS01", "SS0102"],
    ["site", "-99", "Other site", "Autre site", "SS02", "SS0201"],
    ["sex", "female", "Female", "Femme"],
    ["sex", "male", "Male", "Homme"],
    ["need", "food", "Food", "Nourriture"],
    ["need", "water", "Water", "Eau"],
    ["need", "shelter", "Shelter", "Abri"],
    ["need", "health", "Health", "Santé"],
    ["yes_no", "1", "Yes", "Oui"],
    ["yes_no", "0", "No", "Non"],
]

SETTINGS_HEAD = ["form_id", "version", "form_title", "default_language",
                 "instance_name", "public_key", "style"]
SETTINGS = ["rapid_needs", "2026120601", "Rapid needs assessment",
            "English", "concat(${site}, '-', ${today})", "MIIBIjANBgkqhki",
            "pages"]


def workbook(survey=SURVEY, choices=CHOICES, settings=SETTINGS,
             survey_head=SURVEY_HEAD, extra=None):
    wb = openpyxl.Workbook()
    readme = wb.active
    readme.title = "README"
    readme.append(["A workbook as field teams write them: a README first."])
    ws = wb.create_sheet("survey")
    ws.append(survey_head)
    for row in survey:
        ws.append(row)
    # a column with no name, as real workbooks carry
    ws.cell(row=3, column=len(survey_head) + 3, value="a stray note")
    ws = wb.create_sheet("choices")
    ws.append(CHOICES_HEAD)
    for row in choices:
        ws.append(row)
    if settings is not None:
        ws = wb.create_sheet("settings")
        ws.append(SETTINGS_HEAD)
        ws.append(settings)
    if extra:
        extra(wb)
    return wb


def counts_sheet(wb):
    ws = wb.create_sheet("counts")
    ws.append(["kind", "name", "field", "bands", "count", "sum", "min",
               "max"])
    ws.append(["date", None, "today"])
    ws.append(["place", None, "site"])
    ws.append(["dimension", "admin1", "admin1"])
    ws.append(["dimension", "need", "needs"])
    ws.append(["measure", "households", None, None, "records"])
    ws.append(["measure", "people", None, None, None, "hh_size"])


def changed(row_index, col, value):
    """SURVEY with one cell changed (row_index into SURVEY, col a name)."""
    s = copy.deepcopy(SURVEY)
    row = s[row_index]
    i = SURVEY_HEAD.index(col)
    row.extend([None] * (i + 1 - len(row)))
    row[i] = value
    return s


def save(wb, name):
    # a fixed time, so a run makes the same bytes as the last
    wb.properties.created = wb.properties.modified = FIXED
    wb.save(os.path.join(HERE, name))


def places_2000():
    """The same form over 2,000 places: sites cascade from the state
    (1,000 each), for the web app's searchable select and its budget."""
    survey = changed(9, "choice_filter", "admin1 = ${admin1}")
    choices = [c for c in CHOICES if c[0] != "site"]
    for i in range(2000):
        a1 = "SS01" if i % 2 == 0 else "SS02"
        a2 = "SS0101" if a1 == "SS01" else "SS0201"
        choices.append(["site", "S%04d" % i, "Site %04d Camp" % i,
                        "Site %04d camp" % i, a1, a2])
    settings = list(SETTINGS)
    settings[0] = "places_2000"
    return workbook(survey=survey, choices=choices, settings=settings)


# Two forms with no counts sheet, in English, French and Arabic, as a
# team brings them: tests/integration/test_coord_page.py adds them to a
# collector and checks the coordinators' page counts and labels them.
LANGS = ["English", "Français", "العربية"]
COORD_FORMS = {
    "water_points.xlsx": (
        ["water_points", "2026120601", "Water points", "English"],
        [["date", "visit_date", "Visit date", "Date de visite",
          "تاريخ الزيارة", "yes"],
         ["select_one admin1", "admin1", "State", "État", "الولاية", "yes"],
         ["select_one site", "site", "Water point", "Point d'eau",
          "نقطة المياه", "yes"],
         ["select_one status", "status", "Status", "État du point",
          "الحالة", "yes"],
         ["select_multiple problem", "problems", "Problems", "Problèmes",
          "المشاكل"],
         ["integer", "users", "Users per day", "Usagers par jour",
          "المستخدمون يوميا"]],
        [["admin1", "SS01", "Central Equatoria", "Équatoria-Central",
          "الاستوائية الوسطى"],
         ["admin1", "SS02", "Jonglei", "Jonglei", "جونقلي"],
         ["site", "WP1", "Well one", "Puits un", "البئر الأولى"],
         ["site", "WP2", "Borehole two", "Forage deux", "البئر الثانية"],
         ["site", "WP3", "Tap stand three", "Borne trois", "الصنبور الثالث"],
         ["status", "working", "Working", "En service", "يعمل"],
         ["status", "broken", "Broken", "En panne", "معطل"],
         ["problem", "pump", "Pump", "Pompe", "المضخة"],
         ["problem", "queue", "Queue", "File d'attente", "الطابور"]]),
    "distribution.xlsx": (
        ["distribution", "2026120601", "Kit distribution", "Français"],
        [["date", "distribution_date", "Distribution date",
          "Date de distribution", "تاريخ التوزيع", "yes"],
         ["text", "village_name", "Village", "Village", "القرية", "yes"],
         ["select_one kit", "kit", "Kit", "Kit", "الحقيبة", "yes"],
         ["select_one sex", "head_sex", "Sex of the head",
          "Sexe du chef de ménage", "جنس رب الأسرة", "yes"]],
        [["kit", "shelter", "Shelter kit", "Kit abri", "حقيبة المأوى"],
         ["kit", "hygiene", "Hygiene kit", "Kit d'hygiène",
          "حقيبة النظافة"],
         ["sex", "female", "Female", "Femme", "أنثى"],
         ["sex", "male", "Male", "Homme", "ذكر"]]),
}


def coord_workbook(settings, survey, choices):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name"] + ["label::" + x for x in LANGS] +
              ["required"])
    for row in survey:
        ws.append(row)
    ws = wb.create_sheet("choices")
    ws.append(["list_name", "name"] + ["label::" + x for x in LANGS])
    for row in choices:
        ws.append(row)
    ws = wb.create_sheet("settings")
    ws.append(["form_id", "version", "form_title", "default_language"])
    ws.append(settings)
    return wb


def external_places(external, choices_extra=()):
    """A form whose place list is on the external_choices sheet, as
    pyxform takes it (select_one_external): "other" under every county,
    and a filter column spelt with a capital, as REACH's forms have."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label", "required", "choice_filter"])
    ws.append(["select_one county", "county", "County", "yes"])
    ws.append(["select_one_external settlement", "settlement", "Settlement",
               "yes", "County = ${county}"])
    ws.append(["integer", "households_reporting_from_this_settlement_"
               "in_the_last_thirty_days", "Households", "yes"])
    ws = wb.create_sheet("choices")
    ws.append(["list_name", "name", "label"])
    ws.append(["county", "juba", "Juba"])
    ws.append(["county", "bor", "Bor"])
    for row in choices_extra:
        ws.append(row)
    ws = wb.create_sheet("external_choices")
    ws.append(["list_name", "name", "label", "County"])
    for row in external:
        ws.append(row)
    ws = wb.create_sheet("settings")
    ws.append(["form_id", "version"])
    ws.append(["external_places", "2026120601"])
    return wb


EXTERNAL = [["settlement", "gudele", "Gudele", "juba"],
            ["settlement", "other", "Other", "juba"],
            ["settlement", "malakal_town", "Malakal", "bor"],
            ["settlement", "other", "Other", "bor"]]


def main():
    for name, (settings, survey, choices) in COORD_FORMS.items():
        save(coord_workbook(settings, survey, choices), name)
    save(workbook(extra=counts_sheet), "rapid_needs.xlsx")
    save(places_2000(), "places_2000.xlsx")
    save(external_places(EXTERNAL), "external_places.xlsx")
    # a list on both sheets: refused, external_choices row 2
    save(external_places(EXTERNAL, [["settlement", "x", "X"]]),
         "bad_external_twice.xlsx")
    # a choice with no name: external_choices row 4, in that sheet's words
    save(external_places(EXTERNAL[:2] + [["settlement", None, "No name",
                                          "bor"]]),
         "bad_external_name.xlsx")
    save(workbook(settings=None), "no_settings.xlsx")
    # survey rows are SURVEY's index + 2 in the sheet (the header is row 1)
    bad = {
        # a constraint that does not parse: row 14, column H (constraint)
        "bad_constraint.xlsx": workbook(
            survey=changed(12, "constraint", ". >= 1 and")),
        # a type that does not exist: row 23, column A
        "bad_type.xlsx": workbook(survey=changed(21, "type", "colour")),
        # a select over a list the choices sheet lacks: row 9
        "bad_list.xlsx": workbook(survey=changed(7, "type",
                                                 "select_one states")),
        # pulldata needs a CSV attached to the form
        "bad_pulldata.xlsx": workbook(
            survey=changed(18, "calculation",
                           "pulldata('sites', 'name', 'id', ${site})")),
        # a column named twice
        "bad_header.xlsx": workbook(
            survey_head=SURVEY_HEAD[:-1] + ["relevant"]),
    }
    for name, wb in bad.items():
        save(wb, name)


if __name__ == "__main__":
    main()
