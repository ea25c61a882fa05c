/*
 * csvin.h: reads CSV exports (Kobo, ODK Central, a spreadsheet) into JSON
 * records of strings for fieldctl import.  One main file, one row a record,
 * and optionally one file per repeat group whose rows are linked to their
 * record by a key column, as Kobo and ODK Central export them:
 *
 *   main file:   a key column, the first present of KEY, _index, _uuid
 *   repeat file: a parent column, the first present of PARENT_KEY,
 *                _parent_index
 *
 * Column names are field names.  A group prefix written the ODK way is
 * cut off at the last '/' ("hh/members/sex" gives "sex"); '-' is no
 * separator ("members-sex" stays so).  Export metadata columns are
 * dropped: KEY, PARENT_KEY, SubmissionDate, SubmitterID, SubmitterName,
 * AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID,
 * Edits, FormVersion, start, end, today, deviceid, the rest of the meta
 * group ("meta/..." and "meta-...", e.g. Kobo's meta/rootUuid), and every
 * column starting with '_'.  The record id `_id` comes from the first
 * present of `meta/instanceID`, `meta-instanceID`, `instanceID`, `_uuid`
 * and `_id` (so Kobo's numeric `_id` gives way to its `_uuid`), a leading
 * "uuid:" removed; when there is none, a main-file KEY of the form
 * "uuid:ID" gives `_id`, as ODK Central's KEY is the instance id.  An
 * empty id gives no `_id`.  Repeat rows get no `_id`.
 *
 * Values stay strings ("" kept as ""); form_coerce() types them.  As
 * libcsv does, spaces and tabs around an unquoted value are trimmed.
 * Files are UTF-8 (a BOM is skipped), LF or CRLF.  Blank lines and rows
 * whose cells are all empty are skipped; a column with no name is
 * dropped, and a value under it is an error.  A main row with an empty
 * key is a record that no repeat row can name.
 *
 * Limits: each file at most CSVIN_MAX_BYTES, at most CSVIN_MAX_ROWS rows
 * (not counting the header) and CSVIN_MAX_COLS columns, a field at most
 * CSVIN_MAX_FIELD bytes, each checked before memory grows; a limit stops
 * the reading of that file.
 *
 * Errors name the file and the physical line a row starts on, and never
 * hold cell values other than keys (values can be people's names).
 * Repeat rows are linked only when the main file had no error; else the
 * repeat files are still checked on their own.
 */
#ifndef CSVIN_H
#define CSVIN_H

#include <jansson.h>
#include <stddef.h>

#define CSVIN_MAX_BYTES (64 * 1024 * 1024)
#define CSVIN_MAX_ROWS 200000
#define CSVIN_MAX_COLS 512
#define CSVIN_MAX_CELLS 2000000	/* over all files of one import */
#define CSVIN_MAX_FIELD 4096

struct csvin_repeat {
	const char *group;	/* repeat group name, e.g. "members" */
	const char *path;	/* its CSV file */
};

/*
 * Reads main_path and the repeat files.  On success returns 0 and *out, a
 * JSON array with one object per main row, in file order:
 *   { "line": LINE_NUMBER_IN_MAIN_FILE, "record": { field: "text", ...,
 *     group: [ { field: "text", ... }, ... ] } }
 * A record with no repeat rows gets no key for that group.
 * On failure returns -1, *out NULL, and err names every structural
 * problem found, one per line (unreadable file, not UTF-8, a parse error,
 * ragged row, duplicate column names after mapping, duplicate keys, a
 * missing key or parent column, a repeat row whose parent matches no
 * record, a limit exceeded): the first 50, then a count of the rest;
 * err is truncated at errlen (each line still ends in '\n').
 */
int csvin_read(const char *main_path, const struct csvin_repeat *reps,
    size_t n_reps, json_t **out, char *err, size_t errlen);

#endif
