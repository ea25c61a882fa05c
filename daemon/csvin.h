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
 * Column names are field names.  A group prefix written the ODK way
 * ("members/sex", "group-x/sex" is not a prefix) is cut to the part after
 * the last '/'.  Export metadata columns are dropped: KEY, PARENT_KEY,
 * SubmissionDate, SubmitterID, SubmitterName, AttachmentsPresent,
 * AttachmentsExpected, Status, ReviewState, DeviceID, Edits, FormVersion,
 * start, end, today, deviceid, and every column starting with '_' except
 * `_id`.  The instance id columns `meta/instanceID`, `meta-instanceID`,
 * `instanceID` and `_uuid` become `_id` (a leading "uuid:" removed); when
 * there is none, a main-file KEY of the form "uuid:ID" gives `_id`, as
 * ODK Central's KEY is the instance id.
 *
 * Values stay strings ("" kept as ""); form_coerce() types them.
 *
 * Limits: each file at most CSVIN_MAX_BYTES, at most CSVIN_MAX_ROWS rows
 * and CSVIN_MAX_COLS columns, a field at most CSVIN_MAX_FIELD bytes.
 * Errors name the file and the line.
 */
#ifndef CSVIN_H
#define CSVIN_H

#include <jansson.h>
#include <stddef.h>

#define CSVIN_MAX_BYTES (64 * 1024 * 1024)
#define CSVIN_MAX_ROWS 200000
#define CSVIN_MAX_COLS 512
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
 * On failure returns -1 and err names every structural problem found,
 * one per line (unreadable file, ragged row, a repeat row whose parent
 * matches no record, duplicate keys, a limit exceeded), err truncated at
 * errlen.
 */
int csvin_read(const char *main_path, const struct csvin_repeat *reps,
    size_t n_reps, json_t **out, char *err, size_t errlen);

#endif
