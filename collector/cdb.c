/* cdb.c: see cdb.h.  Picks the engine by URL and passes calls through. */
#include "collector/cdb_impl.h"

#include <stdarg.h>
#include <string.h>

#define OPS(x) (((const struct cdb_head *)(const void *)(x))->ops)

int
cdb_is_pg(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0;
}

int
cdb_open(const char *url, const char *name, int readonly,
    const struct cdb_schema *schema, struct cdb **out, char *err,
    size_t errlen)
{
	if (cdb_is_pg(url))
		return cdb_pg_ops.open(url, name, readonly, schema, out, err,
		    errlen);
	if (strncmp(url, "sqlite:", 7) == 0)
		url += 7;
	return cdb_sqlite_ops.open(url, name, readonly, schema, out, err,
	    errlen);
}

void
cdb_close(struct cdb *db)
{
	if (db)
		OPS(db)->close(db);
}

enum cdb_engine
cdb_engine(const struct cdb *db)
{
	return OPS(db)->engine;
}

const char *
cdb_errmsg(struct cdb *db)
{
	return OPS(db)->errmsg(db);
}

int
cdb_exec(struct cdb *db, const char *sql)
{
	return OPS(db)->exec(db, sql);
}

int
cdb_begin(struct cdb *db)
{
	return OPS(db)->begin(db);
}

int
cdb_commit(struct cdb *db)
{
	return OPS(db)->exec(db, "COMMIT");
}

void
cdb_rollback(struct cdb *db)
{
	if (OPS(db)->in_tx(db))
		OPS(db)->exec(db, "ROLLBACK");
}

int
cdb_in_tx(struct cdb *db)
{
	return OPS(db)->in_tx(db);
}

struct cdb_stmt *
cdb_prepare(struct cdb *db, const char *sql)
{
	return OPS(db)->prepare(db, sql);
}

struct cdb_stmt *
cdb_queryf(struct cdb *db, const char *sql, const char *fmt, ...)
{
	struct cdb_stmt *s;
	va_list ap;
	int i = 1;

	if ((s = cdb_prepare(db, sql)) == NULL)
		return NULL;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 't')
			cdb_bind_text(s, i, va_arg(ap, const char *));
		else if (*f == 'i')
			cdb_bind_int64(s, i, va_arg(ap, int64_t));
		else if (*f == 'h')
			cdb_bind_blob(s, i, va_arg(ap, const void *), 32);
	}
	va_end(ap);
	return s;
}

/* Runs a SELECT of one advisory lock function on PostgreSQL. */
static int
cdb_lock_run(struct cdb_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	cdb_finalize(s);
	return rc == CDB_ROW ? 0 : -1;
}

int
cdb_lock(struct cdb *db, int64_t key)
{
	if (cdb_engine(db) != CDB_PG)
		return 0;
	return cdb_lock_run(cdb_queryf(db, "SELECT pg_advisory_xact_lock(?1)",
	    "i", key));
}

int
cdb_lock_shared(struct cdb *db, int64_t key)
{
	if (cdb_engine(db) != CDB_PG)
		return 0;
	return cdb_lock_run(cdb_queryf(db,
	    "SELECT pg_advisory_xact_lock_shared(?1)", "i", key));
}

int
cdb_lock_name(struct cdb *db, int32_t space, const char *name)
{
	if (cdb_engine(db) != CDB_PG)
		return 0;
	/* The two-int4 form: a key space apart from cdb_lock's bigints. */
	return cdb_lock_run(cdb_queryf(db, "SELECT pg_advisory_xact_lock("
	    "?1::integer, hashtext(?2))", "it", (int64_t)space, name));
}

void
cdb_bind_int64(struct cdb_stmt *s, int i, int64_t v)
{
	OPS(s)->bind_int64(s, i, v);
}

void
cdb_bind_text(struct cdb_stmt *s, int i, const char *v)
{
	OPS(s)->bind_text(s, i, v);
}

void
cdb_bind_blob(struct cdb_stmt *s, int i, const void *p, size_t n)
{
	OPS(s)->bind_blob(s, i, p, n);
}

void
cdb_bind_null(struct cdb_stmt *s, int i)
{
	OPS(s)->bind_null(s, i);
}

int
cdb_step(struct cdb_stmt *s)
{
	return OPS(s)->step(s);
}

int64_t
cdb_changes(struct cdb_stmt *s)
{
	return OPS(s)->changes(s);
}

int64_t
cdb_col_int64(struct cdb_stmt *s, int i)
{
	return OPS(s)->col_int64(s, i);
}

const char *
cdb_col_text(struct cdb_stmt *s, int i)
{
	return OPS(s)->col_text(s, i);
}

const void *
cdb_col_blob(struct cdb_stmt *s, int i, size_t *n)
{
	return OPS(s)->col_blob(s, i, n);
}

int
cdb_col_null(struct cdb_stmt *s, int i)
{
	return OPS(s)->col_null(s, i);
}

void
cdb_reset(struct cdb_stmt *s)
{
	OPS(s)->reset(s);
}

void
cdb_finalize(struct cdb_stmt *s)
{
	if (s)
		OPS(s)->finalize(s);
}
