/*
 * test_form_def.c: parsing form definitions.  The shipped definitions
 * parse and say what they are; each kind of mistake in a definition is
 * refused with a message that names the row or key at fault; the
 * catalogue keeps versions apart.  Broken definitions are made by
 * changing one thing in a shipped one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/embedded.h"
#include "form/form.h"

static const struct embedded_file *
embedded(const char *name)
{
	for (const struct embedded_file *e = embedded_forms; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	fail_msg("no embedded %s", name);
	return NULL;
}

static void
test_shipped(void **state)
{
	static const struct {
		const char *file, *id, *title_word;
	} want[] = {
		{ "dtm_site_assessment.json", "dtm_site_assessment", "site" },
		{ "dtm_household.json", "dtm_household", "household" },
		{ "mrc_visit.json", "mrc_visit", "resource centre" },
	};

	for (size_t i = 0; i < 3; i++) {
		const struct embedded_file *e = embedded(want[i].file);
		struct form *f;
		char err[256] = "";
		json_t *def;

		if (form_parse(e->data, e->len, &f, err, sizeof(err)) != 0)
			fail_msg("%s: %s", e->name, err);
		assert_string_equal(form_id(f), want[i].id);
		assert_string_equal(form_version(f), "2026.11.1");
		assert_non_null(strstr(form_title(f), want[i].title_word));
		def = form_definition(f);
		assert_true(json_is_object(def));
		assert_string_equal(json_string_value(json_object_get(def,
		    "form_id")), want[i].id);
		json_decref(def);
		form_free(f);
	}
}

/*
 * Every shipped form is labelled in English and French; mrc_visit also in
 * Arabic.  Every row that is asked has a label in each, every choice too.
 */
static void
test_shipped_languages(void **state)
{
	static const char *files[] = { "dtm_site_assessment.json",
	    "dtm_household.json", "mrc_visit.json" };

	for (size_t i = 0; i < 3; i++) {
		const struct embedded_file *e = embedded(files[i]);
		json_t *d = json_loads(e->data, 0, NULL), *row;
		int arabic = strcmp(files[i], "mrc_visit.json") == 0;
		size_t k;

		assert_non_null(d);
		assert_non_null(json_object_get(d, "title::English"));
		assert_non_null(json_object_get(d, "title::Français"));
		json_array_foreach(json_object_get(d, "survey"), k, row) {
			if (strcmp(json_string_value(json_object_get(row,
			    "type")), "end_repeat") == 0)
				continue;
			assert_non_null(json_object_get(row, "label::English"));
			assert_non_null(json_object_get(row,
			    "label::Français"));
			if (arabic)
				assert_non_null(json_object_get(row,
				    "label::العربية"));
		}
		json_array_foreach(json_object_get(d, "choices"), k, row) {
			assert_non_null(json_object_get(row, "label::English"));
			assert_non_null(json_object_get(row,
			    "label::Français"));
			if (arabic)
				assert_non_null(json_object_get(row,
				    "label::العربية"));
		}
		json_decref(d);
	}
}

/* A definition to break: the shipped mrc_visit, as JSON to change. */
static json_t *
base(void)
{
	const struct embedded_file *e = embedded("mrc_visit.json");
	json_t *d = json_loadb(e->data, e->len, 0, NULL);

	assert_non_null(d);
	return d;
}

static json_t *
row(json_t *d, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(d, "survey"), i, r)
		if (json_is_string(json_object_get(r, "name")) &&
		    strcmp(json_string_value(json_object_get(r, "name")),
		    name) == 0)
			return r;
	fail_msg("no row %s", name);
	return NULL;
}

static void
set(json_t *obj, const char *key, const char *json)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	json_object_set_new(obj, key, v);
}

static void
append(json_t *d, const char *key, const char *json)
{
	json_t *v = json_loads(json, 0, NULL);

	assert_non_null(v);
	json_array_append_new(json_object_get(d, key), v);
}

/* Parses d (consumed); it must fail with a message containing want. */
static void
assert_def_error(json_t *d, const char *want)
{
	char *text = json_dumps(d, 0), err[256] = "";
	struct form *f = (struct form *)1;

	json_decref(d);
	assert_int_equal(form_parse(text, strlen(text), &f, err, sizeof(err)),
	    -1);
	assert_null(f);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\" in \"%s\"", want, err);
	free(text);
}

static void
test_top_level_errors(void **state)
{
	json_t *d;

	d = base();
	json_object_del(d, "form_id");
	assert_def_error(d, "form_id");
	d = base();
	set(d, "form_id", "\"has space\"");
	assert_def_error(d, "form_id");
	d = base();
	json_object_del(d, "version");
	assert_def_error(d, "version");
	d = base();
	set(d, "version", "\"1/2\"");
	assert_def_error(d, "version");
	d = base();
	set(d, "form_idx", "1");
	assert_def_error(d, "unknown key \"form_idx\"");
	d = base();
	set(d, "survey", "[]");
	assert_def_error(d, "survey");
	d = base();
	set(d, "survey", "{}");
	assert_def_error(d, "survey");
	d = base();
	set(d, "choices", "{}");
	assert_def_error(d, "choices");
}

static void
test_row_errors(void **state)
{
	json_t *d;

	d = base();
	set(row(d, "client_code"), "type", "\"textarea\"");
	assert_def_error(d, "survey row 3 (client_code): unknown type");
	d = base();
	json_object_del(row(d, "client_code"), "type");
	assert_def_error(d, "survey row 3: needs a type");
	d = base();
	set(row(d, "visit_date"), "name", "\"centre_id\"");
	assert_def_error(d, "survey row 2: duplicate name centre_id");
	d = base();
	set(row(d, "client_code"), "name", "\"2code\"");
	assert_def_error(d, "survey row 3: name");
	d = base();
	set(row(d, "client_code"), "name", "\"a.b\"");
	assert_def_error(d, "survey row 3: name");
	d = base();
	set(row(d, "sex"), "type", "\"select_one genders\"");
	assert_def_error(d, "(sex): no choice list \"genders\"");
	d = base();
	set(row(d, "sex"), "type", "\"select_one\"");
	assert_def_error(d, "(sex)");
	d = base();
	set(row(d, "client_code"), "required", "\"maybe\"");
	assert_def_error(d, "(client_code): required");
	d = base();
	/* a near miss of a known column; other columns are taken */
	set(row(d, "client_code"), "lable", "\"red\"");
	assert_def_error(d, "survey row 3: unknown column \"lable\"");
	d = base();
	set(row(d, "client_code"), "constraint", "42");
	assert_def_error(d, "(client_code): constraint must be text");
}

static void
test_expression_errors(void **state)
{
	json_t *d;

	d = base();
	set(row(d, "client_code"), "constraint", "\"regex(., '[A-Z'\"");
	assert_def_error(d, "survey row 3 (client_code): constraint");
	d = base();
	set(row(d, "client_code"), "constraint", "\"regex(., '[A-Z')\"");
	assert_def_error(d, "survey row 3 (client_code): constraint");
	d = base();
	set(row(d, "client_code"), "constraint", "\". >>= 3\"");
	assert_def_error(d, "(client_code): constraint");
	d = base();
	set(row(d, "client_code"), "constraint", "\"frobnicate(.)\"");
	assert_def_error(d, "(client_code): constraint");
	d = base();
	set(row(d, "notes"), "relevant", "\"${consent = 'yes'\"");
	assert_def_error(d, "(notes): relevant");
	d = base();
	set(row(d, "notes"), "relevant", "\"${agreement} = 'yes'\"");
	assert_def_error(d, "(notes): expression names unknown field "
	    "${agreement}");
	d = base();
	set(row(d, "age_years"), "constraint",
	    "\". > 1 and . < ${max_age}\"");
	assert_def_error(d, "${max_age}");
}

static void
test_repeat_errors(void **state)
{
	json_t *d;

	d = base();
	append(d, "survey", "{\"type\": \"begin_repeat\", \"name\": \"r\"}");
	append(d, "survey", "{\"type\": \"text\", \"name\": \"rt\"}");
	assert_def_error(d, "begin_repeat r has no end_repeat");
	d = base();
	append(d, "survey", "{\"type\": \"end_repeat\"}");
	assert_def_error(d, "end_repeat without begin_repeat");
	d = base();
	append(d, "survey", "{\"type\": \"begin_repeat\", \"name\": \"r\"}");
	append(d, "survey", "{\"type\": \"begin_repeat\", \"name\": \"r2\"}");
	append(d, "survey", "{\"type\": \"end_repeat\"}");
	append(d, "survey", "{\"type\": \"end_repeat\"}");
	assert_def_error(d, "(r2): repeats inside repeats");
}

static void
test_choice_errors(void **state)
{
	json_t *d;

	d = base();
	append(d, "choices", "{\"list_name\": \"yes_no\", \"name\": \"yes\"}");
	assert_def_error(d, "yes repeats a choice of yes_no");
	d = base();
	append(d, "choices", "{\"list_name\": \"yes_no\"}");
	assert_def_error(d, "choices row");
	/* a space in a list a select_multiple uses; in a select_one's
	   list it is taken (test_language_taken) */
	d = base();
	append(d, "choices", "{\"list_name\": \"services\", \"name\": "
	    "\"a b\"}");
	assert_def_error(d, "a name of list services has a space, and "
	    "services, a select_multiple, uses the list");
}

static void
test_counts_errors(void **state)
{
	json_t *d, *c;

	d = base();
	set(json_object_get(d, "counts"), "place", "\"centre\"");
	assert_def_error(d, "counts: place names unknown field centre");
	d = base();
	set(json_object_get(d, "counts"), "date", "\"centre_id\"");
	assert_def_error(d, "counts: date must be a date field");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "dimensions", "{\"name\": \"gender\", \"field\": \"gender\"}");
	assert_def_error(d, "counts: gender names unknown field gender");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "dimensions", "{\"name\": \"band\", \"field\": \"age_years\","
	    " \"bands\": \"income_bands\"}");
	assert_def_error(d, "age_bands");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "dimensions", "{\"name\": \"band\", \"field\": \"sex\","
	    " \"bands\": \"age_bands\"}");
	assert_def_error(d, "integer field");
	d = base();
	json_object_del(d, "settings");
	assert_def_error(d, "age_bands");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "measures", "{\"name\": \"codes\", \"sum\": \"client_code\"}");
	assert_def_error(d, "counts: measure codes: sum of a non-integer");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "measures", "{\"name\": \"x\", \"count\": \"sex\"}");
	assert_def_error(d, "counts: measure x: count must be records or a "
	    "repeat");
	d = base();
	c = json_object_get(d, "counts");
	append(c, "measures", "{\"name\": \"x\"}");
	assert_def_error(d, "counts: measure");
	d = base();
	set(json_object_get(d, "counts"), "latest_by", "\"visit_date\"");
	assert_def_error(d, "latest_by must be the place field");
	d = base();
	set(json_object_get(d, "counts"), "measures", "[]");
	assert_def_error(d, "measures");
	d = base();
	append(json_object_get(d, "settings"), "age_bands", "{}");
	assert_def_error(d, "age_bands");
}

/* Counts naming fields in the household's repeat. */
static void
test_counts_repeat_fields(void **state)
{
	const struct embedded_file *e = embedded("dtm_household.json");
	json_t *d, *c;

	d = json_loadb(e->data, e->len, 0, NULL);
	c = json_object_get(d, "counts");
	append(c, "dimensions", "{\"name\": \"x\", \"field\": \"sex\"}");
	assert_def_error(d, "write members.sex");
	d = json_loadb(e->data, e->len, 0, NULL);
	c = json_object_get(d, "counts");
	append(c, "dimensions", "{\"name\": \"x\", \"field\": \"people.sex\"}");
	assert_def_error(d, "not in that repeat");
	d = json_loadb(e->data, e->len, 0, NULL);
	c = json_object_get(d, "counts");
	append(c, "measures", "{\"name\": \"ages\", \"sum\":"
	    " \"members.age_years\"}");
	assert_def_error(d, "sum of a field in a repeat");
	d = json_loadb(e->data, e->len, 0, NULL);
	set(json_object_get(d, "counts"), "place", "\"members.sex\"");
	assert_def_error(d, "outside repeats");
}

static void
test_limits(void **state)
{
	char err[256];
	struct form *f;
	char *big;
	json_t *d, *survey;

	/* bigger than FORM_MAX_DEF_BYTES: refused before parsing */
	big = malloc(FORM_MAX_DEF_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', FORM_MAX_DEF_BYTES + 1);
	big[0] = '{';
	big[FORM_MAX_DEF_BYTES] = '}';
	big[FORM_MAX_DEF_BYTES + 1] = '\0';
	assert_int_equal(form_parse(big, FORM_MAX_DEF_BYTES + 1, &f, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	free(big);

	/* more than FORM_MAX_FIELDS fields */
	d = base();
	survey = json_array();
	for (int i = 0; i < FORM_MAX_FIELDS + 1; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		json_array_append_new(survey, json_pack("{s:s, s:s}", "type",
		    "integer", "name", name));
	}
	json_object_set_new(d, "survey", survey);
	json_object_del(d, "counts");
	assert_def_error(d, "more than");

	/* not JSON, not an object, duplicate keys */
	assert_int_equal(form_parse("{\"form_id\": ", 12, &f, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(form_parse("[1]", 3, &f, err, sizeof(err)), -1);
	assert_int_equal(form_parse("{\"form_id\": \"a\", \"form_id\": \"b\"}",
	    33, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
}

/* A small definition without counts, settings or translations. */
static void
test_minimal(void **state)
{
	static const char def[] = "{\"form_id\": \"m\", \"version\": \"1\","
	    " \"title\": \"Minimal\", \"survey\": [{\"type\": \"integer\","
	    " \"name\": \"n\", \"required\": true, \"constraint\": \". > 0\","
	    " \"constraint_message\": \"positive\"}]}";
	struct form_errors errs = { 0 };
	struct form *f;
	char err[128];
	json_t *rec = json_pack("{s:i}", "n", 0);

	assert_int_equal(form_parse(def, strlen(def), &f, err, sizeof(err)),
	    0);
	assert_string_equal(form_title(f), "Minimal");
	assert_int_equal(form_validate(f, rec, "2026-11-28", &errs), -1);
	assert_string_equal(errs.e[0].reason, "positive");
	json_decref(rec);
	rec = json_object();
	assert_int_equal(form_validate(f, rec, "2026-11-28", &errs), -1);
	assert_string_equal(errs.e[1].reason, "required");
	json_decref(rec);
	form_free(f);
	form_free(NULL);
}

static void
test_version_cmp(void **state)
{
	(void)state;
	assert_int_equal(form_version_cmp("2026.11.10", "2026.11.9"), 1);
	assert_int_equal(form_version_cmp("2026.11.9", "2026.11.10"), -1);
	assert_int_equal(form_version_cmp("2026.11.1", "2026.11.01"), 0);
	assert_int_equal(form_version_cmp("2026.11", "2026.11.1"), -1);
	assert_int_equal(form_version_cmp("", "1"), -1);
	assert_int_equal(form_version_cmp("1.b", "1.a"), 1);
	assert_int_equal(form_version_cmp("2", "10"), -1);
}

static void
test_catalog(void **state)
{
	const struct embedded_file *e = embedded("mrc_visit.json");
	struct form_catalog *cat = form_catalog_new();
	const struct form *v1, *v2, *f;
	char err[256];
	json_t *d;
	char *text;

	assert_non_null(cat);
	for (const struct embedded_file *x = embedded_forms; x->name; x++)
		assert_non_null(form_catalog_add(cat, x->data, x->len, err,
		    sizeof(err)));
	assert_non_null(form_catalog_nth(cat, 0));
	assert_non_null(form_catalog_nth(cat, 2));
	assert_null(form_catalog_nth(cat, 3));

	v1 = form_catalog_get(cat, "mrc_visit", NULL);
	assert_non_null(v1);
	assert_string_equal(form_version(v1), "2026.11.1");
	/* the same again: the same form */
	assert_ptr_equal(form_catalog_add(cat, e->data, e->len, err,
	    sizeof(err)), v1);
	/* the same JSON written otherwise (compact, keys sorted): the same */
	d = json_loadb(e->data, e->len, 0, NULL);
	text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	assert_ptr_equal(form_catalog_add(cat, text, strlen(text), err,
	    sizeof(err)), v1);
	free(text);
	json_decref(d);
	/* the definition handed out is the one given, a copy of its own */
	d = json_loadb(e->data, e->len, 0, NULL);
	{
		json_t *got = form_definition(v1);
		assert_true(json_equal(got, d));
		json_object_set_new(got, "form_id", json_string("changed"));
		json_decref(got);
		got = form_definition(v1);
		assert_true(json_equal(got, d));
		/* and as text, the same JSON compact */
		{
			size_t n;
			char *t = form_definition_text(v1, &n);
			char *want = json_dumps(got, JSON_COMPACT);
			assert_non_null(t);
			assert_int_equal(n, strlen(want));
			assert_string_equal(t, want);
			free(t);
			free(want);
		}
		json_decref(got);
	}
	json_decref(d);

	/* same version, different content: refused */
	d = json_loadb(e->data, e->len, 0, NULL);
	set(d, "title::English", "\"Changed\"");
	text = json_dumps(d, 0);
	assert_null(form_catalog_add(cat, text, strlen(text), err,
	    sizeof(err)));
	assert_non_null(strstr(err, "already"));
	free(text);

	/* a new version becomes current; the old stays reachable */
	set(d, "version", "\"2027.1.1\"");
	text = json_dumps(d, 0);
	v2 = form_catalog_add(cat, text, strlen(text), err, sizeof(err));
	assert_non_null(v2);
	free(text);
	/* an older version added later (a collector's downlink) does not
	   take over: current is the highest version, 2027.1.1 > 2026.12.9 */
	set(d, "version", "\"2026.12.9\"");
	text = json_dumps(d, 0);
	assert_non_null(form_catalog_add(cat, text, strlen(text), err,
	    sizeof(err)));
	free(text);
	json_decref(d);
	{
		char ver[32];
		form_catalog_version(cat, ver, sizeof(ver));
		assert_string_equal(ver, "2027.1.1");
	}
	assert_ptr_equal(form_catalog_get(cat, "mrc_visit", NULL), v2);
	assert_ptr_equal(form_catalog_get(cat, "mrc_visit", "2026.11.1"), v1);
	assert_ptr_equal(form_catalog_get(cat, "mrc_visit", "2027.1.1"), v2);
	assert_null(form_catalog_get(cat, "mrc_visit", "2025.1"));
	assert_null(form_catalog_get(cat, "nope", NULL));
	/* nth lists ids, not versions, each at its current version */
	for (size_t i = 0; (f = form_catalog_nth(cat, i)) != NULL; i++) {
		assert_true(i < 3);
		if (strcmp(form_id(f), "mrc_visit") == 0)
			assert_ptr_equal(f, v2);
	}

	/* a broken definition is not added */
	assert_null(form_catalog_add(cat, "{}", 2, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	form_catalog_free(cat);
	form_catalog_free(NULL);
}

/*
 * The XLSForm language: each definition below is a small form written as
 * a field team would, taken (want NULL) or refused with a message that
 * names the row and column at fault.  Q() keeps the JSON readable.
 */
#define Q(...) #__VA_ARGS__

static void
def_case(const char *json, const char *want)
{
	char err[512] = "";
	struct form *f = NULL;
	int rc = form_parse(json, strlen(json), &f, err, sizeof(err));

	if (want == NULL) {
		if (rc != 0)
			fail_msg("refused: %s\nin %s", err, json);
		form_free(f);
		return;
	}
	if (rc == 0)
		fail_msg("taken, want \"%s\": %s", want, json);
	assert_null(f);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\" in \"%s\"", want, err);
}

static void
test_language_taken(void **state)
{
	/* types as pyxform spells them, aliases included */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "gps", "name": "a"}, {"type": "location", "name": "b"},
	    {"type": "int", "name": "c"}, {"type": "string", "name": "d"},
	    {"type": "select1 l", "name": "e"},
	    {"type": "select one l", "name": "f"},
	    {"type": "select all that apply l", "name": "g"},
	    {"type": "datetime", "name": "h"}, {"type": "dateTime", "name": "i"},
	    {"type": "time", "name": "j"}, {"type": "imei", "name": "k"},
	    {"type": "start", "name": "st"}, {"type": "end", "name": "en"},
	    {"type": "today", "name": "td"}, {"type": "deviceid", "name": "dv"},
	    {"type": "username", "name": "un"},
	    {"type": "phonenumber", "name": "pn"},
	    {"type": "email", "name": "em"},
	    {"type": "audit", "name": "au", "parameters": "location-max-age=60"},
	    {"type": "note", "name": "n", "label": "Hello"},
	    {"type": "begin group", "name": "g1", "appearance": "field-list"},
	    {"type": "text", "name": "in_g"},
	    {"type": "end group"},
	    {"type": "begin_group", "name": "g2"}, {"type": "text", "name": "x"},
	    {"type": "end_group"},
	    {"type": "begin repeat", "name": "r", "repeat_count": "${c}"},
	    {"type": "text", "name": "y"}, {"type": "end repeat"},
	    {"type": "calculate", "name": "calc", "calculation": "${c} * 2"}],
	    "choices": [{"list_name": "l", "name": "a"}]}), NULL);
	/* required and read_only as workbooks write them */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "text", "name": "a", "required": "TRUE"},
	    {"type": "text", "name": "b", "required": "1"},
	    {"type": "text", "name": "c", "required": "0"},
	    {"type": "text", "name": "d", "required": "T"},
	    {"type": "text", "name": "e", "required": "f"},
	    {"type": "text", "name": "f", "required": "Yes"},
	    {"type": "text", "name": "g", "required": "False"},
	    {"type": "text", "name": "h", "required": "true()"},
	    {"type": "text", "name": "i", "required": "", "read_only": "yes"},
	    {"type": "text", "name": "j", "read_only": "FALSE"}]}), NULL);
	/* a select_one's list may have names with spaces (xlsform.org),
	   names up to 255 bytes, notes in two groups may share a name, a
	   "level" column is a column of its own, start-geopoint a point */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "select_one l", "name": "a", "level": "1"},
	    {"type": "begin_group", "name": "g1"},
	    {"type": "note", "name": "warning"}, {"type": "end_group"},
	    {"type": "begin_group", "name": "g2"},
	    {"type": "note", "name": "warning"}, {"type": "end_group"},
	    {"type": "start-geopoint", "name": "where"},
	    {"type": "begin group", "name": "housing"}, {"type": "end group"},
	    {"type": "begin group", "name": "housing"}, {"type": "end group"},
	    {"type": "acknowledge", "name": "consent_form"}],
	    "choices": [{"list_name": "l", "name": "Don_ know"},
	    {"list_name": "l", "name": "lack_of_livelihood_income_generating_activities_in_area_country_of_origin"}]}),
	    NULL);
	/* choice names as XLSForm allows them */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "select_one n", "name": "a"}], "choices": [
	    {"list_name": "n", "name": "1"}, {"list_name": "n", "name": "0"},
	    {"list_name": "n", "name": "-99"}, {"list_name": "n", "name": "2_5"},
	    {"list_name": "n", "name": "4_or_more"},
	    {"list_name": "n", "name": "sí"},
	    {"list_name": "2lists", "name": "x"}]}), NULL);
	/* the same name twice, allowed */
	def_case(Q({"form_id": "t", "version": "1",
	    "allow_choice_duplicates": "yes", "survey": [
	    {"type": "select_one n", "name": "a"}], "choices": [
	    {"list_name": "n", "name": "1"}, {"list_name": "n", "name": "1"}]}),
	    NULL);
	/* columns that are no XLSForm column: comments, reviewers' notes */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "text", "name": "a", "comments": "ask gently",
	    "translator_note::Français": "tu", "default": "x",
	    "guidance_hint": "g", "media::image": "a.png", "image": "b.png",
	    "audio": "c.mp3", "video": "d.mp4", "required_message": "!",
	    "bind::jr:preload": "x"}]}), NULL);
	/* a disabled row is left out, as pyxform does: its broken
	   expression and its duplicate name do not count */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "text", "name": "a"},
	    {"type": "text", "name": "a", "relevant": "${gone",
	     "disabled": "yes"},
	    {"type": "text", "name": "b", "disabled": "no"}]}), NULL);
	/* choice_filter and repeat_count where they mean nothing: left
	   alone, as pyxform does */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "text", "name": "a", "choice_filter": "x = 1"},
	    {"type": "begin_group", "name": "g", "repeat_count": "${a}"},
	    {"type": "select_one l", "name": "b", "repeat_count": "yes"},
	    {"type": "end_group"}], "choices": [{"list_name": "l",
	    "name": "1"}]}), NULL);
	/* ${field} in labels, hints and messages, in every language */
	def_case(Q({"form_id": "t", "version": "1", "survey": [
	    {"type": "integer", "name": "age"},
	    {"type": "note", "name": "n", "label::English": "Age ${age}",
	    "hint": "${age} ${age}", "constraint_message": "not ${age}"}]}),
	    NULL);
	/* instance_name, choice_filter on the choices' own columns,
	   jr:choice-name, position(..) */
	def_case(Q({"form_id": "t", "version": "1",
	    "instance_name": "concat(${a1}, '-', ${a2})", "survey": [
	    {"type": "select_one admin1", "name": "a1"},
	    {"type": "select_one admin2", "name": "a2",
	    "choice_filter": "admin1 = ${a1}"},
	    {"type": "calculate", "name": "l2",
	    "calculation": "jr:choice-name(${a2}, '${a2}')"},
	    {"type": "begin_repeat", "name": "r"},
	    {"type": "calculate", "name": "p", "calculation": "position(..)"},
	    {"type": "end_repeat"},
	    {"type": "calculate", "name": "id",
	    "calculation": "once(concat('uuid:', uuid()))"}],
	    "choices": [{"list_name": "admin1", "name": "1"},
	    {"list_name": "admin2", "name": "11", "admin1": "1"}]}), NULL);
}

static void
test_language_refused(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "note", "name": "n", "label": "Hi ${nobody}"}]}),
		    "survey row 1 (n): label names unknown field ${nobody}" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a"},
		    {"type": "note", "name": "n", "hint::English": "${a"}]}),
		    "survey row 2 (n): hint::English: ${ without a field name" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "calculate", "name": "c"}]}),
		    "survey row 1 (c): a calculate row needs a calculation" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "calculate", "name": "c",
		    "calculation": "pulldata('hh', 'name', 'id', '1')"}]}),
		    "survey row 1 (c): calculation: offset 0: pulldata needs a "
		    "CSV attached to the form; not supported" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "constraint": ". != uuid()"}]}),
		    "survey row 1 (a): constraint: uuid() and random() belong "
		    "in a calculation" },

		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a",
		    "choice_filter": "admin9 = 'x'"}],
		    "choices": [{"list_name": "l", "name": "x", "admin1": "1"}]}),
		    "survey row 1 (a): choice_filter names \"admin9\", which is "
		    "not a column of list l" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a",
		    "choice_filter": "admin1 = ${zz}"}],
		    "choices": [{"list_name": "l", "name": "x", "admin1": "1"}]}),
		    "survey row 1 (a): expression names unknown field ${zz}" },

		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a"}, {"type": "end_group"}]}),
		    "survey row 2: end_group without begin_group" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "begin_group", "name": "g"}, {"type": "text",
		    "name": "a"}, {"type": "end_repeat"}]}),
		    "survey row 3: end_repeat where a group is open" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "begin_repeat", "name": "r"}, {"type": "text",
		    "name": "a"}, {"type": "end group"}]}),
		    "survey row 3: end_group where a repeat is open" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "begin group", "name": "g"}, {"type": "text",
		    "name": "a"}]}),
		    "survey: begin_group g has no end_group" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "begin_repeat", "name": "r"},
		    {"type": "begin_group", "name": "g"},
		    {"type": "begin_repeat", "name": "s"}, {"type": "end_repeat"},
		    {"type": "end_group"}, {"type": "end_repeat"}]}),
		    "survey row 3 (s): repeats inside repeats are not supported" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a"},
		    {"type": "note", "name": "n", "disabled": "yes"},
		    {"type": "integer", "name": "b", "label": "${n}"}]}),
		    "survey row 3 (b): label names unknown field ${n}" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "read_only": "sometimes"}]}),
		    "survey row 1 (a): read_only must be yes or no" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "Label": "A"}]}),
		    "survey row 1: unknown column \"Label\"" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "constraint_mesage": "A"}]}),
		    "survey row 1: unknown column \"constraint_mesage\"" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "hint:French": "A"}]}),
		    "survey row 1: unknown column \"hint:French\"" },
		{ Q({"form_id": "t", "version": "1",
		    "allow_choice_duplicates": "perhaps",
		    "survey": [{"type": "text", "name": "a"}]}),
		    "allow_choice_duplicates: must be yes or no" },
		{ Q({"form_id": "t", "version": "1", "instance_name": "${zz}",
		    "survey": [{"type": "text", "name": "a"}]}),
		    "instance_name names unknown field ${zz}" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a"}], "choices": [
		    {"list_name": "l", "name": "1"},
		    {"list_name": "l", "name": "1"}]}),
		    "choices row 2: 1 repeats a choice of l (allow_choice_duplicates "
		    "in settings allows it)" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a"},
		    {"type": "select_multiple l", "name": "b"}], "choices": [
		    {"list_name": "l", "name": "x"},
		    {"list_name": "l", "name": "4 or more"}]}),
		    "choices row 2: a name of list l has a space, and b, a "
		    "select_multiple, uses the list (its answer is names "
		    "separated by spaces)" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a"}], "choices": [
		    {"list_name": "l", "name": "4 or more"}]}),
		    "choices row 1: needs list_name and name" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a"}], "choices": [
		    {"list_name": "l", "name": "   "}]}),
		    "choices row 1: needs list_name and name" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a"},
		    {"type": "note", "name": "a"}]}),
		    "survey row 2: duplicate name a" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "note", "name": "a"},
		    {"type": "text", "name": "a"}]}),
		    "survey row 2: duplicate name a" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "lable": "A"}]}),
		    "survey row 1: unknown column \"lable\"" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "text", "name": "a", "relevance": "1"}]}),
		    "survey row 1: unknown column \"relevance\"" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a"},
		    {"type": "calculate", "name": "c",
		    "calculation": "jr:choice-name(${a}, ${a})"}],
		    "choices": [{"list_name": "l", "name": "1"}]}),
		    "survey row 2 (c): calculation: offset 21: jr:choice-name() "
		    "takes '${field}'" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one l", "name": "a"},
		    {"type": "calculate", "name": "c",
		    "calculation": "jr:choice-name(${a}, '${b}')"}],
		    "choices": [{"list_name": "l", "name": "1"}]}),
		    "survey row 2 (c): expression names unknown field ${b}" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "calculate", "name": "c",
		    "calculation": "position(.)"}]}),
		    "survey row 1 (c): calculation: offset 9: position() takes .." },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "calculate", "name": "c",
		    "calculation": "round(1, 2, 3)"}]}),
		    "round() takes 1 to 2 arguments" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "calculate", "name": "c", "calculation": "max()"}]}),
		    "max() takes at least 1 argument" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one_from_file a.csv", "name": "c"}]}),
		    "survey row 1 (c): select_one_from_file a.csv needs its "
		    "choices in a file attached to the form; not supported" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "select_one_external places", "name": "c"}]}),
		    "survey row 1 (c): select_one_external places needs its "
		    "choices in a file attached to the form; not supported" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "geotrace", "name": "c"}]}),
		    "survey row 1 (c): unknown type \"geotrace\"" },
		{ Q({"form_id": "t", "version": "1", "survey": [
		    {"type": "begin_group", "name": "a"}, {"type": "end_group"},
		    {"type": "integer", "name": "a"}]}),
		    "survey row 3: duplicate name a" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		def_case(cases[i].json, cases[i].want);
}

/* Groups nest up to FORM_MAX_NESTING deep, counting the repeat. */
static void
test_language_nesting(void **state)
{
	char buf[8192];
	size_t n;

	for (int depth = 16; depth <= 17; depth++) {
		n = (size_t)snprintf(buf, sizeof(buf), "{\"form_id\": \"t\", "
		    "\"version\": \"1\", \"survey\": [");
		for (int i = 0; i < depth; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    "{\"type\": \"%s\", \"name\": \"g%d\", "
			    "\"relevant\": \"true()\"},", i == 3 ?
			    "begin_repeat" : "begin_group", i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "{\"type\": \"text\", \"name\": \"x\"}");
		for (int i = depth - 1; i >= 0; i--)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    ", {\"type\": \"%s\"}", i == 3 ? "end_repeat" :
			    "end_group");
		snprintf(buf + n, sizeof(buf) - n, "]}");
		def_case(buf, depth == 16 ? NULL : "survey row 17 (g16): "
		    "groups and repeats nested deeper than 16");
	}
}

/* The raised limits, each a named bound with its own message. */
static void
test_language_limits(void **state)
{
	json_t *d = json_pack("{s:s, s:s}", "form_id", "t", "version", "1");
	json_t *survey = json_array(), *choices = json_array();
	char name[32], *text;

	/* FORM_MAX_FIELDS fields and 20000 choices in a list: taken */
	for (int i = 0; i < FORM_MAX_FIELDS; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		json_array_append_new(survey, json_pack("{s:s, s:s}", "type",
		    i % 2 ? "select_one big" : "integer", "name", name));
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "%d", i - 99);
		json_array_append_new(choices, json_pack("{s:s, s:s}",
		    "list_name", "big", "name", name));
	}
	json_object_set_new(d, "survey", survey);
	json_object_set_new(d, "choices", choices);
	text = json_dumps(d, JSON_COMPACT);
	def_case(text, NULL);
	free(text);
	/* one choice more */
	json_array_append_new(choices, json_pack("{s:s, s:s}", "list_name",
	    "big", "name", "extra"));
	text = json_dumps(d, JSON_COMPACT);
	def_case(text, "choices: list big has more than 20000 choices");
	free(text);
	json_array_remove(choices, json_array_size(choices) - 1);
	/* 500 lists taken, 501 refused */
	for (int i = 1; i <= 500; i++) {
		snprintf(name, sizeof(name), "list%d", i);
		json_array_append_new(choices, json_pack("{s:s, s:s}",
		    "list_name", name, "name", "1"));
	}
	text = json_dumps(d, JSON_COMPACT);
	def_case(text, "choices: more than 500 lists");
	free(text);
	json_decref(d);

	/* 4000 rows taken (groups of rows with end rows), 4001 refused */
	d = json_pack("{s:s, s:s}", "form_id", "t", "version", "1");
	survey = json_array();
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		json_array_append_new(survey, json_pack("{s:s, s:s}", "type",
		    "begin_group", "name", name));
		json_array_append_new(survey, json_pack("{s:s}", "type",
		    "end_group"));
	}
	json_object_set_new(d, "survey", survey);
	text = json_dumps(d, JSON_COMPACT);
	def_case(text, NULL);
	free(text);
	json_array_append_new(survey, json_pack("{s:s, s:s}", "type", "text",
	    "name", "one_more"));
	text = json_dumps(d, JSON_COMPACT);
	def_case(text, "survey: more than 4000 rows");
	free(text);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_shipped_languages),
		cmocka_unit_test(test_top_level_errors),
		cmocka_unit_test(test_row_errors),
		cmocka_unit_test(test_expression_errors),
		cmocka_unit_test(test_repeat_errors),
		cmocka_unit_test(test_choice_errors),
		cmocka_unit_test(test_counts_errors),
		cmocka_unit_test(test_counts_repeat_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_language_taken),
		cmocka_unit_test(test_language_refused),
		cmocka_unit_test(test_language_nesting),
		cmocka_unit_test(test_language_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
