/* test_counts_view.c: the board's counts as a team lead reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/counts_view.h"

static json_t *
cell(const char *day, const char *dim, const char *value, int n)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "form", "f", "day",
	    day, "place", "P1", "dim", dim, "value", value, "measure", "ind",
	    "n", n);
}

static json_t *
find(json_t *tab, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(tab, i, v)
		if (strcmp(json_string_value(json_object_get(v, "value")),
		    value) == 0)
			return v;
	return NULL;
}

/* Days are summed; a small cell and one more are hidden; the range
   filters days. */
static void
test_view(void **state)
{
	json_t *cells = json_array(), *v, *c, *sex;

	(void)state;
	json_array_append_new(cells, cell("2026-11-01", "", "", 10));
	json_array_append_new(cells, cell("2026-11-02", "", "", 10));
	json_array_append_new(cells, cell("2026-11-01", "sex", "female", 8));
	json_array_append_new(cells, cell("2026-11-02", "sex", "female", 9));
	json_array_append_new(cells, cell("2026-11-02", "sex", "male", 1));
	json_array_append_new(cells, cell("2026-11-01", "sex", "other", 2));
	v = counts_view(cells, NULL, NULL, 5);
	c = json_array_get(json_object_get(v, "counts"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "total")), 20);
	sex = json_object_get(json_object_get(c, "dims"), "sex");
	assert_int_equal(json_integer_value(json_object_get(find(sex,
	    "female"), "n")), 17);
	/* male 1 and other 2: both under 5, both hidden */
	assert_true(json_is_null(json_object_get(find(sex, "male"), "n")));
	assert_true(json_is_null(json_object_get(find(sex, "other"), "n")));
	assert_int_equal(json_integer_value(json_object_get(v, "suppressed")),
	    2);
	json_decref(v);
	/* one day only: total 10, male absent, other 2 hidden with one more */
	v = counts_view(cells, "2026-11-01", "2026-11-01", 5);
	c = json_array_get(json_object_get(v, "counts"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "total")), 10);
	sex = json_object_get(json_object_get(c, "dims"), "sex");
	assert_null(find(sex, "male"));
	assert_true(json_is_null(json_object_get(find(sex, "other"), "n")));
	assert_true(json_is_null(json_object_get(find(sex, "female"), "n")));
	json_decref(v);
	/* a small total is hidden too */
	v = counts_view(cells, "2026-11-01", "2026-11-01", 12);
	c = json_array_get(json_object_get(v, "counts"), 0);
	assert_true(json_is_null(json_object_get(c, "total")));
	assert_string_equal(json_string_value(json_object_get(c,
	    "_suppressed")), "under the threshold");
	json_decref(v);
	v = counts_view(cells, "2026-11-03", NULL, 5);
	assert_int_equal(json_array_size(json_object_get(v, "counts")), 0);
	json_decref(v);
	json_decref(cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
