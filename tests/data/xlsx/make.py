#!/usr/bin/python3
"""Makes the workbooks tests/unit/test_xlsx.c reads (committed: the tests
need no openpyxl).  Run from anywhere with Debian's python3-openpyxl
(tools/deps.sh installs it):

    /usr/bin/python3 tests/data/xlsx/make.py

openpyxl writes the workbook; what it cannot write (shared strings -- it
writes every string inline --, rich text, phonetic runs, a formula's
cached value, Excel's _xHHHH_ escapes, parts in another order than the
tabs) is then put in by rewriting the zip's XML, as Excel itself would
have written it.  Dates and times in docProps are fixed so that the files
are the same from one run to the next.

  form.xlsx        README, survey, choices (2,100 rows), settings
  small.xlsx       the same kinds of cells in a few rows (also a fuzz seed)
  bomb.xlsx        its survey sheet inflates to 1 GiB (zeros after a tag)
  bomb_lying.xlsx  128 MiB whose zip headers say 1,000 bytes
"""
import datetime
import io
import os
import re
import struct
import zipfile

import openpyxl
from openpyxl.styles import Font

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED = datetime.datetime(2026, 1, 1)
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def save(wb):
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {n: z.read(n) for n in z.namelist()}


def write(name, parts, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(os.path.join(HERE, name), "w", method) as z:
        for n, data in parts.items():
            z.writestr(zipfile.ZipInfo(n, ZIP_DATE), data, method)


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def to_shared(parts, sheets, extra):
    """Moves the inline strings of the named sheet parts into
    xl/sharedStrings.xml (what Excel writes), then appends the raw <si>
    items of extra; returns the index of extra's first item."""
    table, index = [], {}

    def shared(m):
        text = m.group(2)
        if text not in index:
            index[text] = len(table)
            table.append("<si><t xml:space=\"preserve\">%s</t></si>" % text)
        return '<c r="%s" t="s"><v>%d</v></c>' % (m.group(1), index[text])

    for p in sheets:
        xml = parts[p].decode()
        xml = re.sub(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>(.*?)'
                     r'</t></is></c>', shared, xml)
        parts[p] = xml.encode()
    first = len(table)
    table += extra
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        'main" count="%d" uniqueCount="%d">%s</sst>'
        % (len(table), len(table), "".join(table))).encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rels = rels.replace("</Relationships>",
                        '<Relationship Id="rIdSST" Type="http://schemas.'
                        'openxmlformats.org/officeDocument/2006/'
                        'relationships/sharedStrings" Target="shared'
                        'Strings.xml"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    return first


def swap_parts(parts, a, b):
    """Swaps the names of two sheet parts (and their targets), so that
    sheet1.xml is no longer the first tab."""
    pa, pb = "xl/worksheets/%s" % a, "xl/worksheets/%s" % b
    parts[pa], parts[pb] = parts[pb], parts[pa]
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rels = (rels.replace("/" + a + '"', "/@@\"").replace("/" + b + '"',
            "/" + a + '"').replace("/@@\"", "/" + b + '"'))
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()


def cell(parts, part, ref, xml):
    """Replaces the cell ref of a sheet part by xml."""
    s = parts[part].decode()
    s, n = re.subn(r'<c r="%s"[^>]*?(/>|>.*?</c>)' % ref, xml, s, count=1)
    assert n == 1, (part, ref)
    parts[part] = s.encode()


def survey(ws, wide):
    ws.append(["type", "name", "label::English", "label::Français",
               "label::العربية", "required", "default", "constraint"])
    if wide:
        # 5,000 empty styled cells after the header, as a sheet gets when
        # someone formats whole rows: written, and empty.
        for c in range(30, 5030):
            ws.cell(row=1, column=c).font = Font(bold=True)
    ws.append(["integer", "age", "Age", "Âge", "العمر", True, 1,
               ". >= 0 and . <= 120"])
    ws.append(["select_one sex", "sex", "Sex", "Sexe", "الجنس", False, 2.5])
    # rows 4 and 5 are left empty: Excel writes no <row> for them
    ws.cell(row=6, column=1, value="text")
    ws.cell(row=6, column=2, value="remark")
    ws.cell(row=6, column=3, value="Remark")
    ws.cell(row=6, column=4, value="Remarque « élève » — déjà vu")
    ws.cell(row=6, column=5, value="ملاحظة")
    ws.cell(row=6, column=6, value="#N/A")		# an error cell
    ws.cell(row=6, column=7, value="=1+1")		# cached value put in
    ws.cell(row=6, column=28, value="column AB")
    ws.cell(row=7, column=1, value="calculate")
    ws.cell(row=7, column=2, value="total")
    ws.cell(row=7, column=7, value="=A1")		# a string formula


def build(name, n_choices, wide):
    wb = openpyxl.Workbook()
    readme = wb.active
    readme.title = "README"
    readme["A1"] = "XLSForm test workbook"
    readme["A3"] = "Lisez-moi"
    survey(wb.create_sheet("survey"), wide)
    ch = wb.create_sheet("choices")
    ch.append(["list_name", "name", "label::English", "label::Français",
               "label::العربية"])
    ch.append(["sex", "male", "Male", "Homme", "ذكر"])
    ch.append(["sex", "female", "Female", "Femme", "أنثى"])
    for i in range(1, n_choices - 1):
        ch.append(["village", "v%04d" % i, "Village %d" % i,
                   "Village n° %d" % i, "قرية %d" % i])
    st = wb.create_sheet("settings")
    st.append(["form_title", "form_id", "version", "default_language"])
    st.append(["(rich text)", "xlsx_test", 2026110101, "English"])
    parts = save(wb)
    # Tabs: README, survey, choices, settings = sheet1..4.xml as openpyxl
    # writes them; choices and settings as shared strings, with a rich
    # text (two runs and a phonetic guide that is not text) and escapes.
    first = to_shared(parts, ["xl/worksheets/sheet1.xml",
                              "xl/worksheets/sheet3.xml",
                              "xl/worksheets/sheet4.xml"], [
        "<si><r><rPr><b/></rPr><t xml:space=\"preserve\">Enregistrement "
        "</t></r><r><t>des ménages</t></r><rPh sb=\"0\" eb=\"1\"><t>ふり"
        "</t></rPh></si>",
        "<si><t>line one_x000D_\nline two _x005F_x0041_ "
        "_xD83D__xDE00_</t></si>",
        "<si><t></t></si>"])
    cell(parts, "xl/worksheets/sheet4.xml", "A2",
         '<c r="A2" t="s"><v>%d</v></c>' % first)
    cell(parts, "xl/worksheets/sheet1.xml", "A3",
         '<c r="A3" t="s"><v>%d</v></c><c r="B3" t="s"><v>%d</v></c>'
         % (first + 1, first + 2))
    # survey: a cached formula value, a string formula, a float written
    # "1.0", booleans, an explicit empty inline string
    cell(parts, "xl/worksheets/sheet2.xml", "G6",
         '<c r="G6"><f>1+1</f><v>2</v></c>')
    cell(parts, "xl/worksheets/sheet2.xml", "G7",
         '<c r="G7" t="str"><f>A1</f><v>type</v></c>'
         '<c r="H7"><v>1.0</v></c><c r="I7" t="inlineStr"><is><t></t>'
         '</is></c><c r="J7" t="inlineStr"><is><r><t>in</t></r><r><rPr/>'
         '<t>line</t></r></is></c>')
    # README's part becomes sheet3.xml and choices' sheet1.xml: the
    # first tab is not sheet1.xml.
    swap_parts(parts, "sheet1.xml", "sheet3.xml")
    write(name, parts)


def bomb(name, size, lie):
    """A workbook whose survey sheet inflates to size bytes: a tag, then
    '0's (text expat reads without a complaint until the bounds stop it).
    lie: the zip headers claim 1,000 bytes."""
    wb = openpyxl.Workbook()
    wb.active.title = "survey"
    parts = save(wb)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            if n == "xl/worksheets/sheet1.xml":
                continue
            z.writestr(zipfile.ZipInfo(n, ZIP_DATE), data)
        zi = zipfile.ZipInfo("xl/worksheets/sheet1.xml", ZIP_DATE)
        zi.compress_type = zipfile.ZIP_DEFLATED
        with z.open(zi, "w", force_zip64=False) as f:
            f.write(b"<worksheet>")
            chunk = b"0" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    data = bytearray(out.getvalue())
    if lie:
        # the local header's and the central directory's uncompressed
        # size of the sheet (its data descriptor, if any, is not read)
        name_b = b"xl/worksheets/sheet1.xml"
        for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            i = data.find(sig + b"")
            while i >= 0:
                if sig == b"PK\x03\x04":
                    n_at = i + 30
                else:
                    n_at = i + 46
                if data[n_at:n_at + len(name_b)] == name_b:
                    struct.pack_into("<I", data, i + off, 1000)
                i = data.find(sig, i + 4)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


build("form.xlsx", 2100, True)
build("small.xlsx", 4, False)
bomb("bomb.xlsx", 1 << 30, False)
bomb("bomb_lying.xlsx", 128 << 20, True)
