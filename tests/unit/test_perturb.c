/* test_perturb.c: counts perturbed by record keys (analysis/perturb.h) at
   the query layer: the table itself, the same number however a cell is
   asked for, totals that add up, an analyst's exact counts, no small
   value shown, differences that always give the same perturbed count,
   the error on large counts, rows without keys releasing nothing, and
   tables analysed before keys dropped to be analysed again. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "analysis/astore.h"
#include "analysis/perturb.h"
#include "analysis/query.h"
#include "common/log.h"
#include "collector/csrv.h"

#define DAYS 60
#define TARGET 30		/* the day with 3 households */
#define BIG_CENTRES 20
#define BIG_VISITS 10000	/* per centre */

static char dir[64];
static struct form_catalog *cat;
static struct astore *as;
static uint32_t day0;
/* the truth, and what the keys make of it */
static int64_t hh[DAYS], hh_w[DAYS], ind[DAYS], ind_w[DAYS];
static uint64_t rnd = 0x2545f4914f6cdd1dULL;

static uint32_t
rand32(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return (uint32_t)(rnd >> 32);
}

static uint32_t
code(const char *form, const char *dim, const char *v)
{
	int64_t c = astore_code(as, form, dim, v, 0);

	assert_true(c > 0);
	return (uint32_t)c;
}

static void
household(uint32_t d)
{
	static const char *const rn[] = { "d:site_id", "d:admin1",
	    "m:individuals", "p:individuals", "w" };
	static const char *const in[] = { "d:site_id", "d:admin1", "d:sex",
	    "w" };
	static const char *const sites[] = { "S1", "S2", "S3", "S4" };
	uint32_t keys[8], rec[5], it[4];
	uint32_t s = rand32() % 4, m = 1 + rand32() % 5;

	rec[0] = code("dtm_household", "site_id", sites[s]);
	rec[1] = code("dtm_household", "admin1", s < 2 ? "SS01" : "SS02");
	rec[2] = m;
	rec[3] = 0;
	for (uint32_t k = 0; k <= m; k++) {
		keys[k] = rand32();
		if (k > 0)
			rec[3] += (uint32_t)perturb_count(keys[k]);
	}
	rec[4] = (uint32_t)perturb_count(keys[0]);
	assert_int_equal(astore_append(as, "dtm_household", 0, day0 + d, 5,
	    rn, rec), 0);
	hh[d]++;
	hh_w[d] += perturb_count(keys[0]);
	ind[d] += m;
	ind_w[d] += rec[3];
	for (uint32_t k = 0; k < m; k++) {
		it[0] = rec[0];
		it[1] = rec[1];
		it[2] = code("dtm_household", "sex", rand32() % 2 ? "female" :
		    "male");
		it[3] = (uint32_t)perturb_count(keys[k + 1]);
		assert_int_equal(astore_append(as, "dtm_household", 1,
		    day0 + d, 4, in, it), 0);
	}
}

static int
setup(void **state)
{
	static const char *const vn[] = { "d:centre_id", "w" };
	static const char *const sn[] = { "d:site_id", "m:individuals" };
	char err[512], name[16];

	(void)state;
	log_init("test_perturb", LOG_ERR);
	strcpy(dir, "/tmp/test_perturb.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(cat = form_catalog_new());
	assert_int_equal(csrv_forms_load(dir, cat, err, sizeof(err)), 0);
	assert_int_equal(astore_open(dir, 1, &as, err, sizeof(err)), 0);
	assert_int_equal(astore_begin(as), 0);
	day0 = (uint32_t)astore_day("2026-09-01");
	for (uint32_t d = 0; d < DAYS; d++) {
		uint32_t n = d == TARGET ? 3 : 5 + rand32() % 26;
		for (uint32_t i = 0; i < n; i++)
			household(d);
	}
	/* large counts: 20 centres of 10,000 visits */
	for (uint32_t c = 0; c < BIG_CENTRES; c++) {
		uint32_t v[2];
		snprintf(name, sizeof(name), "C%02u", c);
		v[0] = code("mrc_visit", "centre_id", name);
		for (uint32_t i = 0; i < BIG_VISITS; i++) {
			v[1] = (uint32_t)perturb_count(rand32());
			assert_int_equal(astore_append(as, "mrc_visit", 0,
			    day0 + i % DAYS, 2, vn, v), 0);
		}
	}
	/* rows without weights (appended as before keys existed) */
	{
		uint32_t v[2] = { code("dtm_site_assessment", "site_id", "A"),
		    100 };
		assert_int_equal(astore_append(as, "dtm_site_assessment", 0,
		    day0, 2, sn, v), 0);
	}
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

static void
date_of(uint32_t d, char out[11])
{
	astore_date(day0 + d, out);
}

static struct aresult *
run(const char *form, const char *by, const char *where, int from, int to,
    int64_t threshold, char *err)
{
	struct aquery q;
	struct aresult *r = NULL;

	memset(&q, 0, sizeof(q));
	snprintf(q.form, sizeof(q.form), "%s", form);
	q.threshold = threshold;
	if (by && aquery_set_by(&q, by, err, 512) != 0)
		return NULL;
	if (where && aquery_add_where(&q, where, err, 512) != 0)
		return NULL;
	if (from >= 0)
		date_of((uint32_t)from, q.from);
	if (to >= 0)
		date_of((uint32_t)to, q.to);
	if (aquery_run(as, cat, &q, &r, err, 512) != 0)
		return NULL;
	return r;
}

/* The grand total (the last entry) of measure m. */
static int64_t
total(int from, int to, size_t m)
{
	char err[512];
	struct aresult *r = run("dtm_household", NULL, NULL, from, to, 5, err);
	int64_t v;

	assert_non_null(r);
	assert_true(r->perturbed);
	v = r->e[r->n_entries - 1].v[m];
	aresult_free(r);
	return v;
}

static void
test_ptable(void **state)
{
	int n[3] = { 0 }, moved = 0;

	(void)state;
	for (unsigned i = 0; i < PERTURB_SLOTS; i++)
		n[1 + perturb_delta(i)]++;
	assert_int_equal(n[0], 64);
	assert_int_equal(n[1], 128);
	assert_int_equal(n[2], 64);
	for (uint32_t k = 0; k < 4096; k++) {
		uint32_t key = k * 2654435761u;
		int64_t a = perturb_sum(key, perturb_salt("households"), 1);
		int64_t b = perturb_sum(key, perturb_salt("individuals"), 1);
		assert_true(a >= 0 && a <= 2 && b >= 0 && b <= 2);
		assert_int_equal(perturb_sum(key, 7, 0), 0);
		moved += a != b;
	}
	/* each measure of a record moves on its own */
	assert_true(moved > 1000);
}

static void
test_same_number_however_asked(void **state)
{
	char err[512];
	struct aresult *r, *r2;

	(void)state;
	/* by day, and each day as a date range of its own */
	assert_non_null(r = run("dtm_household", "day", NULL, -1, -1, 5, err));
	assert_non_null(r2 = run("dtm_household", "day", NULL, -1, -1, 5,
	    err));
	assert_int_equal(r->n_entries, r2->n_entries);
	for (size_t i = 0; i < r->n_cells; i++) {
		uint32_t day = (uint32_t)astore_day(r->values[0][
		    r->e[i].coord[0]]) - day0;
		assert_int_equal(r->e[i].v[0], r2->e[i].v[0]);
		assert_int_equal(r->e[i].v[0], hh_w[day]);
		assert_int_equal(r->e[i].v[1], ind_w[day]);
		if (day % 7 == 0) {
			assert_int_equal(total((int)day, (int)day, 0),
			    hh_w[day]);
			assert_int_equal(total((int)day, (int)day, 1),
			    ind_w[day]);
		}
	}
	aresult_free(r);
	aresult_free(r2);
	/* individuals by admin1 (records' "p:") and by admin1 and sex (the
	   members' rows): the same people, the same number */
	assert_non_null(r = run("dtm_household", "admin1", NULL, -1, -1, 5,
	    err));
	assert_non_null(r2 = run("dtm_household", "admin1,sex", NULL, -1, -1,
	    5, err));
	for (size_t i = 0; i < r->n_cells; i++) {
		const char *a = r->values[0][r->e[i].coord[0]];
		size_t j;
		for (j = r2->n_cells; j < r2->n_entries; j++)
			if (r2->e[j].coord[1] == SUP_ALL &&
			    r2->e[j].coord[0] != SUP_ALL &&
			    strcmp(r2->values[0][r2->e[j].coord[0]], a) == 0)
				break;
		assert_true(j < r2->n_entries);
		assert_int_equal(r->e[i].v[1], r2->e[j].v[0]);
	}
	aresult_free(r);
	aresult_free(r2);
}

/* Every total of r equals the sum of the cells it covers, suppressed or
   not (single-valued dimensions). */
static void
check_adds_up(const struct aresult *r)
{
	for (size_t t = r->n_cells; t < r->n_entries; t++)
		for (size_t m = 0; m < r->n_measures; m++) {
			int64_t sum = 0;
			for (size_t c = 0; c < r->n_cells; c++) {
				size_t b;
				for (b = 0; b < r->q.n_by; b++)
					if (r->e[t].coord[b] != SUP_ALL &&
					    r->e[t].coord[b] !=
					    r->e[c].coord[b])
						break;
				if (b == r->q.n_by)
					sum += r->e[c].v[m];
			}
			assert_int_equal(r->e[t].v[m], sum);
		}
}

static void
test_totals_add_up(void **state)
{
	char err[512];
	struct aresult *r;

	(void)state;
	assert_non_null(r = run("dtm_household", "site_id", NULL, -1, -1, 5,
	    err));
	check_adds_up(r);
	aresult_free(r);
	assert_non_null(r = run("dtm_household", "admin1,sex", NULL, -1, -1,
	    5, err));
	assert_int_equal(r->n_entries, 2 * 2 + 2 + 2 + 1);
	check_adds_up(r);
	aresult_free(r);
	assert_non_null(r = run("dtm_household", "day,site_id", NULL, 20, 40,
	    5, err));
	check_adds_up(r);
	assert_true(r->n_suppressed > 0);
	aresult_free(r);
}

static void
test_analyst_exact(void **state)
{
	char err[512];
	struct aresult *r;
	int64_t n = 0;

	(void)state;
	assert_non_null(r = run("dtm_household", "day", NULL, -1, -1, 0, err));
	assert_false(r->perturbed);
	assert_int_equal(r->n_suppressed, 0);
	for (size_t i = 0; i < r->n_cells; i++) {
		uint32_t day = (uint32_t)astore_day(r->values[0][
		    r->e[i].coord[0]]) - day0;
		assert_int_equal(r->e[i].v[0], hh[day]);
		assert_int_equal(r->e[i].v[1], ind[day]);
		n += hh[day];
	}
	assert_int_equal(r->e[r->n_entries - 1].v[0], n);
	aresult_free(r);
	/* places are counted, not perturbed, for sites */
}

static void
test_no_small_value_shown(void **state)
{
	static const char *const bys[] = { "day", "site_id", "day,site_id",
	    "day,sex", "site_id,admin1,sex" };
	char err[512];
	struct aresult *r;
	size_t shown = 0;

	(void)state;
	for (size_t q = 0; q < sizeof(bys) / sizeof(bys[0]); q++) {
		assert_non_null(r = run("dtm_household", bys[q], NULL, -1, -1,
		    5, err));
		for (size_t i = 0; i < r->n_entries; i++)
			for (size_t m = 0; m < r->n_measures; m++) {
				if (r->e[i].st[m] != SUP_SHOWN)
					continue;
				assert_false(r->e[i].v[m] >= 1 &&
				    r->e[i].v[m] < 5);
				shown++;
			}
		aresult_free(r);
	}
	assert_true(shown > 100);
}

/*
 * The attack of issue 16: two overlapping date ranges that differ by one
 * day of 3 households.  Exact counts (what coordinators got before) give
 * 3; perturbed ones give that day's perturbed count, the same from every
 * pair of ranges, however many.
 */
static void
test_differences_give_the_same_perturbed_count(void **state)
{
	char err[512];
	struct aresult *a, *b;
	int64_t w = hh_w[TARGET];
	size_t pairs = 0;

	(void)state;
	assert_non_null(a = run("dtm_household", NULL, NULL, TARGET,
	    TARGET + 2, 0, err));
	assert_non_null(b = run("dtm_household", NULL, NULL, TARGET + 1,
	    TARGET + 2, 0, err));
	assert_int_equal(a->e[0].v[0] - b->e[0].v[0], 3);
	aresult_free(a);
	aresult_free(b);
	for (int x = 0; x <= TARGET; x++)
		for (int y = TARGET; y < DAYS; y++) {
			if (x == TARGET && y == TARGET)
				continue;
			/* [x, y] less the ranges either side of the day */
			assert_int_equal(total(x, y, 0) -
			    (x < TARGET ? total(x, TARGET - 1, 0) : 0) -
			    (y > TARGET ? total(TARGET + 1, y, 0) : 0), w);
			pairs++;
		}
	assert_true(pairs > 500);
	/* and W says only that the day held at least ceil(W / 2) */
	assert_true(w >= 0 && w <= 6);
}

static void
test_error_on_large_counts(void **state)
{
	char err[512];
	struct aresult *r;
	double worst = 0;

	(void)state;
	assert_non_null(r = run("mrc_visit", "centre_id", NULL, -1, -1, 5,
	    err));
	assert_int_equal(r->n_cells, BIG_CENTRES);
	for (size_t i = 0; i < r->n_cells; i++) {
		double e = fabs((double)(r->e[i].v[0] - BIG_VISITS));
		/* 4 sqrt(n): 400 of 10,000, 4%; fails with p < 7e-4 by
		   Hoeffding (the standard deviation is 71) */
		assert_true(e <= 4 * sqrt(BIG_VISITS));
		if (e > worst)
			worst = e;
	}
	{
		double n = BIG_CENTRES * (double)BIG_VISITS;
		double e = fabs((double)r->e[r->n_entries - 1].v[0] - n);
		assert_true(e <= 4 * sqrt(n));		/* 1,789: 0.9% */
	}
	/* perturbed for real: not every cell exact */
	assert_true(worst > 0);
	aresult_free(r);
}

static void
test_rows_without_keys_release_nothing(void **state)
{
	char err[512];
	struct aresult *r;

	(void)state;
	assert_null(run("dtm_site_assessment", NULL, NULL, -1, -1, 5, err));
	assert_non_null(strstr(err, "rows without keys"));
	assert_non_null(r = run("dtm_site_assessment", NULL, NULL, -1, -1, 0,
	    err));
	assert_int_equal(r->e[0].v[2], 100);
	aresult_free(r);
}

static int
count_rows(void *arg, size_t n, const uint32_t *day,
    const uint32_t *const *cols)
{
	(void)day;
	(void)cols;
	*(size_t *)arg += n;
	return 0;
}

/* Tables analysed before keys: their rows go, and the next analyse
   counts every record again (arrival 0); the generation moves on. */
static void
test_upgrade_drops_rows_without_keys(void **state)
{
	static const char *const v1 =
	    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	    "  WITHOUT ROWID;"
	    "CREATE TABLE dict(form TEXT NOT NULL, dim TEXT NOT NULL,"
	    "  value TEXT NOT NULL, code INTEGER NOT NULL,"
	    "  PRIMARY KEY(form, dim, value)) WITHOUT ROWID;"
	    "CREATE TABLE chunks(form TEXT NOT NULL, level INTEGER NOT NULL,"
	    "  no INTEGER NOT NULL, nrows INTEGER NOT NULL,"
	    "  day_min INTEGER NOT NULL, day_max INTEGER NOT NULL,"
	    "  PRIMARY KEY(form, level, no)) WITHOUT ROWID;"
	    "CREATE TABLE cols(form TEXT NOT NULL, level INTEGER NOT NULL,"
	    "  no INTEGER NOT NULL, col TEXT NOT NULL, data BLOB NOT NULL,"
	    "  UNIQUE(form, level, no, col));"
	    "CREATE TABLE failed(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	    "  reason TEXT NOT NULL, PRIMARY KEY(device_id, seq)) WITHOUT ROWID;"
	    "PRAGMA user_version = 1;";
	char old[64], path[128], err[512], cmd[128];
	struct astore *a;
	sqlite3 *db;
	size_t rows = 0;

	(void)state;
	strcpy(old, "/tmp/test_perturb_v1.XXXXXX");
	assert_non_null(mkdtemp(old));
	snprintf(path, sizeof(path), "%s/analysis.db", old);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	/* a chunk of one row, as the first version wrote it */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO meta VALUES"
	    "('arrival', 42), ('generation', 3);"
	    "INSERT INTO chunks VALUES('mrc_visit', 0, 0, 1, 20000, 20000);"
	    "INSERT INTO cols VALUES('mrc_visit', 0, 0, 'day', x'00');"
	    "INSERT INTO failed VALUES('dev', 7, 'why');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(astore_open(old, 1, &a, err, sizeof(err)), 0);
	assert_int_equal(astore_meta(a, "arrival"), 0);
	assert_int_equal(astore_meta(a, "generation"), 4);
	assert_int_equal(astore_failed_count(a), 0);
	astore_close(a);
	assert_int_equal(astore_open(old, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(astore_scan(a, "mrc_visit", 0, 0, UINT32_MAX, 0, NULL,
	    count_rows, &rows), 0);
	assert_int_equal(rows, 0);
	astore_close(a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", old);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptable),
		cmocka_unit_test(test_same_number_however_asked),
		cmocka_unit_test(test_totals_add_up),
		cmocka_unit_test(test_analyst_exact),
		cmocka_unit_test(test_no_small_value_shown),
		cmocka_unit_test(test_differences_give_the_same_perturbed_count),
		cmocka_unit_test(test_error_on_large_counts),
		cmocka_unit_test(test_rows_without_keys_release_nothing),
		cmocka_unit_test(test_upgrade_drops_rows_without_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
