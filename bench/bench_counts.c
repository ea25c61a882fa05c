/*
 * bench_counts: a coordinator's counts query over 10,000,000 individuals
 * (the budget: under a second), against the same facts in a plain
 * SQLite table grouped by SQL, measured in the same run.
 *
 *   bench_counts [INDIVIDUALS] [--pg URL]
 *
 * The analysis tables are filled through astore_append as `collectctl
 * analyse` fills them (households of 1 to 9 members over 200 sites and a
 * year; each record and member with the weight its random key gives it,
 * analysis/perturb.h), then each query runs as coordinators' counts run:
 * the analysis database opened afresh, the query perturbed (the weights'
 * column read beside the dimensions), the suppression, the JSON.
 *
 * With a PostgreSQL cluster (--pg URL or FIELD_PG_URL, the cluster's
 * postgresql://USER@HOST:PORT), the same facts are filled once more into
 * the analysis tables of a new database of it (a collector whose store
 * is PostgreSQL keeps them there), and the same queries run against
 * them, each beside the SQLite column store's time.  The database is
 * dropped at the end.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/astore.h"
#include "analysis/perturb.h"
#include "analysis/query.h"
#include "analysis/render.h"
#include "bench/bench_common.h"
#include "collector/csrv.h"

#define SITES 200
#define DAYS 365

static const char *const sexes[] = { "female", "male" };
static const char *const bands[] = { "0-4", "5-11", "12-17", "18-59",
    "60+" };
static const char *const needs[] = { "shelter", "food", "water",
    "sanitation", "health", "education", "protection", "livelihoods",
    "nfi", "documentation" };
static const char *const vulns[] = { "pregnant_lactating", "disability",
    "chronic_illness", "unaccompanied_child", "separated_child",
    "elderly_alone" };
static const char *const intents[] = { "stay", "return", "relocate",
    "unknown" };

static uint64_t rnd = 88172645463325252ULL;

static uint32_t
rand32(uint32_t n)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return (uint32_t)(rnd % n);
}

static uint32_t
code(struct astore *as, const char *dim, const char *v, int multi)
{
	int64_t c = astore_code(as, "dtm_household", dim, v, multi);

	if (c <= 0) {
		fprintf(stderr, "bench_counts: code %s=%s\n", dim, v);
		exit(1);
	}
	return (uint32_t)c;
}

/* Fills the analysis tables of the collector in dir and (when not NULL)
   a plain table with the same facts: the same for the same today. */
static uint64_t
fill(const char *dir, sqlite3 *plain, uint64_t want, uint32_t today)
{
	static const char *const rn[] = { "d:site_id", "d:admin1",
	    "d:admin2", "d:intention", "d:need", "m:individuals",
	    "p:individuals", "w" };
	static const char *const in[] = { "d:site_id", "d:admin1",
	    "d:admin2", "d:intention", "d:need", "d:sex", "d:age_band",
	    "d:vulnerability", "w" };
	uint32_t site[SITES], a1[4], a2[20], sx[2], bd[5], it[4];
	struct astore *as;
	sqlite3_stmt *ins = NULL;
	char err[512], v[32];
	uint64_t n = 0;

	rnd = 88172645463325252ULL;
	if (astore_open(dir, 1, &as, err, sizeof(err)) != 0 ||
	    astore_begin(as) != 0) {
		fprintf(stderr, "bench_counts: %s\n", err);
		exit(1);
	}
	for (int i = 0; i < SITES; i++) {
		snprintf(v, sizeof(v), "SITE-%03d", i);
		site[i] = code(as, "site_id", v, 0);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "SS0%d", i + 1);
		a1[i] = code(as, "admin1", v, 0);
		it[i] = code(as, "intention", intents[i], 0);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(v, sizeof(v), "SS0%d%02d", i % 4 + 1, i);
		a2[i] = code(as, "admin2", v, 0);
	}
	for (int i = 0; i < 2; i++)
		sx[i] = code(as, "sex", sexes[i], 0);
	for (int i = 0; i < 5; i++)
		bd[i] = code(as, "age_band", bands[i], 0);
	for (int i = 0; i < 10; i++)
		code(as, "need", needs[i], 1);
	for (int i = 0; i < 6; i++)
		code(as, "vulnerability", vulns[i], 1);
	if (plain) {
		sqlite3_exec(plain, "CREATE TABLE items(day INTEGER,"
		    " site INTEGER, admin1 INTEGER, admin2 INTEGER,"
		    " intention INTEGER, need INTEGER, sex INTEGER,"
		    " age_band INTEGER, vuln INTEGER); BEGIN", 0, 0, 0);
		sqlite3_prepare_v2(plain, "INSERT INTO items"
		    " VALUES(?,?,?,?,?,?,?,?,?)", -1, &ins, NULL);
	}
	while (n < want) {
		int s = (int)rand32(SITES), m = 1 + (int)rand32(9);
		uint32_t day = today - rand32(DAYS);
		uint32_t rec[8] = { site[s], a1[s % 4], a2[s % 20],
		    it[rand32(4)], (1u << rand32(10)) | (1u << rand32(10)),
		    (uint32_t)m, 0, 0 };
		uint32_t row[9], keys[10];

		/* the record's key and its members', as analyse draws them,
		   and what they weigh */
		for (int k = 0; k <= m; k++) {
			keys[k] = rand32(UINT32_MAX);
			if (k > 0)
				rec[6] += (uint32_t)perturb_count(keys[k]);
		}
		rec[7] = (uint32_t)perturb_count(keys[0]);
		if (astore_append(as, "dtm_household", 0, day, 8, rn, rec) != 0)
			goto fail;
		memcpy(row, rec, 5 * sizeof(uint32_t));
		for (int k = 0; k < m; k++, n++) {
			row[5] = sx[rand32(2)];
			row[6] = bd[rand32(5)];
			row[7] = rand32(8) ? 0 : 1u << rand32(6);
			row[8] = (uint32_t)perturb_count(keys[k + 1]);
			if (astore_append(as, "dtm_household", 1, day, 9, in,
			    row) != 0)
				goto fail;
			if (ins == NULL)
				continue;
			sqlite3_bind_int64(ins, 1, day);
			for (int c = 0; c < 8; c++)
				sqlite3_bind_int64(ins, c + 2, row[c]);
			sqlite3_step(ins);
			sqlite3_reset(ins);
		}
	}
	if (plain) {
		sqlite3_finalize(ins);
		sqlite3_exec(plain, "COMMIT", 0, 0, 0);
	}
	if (astore_commit(as, 1) != 0)
		goto fail;
	astore_close(as);
	return n;
fail:
	fprintf(stderr, "bench_counts: %s\n", astore_errmsg(as));
	exit(1);
}

/* One query as collectctl counts runs it; seconds. */
static double
query(const char *dir, const struct form_catalog *cat, const char *by,
    const char *from, const char *where, size_t *cells)
{
	struct aquery q;
	struct astore *as;
	struct aresult *r;
	char err[1024], *out;
	size_t len;
	double t0 = bench_now();

	memset(&q, 0, sizeof(q));
	snprintf(q.form, sizeof(q.form), "dtm_household");
	q.threshold = 5;
	if ((by && aquery_set_by(&q, by, err, sizeof(err)) != 0) ||
	    (where && aquery_add_where(&q, where, err, sizeof(err)) != 0) ||
	    astore_open(dir, 0, &as, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_counts: %s\n", err);
		exit(1);
	}
	if (from)
		snprintf(q.from, sizeof(q.from), "%s", from);
	if (aquery_run(as, cat, &q, &r, err, sizeof(err)) != 0 ||
	    (out = arender(r, AF_JSON, &len)) == NULL) {
		fprintf(stderr, "bench_counts: %s: %s\n", by ? by : "-", err);
		exit(1);
	}
	*cells = r->n_cells;
	free(out);
	aresult_free(r);
	astore_close(as);
	return bench_now() - t0;
}

/* The same breakdown grouped by SQLite over the plain table. */
static double
sql_group(sqlite3 *db, const char *cols)
{
	char sql[256];
	sqlite3_stmt *s;
	double t0 = bench_now();

	snprintf(sql, sizeof(sql), "SELECT %s, count(*) FROM items GROUP BY "
	    "%s", cols, cols);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		exit(1);
	while (sqlite3_step(s) == SQLITE_ROW)
		;
	sqlite3_finalize(s);
	return bench_now() - t0;
}

/* Runs sql on the cluster's database `postgres`.  0 or -1. */
static int
pg_admin(const char *base, const char *sql)
{
	char url[600];
	PGconn *c;
	PGresult *r;
	int ok;

	snprintf(url, sizeof(url), "%s/postgres", base);
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench_counts: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "bench_counts: %s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *by, *from, *where, *sql;
	} qs[] = {
		{ "sex,age_band", NULL, NULL, "sex, age_band" },
		{ "site_id,month", NULL, NULL, "site, day / 30" },
		{ "need", NULL, NULL, "need" },
		{ "admin1,sex,age_band", NULL, "intention=stay",
		    "admin1, sex, age_band" },
		{ "vulnerability,sex", NULL, NULL, "vuln, sex" },
		{ NULL, NULL, "admin1=SS01", "admin1" },
	};
	enum { NQ = sizeof(qs) / sizeof(qs[0]) };
	uint64_t want = 10000000;
	const char *pg = getenv("FIELD_PG_URL");
	char dir[] = "/tmp/bench_counts.XXXXXX", path[1024], err[512];
	char pgbase[512] = "", pgdb[64] = "", pgdir[600], sql[128];
	struct form_catalog *cat = form_catalog_new();
	double worst = 0, t, base, fill_s, col_ms[NQ];
	size_t col_cells[NQ];
	int rc = 0;
	uint32_t today = (uint32_t)(util_now_ms() / 86400000LL);
	sqlite3 *plain;
	uint64_t n;
	size_t cells;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
			pg = argv[++i];
		else if (argv[i][0] >= '0' && argv[i][0] <= '9')
			want = strtoull(argv[i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_counts [INDIVIDUALS] "
			    "[--pg postgresql://USER@HOST:PORT]\n");
			return 2;
		}
	}

	if (mkdtemp(dir) == NULL || cat == NULL ||
	    csrv_forms_load(dir, cat, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_counts: setup\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/plain.db", dir);
	sqlite3_open(path, &plain);
	sqlite3_exec(plain, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF",
	    0, 0, 0);
	t = bench_now();
	n = fill(dir, plain, want, today);
	fill_s = bench_now() - t;
	snprintf(path, sizeof(path), "%s/analysis.db", dir);
	printf("counts: %" PRIu64 " individuals in analysis tables, "
	    "filled in %.1f s (with the plain table)\n", n, fill_s);
	for (size_t i = 0; i < NQ; i++) {
		t = query(dir, cat, qs[i].by, qs[i].from, qs[i].where, &cells);
		col_ms[i] = t * 1000;
		col_cells[i] = cells;
		base = sql_group(plain, qs[i].sql);
		printf("counts: by %-20s %-16s %6.0f ms, %5zu cells "
		    "(%.2fx SQLite GROUP BY on a plain table, %.0f ms)\n",
		    qs[i].by ? qs[i].by : "(total)", qs[i].where ?
		    qs[i].where : "", t * 1000, cells, t / base, base * 1000);
		if (t > worst)
			worst = t;
	}
	printf("counts: slowest query over %" PRIu64 " individuals: %.0f ms "
	    "(budget 1000 ms)\n", n, worst * 1000);
	sqlite3_close(plain);

	/* The same facts in PostgreSQL, as front-ends sharing one read them. */
	if (pg == NULL || *pg == '\0') {
		printf("counts: PostgreSQL skipped (no --pg URL or "
		    "FIELD_PG_URL)\n");
		goto done;
	}
	snprintf(pgbase, sizeof(pgbase), "%s", pg);
	while (*pgbase && pgbase[strlen(pgbase) - 1] == '/')
		pgbase[strlen(pgbase) - 1] = '\0';
	snprintf(pgdb, sizeof(pgdb), "bench_counts_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pgdb);
	snprintf(pgdir, sizeof(pgdir), "%s/pg", dir);
	snprintf(path, sizeof(path), "%s/collectord.conf", pgdir);
	if (pg_admin(pgbase, sql) != 0 || mkdir(pgdir, 0700) != 0 ||
	    (f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "bench_counts: PostgreSQL setup failed\n");
		pgdb[0] = '\0';
		rc = 1;
		goto done;
	}
	fprintf(f, "store = %s/%s\n", pgbase, pgdb);
	fclose(f);
	t = bench_now();
	if (fill(pgdir, NULL, want, today) != n) {
		fprintf(stderr, "bench_counts: PostgreSQL fill differs\n");
		rc = 1;
		goto done;
	}
	printf("counts: the same %" PRIu64 " individuals in PostgreSQL's "
	    "analysis tables, filled in %.1f s\n", n, bench_now() - t);
	worst = 0;
	for (size_t i = 0; i < NQ; i++) {
		size_t pcells;

		t = query(pgdir, cat, qs[i].by, qs[i].from, qs[i].where,
		    &pcells);
		if (pcells != col_cells[i]) {
			rc = 1;
			fprintf(stderr, "bench_counts: %s: %zu cells on "
			    "PostgreSQL, %zu on SQLite\n", qs[i].by ?
			    qs[i].by : "-", pcells, col_cells[i]);
			goto done;
		}
		printf("counts: pg by %-20s %-16s %6.0f ms, %5zu cells "
		    "(SQLite column store %.0f ms)\n", qs[i].by ? qs[i].by :
		    "(total)", qs[i].where ? qs[i].where : "", t * 1000,
		    pcells, col_ms[i]);
		if (t > worst)
			worst = t;
	}
	printf("counts: slowest query on PostgreSQL over %" PRIu64
	    " individuals: %.0f ms (budget 1000 ms)\n", n, worst * 1000);
done:
	if (pgdb[0]) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", pgdb);
		pg_admin(pgbase, sql);
	}
	form_catalog_free(cat);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? rc : 1;
}
