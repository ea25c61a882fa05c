/*
 * xlsform.h: an XLSForm workbook (form/xlsx.h reads the .xlsx) as the JSON
 * definition form_parse() takes (proto/forms/README.md), the way pyxform
 * reads a workbook:
 *
 *   survey     row 1 the column names, then one row a question; rows with
 *              no cell are skipped; every column name is matched without
 *              regard to ASCII case before "::" ("Label::Français" is
 *              label::Français), and pyxform's aliases are taken ("list
 *              name", "value", "count", "jr:count" ...)
 *   choices    the same; columns beyond list_name, name and the labels
 *              are kept, for choice_filter
 *   settings   row 2 the values: form_id (pyxform's id_string too),
 *              version, form_title, default_language, instance_name,
 *              allow_choice_duplicates; other settings are noted and not
 *              used (public_key, submission_url, style: records are
 *              sealed to the collector's key and sent by sync)
 *   counts     ours, optional: what the collector counts, one row a
 *              declaration (kind, name, field, bands, count, sum, min,
 *              max; see proto/forms/README.md)
 *   any other  skipped with a note (a README sheet, external_choices)
 *
 * Every survey and choices row carries "_row", its row number in the
 * sheet, and "_columns" maps each sheet's column names to their letters,
 * so an error can name the cell a person sees in Excel; xlsform_strip
 * takes them out before the definition is checked and stored.
 *
 * A form with no form_id takes the workbook's file name, as pyxform does;
 * one with no version gets the time of conversion, yyyymmddHHMM in UTC
 * (the convention pyxform documents, with the minute as the revision).
 *
 * Errors name the sheet, row and column: "survey row 12, column C
 * (name): ...".  Notes are things a person should know that do not stop
 * the form, one a line.
 */
#ifndef XLSFORM_H
#define XLSFORM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct xlsx;

/* Bytes of notes kept; more are summarised in one line. */
#define XLSFORM_NOTES_MAX 4096

/*
 * Converts x.  name is the file's name (for a missing form_id), now_ms the
 * time for a missing version.  The definition (new reference), or NULL
 * with every error found in err, one a line.  notes gets the notes.
 */
json_t *xlsform_convert(struct xlsx *x, const char *name, int64_t now_ms,
    char *notes, size_t noteslen, char *err, size_t errlen);

/* Removes "_columns" and the rows' "_row" keys from def. */
void xlsform_strip(json_t *def);

#endif
