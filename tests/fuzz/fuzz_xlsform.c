/*
 * fuzz_xlsform: any bytes as the cells of an XLSForm workbook, through the
 * converter and the check a form gets (form_file_workbook: convert, check
 * as a whole, name the sheet's row and column in an error).  The input is
 * read as sheets separated by form feeds (survey, choices, settings,
 * counts, external_choices, then a sheet of no kind of ours), rows by
 * newlines and cells by tabs; they go into a workbook made here as
 * inline strings, stored, so mutations reach the converter instead of
 * the zip's checksums (fuzz_xlsx covers the container and the XML).  Checks that a refusal
 * says why in lines that name no more than a line each, and that a form
 * taken comes back as a definition the core takes again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "form/form.h"
#include "form/form_file.h"
#include "form/xlsform.h"
#include "form/xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sheets[] = {
	"survey", "choices", "settings", "counts", "external_choices",
	"README",
};
#define NSHEETS 6

struct buf {
	char *p;
	size_t n, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A cell's text, escaped for XML; bytes XML cannot carry become '?'. */
static void
put_text(struct buf *b, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = (char)s[i];

		if (c == '<')
			puts_(b, "&lt;");
		else if (c == '>')
			puts_(b, "&gt;");
		else if (c == '&')
			puts_(b, "&amp;");
		else if ((unsigned char)c < 0x20 && c != '\t')
			put(b, "?", 1);
		else
			put(b, &c, 1);
	}
}

/* One sheet's XML from its text: rows by '\n', cells by '\t'. */
static char *
sheet_xml(const uint8_t *s, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	unsigned row = 1;
	size_t at = 0;

	puts_(&b, "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas."
	    "openxmlformats.org/spreadsheetml/2006/main\"><sheetData>");
	while (at < n && row <= 3000) {
		const uint8_t *nl = memchr(s + at, '\n', n - at);
		size_t end = nl ? (size_t)(nl - s) : n;
		unsigned col = 0;
		char ref[64];

		snprintf(ref, sizeof(ref), "<row r=\"%u\">", row);
		puts_(&b, ref);
		while (at <= end && col < 26) {
			const uint8_t *tab = memchr(s + at, '\t', end - at);
			size_t cend = tab ? (size_t)(tab - s) : end;

			snprintf(ref, sizeof(ref), "<c r=\"%c%u\" t=\"inlineStr\">"
			    "<is><t>", 'A' + col, row);
			puts_(&b, ref);
			put_text(&b, s + at, cend - at);
			puts_(&b, "</t></is></c>");
			col++;
			at = cend + 1;
			if (tab == NULL)
				break;
		}
		puts_(&b, "</row>");
		at = end + 1;
		row++;
	}
	puts_(&b, "</sheetData></worksheet>");
	return b.p;
}

static void
add(zip_t *za, const char *name, const char *text)
{
	zip_source_t *zs = zip_source_buffer(za, text, strlen(text), 0);
	zip_int64_t idx;

	if (zs == NULL || (idx = zip_file_add(za, name, zs, 0)) < 0 ||
	    zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE,
	    0) != 0)
		abort();
}

/* The workbook as zip bytes (malloc'd). */
static void *
workbook(const uint8_t *data, size_t size, size_t *len)
{
	struct buf wb = { NULL, 0, 0 }, rels = { NULL, 0, 0 };
	char *xml[NSHEETS] = { NULL }, name[64];
	zip_source_t *src;
	zip_stat_t st;
	zip_t *za;
	void *out;
	size_t at = 0, k;

	puts_(&wb, "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas."
	    "openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://"
	    "schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	    "<sheets>");
	puts_(&rels, "<?xml version=\"1.0\"?><Relationships xmlns=\"http://"
	    "schemas.openxmlformats.org/package/2006/relationships\">");
	for (k = 0; k < NSHEETS && at <= size; k++) {
		const uint8_t *ff = memchr(data + at, '\f', size - at);
		size_t end = ff ? (size_t)(ff - data) : size;

		xml[k] = sheet_xml(data + at, end - at);
		snprintf(name, sizeof(name), "<sheet name=\"%s\" sheetId=\"%zu\" "
		    "r:id=\"rId%zu\"/>", sheets[k], k + 1, k + 1);
		puts_(&wb, name);
		snprintf(name, sizeof(name), "<Relationship Id=\"rId%zu\" ", k + 1);
		puts_(&rels, name);
		snprintf(name, sizeof(name), "Target=\"worksheets/sheet%zu.xml\" ",
		    k + 1);
		puts_(&rels, name);
		puts_(&rels, "Type=\"http://schemas.openxmlformats.org/"
		    "officeDocument/2006/relationships/worksheet\"/>");
		at = end + 1;
	}
	puts_(&wb, "</sheets></workbook>");
	puts_(&rels, "</Relationships>");
	if ((src = zip_source_buffer_create(NULL, 0, 0, NULL)) == NULL ||
	    (za = zip_open_from_source(src, ZIP_TRUNCATE, NULL)) == NULL)
		abort();
	zip_source_keep(src);
	add(za, "xl/workbook.xml", wb.p);
	add(za, "xl/_rels/workbook.xml.rels", rels.p);
	for (size_t i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "xl/worksheets/sheet%zu.xml", i + 1);
		add(za, name, xml[i]);
	}
	if (zip_close(za) != 0)
		abort();
	zip_stat_init(&st);
	if (zip_source_open(src) != 0 || zip_source_stat(src, &st) != 0 ||
	    (out = malloc(st.size ? st.size : 1)) == NULL ||
	    zip_source_read(src, out, st.size) != (zip_int64_t)st.size)
		abort();
	zip_source_close(src);
	zip_source_free(src);
	for (size_t i = 0; i < k; i++)
		free(xml[i]);
	free(wb.p);
	free(rels.p);
	*len = st.size;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[4096], notes[XLSFORM_NOTES_MAX], e[512], *json;
	struct form *f, *again;
	struct xlsx *x;
	size_t len, zlen;
	void *zip;

	if (size > (256u << 10))
		return 0;
	zip = workbook(data, size, &zlen);
	if ((x = xlsx_open_mem(zip, zlen, e, sizeof(e))) == NULL) {
		fprintf(stderr, "fuzz_xlsform: a workbook made here: %s\n", e);
		abort();
	}
	if (form_file_workbook(x, "fuzz.xlsx", 0, &json, &len, &f, notes,
	    sizeof(notes), err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();	/* a refusal says why */
	} else {
		/* what is stored and handed to boards is taken again */
		if (form_parse(json, len, &again, err, sizeof(err)) != 0)
			abort();
		form_free(again);
		form_free(f);
		free(json);
	}
	xlsx_free(x);
	free(zip);
	return 0;
}
