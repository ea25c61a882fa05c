/*
 * test_astore.c: the analysis tables: dates, value codes, chunks filled
 * across runs and chunk boundaries, scans that skip by date, the
 * generation, a reader's snapshot, two writers one after the other.
 *
 * The tests run on SQLite (CDIR/analysis.db), then, when FIELD_PG_URL
 * names a PostgreSQL cluster (postgresql://USER@HOST:PORT), once more
 * with CDIR/collectord.conf's store naming a new database of it each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "analysis/astore.h"
#include "common/log.h"

static char dir[64];
static const char *pg_base;	/* FIELD_PG_URL, without a trailing / */
static char pg_db[64];		/* the database of this test, or "" */
static int pg_n;

/* Runs sql on the cluster's database `postgres`.  0 or -1. */
static int
pg_admin(const char *sql)
{
	char url[512];
	PGconn *c;
	PGresult *r;
	int ok;

	snprintf(url, sizeof(url), "%s/postgres", pg_base);
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "test_astore: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "test_astore: %s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	log_init("test_astore", LOG_ERR);
	strcpy(dir, "/tmp/test_astore.XXXXXX");
	assert_non_null(mkdtemp(dir));
	pg_db[0] = '\0';
	return 0;
}

/* The same, and a new PostgreSQL database the collector's store. */
static int
setup_pg(void **state)
{
	char sql[128], path[128];
	FILE *f;

	setup(state);
	snprintf(pg_db, sizeof(pg_db), "test_astore_%ld_%d", (long)getpid(),
	    ++pg_n);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_db);
	if (pg_admin(sql) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/collectord.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "store = %s/%s\n", pg_base, pg_db);
	return fclose(f) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (pg_db[0]) {
		snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s", pg_db);
		pg_admin(cmd);
		pg_db[0] = '\0';
	}
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
	if (pg_db[0]) {
		/* the collector's database, where analyse never ran */
		assert_int_equal(astore_open(dir, 0, &as, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "no analysis tables"));
		assert_non_null(strstr(err, "analyse"));
		return;
	}
	snprintf(empty, sizeof(empty), "%s/none", dir);
	assert_int_equal(astore_open(empty, 0, &as, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "analyse"));
}

static void
fill(struct astore *as, size_t n, uint32_t day, int64_t arrival)
{
	static const char *const a[] = { "d:a" };
	uint32_t v = 1;

	assert_int_equal(astore_begin(as), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(astore_append(as, "f", 0, day, 1, a, &v), 0);
	assert_int_equal(astore_commit(as, arrival), 0);
}

static size_t
rows(struct astore *as)
{
	static const char *const a[] = { "d:a", "d:b" };
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(astore_scan(as, "f", 0, 0, UINT32_MAX, 2, a, count,
	    &s), 0);
	return s.rows;
}

/* A reader counts the generation it opened at, whatever is committed
   while it reads (a front-end answering while analyse runs). */
static void
test_reader_snapshot(void **state)
{
	struct astore *w = open_w(), *r;
	char err[512];

	(void)state;
	fill(w, 100, 200, 1);
	assert_int_equal(astore_open(dir, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(astore_meta(r, "generation"), 1);
	fill(w, ASTORE_CHUNK_ROWS, 201, 2);
	assert_int_equal(astore_meta(w, "generation"), 2);
	assert_int_equal(astore_meta(r, "generation"), 1);
	assert_int_equal(astore_meta(r, "arrival"), 1);
	assert_int_equal(rows(r), 100);
	astore_close(r);
	assert_int_equal(astore_open(dir, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(astore_meta(r, "generation"), 2);
	assert_int_equal(rows(r), 100 + ASTORE_CHUNK_ROWS);
	astore_close(r);
	astore_close(w);
}

/* Two analyses opened together: the second to begin takes the tables as
   the first left them (codes, the chunk it was filling); the first,
   when it would go on after that, stops. */
static void
test_two_writers(void **state)
{
	struct astore *a = open_w(), *b = open_w(), *r;
	char err[512];

	(void)state;
	assert_int_equal(astore_begin(a), 0);
	assert_int_equal(astore_code(a, "f", "sex", "female", 0), 1);
	assert_int_equal(astore_commit(a, 3), 0);
	fill(a, 10, 100, 4);
	assert_int_equal(astore_begin(b), 0);
	assert_int_equal(astore_meta(b, "arrival"), 4);
	assert_int_equal(astore_code(b, "f", "sex", "male", 0), 2);
	assert_int_equal(astore_code(b, "f", "sex", "female", 0), 1);
	assert_int_equal(astore_commit(b, 5), 0);
	fill(b, 5, 101, 6);
	assert_int_equal(astore_begin(a), -1);
	assert_non_null(strstr(astore_errmsg(a), "another"));
	astore_close(a);
	astore_close(b);
	assert_int_equal(astore_open(dir, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(rows(r), 15);
	assert_int_equal(astore_lookup(r, "f", "sex", "male"), 2);
	assert_int_equal(astore_meta(r, "arrival"), 6);
	astore_close(r);
}

/* PostgreSQL: while one analyse is in its transaction, another cannot
   take the writers' lock. */
static void
test_pg_write_lock(void **state)
{
	struct astore *as;
	char url[512];
	PGconn *c;
	PGresult *res;

	(void)state;
	if (pg_db[0] == '\0')
		return;
	as = open_w();
	snprintf(url, sizeof(url), "%s/%s", pg_base, pg_db);
	c = PQconnectdb(url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_int_equal(astore_begin(as), 0);
	res = PQexec(c, "SELECT pg_try_advisory_lock(7243052)");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "f");
	PQclear(res);
	assert_int_equal(astore_commit(as, 1), 0);
	res = PQexec(c, "SELECT pg_try_advisory_lock(7243052)");
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	PQfinish(c);
	astore_close(as);
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
		cmocka_unit_test_setup_teardown(test_reader_snapshot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, setup,
		    teardown),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_codes, setup_pg,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chunks, setup_pg,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_open_without_tables,
		    setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_reader_snapshot,
		    setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, setup_pg,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_write_lock, setup_pg,
		    teardown),
	};
	static char base[400];
	const char *env = getenv("FIELD_PG_URL");
	int rc = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

	if (env == NULL || *env == '\0') {
		printf("test_astore: PostgreSQL part skipped (FIELD_PG_URL "
		    "unset; the integration tests with FIELD_STORE=pg cover "
		    "it)\n");
		return rc;
	}
	snprintf(base, sizeof(base), "%s", env);
	while (*base && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	pg_base = base;
	return rc | cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
	    NULL);
}
