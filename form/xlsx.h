/*
 * xlsx.h: a bounded reader of .xlsx workbooks (Office Open XML
 * spreadsheets, as Excel, LibreOffice and openpyxl write them), for
 * XLSForm workbooks taken as information-management officers write them.
 * It gives the sheets (names and order from xl/workbook.xml, each mapped
 * to its part through xl/_rels/workbook.xml.rels) and each worksheet's
 * non-empty cells as UTF-8 text, by row number and column index.  It does
 * not interpret the cells: that is the XLSForm converter's work.
 *
 * The zip container is read with libzip, the XML with expat; every part
 * is streamed through the parser with a running count of the bytes
 * inflated, so a declared size is never trusted.  The input is hostile
 * until proven otherwise: whatever the bytes, the reader answers a
 * workbook or one line saying what is wrong, and never uses more than
 * the bounds below.  Real humanitarian workbooks are 10 to 2,100 rows of
 * choices and well under 10 MiB of XML; the bounds leave ten times that
 * and more, and stop the things no spreadsheet needs (zip bombs, entity
 * expansion, million-row sheets) before they cost memory or minutes.
 *
 * Cell values, as pyxform (through openpyxl) sees them, except dates:
 *   shared strings (t="s") and inline strings (t="inlineStr"): the text,
 *     rich-text runs concatenated, phonetic runs (<rPh>) left out, and
 *     Excel's _xHHHH_ escapes decoded (_x000D_ is a carriage return);
 *   numbers: the text of <v> as written; a decimal whose fraction is all
 *     zeros loses it ("1.0" -> "1", as pyxform prints an integral float);
 *     anything else ("2.5", "1E-3", "1.0000000000000002") stays as it is;
 *     a date is a number in Excel, and comes out as its serial number
 *     ("45658"): styles are not read;
 *   booleans (t="b"): "TRUE" or "FALSE", as pyxform writes Python's
 *     True/False that openpyxl gives;
 *   formulas: the value Excel cached (<v>), never the formula; a formula
 *     with no cached value (a file saved by a program that does not
 *     compute them) is an empty cell;
 *   errors (t="e"): their text, e.g. "#N/A";
 *   dates written as ISO 8601 (t="d", rare): the text.
 * Empty cells (no value, or an empty string) are left out, and rows left
 * with no cell: real workbooks carry thousands of empty styled cells.
 * Only worksheets have rows; a chart sheet is listed with none.
 *
 * Ownership: every string and array returned belongs to the struct xlsx
 * and lives until xlsx_free().  One struct xlsx is not for several
 * threads at once (xlsx_sheet_read fills it); separate ones are.
 */
#ifndef XLSX_H
#define XLSX_H

#include <stddef.h>

/* The file itself: a form workbook is tens to hundreds of KiB. */
#define XLSX_MAX_FILE		(32u << 20)
/* Zip entries: a workbook has 10 to 30 (sheets, styles, theme, ...). */
#define XLSX_MAX_ENTRIES	4096
/* Bytes one XML part may inflate to: 2,100 rows of choices in a dozen
   languages are about 2 MiB of sheet XML. */
#define XLSX_MAX_PART		(64u << 20)
/* Bytes inflated in all, over every part read. */
#define XLSX_MAX_TOTAL		(256u << 20)
/* Zip bombs: a part that has inflated past XLSX_RATIO_GRACE bytes to more
   than XLSX_MAX_RATIO times its compressed size is refused there, not at
   XLSX_MAX_PART.  XML deflates 5 to 50 times; a sheet of empty styled
   cells can pass 300 in a small part, hence the grace.  (Apache POI
   refuses 100 past 100 KiB; ours is looser, as the absolute bounds above
   hold anyway.) */
#define XLSX_MAX_RATIO		200
#define XLSX_RATIO_GRACE	(8u << 20)
/* Sheets in a workbook. */
#define XLSX_MAX_SHEETS		256
/* Bytes of a sheet name (Excel allows 31 characters). */
#define XLSX_MAX_SHEET_NAME	128
/* Rows with a cell, per sheet; a row number may be up to Excel's
   1,048,576 (XLSX_MAX_ROW_NUM). */
#define XLSX_MAX_ROWS		100000
#define XLSX_MAX_ROW_NUM	1048576
/* Columns: Excel's last is XFD, the 16,384th. */
#define XLSX_MAX_COLS		16384
/* Non-empty cells per sheet (16 bytes each in memory). */
#define XLSX_MAX_CELLS		1000000
/* Bytes of one cell's text: Excel's limit is 32,767 characters, up to 4
   UTF-8 bytes each. */
#define XLSX_MAX_TEXT		(128u << 10)
/* Entries in xl/sharedStrings.xml. */
#define XLSX_MAX_SHARED		(1u << 20)
/* XML element depth: a sheet needs 7 (worksheet, sheetData, row, c, is,
   r, t); extensions (extLst) a few more. */
#define XLSX_MAX_DEPTH		64

/* "A" to "XFD" and a NUL. */
#define XLSX_COL_NAME_MAX	4

struct xlsx;

struct xlsx_cell {
	unsigned col;		/* 0-based: A=0, AB=27 */
	const char *text;	/* UTF-8, never empty */
};

struct xlsx_row {
	unsigned long num;	/* Excel's row number, 1-based */
	size_t n_cells;		/* at least 1 */
	const struct xlsx_cell *cells;	/* by increasing column */
};

/*
 * Opens a workbook from len bytes at buf (copied: buf may go at once) or
 * from a file of at most XLSX_MAX_FILE bytes.  Reads the sheet list and
 * the shared strings.  NULL with a one-line message in err on failure.
 */
struct xlsx *xlsx_open_mem(const void *buf, size_t len, char *err,
    size_t errlen);
struct xlsx *xlsx_open_file(const char *path, char *err, size_t errlen);
void xlsx_free(struct xlsx *x);

/* The sheets in the workbook's order (Excel's tabs, left to right). */
size_t xlsx_sheet_count(const struct xlsx *x);
const char *xlsx_sheet_name(const struct xlsx *x, size_t i);
/* The index of the sheet named name, ASCII case ignored (Excel allows no
   two names that differ only in case), or -1. */
int xlsx_sheet_find(const struct xlsx *x, const char *name);

/*
 * Reads sheet i's cells (once; later calls answer at once).  0, or -1
 * with a message naming the sheet and, where there is one, the cell.
 * A sheet that fails stays failed and empty; the others can still be read.
 */
int xlsx_sheet_read(struct xlsx *x, size_t i, char *err, size_t errlen);

/* Sheet i's rows with a cell, by increasing row number (0 and NULL
   before a successful xlsx_sheet_read). */
size_t xlsx_row_count(const struct xlsx *x, size_t i);
const struct xlsx_row *xlsx_row(const struct xlsx *x, size_t i, size_t r);

/* The text of the row's cell in column col, or NULL when it is empty. */
const char *xlsx_cell(const struct xlsx_row *row, unsigned col);

/* Column index to letters ("AB" for 27) into buf; returns buf ("?" for an
   index past XFD). */
char *xlsx_col_name(unsigned col, char buf[XLSX_COL_NAME_MAX]);

#endif
