/*
 * test_form_state.c: form_state and form_choices_allowed, what the web
 * app shows (compiled to WebAssembly there; here under the sanitizers):
 * answers to questions not asked removed, groups making all inside them
 * so, calculations written in along a chain whatever their order,
 * repeat_count, choice filters at the top and inside repeat items, and a
 * record form_validate then takes.
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

static const char def[] = "{\"form_id\": \"st\", \"version\": \"1\","
    "\"survey\": ["
    " {\"type\": \"select_one yn\", \"name\": \"asked\"},"
    " {\"type\": \"begin_group\", \"name\": \"g\","
    "  \"relevant\": \"${asked} = 'yes'\"},"
    " {\"type\": \"text\", \"name\": \"inside\"},"
    " {\"type\": \"select_one admin2\", \"name\": \"county\","
    "  \"choice_filter\": \"admin1 = ${state}\"},"
    " {\"type\": \"end_group\"},"
    " {\"type\": \"text\", \"name\": \"state\"},"
    " {\"type\": \"calculate\", \"name\": \"twice\","
    "  \"calculation\": \"${plus} * 2\"},"
    " {\"type\": \"calculate\", \"name\": \"plus\","
    "  \"calculation\": \"${n} + 1\"},"
    " {\"type\": \"integer\", \"name\": \"n\"},"
    " {\"type\": \"begin_repeat\", \"name\": \"r\","
    "  \"repeat_count\": \"${n}\"},"
    " {\"type\": \"calculate\", \"name\": \"pos\","
    "  \"calculation\": \"position(..)\"},"
    " {\"type\": \"integer\", \"name\": \"age\"},"
    " {\"type\": \"text\", \"name\": \"why\", \"relevant\": \"${age} > 60\"},"
    " {\"type\": \"select_one admin2\", \"name\": \"near\","
    "  \"choice_filter\": \"admin1 = 'B' or ${age} > 1\"},"
    " {\"type\": \"end_repeat\"},"
    " {\"type\": \"calculate\", \"name\": \"label\","
    "  \"calculation\": \"concat('n=', ${n})\"}],"
    "\"choices\": ["
    " {\"list_name\": \"yn\", \"name\": \"yes\"},"
    " {\"list_name\": \"yn\", \"name\": \"no\"},"
    " {\"list_name\": \"admin2\", \"name\": \"a1\", \"admin1\": \"A\"},"
    " {\"list_name\": \"admin2\", \"name\": \"b1\", \"admin1\": \"B\"},"
    " {\"list_name\": \"admin2\", \"name\": \"a2\", \"admin1\": \"A\"}]}";

static struct form *f;

static int
setup(void **state)
{
	char err[256];

	if (form_parse(def, strlen(def), &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	form_free(f);
	return 0;
}

static json_t *
state_of(const char *rec_text)
{
	json_t *rec = json_loads(rec_text, 0, NULL), *st;

	assert_non_null(rec);
	st = form_state(f, rec, "2026-11-28", NULL);
	json_decref(rec);
	assert_non_null(st);
	assert_true(json_is_true(json_object_get(st, "settled")));
	return st;
}

static void
assert_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(want);
	if (!json_equal(got, want))
		fail_msg("got %s, want %s", g, want_text);
	free(g);
	json_decref(want);
}

static void
test_not_asked_goes(void **state)
{
	json_t *st = state_of("{\"asked\": \"no\", \"inside\": \"x\", "
	    "\"county\": \"a1\", \"state\": \"A\", \"n\": 1, "
	    "\"r\": [{\"age\": 30, \"why\": \"old\"}]}");
	json_t *rec = json_object_get(st, "record");

	assert_null(json_object_get(rec, "inside"));
	assert_null(json_object_get(rec, "county"));
	assert_null(json_object_get(json_array_get(json_object_get(rec, "r"),
	    0), "why"));
	assert_json(json_object_get(st, "off"),
	    "[\"g\", \"inside\", \"county\", \"r[1].why\"]");
	json_decref(st);
}

static void
test_calculations_written_in(void **state)
{
	json_t *st = state_of("{\"n\": 2, \"r\": [{}, {\"age\": 70}], "
	    "\"twice\": 99}");
	json_t *rec = json_object_get(st, "record");
	struct form_errors errs;

	/* a chain written before its links, and position(..) per item */
	assert_json(rec, "{\"n\": 2, \"plus\": 3, \"twice\": 6, "
	    "\"label\": \"n=2\", \"r\": [{\"pos\": 1}, {\"pos\": 2, "
	    "\"age\": 70}]}");
	assert_true(json_number_value(json_object_get(json_object_get(st,
	    "count"), "r")) == 2);
	/* what the page then sends, the board takes */
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(form_validate(f, rec, "2026-11-28", &errs), 0);
	json_decref(st);
	/* no number: no count; an empty calculation leaves no answer */
	st = state_of("{}");
	assert_json(json_object_get(st, "count"), "{}");
	assert_json(json_object_get(st, "record"), "{\"label\": \"n=\"}");
	json_decref(st);
}

static void
test_choices_allowed(void **state)
{
	json_t *rec = json_loads("{\"asked\": \"yes\", \"state\": \"A\", "
	    "\"n\": 2, \"r\": [{\"age\": 0}, {\"age\": 5}]}", 0, NULL), *ok;

	ok = form_choices_allowed(f, rec, "county", 0, "2026-11-28");
	assert_json(ok, "[0, 2]");
	json_decref(ok);
	ok = form_choices_allowed(f, rec, "near", 0, "2026-11-28");
	assert_json(ok, "[1]");
	json_decref(ok);
	ok = form_choices_allowed(f, rec, "near", 1, "2026-11-28");
	assert_json(ok, "[0, 1, 2]");
	json_decref(ok);
	/* no such item, not a select, no such field */
	assert_null(form_choices_allowed(f, rec, "near", 2, "2026-11-28"));
	assert_null(form_choices_allowed(f, rec, "n", 0, "2026-11-28"));
	assert_null(form_choices_allowed(f, rec, "nowhere", 0, NULL));
	json_decref(rec);
	/* not an object */
	rec = json_array();
	assert_null(form_state(f, rec, NULL, NULL));
	json_decref(rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_asked_goes),
		cmocka_unit_test(test_calculations_written_in),
		cmocka_unit_test(test_choices_allowed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
