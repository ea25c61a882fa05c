/* test_cdb.c: the collector's SQL interface behaves the same on both
   engines -- parameters (?N, bare ?, a ? inside quotes), text, integers,
   blobs with zero bytes, NULL, rows changed, transactions, migrations and
   their versions -- SQLite always, PostgreSQL when FIELD_PG_URL names a
   cluster (tests/run.sh's PostgreSQL pass sets it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "collector/cdb.h"

static const char *const sq_mig[] = {
	"CREATE TABLE t(k TEXT PRIMARY KEY, n INTEGER, b BLOB);",
	"CREATE TABLE u(x INTEGER);",
};
static const char *const pg_mig[] = {
	"CREATE TABLE t(k TEXT PRIMARY KEY, n BIGINT, b BYTEA);",
	"CREATE TABLE u(x BIGINT);",
};
static const struct cdb_schema schema2 = { sq_mig, pg_mig, 2 };
static const struct cdb_schema schema1 = { sq_mig, pg_mig, 1 };

static char urls[2][512];
static int nurls;

static struct cdb *
open_ok(const char *url, const struct cdb_schema *sc, int readonly)
{
	struct cdb *db;
	char err[512];

	if (cdb_open(url, "test", readonly, sc, &db, err, sizeof(err)) != 0)
		fail_msg("%s: %s", url, err);
	return db;
}

static void
roundtrip(const char *url)
{
	static const unsigned char blob[5] = { 0, 1, 0, 255, 0 };
	struct cdb *db = open_ok(url, &schema2, 0);
	struct cdb_stmt *s;
	const void *p;
	size_t n;

	s = cdb_prepare(db, "INSERT INTO t(k, n, b) VALUES(?1, ?2, ?3)");
	assert_non_null(s);
	cdb_bind_text(s, 1, "a'b?");
	cdb_bind_int64(s, 2, INT64_C(9007199254740993));	/* > 2^53 */
	cdb_bind_blob(s, 3, blob, sizeof(blob));
	assert_int_equal(cdb_step(s), CDB_DONE);
	assert_int_equal(cdb_changes(s), 1);
	cdb_reset(s);
	cdb_bind_text(s, 1, "z");
	cdb_bind_null(s, 2);
	cdb_bind_null(s, 3);
	assert_int_equal(cdb_step(s), CDB_DONE);
	cdb_finalize(s);

	/* bare ? numbered in order; '?' in quotes is text */
	s = cdb_prepare(db, "SELECT k, n, b, '?' FROM t WHERE k <> ? AND"
	    " k <> ? ORDER BY k");
	assert_non_null(s);
	cdb_bind_text(s, 1, "x");
	cdb_bind_text(s, 2, "y");
	assert_int_equal(cdb_step(s), CDB_ROW);
	assert_string_equal(cdb_col_text(s, 0), "a'b?");
	assert_true(cdb_col_int64(s, 1) == INT64_C(9007199254740993));
	p = cdb_col_blob(s, 2, &n);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	p = cdb_col_blob(s, 2, &n);		/* read twice: the same */
	assert_int_equal(n, sizeof(blob));
	assert_string_equal(cdb_col_text(s, 3), "?");
	assert_int_equal(cdb_step(s), CDB_ROW);
	assert_string_equal(cdb_col_text(s, 0), "z");
	assert_true(cdb_col_null(s, 1));
	assert_int_equal(cdb_col_int64(s, 1), 0);
	assert_int_equal(cdb_step(s), CDB_DONE);
	cdb_finalize(s);

	/* ON CONFLICT both ways, and rows changed */
	s = cdb_prepare(db, "INSERT INTO t(k, n) VALUES(?1, ?2) ON CONFLICT"
	    " DO NOTHING");
	cdb_bind_text(s, 1, "z");
	cdb_bind_int64(s, 2, 5);
	assert_int_equal(cdb_step(s), CDB_DONE);
	assert_int_equal(cdb_changes(s), 0);
	cdb_finalize(s);
	s = cdb_prepare(db, "INSERT INTO t(k, n) VALUES(?1, ?2) ON CONFLICT(k)"
	    " DO UPDATE SET n = excluded.n");
	cdb_bind_text(s, 1, "z");
	cdb_bind_int64(s, 2, 5);
	assert_int_equal(cdb_step(s), CDB_DONE);
	assert_int_equal(cdb_changes(s), 1);
	cdb_finalize(s);

	/* a transaction rolled back leaves nothing; a failed statement
	   makes the commit fail, not half-commit */
	assert_int_equal(cdb_begin(db), 0);
	assert_true(cdb_in_tx(db));
	assert_int_equal(cdb_exec(db, "INSERT INTO u VALUES(1)"), 0);
	cdb_rollback(db);
	assert_false(cdb_in_tx(db));
	cdb_rollback(db);			/* none open: harmless */
	s = cdb_prepare(db, "SELECT count(*) FROM u");
	assert_int_equal(cdb_step(s), CDB_ROW);
	assert_int_equal(cdb_col_int64(s, 0), 0);
	cdb_finalize(s);
	if (cdb_engine(db) == CDB_PG) {
		assert_int_equal(cdb_begin(db), 0);
		assert_int_equal(cdb_exec(db, "INSERT INTO u VALUES(1)"), 0);
		assert_int_equal(cdb_exec(db, "INSERT INTO nosuch VALUES(1)"),
		    -1);
		assert_int_equal(cdb_commit(db), -1);
		cdb_rollback(db);
		s = cdb_prepare(db, "SELECT count(*) FROM u");
		assert_int_equal(cdb_step(s), CDB_ROW);
		assert_int_equal(cdb_col_int64(s, 0), 0);
		cdb_finalize(s);
	}
	/* a bad statement: an error, the connection still good */
	s = cdb_prepare(db, "SELECT nosuch FROM t");
	if (s) {
		assert_int_equal(cdb_step(s), -1);
		cdb_finalize(s);
	}
	assert_true(strlen(cdb_errmsg(db)) > 0);
	assert_int_equal(cdb_exec(db, "INSERT INTO u VALUES(2)"), 0);
	cdb_close(db);

	/* reopened: no migration runs twice; an older program refuses */
	db = open_ok(url, &schema2, 0);
	cdb_close(db);
	{
		char err[512];

		assert_int_equal(cdb_open(url, "test", 0, &schema1, &db, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "newer than this program"));
	}
}

static void
test_engines(void **state)
{
	(void)state;
	for (int i = 0; i < nurls; i++)
		roundtrip(urls[i]);
}

static void
test_refusals(void **state)
{
	struct cdb *db;
	char err[512];

	(void)state;
	assert_true(cdb_is_pg("postgresql://h/d"));
	assert_true(cdb_is_pg("postgres://h/d"));
	assert_false(cdb_is_pg("sqlite:/x"));
	/* a server that is not there: the error names it, no password */
	assert_int_equal(cdb_open("postgresql://u:secret@127.0.0.1:1/d",
	    "test", 0, &schema2, &db, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "postgresql:"));
	assert_null(strstr(err, "secret"));
	/* read-only before anything was made */
	assert_int_equal(cdb_open("sqlite:/nonexistent/dir/x.db", "test", 1,
	    &schema2, &db, err, sizeof(err)), -1);
}

/* A fresh database on the cluster FIELD_PG_URL names. */
static int
pg_fresh(char *out, size_t len)
{
	const char *base = getenv("FIELD_PG_URL");
	char url[512], sql[128], name[64];
	PGconn *c;
	PGresult *r;
	int ok;

	if (base == NULL || *base == '\0')
		return 0;
	snprintf(name, sizeof(name), "test_cdb_%d", (int)getpid());
	snprintf(url, sizeof(url), "%s/postgres", base);
	c = PQconnectdb(url);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	PQclear(PQexec(c, sql));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQfinish(c);
	if (!ok)
		return -1;
	snprintf(out, len, "%s/%s", base, name);
	return 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_refusals),
	};
	char dir[] = "/tmp/test_cdb.XXXXXX";
	int rc, pg;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(urls[nurls++], sizeof(urls[0]), "sqlite:%s/t.db", dir);
	if ((pg = pg_fresh(urls[nurls], sizeof(urls[0]))) > 0)
		nurls++;
	else if (pg < 0)
		return 1;
	else
		printf("PostgreSQL part skipped: FIELD_PG_URL is not set\n");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(urls[0], sizeof(urls[0]), "rm -rf %s", dir);
	if (system(urls[0]) != 0)
		rc = 1;
	return rc;
}
