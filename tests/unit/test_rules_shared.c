/*
 * test_rules_shared.c: the daemon's record rules (form_parse,
 * form_validate) over tests/rules/cases.json, the cases the browser's
 * module of the rules (web/field/rules.wasm, this C compiled to WebAssembly,
 * run by tests/rules/rules_test.js) must pass too: one set of rules, the same
 * code on two machines, the same verdicts.
 *
 * A case is {"name", "form", "record", "today", "errors"}: "form" names a
 * shipped form (proto/forms/ID.json) or is a definition inline; "today"
 * may be null (today() cannot be evaluated then); "errors" is exactly what
 * form_validate reports, [{"path", "reason"}] in order, and "dropped" (0
 * when absent) how many more it counted past FORM_MAX_ERRORS.  A case
 * with "form_error" instead expects form_parse to refuse the definition
 * with exactly that message.
 *
 * The cases hold every case of test_form_validate.c and test_expr.c, and
 * more.  An expression case puts the expression in a small inline form:
 * as the `relevant` of a required text field expr_true, left empty (so
 * "expr_true: required" means true, no error false, "relevance cannot be
 * evaluated" an evaluation error), or as the constraint of a field
 * `value` holding `.` (its message "expression is false").
 *
 * Run from the repository root.  RULES_CASES=FILE reads another file;
 * RULES_PRINT=1 prints what C says of each case, one JSON object a line
 * ({"name", "errors", "dropped"} or {"name", "form_error"}), instead of
 * checking: how the verdicts of new cases are made, to be read by eye
 * before they go into cases.json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "form/form.h"

#define CASES_PATH "tests/rules/cases.json"

/* The definition a case names or holds, as JSON text (malloc'd). */
static char *
case_form_text(const json_t *form, size_t *len)
{
	const char *id = json_string_value(form);
	char path[128], *text;
	FILE *fp;
	long n;

	if (id == NULL) {
		text = json_dumps(form, JSON_COMPACT);
		assert_non_null(text);
		*len = strlen(text);
		return text;
	}
	/* a shipped form's id: no path tricks */
	assert_true(strlen(id) < 64 && strspn(id,
	    "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(id));
	snprintf(path, sizeof(path), "proto/forms/%s.json", id);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open (run from the repository root)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	assert_non_null(text = malloc((size_t)n + 1));
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	text[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return text;
}

/* The verdict C gives on case c: {"errors", "dropped"} or
   {"form_error"}. */
static json_t *
case_verdict(const json_t *c)
{
	const json_t *today = json_object_get(c, "today");
	struct form_errors errs = { 0 };
	struct form *f;
	char err[512], *text;
	json_t *out, *arr;
	size_t len;
	int rc;

	text = case_form_text(json_object_get(c, "form"), &len);
	rc = form_parse(text, len, &f, err, sizeof(err));
	free(text);
	if (rc != 0)
		return json_pack("{s:s}", "form_error", err);
	assert_true(json_is_string(today) || json_is_null(today));
	form_validate(f, json_object_get(c, "record"),
	    json_string_value(today), &errs);
	form_free(f);
	arr = json_array();
	for (size_t i = 0; i < errs.n; i++)
		assert_int_equal(json_array_append_new(arr, json_pack(
		    "{s:s, s:s}", "path", errs.e[i].path, "reason",
		    errs.e[i].reason)), 0);
	out = json_pack("{s:o, s:I}", "errors", arr, "dropped",
	    (json_int_t)errs.dropped);
	assert_non_null(out);
	return out;
}

static json_t *
load_cases(void)
{
	const char *path = getenv("RULES_CASES");
	json_error_t jerr;
	json_t *cases;

	if (path == NULL || path[0] == '\0')
		path = CASES_PATH;
	cases = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (cases == NULL)
		fail_msg("%s: line %d: %s (run from the repository root)", path,
		    jerr.line, jerr.text);
	assert_true(json_is_array(cases));
	return cases;
}

/* What the case expects, in the shape case_verdict gives. */
static json_t *
case_expected(const json_t *c)
{
	const json_t *fe = json_object_get(c, "form_error");
	const json_t *dropped = json_object_get(c, "dropped");

	if (fe != NULL)
		return json_pack("{s:O}", "form_error", fe);
	assert_true(json_is_array(json_object_get(c, "errors")));
	return json_pack("{s:O, s:I}", "errors", json_object_get(c, "errors"),
	    "dropped", dropped ? json_integer_value(dropped) : 0);
}

static void
print_json(const char *what, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	fprintf(stderr, "    %s: %s\n", what, s ? s : "(unprintable)");
	free(s);
}

/* Every case: the verdict is exactly the expected one. */
static void
test_cases(void **state)
{
	json_t *cases = load_cases(), *c, *names = json_object();
	int print = getenv("RULES_PRINT") != NULL, bad = 0;
	size_t i;

	json_array_foreach(cases, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *got, *want;

		if (name == NULL || json_object_get(c, "form") == NULL ||
		    (json_object_get(c, "form_error") == NULL &&
		    (json_object_get(c, "record") == NULL ||
		    json_object_get(c, "today") == NULL)))
			fail_msg("case %zu: needs name, form, record and today",
			    i + 1);
		if (json_object_get(names, name) != NULL)
			fail_msg("case %zu: name \"%s\" used twice", i + 1, name);
		json_object_set_new(names, name, json_true());
		got = case_verdict(c);
		if (print) {
			char *s;

			json_object_set_new(got, "name", json_string(name));
			s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
			printf("%s\n", s);
			free(s);
			json_decref(got);
			continue;
		}
		want = case_expected(c);
		if (!json_equal(got, want)) {
			fprintf(stderr, "MISMATCH case %zu: %s\n", i + 1, name);
			print_json("want", want);
			print_json("got ", got);
			bad++;
		}
		json_decref(want);
		json_decref(got);
	}
	if (!print)
		fprintf(stderr, "%zu cases, %d mismatched\n",
		    json_array_size(cases), bad);
	json_decref(names);
	json_decref(cases);
	if (bad > 0)
		fail_msg("%d case(s) where C does not give the verdict of %s", bad,
		    CASES_PATH);
}

/* The shared file covers what it must: every shipped form and an inline
   definition, valid and invalid records, several errors at once. */
static void
test_cases_cover(void **state)
{
	json_t *cases = load_cases(), *c;
	int shipped = 0, inline_def = 0, valid = 0, several = 0, dropped = 0,
	    refused = 0;
	size_t i;

	if (getenv("RULES_CASES") != NULL) {
		json_decref(cases);
		skip();
	}
	json_array_foreach(cases, i, c) {
		const json_t *errs = json_object_get(c, "errors");

		if (json_is_string(json_object_get(c, "form")))
			shipped++;
		else
			inline_def++;
		if (json_object_get(c, "form_error") != NULL)
			refused++;
		else if (json_array_size(errs) == 0)
			valid++;
		else if (json_array_size(errs) > 1)
			several++;
		if (json_integer_value(json_object_get(c, "dropped")) > 0)
			dropped++;
	}
	assert_true(json_array_size(cases) >= 1000);
	assert_true(shipped >= 250 && inline_def >= 800);
	assert_true(valid >= 300 && several >= 20 && dropped >= 1 &&
	    refused >= 100);
	json_decref(cases);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cases_cover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
