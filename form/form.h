/*
 * form.h: form definitions as data.  A definition is a JSON document with
 * XLSForm columns (proto/forms/README.md describes it); this module parses
 * one into a `struct form`, validates records against it, turns a valid
 * record into the protobuf values that get sealed, turns CSV text into
 * typed values, and extracts the plaintext counts the form declares.
 *
 * Ownership: a struct form owns everything it points to; form_free()
 * releases it.  A catalogue owns its forms.  Records passed in are borrowed
 * (json_t, jansson) and never modified except by form_coerce().
 *
 * Privacy: error reasons never quote the submitted value, only the rule.
 */
#ifndef FORM_H
#define FORM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/record.pb-c.h"

#define FORM_MAX_DEF_BYTES (8 * 1024 * 1024)	/* a definition's JSON */
#define FORM_MAX_FIELDS 2000		/* rows with a name: fields, groups, notes */
#define FORM_MAX_REPEAT_ITEMS 100	/* hard cap before any form rule */
#define FORM_MAX_TEXT 2000		/* bytes of any one text value */
#define FORM_MAX_ERRORS 64
#define FORM_ID_MAX 64
#define FORM_VERSION_MAX 32

struct form;
struct form_catalog;

struct form_error {
	char path[160];		/* e.g. "members[3].age_years" (1-based), or
				   "" for the record as a whole */
	char reason[160];	/* e.g. "must be 0 to 120" */
};

struct form_errors {
	size_t n;			/* entries used in e[] */
	size_t dropped;			/* errors past FORM_MAX_ERRORS */
	struct form_error e[FORM_MAX_ERRORS];
};

/* Appends one error (printf-style reason); counts it as dropped when full. */
void form_error_add(struct form_errors *errs, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Parses a definition.  0 and *out, or -1 with a message in err that names
 * the row (survey index and field name) or choice at fault.
 */
int form_parse(const char *json, size_t len, struct form **out, char *err,
    size_t errlen);
void form_free(struct form *f);

const char *form_id(const struct form *f);
const char *form_version(const struct form *f);
/*
 * The definition as JSON, served to clients as is: a new reference (the
 * caller json_decref()s it), parsed from the text the form keeps -- a
 * form holds no JSON tree, which would take several times the text's
 * size for as long as the form is loaded.  NULL when out of memory.
 */
json_t *form_definition(const struct form *f);
/* The same as compact JSON text, to serve without a tree: malloc'd
   (the caller frees it), *len its length; NULL when out of memory. */
char *form_definition_text(const struct form *f, size_t *len);
/* An XLSForm yes/no cell (required, read_only ...) as pyxform reads it:
   yes/no, true/false, 1/0, T/F in any case, or empty; 1 yes, 0 no, -1
   neither. */
int form_yes_no(const json_t *v);
/* The definition's title in its default language (borrowed). */
const char *form_title(const struct form *f);

/*
 * Validates a record (a JSON object: field name to value, repeat groups as
 * arrays of objects).  Keys starting with '_' are metadata: `_id` (a UUID),
 * `_form` and `_version` (must match f when present) are allowed, any other
 * is an error.  `today` is YYYY-MM-DD, the date "not in the future" is
 * checked against.  Every error found is added to errs (all of them, not
 * just the first).  Returns 0 when valid, -1 when errs has errors.
 */
int form_validate(const struct form *f, const json_t *rec, const char *today,
    struct form_errors *errs);

/*
 * What a client shows (the web app, from the same code compiled to
 * WebAssembly): {"record": the record as it is to be sent -- answers to
 * questions that are not relevant removed, each calculation written in
 * (one that calls now(), uuid() or once() only when empty) --, "off": the
 * paths of the fields not relevant, "count": each top-level repeat's
 * repeat_count when it is a number, "settled": false when 16 passes did
 * not settle it}.  `now` is now()'s ISO text or NULL.  A new reference,
 * or NULL when rec is not an object or memory ran out.
 */
json_t *form_state(const struct form *f, const json_t *rec, const char *today,
    const char *now);
/*
 * The choices of select `field` its choice_filter allows (all when it has
 * none) in item `item` (from 0) of its repeat, as indexes into its list:
 * a new JSON array, or NULL when there is no such select or item.
 */
json_t *form_choices_allowed(const struct form *f, const json_t *rec,
    const char *field, int item, const char *today);

/*
 * Converts text values (as a CSV import reads them: every value a string,
 * "" for empty, select_multiple space-separated, geopoint "lat lon [alt
 * [acc]]") into the JSON types form_validate expects, in place.  Empty
 * strings are removed.  Values that do not convert are errors.  0 or -1.
 */
int form_coerce(const struct form *f, json_t *rec, struct form_errors *errs);

/*
 * Fills r->values / r->n_values from a record that form_validate accepted
 * (metadata keys skipped).  Allocates; release with form_values_free().
 * The values borrow f's field names and rec's strings: both must outlive
 * them.  0 or -1 (out of memory).
 */
int form_values(const struct form *f, const json_t *rec, Field__Record *r);
void form_values_free(Field__Record *r);

/*
 * The values of a record as a JSON object (field name to value, repeats as
 * arrays of objects): the inverse of form_values, for opened records.
 * Needs no definition.  New reference, or NULL when out of memory.
 * The result is the record without metadata and empty answers, in the
 * JSON forms: a select_multiple given as "a b" comes back ["a", "b"], a
 * geopoint given as "lat lon" an object, a decimal a JSON real.  It is
 * valid for the form whenever the record was.
 */
json_t *form_values_json(const Field__Record *r);

/*
 * Counts.  A form declares what is counted (its "counts" object), or is
 * counted by default (records by place, day and each select_one; see
 * form_counts_default in form_impl.h); each valid record contributes cells: (day, place, dim, value, measure, n).
 * The total of each measure has dim "" and value "".  A dimension taken
 * from a repeat field contributes only to measures that count repeat
 * items.  Where the form declares latest_by, only the latest record per
 * place counts (the store replaces a place's cells).
 */
struct form_count {
	char day[11];		/* YYYY-MM-DD from the form's date field, ""
				   for a form without one */
	char place[64];		/* value of the form's place field, or "" */
	char dim[32];
	char value[64];
	char measure[32];
	int64_t n;
};

struct form_counts {
	size_t n, cap;
	struct form_count *c;	/* owned; free with form_counts_free */
};

int form_counts(const struct form *f, const json_t *rec,
    struct form_counts *out);
void form_counts_free(struct form_counts *c);
/*
 * Analysis (the collector's counts, analysis/): a form version's counting
 * schema and the facts a valid record gives it.  Dimensions are the place
 * field (named after it; when the form has one) and the declared ones, in that order; item
 * dimensions come from the repeat counted by an items measure (the one
 * repeat analysis reads; dimensions in another repeat are left out).  A
 * count of records of a form counted by its latest record per place
 * counts places, not people, and is released without suppression.
 */
#define FORM_CDIM_MAX 17
#define FORM_CMEASURE_MAX 32

enum form_mkind { FORM_M_RECORDS, FORM_M_ITEMS, FORM_M_SUM };

struct form_cschema {
	int latest;			/* latest record per place counts */
	int place;			/* dims[0] is the place field */
	int by_default;			/* the form declares no counts: the
					   default ones (form_counts_default
					   in form_impl.h says which) */
	char date[64];			/* the field the day comes from, or ""
					   (the day the record was made) */
	size_t n_dims, n_measures;
	struct form_cdim {
		char name[64];
		char field[64];		/* the field it reads (its label's) */
		int item;		/* from the counted repeat */
		int multi;		/* select_multiple: several values */
	} dims[FORM_CDIM_MAX];
	struct form_cmeasure {
		char name[32];
		enum form_mkind kind;
		int suppress;		/* small values are suppressed */
	} measures[FORM_CMEASURE_MAX];
};

/* 0 and *out; every form is counted (one that declares no counts by
   default), so -1 only for a form with nothing to count by. */
int form_cschema(const struct form *f, struct form_cschema *out);

/* Where value stands among dim's values in output order (its choice's
   or band's position), or -1 for a dimension of free text. */
int form_cdim_rank(const struct form *f, const char *dim, const char *value);

/*
 * The facts of a record form_validate accepted: day (YYYY-MM-DD, or ""
 * when the form has no date field or the record leaves it empty: the
 * caller counts it on the day the record was made), measure values at record level (m[i] for schema
 * measure i; an items measure is the number of items), and each
 * dimension value: fn(arg, item, dim, value) with item -1 for the record
 * and 0.. for the counted repeat's items.  0, or fn's non-zero return.
 */
int form_facts(const struct form *f, const json_t *rec, char day[11],
    int64_t m[FORM_CMEASURE_MAX], size_t *n_items,
    int (*fn)(void *arg, long item, size_t dim, const char *value),
    void *arg);

/*
 * The dictionary records of this version are compressed with
 * (recpack.h): its field and choice names, one a line, in definition
 * order.  Owned by f.
 */
const char *form_dict(const struct form *f, size_t *len);

/* The place field when only the latest record per place counts, or NULL. */
const char *form_latest_by(const struct form *f);

/*
 * A catalogue of definitions: several forms, several versions of each.
 * The current version of a form is its highest (form_version_cmp).
 */
struct form_catalog *form_catalog_new(void);
void form_catalog_free(struct form_catalog *cat);
/*
 * Parses and adds a definition; a second add of the same id and version
 * with identical JSON is a no-op, with different JSON an error.
 * Returns the form (owned by the catalogue) or NULL with err.
 */
const struct form *form_catalog_add(struct form_catalog *cat,
    const char *json, size_t len, char *err, size_t errlen);
/* The catalogue's version: the highest version of any form in it ("" for
   an empty one).  Sync compares it to hand a device newer forms. */
void form_catalog_version(const struct form_catalog *cat, char *out,
    size_t outlen);
/* 1 when s is a real calendar date YYYY-MM-DD. */
int form_date_ok(const char *s);
/* <0, 0, >0 as dotted version a is older, the same, newer than b. */
int form_version_cmp(const char *a, const char *b);
/* The named version, or the current one when version is NULL; or NULL. */
const struct form *form_catalog_get(const struct form_catalog *cat,
    const char *id, const char *version);
/* The current version of the i-th form id (in order first added), or NULL
   past the end. */
const struct form *form_catalog_nth(const struct form_catalog *cat, size_t i);
/* Every form version in the catalogue, in the order added. */
size_t form_catalog_count(const struct form_catalog *cat);
const struct form *form_catalog_at(const struct form_catalog *cat, size_t i);

#endif
