/*
 * test_xlsx.c: the .xlsx reader over workbooks openpyxl made
 * (tests/data/xlsx/make.py: sheets out of order, shared, inline and rich
 * strings, numbers, booleans, formulas, skipped rows, column AB, 5,000
 * empty styled columns, Arabic and French, 2,100 choices) and hostile
 * ones: zip bombs, too many entries, DOCTYPEs, .xls and .ods, cut zips,
 * missing and escaping parts, bad references, every bound.  The small
 * hostile zips are made here with libzip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zip.h>

#include "common/util.h"
#include "form/xlsx.h"

#define DATA "tests/data/xlsx/"

static char err[512];

/* --- making zips --- */

struct part {
	const char *name;
	const char *data;
	size_t len;			/* 0: strlen(data) */
	int method;			/* 0: deflate */
};

static unsigned char *
mkzip(const struct part *p, size_t n, size_t *len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_stat_t st;
	unsigned char *buf;

	zip_error_init(&ze);
	assert_non_null(src = zip_source_buffer_create(NULL, 0, 0, &ze));
	assert_non_null(za = zip_open_from_source(src, ZIP_TRUNCATE, &ze));
	zip_source_keep(src);
	for (size_t i = 0; i < n; i++) {
		size_t l = p[i].len ? p[i].len : strlen(p[i].data);
		zip_source_t *zs = zip_source_buffer(za, p[i].data, l, 0);
		zip_int64_t idx;

		assert_non_null(zs);
		assert_true((idx = zip_file_add(za, p[i].name, zs,
		    ZIP_FL_ENC_UTF_8)) >= 0);
		if (p[i].method)
			assert_int_equal(zip_set_file_compression(za,
			    (zip_uint64_t)idx, p[i].method, 0), 0);
	}
	assert_int_equal(zip_close(za), 0);
	assert_int_equal(zip_source_open(src), 0);
	zip_stat_init(&st);
	assert_int_equal(zip_source_stat(src, &st), 0);
	assert_non_null(buf = malloc(st.size));
	assert_int_equal(zip_source_read(src, buf, st.size),
	    (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
	*len = st.size;
	return buf;
}

static struct xlsx *
open_parts(const struct part *p, size_t n)
{
	size_t len;
	unsigned char *buf = mkzip(p, n, &len);
	struct xlsx *x;

	err[0] = '\0';
	x = xlsx_open_mem(buf, len, err, sizeof(err));
	free(buf);
	return x;
}

#define WB_ONE "<workbook xmlns:r=\"urn:r\"><sheets>" \
	"<sheet name=\"survey\" sheetId=\"1\" r:id=\"rId1\"/></sheets>" \
	"</workbook>"
#define RELS_ONE "<Relationships><Relationship Id=\"rId1\" Type=\"" \
	"http://schemas.openxmlformats.org/officeDocument/2006/relationships/" \
	"worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"
#define RELS_TARGET(t) "<Relationships><Relationship Id=\"rId1\" Type=\"" \
	"http://schemas.openxmlformats.org/officeDocument/2006/relationships/" \
	"worksheet\" Target=\"" t "\"/></Relationships>"

/* A one-sheet workbook ("survey") with this sheet XML and, unless NULL,
   these shared strings. */
static struct xlsx *
open_sheet(const char *sheet, const char *sst)
{
	struct part p[] = {
		{ "xl/workbook.xml", WB_ONE, 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS_ONE, 0, 0 },
		{ "xl/worksheets/sheet1.xml", sheet, 0, 0 },
		{ "xl/sharedStrings.xml", sst, 0, 0 },
	};

	return open_parts(p, sst ? 4 : 3);
}

/* The error reading the sheet of open_sheet(sheet, sst). */
static const char *
sheet_error(const char *sheet, const char *sst)
{
	struct xlsx *x = open_sheet(sheet, sst);

	assert_non_null(x);
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), -1);
	assert_int_equal(xlsx_row_count(x, 0), 0);
	xlsx_free(x);
	return err;
}

static void
assert_has(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", s, part);
}

#define SD(rows) "<worksheet><sheetData>" rows "</sheetData></worksheet>"

/* --- the workbooks made with openpyxl --- */

static const struct xlsx_row *
row_num(const struct xlsx *x, size_t sheet, unsigned long num)
{
	for (size_t r = 0; r < xlsx_row_count(x, sheet); r++)
		if (xlsx_row(x, sheet, r)->num == num)
			return xlsx_row(x, sheet, r);
	return NULL;
}

static void
test_form(void **state)
{
	struct xlsx *x = xlsx_open_file(DATA "form.xlsx", err, sizeof(err));
	const struct xlsx_row *r;
	int s, c;

	assert_non_null(x);
	assert_int_equal(xlsx_sheet_count(x), 4);
	assert_string_equal(xlsx_sheet_name(x, 0), "README");
	assert_string_equal(xlsx_sheet_name(x, 1), "survey");
	assert_string_equal(xlsx_sheet_name(x, 2), "choices");
	assert_string_equal(xlsx_sheet_name(x, 3), "settings");
	assert_null(xlsx_sheet_name(x, 4));
	assert_int_equal(xlsx_sheet_find(x, "SURVEY"), 1);
	assert_int_equal(xlsx_sheet_find(x, "Choices"), 2);
	assert_int_equal(xlsx_sheet_find(x, "settings"), 3);
	assert_int_equal(xlsx_sheet_find(x, "survey "), -1);
	assert_int_equal(xlsx_row_count(x, 1), 0);	/* not read yet */

	/* survey: inline strings, rows 4 and 5 absent, 5,000 empty cells */
	s = 1;
	assert_int_equal(xlsx_sheet_read(x, s, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, s), 5);
	assert_int_equal(xlsx_row(x, s, 0)->num, 1);
	assert_int_equal(xlsx_row(x, s, 1)->num, 2);
	assert_int_equal(xlsx_row(x, s, 2)->num, 3);
	assert_int_equal(xlsx_row(x, s, 3)->num, 6);
	assert_int_equal(xlsx_row(x, s, 4)->num, 7);
	assert_null(xlsx_row(x, s, 5));
	r = xlsx_row(x, s, 0);
	assert_int_equal(r->n_cells, 8);
	assert_string_equal(xlsx_cell(r, 0), "type");
	assert_string_equal(xlsx_cell(r, 3), "label::Français");
	assert_string_equal(xlsx_cell(r, 4), "label::العربية");
	assert_null(xlsx_cell(r, 8));
	assert_null(xlsx_cell(r, 5000));
	r = row_num(x, s, 2);
	assert_string_equal(xlsx_cell(r, 4), "العمر");
	assert_string_equal(xlsx_cell(r, 5), "TRUE");
	assert_string_equal(xlsx_cell(r, 6), "1");
	assert_string_equal(xlsx_cell(r, 7), ". >= 0 and . <= 120");
	r = row_num(x, s, 3);
	assert_string_equal(xlsx_cell(r, 5), "FALSE");
	assert_string_equal(xlsx_cell(r, 6), "2.5");
	assert_null(xlsx_cell(r, 7));
	r = row_num(x, s, 6);
	assert_string_equal(xlsx_cell(r, 3), "Remarque « élève » — déjà vu");
	assert_string_equal(xlsx_cell(r, 4), "ملاحظة");
	assert_string_equal(xlsx_cell(r, 5), "#N/A");
	assert_string_equal(xlsx_cell(r, 6), "2");	/* =1+1, cached */
	assert_string_equal(xlsx_cell(r, 27), "column AB");
	assert_int_equal(r->cells[r->n_cells - 1].col, 27);
	r = row_num(x, s, 7);
	assert_string_equal(xlsx_cell(r, 6), "type");	/* t="str" */
	assert_string_equal(xlsx_cell(r, 7), "1");	/* "1.0" */
	assert_null(xlsx_cell(r, 8));			/* empty inline */
	assert_string_equal(xlsx_cell(r, 9), "inline");	/* two runs */
	assert_int_equal(r->n_cells, 5);

	/* choices: shared strings, in xl/worksheets/sheet1.xml */
	c = xlsx_sheet_find(x, "choices");
	assert_int_equal(xlsx_sheet_read(x, (size_t)c, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, (size_t)c), 2101);
	r = xlsx_row(x, (size_t)c, 2100);
	assert_int_equal(r->num, 2101);
	assert_string_equal(xlsx_cell(r, 0), "village");
	assert_string_equal(xlsx_cell(r, 1), "v2098");
	assert_string_equal(xlsx_cell(r, 3), "Village n° 2098");
	assert_string_equal(xlsx_cell(r, 4), "قرية 2098");
	r = xlsx_row(x, (size_t)c, 1);
	assert_string_equal(xlsx_cell(r, 1), "male");
	assert_string_equal(xlsx_cell(r, 4), "ذكر");
	/* read once: a second call answers the same rows */
	assert_int_equal(xlsx_sheet_read(x, (size_t)c, err, sizeof(err)), 0);
	assert_ptr_equal(xlsx_row(x, (size_t)c, 1), r);

	/* settings: rich text without its phonetic guide; a big number */
	assert_int_equal(xlsx_sheet_read(x, 3, err, sizeof(err)), 0);
	r = row_num(x, 3, 2);
	assert_string_equal(xlsx_cell(r, 0), "Enregistrement des ménages");
	assert_string_equal(xlsx_cell(r, 1), "xlsx_test");
	assert_string_equal(xlsx_cell(r, 2), "2026110101");

	/* README, the first tab, in sheet3.xml: escapes decoded, an empty
	   shared string left out */
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, 0), 2);
	assert_string_equal(xlsx_cell(xlsx_row(x, 0, 0), 0),
	    "XLSForm test workbook");
	r = xlsx_row(x, 0, 1);
	assert_int_equal(r->num, 3);
	assert_string_equal(xlsx_cell(r, 0),
	    "line one\r\nline two _x0041_ \xF0\x9F\x98\x80");
	assert_int_equal(r->n_cells, 1);

	assert_int_equal(xlsx_sheet_read(x, 4, err, sizeof(err)), -1);
	assert_string_equal(err, "no sheet 5 (the workbook has 4)");
	xlsx_free(x);
}

/* The bytes are copied: the caller's buffer may go at once. */
static void
test_small_mem(void **state)
{
	size_t len;
	char *buf = util_read_file(DATA "small.xlsx", XLSX_MAX_FILE, &len);
	struct xlsx *x;

	assert_non_null(buf);
	x = xlsx_open_mem(buf, len, err, sizeof(err));
	memset(buf, 0, len);
	free(buf);
	assert_non_null(x);
	for (size_t i = 0; i < xlsx_sheet_count(x); i++)
		assert_int_equal(xlsx_sheet_read(x, i, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, 2), 5);
	assert_string_equal(xlsx_cell(xlsx_row(x, 2, 4), 2), "Village 2");
	xlsx_free(x);
	xlsx_free(NULL);
}

static void
test_col_name(void **state)
{
	char b[XLSX_COL_NAME_MAX];

	assert_string_equal(xlsx_col_name(0, b), "A");
	assert_string_equal(xlsx_col_name(25, b), "Z");
	assert_string_equal(xlsx_col_name(26, b), "AA");
	assert_string_equal(xlsx_col_name(27, b), "AB");
	assert_string_equal(xlsx_col_name(701, b), "ZZ");
	assert_string_equal(xlsx_col_name(702, b), "AAA");
	assert_string_equal(xlsx_col_name(16383, b), "XFD");
	assert_string_equal(xlsx_col_name(16384, b), "?");
}

/* Cells as other writers put them: no r (counted), prefixed elements,
   booleans as words, an error, a date as text, escapes in a t="str". */
static void
test_cells(void **state)
{
	struct xlsx *x = open_sheet("<x:worksheet xmlns:x=\"urn:x\">"
	    "<x:sheetData><x:row><x:c><x:v>7</x:v></x:c><x:c t=\"b\"><x:v>"
	    "true</x:v></x:c><x:c/><x:c t=\"e\"><x:v>#DIV/0!</x:v></x:c>"
	    "</x:row><x:row r=\"9\"><x:c r=\"C9\" t=\"d\"><x:v>2026-01-02"
	    "</x:v></x:c><x:c t=\"str\"><x:v>a_x0009_b</x:v></x:c><x:c "
	    "t=\"n\"><x:v>-0.000</x:v></x:c><x:c><x:v>1.50</x:v></x:c><x:c>"
	    "<x:v>1E3</x:v></x:c><x:c t=\"s\"><x:v>0</x:v></x:c></x:row>"
	    "<x:row r=\"10\"><x:c r=\"B10\"/></x:row></x:sheetData>"
	    "</x:worksheet>", "<sst><si><t/></si></sst>");
	const struct xlsx_row *r;

	assert_non_null(x);
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, 0), 2);
	r = xlsx_row(x, 0, 0);
	assert_int_equal(r->num, 1);
	assert_int_equal(r->n_cells, 3);
	assert_string_equal(xlsx_cell(r, 0), "7");
	assert_string_equal(xlsx_cell(r, 1), "TRUE");
	assert_null(xlsx_cell(r, 2));
	assert_string_equal(xlsx_cell(r, 3), "#DIV/0!");
	r = xlsx_row(x, 0, 1);
	assert_int_equal(r->num, 9);
	assert_string_equal(xlsx_cell(r, 2), "2026-01-02");
	assert_string_equal(xlsx_cell(r, 3), "a\tb");
	assert_string_equal(xlsx_cell(r, 4), "0");
	assert_string_equal(xlsx_cell(r, 5), "1.50");
	assert_string_equal(xlsx_cell(r, 6), "1E3");
	assert_null(xlsx_cell(r, 7));			/* "" shared */
	xlsx_free(x);
}

/* A sheet that fails does not stop the others, and stays failed. */
static void
test_one_sheet_fails(void **state)
{
	struct part p[] = {
		{ "xl/workbook.xml", "<workbook xmlns:r=\"urn:r\"><sheets>"
		    "<sheet name=\"README\" r:id=\"rId2\"/><sheet "
		    "name=\"chart\" r:id=\"rId3\"/><sheet name=\"survey\" "
		    "r:id=\"rId1\"/>"
		    "</sheets></workbook>", 0, 0 },
		{ "xl/_rels/workbook.xml.rels", "<Relationships>"
		    "<Relationship Id=\"rId1\" Type=\"x/worksheet\" Target=\""
		    "/xl/worksheets/sheet1.xml\"/><Relationship Id=\"rId2\" "
		    "Type=\"x/worksheet\" Target=\"./worksheets/../worksheets/"
		    "sheet2.xml\"/><Relationship Id=\"rId3\" Type=\"x/"
		    "chartsheet\" Target=\"chartsheets/sheet1.xml\"/>"
		    "</Relationships>", 0, 0 },
		{ "xl/worksheets/sheet1.xml", SD("<row r=\"4\"><c r=\"B4\" "
		    "t=\"inlineStr\"><is><t>ok</t></is></c></row>"), 0, 0 },
		{ "xl/worksheets/sheet2.xml",
		    SD("<row r=\"2\"/><row r=\"1\"/>"), 0, 0 },
	};
	struct xlsx *x = open_parts(p, 4);

	assert_non_null(x);
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "sheet 'README': row 1 comes after row 2 "
	    "(rows must be in order)");
	err[0] = '\0';
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), -1);
	assert_has(err, "row 1 comes after row 2");
	assert_int_equal(xlsx_sheet_read(x, 1, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, 1), 0);	/* a chart sheet */
	assert_int_equal(xlsx_sheet_read(x, 2, err, sizeof(err)), 0);
	assert_string_equal(xlsx_cell(xlsx_row(x, 2, 0), 1), "ok");
	xlsx_free(x);
}

/* --- hostile input --- */

static void
test_bombs(void **state)
{
	struct xlsx *x = xlsx_open_file(DATA "bomb.xlsx", err, sizeof(err));

	/* 1 GiB declared: refused before inflating */
	assert_non_null(x);
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "the zip entry xl/worksheets/sheet1.xml "
	    "expands to more than 64 MiB");
	xlsx_free(x);

	/* 128 MiB declared as 1,000 bytes: the running count stops it */
	x = xlsx_open_file(DATA "bomb_lying.xlsx", err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "the zip entry xl/worksheets/sheet1.xml "
	    "expands more than 200 times its compressed size: a zip bomb, not "
	    "a workbook");
	xlsx_free(x);
}

static void
test_not_xlsx(void **state)
{
	static const unsigned char ole2[16] = { 0xD0, 0xCF, 0x11, 0xE0,
	    0xA1, 0xB1, 0x1A, 0xE1 };
	struct part ods[] = {
		{ "mimetype", "application/vnd.oasis.opendocument.spreadsheet",
		    0, 0 },
		{ "content.xml", "<office:document-content/>", 0, 0 },
	};
	struct part none[] = {
		{ "[Content_Types].xml", "<Types/>", 0, 0 },
	};

	assert_null(xlsx_open_mem(ole2, sizeof(ole2), err, sizeof(err)));
	assert_string_equal(err, "this is an old .xls workbook (or one with a "
	    "password); save it as .xlsx (Excel Workbook), without a "
	    "password");
	assert_null(xlsx_open_mem("x", 0, err, sizeof(err)));
	assert_string_equal(err, "the file is empty");
	assert_null(xlsx_open_mem("type,name\n", 10, err, sizeof(err)));
	assert_string_equal(err, "not an .xlsx workbook (not a zip file)");
	assert_null(open_parts(ods, 2));
	assert_string_equal(err, "this is an OpenDocument spreadsheet (.ods); "
	    "save it as .xlsx (Excel Workbook)");
	assert_null(open_parts(none, 1));
	assert_string_equal(err, "not an .xlsx workbook (no xl/workbook.xml)");
	assert_null(xlsx_open_file(DATA "nothing.xlsx", err, sizeof(err)));
	assert_string_equal(err, DATA "nothing.xlsx: No such file or "
	    "directory");
}

/* Cut anywhere, a zip is refused as one (never read past its end). */
static void
test_truncated(void **state)
{
	size_t len;
	char *buf = util_read_file(DATA "small.xlsx", XLSX_MAX_FILE, &len);
	struct xlsx *x;
	int refused = 0;

	assert_non_null(buf);
	for (size_t cut = 1; cut < len; cut += cut < 64 ? 1 : 97) {
		x = xlsx_open_mem(buf, len - cut, err, sizeof(err));
		if (x == NULL) {
			assert_true(strlen(err) > 0);
			refused++;
		} else {
			for (size_t i = 0; i < xlsx_sheet_count(x); i++)
				(void)xlsx_sheet_read(x, i, err, sizeof(err));
			xlsx_free(x);
		}
	}
	assert_true(refused > 0);
	assert_null(xlsx_open_mem(buf, len / 2, err, sizeof(err)));
	assert_string_equal(err, "not an .xlsx workbook (not a zip file)");
	/* the central directory cut: libzip's word for it */
	assert_null(xlsx_open_mem(buf, len - 30, err, sizeof(err)));
	assert_has(err, "zip");
	free(buf);
}

static void
test_file_size(void **state)
{
	char path[] = "/tmp/test_xlsx.XXXXXX";
	int fd = mkstemp(path);
	char *big;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, XLSX_MAX_FILE + 1), 0);
	close(fd);
	assert_null(xlsx_open_file(path, err, sizeof(err)));
	assert_has(err, ": the workbook is more than 32 MiB");
	unlink(path);
	assert_non_null(big = calloc(1, XLSX_MAX_FILE + 1));
	big[0] = 'P';
	big[1] = 'K';
	assert_null(xlsx_open_mem(big, XLSX_MAX_FILE + 1, err, sizeof(err)));
	assert_string_equal(err, "the workbook is more than 32 MiB");
	free(big);
}

static void
test_entries(void **state)
{
	size_t n = XLSX_MAX_ENTRIES + 1;
	struct part *p = calloc(n, sizeof(*p));
	char (*names)[16] = calloc(n, 16);

	assert_non_null(p);
	assert_non_null(names);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 16, "e%zu", i);
		p[i].name = names[i];
		p[i].data = "";
		p[i].len = 0;
	}
	p[0].name = "xl/workbook.xml";
	p[0].data = WB_ONE;
	assert_null(open_parts(p, n));
	assert_string_equal(err, "the zip holds more than 4096 entries; no "
	    "workbook has that many");
	free(p);
	free(names);
}

static void
test_doctype(void **state)
{
	static const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE sst ["
	    "<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;\">]>"
	    "<sst><si><t>&b;</t></si></sst>";
	struct part p[] = {
		{ "xl/workbook.xml", WB_ONE, 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS_ONE, 0, 0 },
		{ "xl/worksheets/sheet1.xml", SD(""), 0, 0 },
		{ "xl/sharedStrings.xml", laughs, 0, 0 },
	};

	assert_null(open_parts(p, 4));
	assert_string_equal(err, "xl/sharedStrings.xml: a DOCTYPE is not "
	    "accepted (no DTDs, no entities); Excel never writes one");
	p[3].data = "<sst><si><t>&ext;</t></si></sst>";
	assert_null(open_parts(p, 4));
	assert_string_equal(err, "xl/sharedStrings.xml: XML error at line 1: "
	    "undefined entity");
	assert_has(sheet_error("<!DOCTYPE w SYSTEM \"file:///etc/passwd\">"
	    "<worksheet/>", NULL), "sheet 'survey' (xl/worksheets/sheet1.xml)"
	    ": a DOCTYPE is not accepted");
}

static void
test_rels(void **state)
{
	struct part p[] = {
		{ "xl/workbook.xml", WB_ONE, 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS_TARGET("../../etc/passwd"),
		    0, 0 },
		{ "xl/worksheets/sheet1.xml", SD(""), 0, 0 },
	};

	assert_null(open_parts(p, 3));
	assert_string_equal(err, "sheet 'survey': its part \"../../etc/passwd"
	    "\" is outside the workbook's xl/ folder");
	p[1].data = RELS_TARGET("/docProps/app.xml");
	assert_null(open_parts(p, 3));
	assert_has(err, "is outside the workbook's xl/ folder");
	p[1].data = RELS_TARGET("../xl/../../xl/worksheets/sheet1.xml");
	assert_null(open_parts(p, 3));
	assert_has(err, "is outside the workbook's xl/ folder");
	p[1].data = RELS_TARGET("worksheets\\sheet1.xml");
	assert_null(open_parts(p, 3));
	assert_has(err, "is outside the workbook's xl/ folder");
	p[1].data = RELS_TARGET("");
	assert_null(open_parts(p, 3));
	assert_has(err, "is outside the workbook's xl/ folder");
	p[1].data = "<Relationships><Relationship Id=\"rId1\" Type=\"x/"
	    "worksheet\" TargetMode=\"External\" Target=\"http://example.org/"
	    "s.xml\"/></Relationships>";
	assert_null(open_parts(p, 3));
	assert_has(err, "is outside the workbook's xl/ folder");
	p[1].data = RELS_TARGET("worksheets/sheet9.xml");
	assert_null(open_parts(p, 3));
	assert_string_equal(err, "sheet 'survey': its part xl/worksheets/"
	    "sheet9.xml is missing from the zip");
	p[1].data = "<Relationships/>";
	assert_null(open_parts(p, 3));
	assert_string_equal(err, "sheet 'survey': no relationship rId1 in "
	    "xl/_rels/workbook.xml.rels");
	/* the right one after a ".." that stays inside */
	p[1].data = RELS_TARGET("worksheets/../worksheets/sheet1.xml");
	{
		struct xlsx *x = open_parts(p, 3);

		assert_non_null(x);
		assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), 0);
		xlsx_free(x);
	}
	assert_null(open_parts(p, 1));
	assert_string_equal(err, "not an .xlsx workbook (no xl/_rels/"
	    "workbook.xml.rels)");
}

static void
test_workbook_xml(void **state)
{
	struct part p[] = {
		{ "xl/workbook.xml", "<workbook><sheets/></workbook>", 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS_ONE, 0, 0 },
	};

	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: the workbook has no "
	    "sheets");
	p[0].data = "<workbook xmlns:r=\"urn:r\"><sheets><sheet name=\"Survey\""
	    " r:id=\"rId1\"/><sheet name=\"survey\" r:id=\"rId1\"/></sheets>"
	    "</workbook>";
	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: two sheets are named "
	    "'survey'");
	p[0].data = "<workbook><sheets><sheet name=\"survey\" id=\"rId1\"/>"
	    "</sheets></workbook>";
	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: sheet 'survey' has no "
	    "r:id");
	p[0].data = "<workbook><sheets><sheet/></sheets></workbook>";
	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: sheet 1 has no name");
	p[0].data = "<workbook><sheets><sheet name=\"a&#10;b\" r:id=\"x\"/>"
	    "</sheets></workbook>";
	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: sheet 1 has a control "
	    "character in its name");
	p[0].data = "<workbook><sheets>";
	assert_null(open_parts(p, 2));
	assert_string_equal(err, "xl/workbook.xml: XML error at line 1: "
	    "no element found");
}

static void
test_sheet_errors(void **state)
{
	assert_string_equal(sheet_error(SD("<row r=\"3\"><c r=\"A3\" t=\"s\">"
	    "<v>5</v></c></row>"), "<sst><si><t>x</t></si></sst>"),
	    "sheet 'survey', cell A3: shared string 5 does not exist (the "
	    "workbook has 1)");
	assert_string_equal(sheet_error(SD("<row><c t=\"s\"><v>1</v></c>"
	    "</row>"), NULL), "sheet 'survey', cell A1: shared string 1 does "
	    "not exist (the workbook has 0)");
	assert_string_equal(sheet_error(SD("<row><c t=\"s\"><v>-1</v></c>"
	    "</row>"), NULL), "sheet 'survey', cell A1: a shared string "
	    "index that is not a number");
	assert_string_equal(sheet_error(SD("<row><c t=\"s\"><v>"
	    "99999999999999999999</v></c></row>"), NULL), "sheet 'survey', "
	    "cell A1: a shared string index that is not a number");
	static const char *bad_refs[] = { "A0", "ZZZZ1", "XFE1", "A1048577",
	    "a1", "$A$1", "A01", "1A", "A", "", "A1 " };
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(*bad_refs); i++) {
		char xml[200], want[200];

		snprintf(xml, sizeof(xml), SD("<row><c r=\"%s\"><v>1</v></c>"
		    "</row>"), bad_refs[i]);
		snprintf(want, sizeof(want), "sheet 'survey', row 1: the cell "
		    "reference \"%s\" is not one Excel writes (A1 to "
		    "XFD1048576)", bad_refs[i]);
		assert_string_equal(sheet_error(xml, NULL), want);
	}
	assert_string_equal(sheet_error(SD("<row r=\"0\"/>"), NULL),
	    "sheet 'survey': the row number \"0\" is not one Excel writes "
	    "(1 to 1048576)");
	assert_string_equal(sheet_error(SD("<row r=\"1048577\"/>"), NULL),
	    "sheet 'survey': the row number \"1048577\" is not one Excel "
	    "writes (1 to 1048576)");
	assert_string_equal(sheet_error(SD("<row r=\"1048576\"/><row/>"),
	    NULL), "sheet 'survey': more than 1048576 rows");
	assert_string_equal(sheet_error(SD("<row r=\"2\"><c r=\"A3\"/>"
	    "</row>"), NULL), "sheet 'survey', row 2: the cell A3 is not in "
	    "this row");
	assert_string_equal(sheet_error(SD("<row><c r=\"B1\"/><c r=\"A1\"/>"
	    "</row>"), NULL), "sheet 'survey', row 1: the cell A1 comes after "
	    "a cell to its right (cells must be in order)");
	assert_string_equal(sheet_error(SD("<row><c r=\"B1\"/><c r=\"B1\"/>"
	    "</row>"), NULL), "sheet 'survey', row 1: the cell B1 comes after "
	    "a cell to its right (cells must be in order)");
	assert_string_equal(sheet_error(SD("<row r=\"5\"/><row r=\"5\"/>"),
	    NULL), "sheet 'survey': row 5 comes after row 5 (rows must be in "
	    "order)");
	assert_string_equal(sheet_error(SD("<row><c r=\"XFD1\"/><c/></row>"),
	    NULL), "sheet 'survey', row 1: more than 16384 columns");
	assert_string_equal(sheet_error(SD("<row><c r=\"B1\" t=\"b\"><v>2"
	    "</v></c></row>"), NULL), "sheet 'survey', cell B1: a boolean "
	    "that is neither 0 nor 1");
	assert_string_equal(sheet_error(SD("<row><c r=\"B1\" t=\"x&#10;y\">"
	    "<v>2</v></c></row>"), NULL), "sheet 'survey', cell B1: unknown "
	    "cell type \"x?y\"");
	assert_string_equal(sheet_error("<worksheet><sheetData><row>", NULL),
	    "sheet 'survey' (xl/worksheets/sheet1.xml): XML error at line 1: "
	    "no element found");
	assert_string_equal(sheet_error("", NULL), "sheet 'survey' (xl/"
	    "worksheets/sheet1.xml): XML error at line 1: no element found");
}

/* The bounds: rows, cells' text, depth, shared strings, methods. */
static void
test_bounds(void **state)
{
	size_t n = XLSX_MAX_ROWS + 1, len;
	const char *row = "<row><c><v>1</v></c></row>";
	char *xml = malloc(64 + n * strlen(row)), *p;
	struct xlsx *x;

	assert_non_null(xml);
	p = xml + sprintf(xml, "<worksheet><sheetData>");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s", row);
	sprintf(p, "</sheetData></worksheet>");
	assert_string_equal(sheet_error(xml, NULL), "sheet 'survey': more "
	    "than 100000 rows");
	/* one row fewer is fine */
	len = strlen(xml);
	memcpy(xml + len - strlen(row) - strlen("</sheetData></worksheet>"),
	    "</sheetData></worksheet>", strlen("</sheetData></worksheet>") + 1);
	assert_non_null(x = open_sheet(xml, NULL));
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), 0);
	assert_int_equal(xlsx_row_count(x, 0), XLSX_MAX_ROWS);
	assert_int_equal(xlsx_row(x, 0, XLSX_MAX_ROWS - 1)->num,
	    XLSX_MAX_ROWS);
	xlsx_free(x);
	free(xml);

	/* a cell's text */
	assert_non_null(xml = malloc(XLSX_MAX_TEXT + 200));
	p = xml + sprintf(xml, "<worksheet><sheetData><row r=\"2\"><c r=\"C2\""
	    " t=\"inlineStr\"><is><t>");
	memset(p, 'a', XLSX_MAX_TEXT + 1);
	strcpy(p + XLSX_MAX_TEXT + 1, "</t></is></c></row></sheetData>"
	    "</worksheet>");
	assert_string_equal(sheet_error(xml, NULL), "sheet 'survey' (xl/"
	    "worksheets/sheet1.xml): cell C2 has more than 128 KiB of text");
	/* exactly the bound is fine */
	strcpy(p + XLSX_MAX_TEXT, "</t></is></c></row></sheetData>"
	    "</worksheet>");
	assert_non_null(x = open_sheet(xml, NULL));
	assert_int_equal(xlsx_sheet_read(x, 0, err, sizeof(err)), 0);
	assert_int_equal(strlen(xlsx_cell(xlsx_row(x, 0, 0), 2)),
	    XLSX_MAX_TEXT);
	xlsx_free(x);
	free(xml);

	/* depth */
	assert_non_null(xml = malloc(XLSX_MAX_DEPTH * 8 + 64));
	p = xml;
	for (int i = 0; i <= XLSX_MAX_DEPTH; i++)
		p += sprintf(p, "<a>");
	for (int i = 0; i <= XLSX_MAX_DEPTH; i++)
		p += sprintf(p, "</a>");
	assert_string_equal(sheet_error(xml, NULL), "sheet 'survey' (xl/"
	    "worksheets/sheet1.xml): XML nested more than 64 levels deep");
	free(xml);

	/* shared strings */
	n = XLSX_MAX_SHARED + 1;
	assert_non_null(xml = malloc(16 + n * 5));
	p = xml + sprintf(xml, "<sst>");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "<si/>");
	sprintf(p, "</sst>");
	assert_null(open_sheet(SD(""), xml));
	assert_string_equal(err, "xl/sharedStrings.xml: more than 1048576 "
	    "shared strings");
	free(xml);

	/* no decompressor but deflate's */
	if (zip_compression_method_supported(ZIP_CM_BZIP2, 1)) {
		struct part bz[] = {
			{ "xl/workbook.xml", WB_ONE, 0, ZIP_CM_BZIP2 },
		};

		assert_null(open_parts(bz, 1));
		assert_string_equal(err, "the zip entry xl/workbook.xml is "
		    "compressed with method 12; a workbook uses deflate");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_small_mem),
		cmocka_unit_test(test_col_name),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_one_sheet_fails),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_not_xlsx),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_doctype),
		cmocka_unit_test(test_rels),
		cmocka_unit_test(test_workbook_xml),
		cmocka_unit_test(test_sheet_errors),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
