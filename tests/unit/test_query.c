/* test_query.c: counts queries on hand-made analysis tables: ISO weeks
   and months at the year's edges, the latest round of each site, filters
   and the errors that name the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analysis/astore.h"
#include "analysis/query.h"
#include "analysis/render.h"
#include "common/log.h"
#include "collector/csrv.h"

static char dir[64];
static struct form_catalog *cat;
static struct astore *as;

static const char *const days[] = { "2020-12-31", "2021-01-03",
    "2021-01-04", "2026-12-31", "2027-01-01", "2024-12-30" };

static uint32_t
code(const char *form, const char *dim, const char *v)
{
	int64_t c = astore_code(as, form, dim, v, 0);

	assert_true(c > 0);
	return (uint32_t)c;
}

static void
site_round(const char *site, const char *day, uint32_t individuals)
{
	static const char *const n[] = { "d:site_id", "m:individuals" };
	uint32_t v[2] = { code("dtm_site_assessment", "site_id", site),
	    individuals };

	assert_int_equal(astore_append(as, "dtm_site_assessment", 0,
	    (uint32_t)astore_day(day), 2, n, v), 0);
}

static int
setup(void **state)
{
	static const char *const rn[] = { "d:site_id", "m:individuals" };
	static const char *const in[] = { "d:site_id", "d:sex" };
	char err[512];

	(void)state;
	log_init("test_query", LOG_ERR);
	strcpy(dir, "/tmp/test_query.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(cat = form_catalog_new());
	assert_int_equal(csrv_forms_load(dir, cat, err, sizeof(err)), 0);
	assert_int_equal(astore_open(dir, 1, &as, err, sizeof(err)), 0);
	assert_int_equal(astore_begin(as), 0);
	/* one household of two on each day */
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		uint32_t r[2] = { code("dtm_household", "site_id", "S1"), 2 };
		uint32_t f[2] = { r[0], code("dtm_household", "sex", "female") };
		uint32_t m[2] = { r[0], code("dtm_household", "sex", "male") };
		uint32_t day = (uint32_t)astore_day(days[i]);

		assert_int_equal(astore_append(as, "dtm_household", 0, day, 2,
		    rn, r), 0);
		assert_int_equal(astore_append(as, "dtm_household", 1, day, 2,
		    in, f), 0);
		assert_int_equal(astore_append(as, "dtm_household", 1, day, 2,
		    in, m), 0);
	}
	/* site A: three rounds, the last two on one day (the later arrival
	   wins); site B: one round, before the range asked for below */
	site_round("A", "2026-10-01", 100);
	site_round("A", "2026-11-01", 200);
	site_round("A", "2026-11-01", 300);
	site_round("B", "2026-09-01", 50);
	assert_int_equal(astore_commit(as, 1), 0);
	astore_close(as);
	assert_int_equal(astore_open(dir, 0, &as, err, sizeof(err)), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	astore_close(as);
	form_catalog_free(cat);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct aresult *
run(const char *form, const char *by, const char *where, const char *from,
    const char *to, char *err)
{
	struct aquery q;
	struct aresult *r = NULL;

	memset(&q, 0, sizeof(q));
	snprintf(q.form, sizeof(q.form), "%s", form);
	if (by && aquery_set_by(&q, by, err, 512) != 0)
		return NULL;
	if (where && aquery_add_where(&q, where, err, 512) != 0)
		return NULL;
	if (from)
		snprintf(q.from, sizeof(q.from), "%s", from);
	if (to)
		snprintf(q.to, sizeof(q.to), "%s", to);
	if (aquery_run(as, cat, &q, &r, err, 512) != 0)
		return NULL;
	return r;
}

/* The value of measure m in the cell whose first dimension reads v. */
static int64_t
cell(const struct aresult *r, const char *v, size_t m)
{
	for (size_t i = 0; i < r->n_cells; i++)
		if (strcmp(r->values[0][r->e[i].coord[0]], v) == 0)
			return r->e[i].v[m];
	return -1;
}

static void
test_weeks_and_months(void **state)
{
	char err[512];
	struct aresult *r;

	(void)state;
	assert_non_null(r = run("dtm_household", "week", NULL, NULL, NULL,
	    err));
	assert_int_equal(r->n_values[0], 4);
	/* in time order, ISO weeks: the last days of a year may be week 1
	   of the next, the first of one week 53 of the last */
	assert_string_equal(r->values[0][0], "2020-W53");
	assert_string_equal(r->values[0][1], "2021-W01");
	assert_string_equal(r->values[0][2], "2025-W01");
	assert_string_equal(r->values[0][3], "2026-W53");
	assert_int_equal(cell(r, "2020-W53", 0), 2);	/* households */
	assert_int_equal(cell(r, "2026-W53", 1), 4);	/* individuals */
	aresult_free(r);
	assert_non_null(r = run("dtm_household", "month", NULL, NULL, NULL,
	    err));
	assert_int_equal(cell(r, "2021-01", 0), 2);
	assert_int_equal(cell(r, "2024-12", 0), 1);
	aresult_free(r);
	/* a week as a filter, and with a member's dimension: individuals */
	assert_non_null(r = run("dtm_household", "sex", "week=2020-W53", NULL,
	    NULL, err));
	assert_int_equal(r->n_measures, 1);
	assert_string_equal(r->measures[0].name, "individuals");
	assert_int_equal(cell(r, "female", 0), 2);
	aresult_free(r);
	/* 2021 has 52 weeks */
	assert_null(run("dtm_household", "sex", "week=2021-W53", NULL, NULL,
	    err));
	assert_non_null(strstr(err, "where: week"));
}

static void
test_latest_round(void **state)
{
	char err[512];
	struct aresult *r;

	(void)state;
	/* every round: A's latest is the later of two on 2026-11-01 */
	assert_non_null(r = run("dtm_site_assessment", "site_id", NULL, NULL,
	    NULL, err));
	assert_string_equal(r->measures[0].name, "sites");
	assert_false(r->measures[0].suppress);
	assert_int_equal(cell(r, "A", 0), 1);
	assert_int_equal(cell(r, "A", 2), 300);		/* individuals */
	assert_int_equal(cell(r, "B", 2), 50);
	aresult_free(r);
	/* within October only the first round of A counts, B not at all */
	assert_non_null(r = run("dtm_site_assessment", NULL, NULL,
	    "2026-10-01", "2026-10-31", err));
	assert_int_equal(r->n_entries, 1);
	assert_int_equal(r->e[0].v[0], 1);
	assert_int_equal(r->e[0].v[2], 100);
	aresult_free(r);
}

static void
test_errors_name_the_parameter(void **state)
{
	char err[512];

	(void)state;
	assert_null(run("nope", NULL, NULL, NULL, NULL, err));
	assert_non_null(strstr(err, "form: nope"));
	assert_null(run("dtm_household", "colour", NULL, NULL, NULL, err));
	assert_non_null(strstr(err, "by: unknown dimension colour"));
	assert_non_null(strstr(err, "sex"));	/* and lists the known ones */
	assert_null(run("dtm_household", NULL, "colour=red", NULL, NULL,
	    err));
	assert_non_null(strstr(err, "where: unknown dimension colour"));
	assert_null(run("dtm_household", NULL, NULL, "2026-12-01",
	    "2026-11-01", err));
	assert_non_null(strstr(err, "from: after to"));
	assert_null(run("dtm_household", "a,b,c,d,e", NULL, NULL, NULL, err));
	assert_non_null(strstr(err, "by: at most 4"));
	assert_null(run("dtm_household", NULL, "sex", NULL, NULL, err));
	assert_non_null(strstr(err, "where: write DIM=VALUE"));
}

static void
test_hxl_tags(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(arender_hxl_dim("admin1", buf, sizeof(buf)),
	    "#adm1+code");
	assert_string_equal(arender_hxl_dim("Shelter Type", buf, sizeof(buf)),
	    "#group+shelter_type");
	assert_string_equal(arender_hxl_measure("females_0_4", buf,
	    sizeof(buf)), "#affected+f+infants");
	assert_string_equal(arender_hxl_measure("males_60_plus", buf,
	    sizeof(buf)), "#affected+m+elderly");
	assert_string_equal(arender_hxl_measure("arrivals_last_7_days", buf,
	    sizeof(buf)), "#affected+arrivals_last_7_days");
	assert_string_equal(arender_hxl_measure("9lives", buf, sizeof(buf)),
	    "#affected+xlives");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weeks_and_months),
		cmocka_unit_test(test_latest_round),
		cmocka_unit_test(test_errors_name_the_parameter),
		cmocka_unit_test(test_hxl_tags),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
