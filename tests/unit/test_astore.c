/* test_astore.c: the analysis tables: dates, value codes, chunks filled
   across runs and chunk boundaries, scans that skip by date, the
   generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analysis/astore.h"
#include "common/log.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	log_init("test_astore", LOG_ERR);
	strcpy(dir, "/tmp/test_astore.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct astore *
open_w(void)
{
	struct astore *as;
	char err[256];

	assert_int_equal(astore_open(dir, 1, &as, err, sizeof(err)), 0);
	return as;
}

static void
test_days(void **state)
{
	char d[11];

	(void)state;
	assert_int_equal(astore_day("1970-01-01"), 0);
	assert_int_equal(astore_day("2000-03-01"), 11017);
	assert_int_equal(astore_day("2026-11-29"), 20786);
	assert_int_equal(astore_day("2026-02-30"), -1);
	assert_int_equal(astore_day("2026-1-01"), -1);
	assert_int_equal(astore_day("2026-01-01x"), -1);
	assert_int_equal(astore_day("1969-12-31"), -1);
	assert_int_equal(astore_day(NULL), -1);
	for (uint32_t day = 0; day < 80000; day += 7) {
		astore_date(day, d);
		assert_int_equal(astore_day(d), day);
	}
	astore_date(20786, d);
	assert_string_equal(d, "2026-11-29");
}

static void
test_codes(void **state)
{
	struct astore *as = open_w();
	char v[16];

	(void)state;
	assert_int_equal(astore_begin(as), 0);
	assert_int_equal(astore_code(as, "f", "sex", "female", 0), 1);
	assert_int_equal(astore_code(as, "f", "sex", "male", 0), 2);
	assert_int_equal(astore_code(as, "f", "sex", "female", 0), 1);
	assert_int_equal(astore_code(as, "g", "sex", "male", 0), 1);
	for (int i = 0; i < ASTORE_MULTI_MAX; i++) {
		snprintf(v, sizeof(v), "n%d", i);
		assert_int_equal(astore_code(as, "f", "need", v, 1), i + 1);
	}
	/* a mask has 32 bits: the 33rd value of a multi dim has no code */
	assert_int_equal(astore_code(as, "f", "need", "one-more", 1), 0);
	assert_int_equal(astore_commit(as, 0), 0);
	/* rolled back codes are forgotten */
	assert_int_equal(astore_begin(as), 0);
	assert_int_equal(astore_code(as, "f", "sex", "other", 0), 3);
	astore_rollback(as);
	assert_int_equal(astore_lookup(as, "f", "sex", "other"), 0);
	astore_close(as);
	/* and kept ones are there after a reopen, both ways */
	as = open_w();
	assert_int_equal(astore_lookup(as, "f", "sex", "male"), 2);
	assert_string_equal(astore_value(as, "f", "need", 32), "n31");
	assert_null(astore_value(as, "f", "sex", 3));
	assert_int_equal(astore_begin(as), 0);
	assert_int_equal(astore_code(as, "f", "sex", "other", 0), 3);
	assert_int_equal(astore_commit(as, 0), 0);
	astore_close(as);
}

struct seen {
	size_t rows, chunks;
	uint32_t first_day, last_day;
	uint64_t sum_a, sum_b;
	int in_order;
};

static int
count(void *arg, size_t n, const uint32_t *day, const uint32_t *const *cols)
{
	struct seen *s = arg;

	for (size_t i = 0; i < n; i++) {
		if (s->rows == 0)
			s->first_day = day[i];
		else if (day[i] < s->last_day)
			s->in_order = 0;
		s->last_day = day[i];
		s->rows++;
		s->sum_a += cols[0] ? cols[0][i] : 0;
		s->sum_b += cols[1] ? cols[1][i] : 0;
	}
	s->chunks++;
	return 0;
}

static void
test_chunks(void **state)
{
	static const char *const a[] = { "d:a" }, *const ab[] = { "d:a",
	    "d:b" }, *const names[] = { "d:a", "d:b" };
	struct astore *as = open_w();
	const size_t first = ASTORE_CHUNK_ROWS + 10;
	struct seen s;
	uint32_t v[2];

	(void)state;
	assert_int_equal(astore_meta(as, "generation"), 0);
	assert_int_equal(astore_begin(as), 0);
	for (size_t i = 0; i < first; i++) {
		v[0] = 1;
		assert_int_equal(astore_append(as, "f", 0, (uint32_t)(100 +
		    i / 1000), 1, a, v), 0);
	}
	assert_int_equal(astore_commit(as, 7), 0);
	assert_int_equal(astore_meta(as, "generation"), 1);
	assert_int_equal(astore_meta(as, "arrival"), 7);
	astore_close(as);
	/* a second run goes on filling the chunk the first left open, and
	   a column new to it is zero for the rows before */
	as = open_w();
	assert_int_equal(astore_begin(as), 0);
	for (size_t i = 0; i < 5; i++) {
		v[0] = 1;
		v[1] = 2;
		assert_int_equal(astore_append(as, "f", 0, 500, 2, ab, v), 0);
	}
	assert_int_equal(astore_commit(as, 9), 0);
	/* a commit that adds nothing leaves the generation */
	assert_int_equal(astore_begin(as), 0);
	assert_int_equal(astore_commit(as, 9), 0);
	assert_int_equal(astore_meta(as, "generation"), 2);
	astore_close(as);

	char err[256];
	assert_int_equal(astore_open(dir, 0, &as, err, sizeof(err)), 0);
	memset(&s, 0, sizeof(s));
	s.in_order = 1;
	assert_int_equal(astore_scan(as, "f", 0, 0, UINT32_MAX, 2, names,
	    count, &s), 0);
	assert_int_equal(s.rows, first + 5);
	assert_int_equal(s.chunks, 2);
	assert_int_equal(s.sum_a, first + 5);
	assert_int_equal(s.sum_b, 10);
	assert_true(s.in_order);
	assert_int_equal(s.first_day, 100);
	assert_int_equal(s.last_day, 500);
	/* dates only the second chunk holds: the first is not read */
	memset(&s, 0, sizeof(s));
	assert_int_equal(astore_scan(as, "f", 0, 400, 600, 2, names, count,
	    &s), 0);
	assert_int_equal(s.chunks, 1);
	assert_int_equal(s.rows, 15);
	/* another level, another form: nothing */
	memset(&s, 0, sizeof(s));
	assert_int_equal(astore_scan(as, "f", 1, 0, UINT32_MAX, 2, names,
	    count, &s), 0);
	assert_int_equal(s.rows, 0);
	astore_close(as);
}

static void
test_query_open_without_tables(void **state)
{
	struct astore *as;
	char err[512], empty[80];

	(void)state;
	snprintf(empty, sizeof(empty), "%s/none", dir);
	assert_int_equal(astore_open(empty, 0, &as, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "analyse"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days),
		cmocka_unit_test_setup_teardown(test_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_open_without_tables,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
