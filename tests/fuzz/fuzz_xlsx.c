/*
 * fuzz_xlsx: any bytes as a workbook, two ways.  Input that starts as a
 * zip ("PK") or an OLE2 file goes to xlsx_open_mem as it is: the zip
 * container.  Anything else is split at NUL bytes into the XML of
 * xl/workbook.xml, xl/_rels/workbook.xml.rels, xl/sharedStrings.xml and
 * xl/worksheets/sheet1.xml, which are stored (not deflated) in a zip made
 * here, so that mutations reach the XML instead of failing a CRC.  Every
 * sheet is read.  Checks that an open that fails says why, that a sheet
 * read answers rows by increasing number with cells by increasing column,
 * each with text, and that xlsx_cell finds each cell.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "form/xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"xl/workbook.xml", "xl/_rels/workbook.xml.rels",
	"xl/sharedStrings.xml", "xl/worksheets/sheet1.xml",
};

/* The parts as a stored zip (malloc'd), or NULL. */
static void *
fuzz_xlsx_zip(const uint8_t *data, size_t size, size_t *len)
{
	zip_source_t *src;
	zip_t *za;
	zip_stat_t st;
	void *buf = NULL;
	size_t at = 0;

	if ((src = zip_source_buffer_create(NULL, 0, 0, NULL)) == NULL)
		abort();
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, NULL)) == NULL)
		abort();
	zip_source_keep(src);
	for (size_t i = 0; i < 4 && at <= size; i++) {
		const uint8_t *nul = memchr(data + at, 0, size - at);
		size_t n = nul ? (size_t)(nul - (data + at)) : size - at;
		zip_source_t *zs = zip_source_buffer(za, data + at, n, 0);
		zip_int64_t idx;

		if (zs == NULL ||
		    (idx = zip_file_add(za, names[i], zs, 0)) < 0 ||
		    zip_set_file_compression(za, (zip_uint64_t)idx,
		    ZIP_CM_STORE, 0) != 0)
			abort();
		at += n + 1;
	}
	if (zip_close(za) != 0)
		abort();
	zip_stat_init(&st);
	if (zip_source_open(src) != 0 || zip_source_stat(src, &st) != 0 ||
	    (buf = malloc(st.size ? st.size : 1)) == NULL ||
	    zip_source_read(src, buf, st.size) != (zip_int64_t)st.size)
		abort();
	zip_source_close(src);
	zip_source_free(src);
	*len = st.size;
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct xlsx *x;
	void *zip = NULL;
	size_t len = size;

	if (size > (1u << 20))
		return 0;
	if (size >= 2 && ((data[0] == 'P' && data[1] == 'K') ||
	    (data[0] == 0xD0 && data[1] == 0xCF)))
		x = xlsx_open_mem(data, size, err, sizeof(err));
	else if ((zip = fuzz_xlsx_zip(data, size, &len)) != NULL)
		x = xlsx_open_mem(zip, len, err, sizeof(err));
	else
		return 0;
	free(zip);
	if (x == NULL) {
		if (err[0] == '\0' || strchr(err, '\n'))
			abort();
		return 0;
	}
	if (xlsx_sheet_count(x) == 0)
		abort();
	for (size_t i = 0; i < xlsx_sheet_count(x); i++) {
		if (xlsx_sheet_find(x, xlsx_sheet_name(x, i)) != (int)i)
			abort();
		err[0] = '\0';
		if (xlsx_sheet_read(x, i, err, sizeof(err)) != 0) {
			if (err[0] == '\0' || xlsx_row_count(x, i) != 0)
				abort();
			continue;
		}
		for (size_t r = 0; r < xlsx_row_count(x, i); r++) {
			const struct xlsx_row *row = xlsx_row(x, i, r);

			if (row->n_cells == 0 || row->num == 0 ||
			    row->num > XLSX_MAX_ROW_NUM ||
			    (r > 0 && row->num <= xlsx_row(x, i, r - 1)->num))
				abort();
			for (size_t c = 0; c < row->n_cells; c++) {
				const struct xlsx_cell *cl = &row->cells[c];

				if (cl->col >= XLSX_MAX_COLS ||
				    cl->text[0] == '\0' || (c > 0 &&
				    cl->col <= row->cells[c - 1].col) ||
				    xlsx_cell(row, cl->col) != cl->text)
					abort();
			}
		}
	}
	xlsx_free(x);
	return 0;
}
