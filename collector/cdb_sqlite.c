/* cdb_sqlite.c: cdb.h over SQLite, opened as common/db.h opens it. */
#include "collector/cdb_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/db.h"

struct cdb {
	const struct cdb_ops *ops;
	sqlite3 *db;
};

struct cdb_stmt {
	const struct cdb_ops *ops;
	struct cdb *db;
	sqlite3_stmt *st;
	int64_t changes;
};

static int
sq_open(const char *path, const char *name, int readonly,
    const struct cdb_schema *schema, struct cdb **out, char *err,
    size_t errlen)
{
	struct cdb *db = calloc(1, sizeof(*db));

	(void)name;
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	db->ops = &cdb_sqlite_ops;
	if (db_open(path, readonly ? DB_QUERY : DB_CREATE, schema->sqlite,
	    schema->n, schema->n, &db->db, err, errlen) != 0) {
		free(db);
		return -1;
	}
	*out = db;
	return 0;
}

static void
sq_close(struct cdb *db)
{
	sqlite3_close(db->db);
	free(db);
}

static const char *
sq_errmsg(struct cdb *db)
{
	return sqlite3_errmsg(db->db);
}

static int
sq_exec(struct cdb *db, const char *sql)
{
	return db_exec(db->db, sql);
}

static int
sq_begin(struct cdb *db)
{
	/* IMMEDIATE: wait for another writer here, not fail at the
	   first write. */
	return db_exec(db->db, "BEGIN IMMEDIATE");
}

static int
sq_in_tx(struct cdb *db)
{
	return !sqlite3_get_autocommit(db->db);
}

static struct cdb_stmt *
sq_prepare(struct cdb *db, const char *sql)
{
	struct cdb_stmt *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ops = &cdb_sqlite_ops;
	s->db = db;
	if (sqlite3_prepare_v2(db->db, sql, -1, &s->st, NULL) != SQLITE_OK) {
		free(s);
		return NULL;
	}
	return s;
}

static void
sq_bind_int64(struct cdb_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s->st, i, v);
}

static void
sq_bind_text(struct cdb_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT);
}

static void
sq_bind_blob(struct cdb_stmt *s, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(s->st, i, p ? p : "", (int)n, SQLITE_TRANSIENT);
}

static void
sq_bind_null(struct cdb_stmt *s, int i)
{
	sqlite3_bind_null(s->st, i);
}

static int
sq_step(struct cdb_stmt *s)
{
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return CDB_ROW;
	if (rc == SQLITE_DONE) {
		s->changes = sqlite3_changes(s->db->db);
		return CDB_DONE;
	}
	return -1;
}

static int64_t
sq_changes(struct cdb_stmt *s)
{
	return s->changes;
}

static int64_t
sq_col_int64(struct cdb_stmt *s, int i)
{
	return sqlite3_column_int64(s->st, i);
}

static const char *
sq_col_text(struct cdb_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s->st, i);

	return t ? (const char *)t : "";
}

static const void *
sq_col_blob(struct cdb_stmt *s, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(s->st, i);

	*n = (size_t)sqlite3_column_bytes(s->st, i);
	return p ? p : "";
}

static int
sq_col_null(struct cdb_stmt *s, int i)
{
	return sqlite3_column_type(s->st, i) == SQLITE_NULL;
}

static void
sq_reset(struct cdb_stmt *s)
{
	sqlite3_reset(s->st);
}

static void
sq_finalize(struct cdb_stmt *s)
{
	sqlite3_finalize(s->st);
	free(s);
}

const struct cdb_ops cdb_sqlite_ops = {
	.engine = CDB_SQLITE,
	.open = sq_open,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.exec = sq_exec,
	.begin = sq_begin,
	.in_tx = sq_in_tx,
	.prepare = sq_prepare,
	.bind_int64 = sq_bind_int64,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.changes = sq_changes,
	.col_int64 = sq_col_int64,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_null = sq_col_null,
	.reset = sq_reset,
	.finalize = sq_finalize,
};
