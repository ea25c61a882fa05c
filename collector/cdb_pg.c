/*
 * cdb_pg.c: cdb.h over PostgreSQL (libpq).  Statements keep their SQL
 * with ?N turned into $N and run with PQexecParams at the first step
 * (text results; blobs sent binary and read back through
 * PQunescapeBytea).  Nothing is prepared on the server, so a connection
 * holds no state a front-end restart would have to rebuild.
 */
#include "collector/cdb_impl.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Columns of a row read back as blobs; parameters are as many as a
   statement names (a multi-row INSERT names hundreds), up to
   PostgreSQL's own limit. */
#define PG_COLS 24
#define PG_PARAMS_MAX 65535

struct cdb {
	const struct cdb_ops *ops;
	PGconn *conn;
	char err[256];
};

struct cdb_stmt {
	const struct cdb_ops *ops;
	struct cdb *db;
	char *sql;
	int nparams;
	char **val;			/* nparams of each */
	int *len, *fmt;
	PGresult *res;
	int row, nrows;
	int64_t changes;
	unsigned char *blob[PG_COLS];	/* unescaped columns of this row */
	size_t blen[PG_COLS];
};

/* Keeps libpq's message (one line, no trailing newline) for cdb_errmsg. */
static void
pg_keep(struct cdb *db, const char *msg)
{
	size_t n;

	snprintf(db->err, sizeof(db->err), "%s", msg && *msg ? msg :
	    "PostgreSQL failed");
	n = strcspn(db->err, "\n");
	db->err[n] = '\0';
}

/* NOTICEs (e.g. "relation exists, skipping") are not ours to print. */
static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * A connection the server dropped (a restart, a failover, the network)
 * is made again before the next statement; what a transaction had done
 * on it is gone, and that transaction's statements fail, so its writer
 * rolls back and the device sends the batch again.
 */
static void
pg_revive(struct cdb *db)
{
	if (PQstatus(db->conn) == CONNECTION_OK)
		return;
	PQreset(db->conn);
	if (PQstatus(db->conn) == CONNECTION_OK) {
		log_warn("postgresql: connection lost; made again");
		PQclear(PQexec(db->conn, "SET client_min_messages = warning"));
	}
}

static int
pg_exec(struct cdb *db, const char *sql)
{
	PGresult *r;

	pg_revive(db);
	r = PQexec(db->conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;

	/* COMMIT of a transaction a statement failed in "succeeds" as a
	   ROLLBACK: that is a failed commit. */
	if (ok && strcmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		PQclear(r);
		pg_keep(db, "the transaction failed and was rolled back");
		log_err("postgresql: %s", db->err);
		return -1;
	}
	if (!ok) {
		pg_keep(db, PQresultErrorMessage(r));
		log_err("postgresql: %s", db->err);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

/* One value of a one-row query, or -1. */
static long long
pg_value(struct cdb *db, const char *sql, const char *param)
{
	const char *vals[1] = { param };
	PGresult *r = PQexecParams(db->conn, sql, param ? 1 : 0, NULL, vals,
	    NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = PQgetisnull(r, 0, 0) ? 0 : atoll(PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		pg_keep(db, PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

/*
 * Migrations under an advisory lock on the schema's name, so front-ends
 * starting together migrate once; each in its own transaction with the
 * version it reaches.
 */
static int
pg_migrate(struct cdb *db, const char *name, int readonly,
    const struct cdb_schema *schema, char *err, size_t errlen)
{
	long long v;
	char sql[160];
	int rc = -1;

	if (pg_exec(db, "CREATE TABLE IF NOT EXISTS cdb_schema(name TEXT"
	    " PRIMARY KEY, version INTEGER NOT NULL)") != 0 ||
	    pg_value(db, "SELECT pg_advisory_lock(hashtext($1))", name) < 0) {
		snprintf(err, errlen, "postgresql: %s", db->err);
		return -1;
	}
	v = pg_value(db, "SELECT coalesce(max(version), 0) FROM cdb_schema"
	    " WHERE name = $1", name);
	if (v < 0) {
		snprintf(err, errlen, "postgresql: %s", db->err);
		goto out;
	}
	if (v > schema->n) {
		snprintf(err, errlen, "postgresql: %s schema version %lld is "
		    "newer than this program knows (%d); run a newer version",
		    name, v, schema->n);
		goto out;
	}
	if (readonly && v != schema->n) {
		snprintf(err, errlen, "postgresql: no %s tables yet", name);
		goto out;
	}
	for (; v < schema->n; v++) {
		snprintf(sql, sizeof(sql), "INSERT INTO cdb_schema VALUES('%s',"
		    " %lld) ON CONFLICT(name) DO UPDATE SET version ="
		    " excluded.version", name, v + 1);
		if (pg_exec(db, "BEGIN") != 0 ||
		    pg_exec(db, schema->pg[v]) != 0 || pg_exec(db, sql) != 0 ||
		    pg_exec(db, "COMMIT") != 0) {
			snprintf(err, errlen, "postgresql: %s migration %lld: "
			    "%s", name, v + 1, db->err);
			pg_exec(db, "ROLLBACK");
			goto out;
		}
	}
	rc = 0;
out:
	pg_value(db, "SELECT pg_advisory_unlock(hashtext($1))", name);
	return rc;
}

static int
pg_open(const char *url, const char *name, int readonly,
    const struct cdb_schema *schema, struct cdb **out, char *err,
    size_t errlen)
{
	struct cdb *db = calloc(1, sizeof(*db));

	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	db->ops = &cdb_pg_ops;
	/* libpq's messages name the host and user, never the password. */
	db->conn = PQconnectdb(url);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		pg_keep(db, PQerrorMessage(db->conn));
		snprintf(err, errlen, "postgresql: %s", db->err);
		goto fail;
	}
	PQsetNoticeProcessor(db->conn, pg_quiet, NULL);
	if (pg_exec(db, "SET client_min_messages = warning") != 0 ||
	    pg_migrate(db, name, readonly, schema, err, errlen) != 0)
		goto fail;
	*out = db;
	return 0;
fail:
	PQfinish(db->conn);
	free(db);
	return -1;
}

static void
pg_close(struct cdb *db)
{
	PQfinish(db->conn);
	free(db);
}

static const char *
pg_errmsg(struct cdb *db)
{
	return db->err[0] ? db->err : "PostgreSQL failed";
}

static int
pg_begin(struct cdb *db)
{
	return pg_exec(db, "BEGIN");
}

static int
pg_in_tx(struct cdb *db)
{
	PGTransactionStatusType t = PQtransactionStatus(db->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	    t == PQTRANS_ACTIVE;
}

/* ?N becomes $N, a bare ? the next number; quoted text is left alone. */
static struct cdb_stmt *
pg_prepare(struct cdb *db, const char *sql)
{
	struct cdb_stmt *s = calloc(1, sizeof(*s));
	size_t n = strlen(sql), o = 0;
	int next = 1, quoted = 0;

	if (s == NULL || (s->sql = malloc(2 * n + 1)) == NULL) {
		free(s);
		pg_keep(db, "out of memory");
		return NULL;
	}
	s->ops = &cdb_pg_ops;
	s->db = db;
	for (size_t i = 0; i < n; i++) {
		if (sql[i] == '\'')
			quoted = !quoted;
		if (sql[i] != '?' || quoted) {
			s->sql[o++] = sql[i];
			continue;
		}
		s->sql[o++] = '$';
		if (isdigit((unsigned char)sql[i + 1])) {
			int k = atoi(sql + i + 1);

			while (isdigit((unsigned char)sql[i + 1]))
				s->sql[o++] = sql[++i];
			if (k > s->nparams)
				s->nparams = k;
		} else {
			o += (size_t)sprintf(s->sql + o, "%d", next);
			if (next > s->nparams)
				s->nparams = next;
			next++;
		}
	}
	s->sql[o] = '\0';
	if (s->nparams > PG_PARAMS_MAX || (s->nparams > 0 &&
	    ((s->val = calloc((size_t)s->nparams, sizeof(*s->val))) == NULL ||
	    (s->len = calloc((size_t)s->nparams, sizeof(*s->len))) == NULL ||
	    (s->fmt = calloc((size_t)s->nparams, sizeof(*s->fmt))) == NULL))) {
		pg_keep(db, s->nparams > PG_PARAMS_MAX ? "too many parameters" :
		    "out of memory");
		free(s->val);
		free(s->len);
		free(s->fmt);
		free(s->sql);
		free(s);
		return NULL;
	}
	return s;
}

static void
pg_set(struct cdb_stmt *s, int i, const void *p, size_t n, int fmt)
{
	/* The statement names its parameters; others have no place. */
	if (i < 1 || i > s->nparams)
		return;
	free(s->val[i - 1]);
	s->val[i - 1] = NULL;
	if (p == NULL)
		return;
	if ((s->val[i - 1] = malloc(n + 1)) == NULL)
		return;
	memcpy(s->val[i - 1], p, n);
	s->val[i - 1][n] = '\0';
	s->len[i - 1] = (int)n;
	s->fmt[i - 1] = fmt;
}

static void
pg_bind_int64(struct cdb_stmt *s, int i, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);

	pg_set(s, i, buf, (size_t)n, 0);
}

static void
pg_bind_text(struct cdb_stmt *s, int i, const char *v)
{
	pg_set(s, i, v, v ? strlen(v) : 0, 0);
}

static void
pg_bind_blob(struct cdb_stmt *s, int i, const void *p, size_t n)
{
	pg_set(s, i, p ? p : "", n, 1);
}

static void
pg_bind_null(struct cdb_stmt *s, int i)
{
	pg_set(s, i, NULL, 0, 0);
}

static void
pg_row_free(struct cdb_stmt *s)
{
	for (int i = 0; i < PG_COLS; i++) {
		PQfreemem(s->blob[i]);
		s->blob[i] = NULL;
	}
}

static void
pg_reset(struct cdb_stmt *s)
{
	pg_row_free(s);
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
}

static int
pg_step(struct cdb_stmt *s)
{
	pg_row_free(s);
	if (s->res == NULL) {
		pg_revive(s->db);
		s->res = PQexecParams(s->db->conn, s->sql, s->nparams, NULL,
		    (const char *const *)s->val, s->len, s->fmt, 0);
		switch (PQresultStatus(s->res)) {
		case PGRES_COMMAND_OK:
			s->changes = atoll(PQcmdTuples(s->res));
			s->nrows = 0;
			break;
		case PGRES_TUPLES_OK:
			s->changes = atoll(PQcmdTuples(s->res));
			s->nrows = PQntuples(s->res);
			break;
		default:
			pg_keep(s->db, PQresultErrorMessage(s->res));
			PQclear(s->res);
			s->res = NULL;
			return -1;
		}
		s->row = -1;
	}
	if (++s->row < s->nrows)
		return CDB_ROW;
	s->row = s->nrows;
	return CDB_DONE;
}

static int64_t
pg_changes(struct cdb_stmt *s)
{
	return s->changes;
}

static int
pg_has(struct cdb_stmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 &&
	    i < PQnfields(s->res) && !PQgetisnull(s->res, s->row, i);
}

static int64_t
pg_col_int64(struct cdb_stmt *s, int i)
{
	return pg_has(s, i) ? (int64_t)strtoll(PQgetvalue(s->res, s->row, i),
	    NULL, 10) : 0;
}

static const char *
pg_col_text(struct cdb_stmt *s, int i)
{
	return pg_has(s, i) ? PQgetvalue(s->res, s->row, i) : "";
}

static const void *
pg_col_blob(struct cdb_stmt *s, int i, size_t *n)
{
	*n = 0;
	if (!pg_has(s, i) || i >= PG_COLS)
		return "";
	if (s->blob[i] == NULL)
		s->blob[i] = PQunescapeBytea((const unsigned char *)
		    PQgetvalue(s->res, s->row, i), &s->blen[i]);
	if (s->blob[i] == NULL)
		return NULL;
	*n = s->blen[i];
	return s->blob[i];
}

static int
pg_col_null(struct cdb_stmt *s, int i)
{
	return !pg_has(s, i);
}

static void
pg_finalize(struct cdb_stmt *s)
{
	pg_reset(s);
	for (int i = 0; i < s->nparams; i++)
		free(s->val[i]);
	free(s->val);
	free(s->len);
	free(s->fmt);
	free(s->sql);
	free(s);
}

const struct cdb_ops cdb_pg_ops = {
	.engine = CDB_PG,
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.begin = pg_begin,
	.in_tx = pg_in_tx,
	.prepare = pg_prepare,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.changes = pg_changes,
	.col_int64 = pg_col_int64,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_null = pg_col_null,
	.reset = pg_reset,
	.finalize = pg_finalize,
};
