/*
 * rules_wasm.c: what the web app calls in the forms core compiled to
 * WebAssembly (web/field/rules.wasm, made by build.sh).  The phone runs
 * the board's own form_parse, form_validate and form_state, so its
 * verdicts are the board's word for word; this file only moves text in
 * and out.  Every call takes and gives UTF-8 JSON text in memory the
 * caller got from rw_alloc and gives back with rw_free.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form/form.h"

#define RW_EXPORT __attribute__((used, visibility("default")))

static char rw_err[512];

RW_EXPORT void *
rw_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

RW_EXPORT void
rw_free(void *p)
{
	free(p);
}

/* The message of the last rw_parse that failed. */
RW_EXPORT const char *
rw_error(void)
{
	return rw_err;
}

/* A definition's text: a form, or NULL and rw_error(). */
RW_EXPORT struct form *
rw_parse(const char *json, size_t len)
{
	struct form *f = NULL;

	rw_err[0] = '\0';
	if (form_parse(json, len, &f, rw_err, sizeof(rw_err)) != 0)
		return NULL;
	return f;
}

RW_EXPORT void
rw_form_free(struct form *f)
{
	form_free(f);
}

static char *
rw_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* The record as the board's API reads it, or an error object; `any`
   takes any JSON value, for form_validate to say what is wrong with it. */
static json_t *
rw_record(const char *text, size_t len, json_t **fail, int any)
{
	json_error_t jerr;
	json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES |
	    (any ? JSON_DECODE_ANY : 0), &jerr);
	char msg[160];

	*fail = NULL;
	if (rec == NULL) {
		snprintf(msg, sizeof(msg), "malformed JSON at line %d, column "
		    "%d", jerr.line, jerr.column);
		*fail = json_pack("{s:s}", "error", msg);
	} else if (!any && !json_is_object(rec)) {
		json_decref(rec);
		rec = NULL;
		*fail = json_pack("{s:s}", "error", "a record must be a JSON "
		    "object");
	}
	return rec;
}

/*
 * Validates a record: {"errors": [{"path", "reason"}...], "more_errors":
 * N}, the body of the board's 422 (a JSON value that is not an object
 * gets form_validate's error), or {"error": ...} for text that is not JSON.
 */
RW_EXPORT char *
rw_validate(const struct form *f, const char *text, size_t len,
    const char *today)
{
	struct form_errors *errs;
	json_t *fail, *rec = rw_record(text, len, &fail, 1), *arr;

	if (rec == NULL)
		return rw_text(fail);
	if ((errs = calloc(1, sizeof(*errs))) == NULL) {
		json_decref(rec);
		return NULL;
	}
	/* no date: today() cannot be evaluated, as on a board that does not
	   know the date */
	form_validate(f, rec, today[0] ? today : NULL, errs);
	arr = json_array();
	for (size_t i = 0; i < errs->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "path",
		    errs->e[i].path, "reason", errs->e[i].reason));
	json_decref(rec);
	fail = json_pack("{s:o, s:I}", "errors", arr, "more_errors",
	    (json_int_t)errs->dropped);
	free(errs);
	return rw_text(fail);
}

/* form_state of a record (form.h), or {"error": ...}. */
RW_EXPORT char *
rw_state(const struct form *f, const char *text, size_t len,
    const char *today, const char *now)
{
	json_t *fail, *rec = rw_record(text, len, &fail, 0), *st;

	if (rec == NULL)
		return rw_text(fail);
	st = form_state(f, rec, today[0] ? today : NULL, now[0] ? now : NULL);
	json_decref(rec);
	return rw_text(st);
}

/* form_choices_allowed (form.h): a JSON array of indexes, or "null". */
RW_EXPORT char *
rw_choices(const struct form *f, const char *text, size_t len,
    const char *field, int item, const char *today)
{
	json_t *fail, *rec = rw_record(text, len, &fail, 0), *out;

	if (rec == NULL)
		return rw_text(fail);
	out = form_choices_allowed(f, rec, field, item, today[0] ? today :
	    NULL);
	json_decref(rec);
	return out ? rw_text(out) : strdup("null");
}

/* The hash of the C sources this module was built from (build.sh). */
RW_EXPORT const char *
rw_sources(void)
{
	return RW_SOURCES;
}

/*
 * common/util.c holds the board's UUID check beside file and key code
 * the phone has no use for (it links mbedtls); this is the same test:
 * 8-4-4-4-12 hexadecimal digits.
 */
int
util_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' :
		    !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}
