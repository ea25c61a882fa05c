/*
 * export.h: record-level export of one form, for the analysts who hold the
 * collector's private key.  Linked only into collectctl and the tests
 * (Makefile OPENER), like ropen.c: collectord and the device cannot run it.
 *
 *   collectctl -d CDIR export --key FILE --form F --out DIR
 *       [--labels [--lang LANGUAGE]] [--split-multiple] [--bom] [--xlsx]
 *
 * opens every record of form F the collector holds, of every version, and
 * writes into DIR (made 0700 when missing; an existing one keeps its mode):
 *
 *   F.csv     a header row, then one row per record.  Columns: _id,
 *             _version, _device, _seq, _created, _corrected (the time
 *             corrected by the device's clock offset; empty when unknown),
 *             _clock, then the fields outside repeat groups of every
 *             version of F that has records: in the survey order of the
 *             current version, then the fields only older versions had
 *             (newest version first).  No columns for repeat groups.
 *   F-R.csv   for each repeat group R (dtm_household: F-members.csv), one
 *             row per item: _parent_id (the record's _id), _index (the
 *             item's position, from 1), then R's fields in the same order.
 *             Repeats link to their record by id, as ODK Central's and
 *             Kobo's exports do.
 *   F.jsonl   one JSON object per line, exactly the lines
 *             `collectctl -d CDIR open --key FILE` prints for records of F.
 *
 * Rows follow the store's order: by device, then seq.
 *
 * For the people who open the files in a spreadsheet (as Kobo's and ODK
 * Central's exports offer):
 *
 *   --labels  headers are the fields' labels and select answers their
 *             choices' labels (a select_multiple's joined by "; ", as
 *             labels hold spaces), in the form's default language or
 *             --lang's (a language of its labels; a text missing in it
 *             falls back to the default language's, then to the name or
 *             code).  Metadata columns keep their names.  Without it,
 *             names and codes, which an import reads back.
 *   --split-multiple  after each select_multiple's cell, one column per
 *             choice of its list, "field/choice" (labels with --labels),
 *             1 when chosen, 0 when not, empty when unanswered; lists of
 *             more than 200 choices stay one cell.
 *   --bom     each CSV starts with the UTF-8 byte order mark (EF BB BF):
 *             Excel reads a CSV as UTF-8 only with it, French and Arabic
 *             are garbled without.  The JSONL never has one.
 *   --xlsx    F.xlsx instead of the CSV files (libxlsxwriter): a sheet F
 *             with a row per record, a sheet per repeat group R (named
 *             R, cut to Excel's 31 characters) with _parent_id and
 *             _index, as Kobo does; the same columns and cells as the
 *             CSV, numbers as numbers, every other cell a string, never a
 *             formula (so no quote prefix).  Past Excel's 1,048,575 rows
 *             or 16,384 columns of a sheet it fails (export CSV).  Its
 *             working files are made in DIR, not /tmp.
 *
 * CSV (RFC 4180): UTF-8 without a byte order mark, lines end in CRLF
 * ("\r\n"); a field holding a comma, a double quote, CR or LF is quoted,
 * with its double quotes doubled (line breaks inside a value are kept as
 * they were).  Cells are written as a CSV import reads them back
 * (form_coerce): an absent answer is empty, a select_multiple is its
 * choice names separated by spaces, a geopoint is the ODK text
 * "lat lon [alt [acc]]" (the numbers given; altitude 0 when only the
 * accuracy was given), a date YYYY-MM-DD, a decimal the shortest text
 * that reads back as the same double.
 *
 * Formula injection (OWASP, "CSV Injection"): a cell made from text -- a
 * text answer, and select_one, select_multiple and date answers and
 * metadata, which a valid record never starts so -- that starts with
 * '=', '+', '-', '@', TAB or CR is written with a single quote (') in
 * front, so a spreadsheet shows it as text instead of running it.  Numbers
 * (integer and decimal fields, typed by the form definition: -3 stays -3)
 * and geopoints (digits, signs, dots and spaces only) are never prefixed.
 * The prefix is the one way the CSV differs from the values `open`
 * prints; a text answer that itself starts with a quote followed by one of
 * those characters cannot be told from a prefixed one: the JSONL file is
 * the lossless copy.
 *
 * All or nothing: the files are written as DIR/.NAME.tmp (mode 0600,
 * since they hold personal data), fsynced, and renamed over DIR/NAME only
 * when every record of F opened and every file was written; then DIR is
 * fsynced.  A record that does not open is reported on standard error as
 * "device D seq N: reason" (never its content) and nothing is written.
 * (A crash between the renames can leave some files from this export and
 * some from an earlier one, each of them whole.)
 *
 * Exit codes: 0 done, 1 failed (unknown form, unreadable key, a record
 * that does not open, DIR not writable), 2 usage.  On success one line on
 * standard output: "exported N records of F (M R rows) to DIR".
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <jansson.h>
#include <stdio.h>

#define EXPORT_CSV_EOL "\r\n"

/* collectctl -d CDIR export ...: argv[0] is "export". */
int export_cmd(const char *cdir, int argc, char **argv);

/*
 * Writes s as one CSV field to fp, quoted when it must be; with text set,
 * a value a spreadsheet would run as a formula gets its quote prefix (see
 * above).  0, or -1 on a write error.
 */
int export_csv_field(FILE *fp, const char *s, int text);

/* The shortest "%.Ng" text of d that strtod reads back as d. */
void export_real(double d, char out[32]);

/*
 * A text column of a survey or choices row (col "label") in language
 * lang: "label::LANG", else the definition's default language's
 * ("label::DEFAULT"), else "label"; NULL when the row has none.  lang may
 * be NULL (the default).  Borrowed from row.
 */
const char *export_text(const json_t *row, const json_t *def,
    const char *col, const char *lang);

/*
 * The list a select type reads ("select_one sexes", "select one sexes",
 * "select_multiple needs", "select all that apply needs"), *multi set for
 * a select_multiple; NULL for any other type, and for selects from a file
 * (their choices are not in the definition).  Borrowed from type.
 */
const char *export_select_list(const char *type, int *multi);

#endif
