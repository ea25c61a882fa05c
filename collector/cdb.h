/*
 * cdb.h: the collector's SQL, the same over two engines.  SQLite is the
 * embedded default (one machine serves a country programme); PostgreSQL
 * (libpq) lets several collectord front-ends on different machines share
 * one database.  cstore.c and astore.c are written once against this.
 *
 *   URL  "postgresql://..." or "postgres://..." (libpq's connection URI),
 *        else "sqlite:PATH" or a plain PATH
 *   SQL  one dialect both engines take: parameters ?1..?N (sent to
 *        PostgreSQL as $1..$N), ON CONFLICT ... DO NOTHING/UPDATE,
 *        coalesce, max; schemas differ only in the migrations, which are
 *        given per engine (INTEGER/BLOB there, BIGINT/BYTEA here).
 *   rows a statement's rows are read with cdb_step; on PostgreSQL the
 *        whole result is fetched at the first step, so a caller pages big
 *        scans (LIMIT) and may run other statements between steps.
 *
 * Transactions: cdb_begin (SQLite: BEGIN IMMEDIATE), cdb_commit,
 * cdb_rollback (safe when none is open); cdb_in_tx says whether one is.
 * Durability: SQLite in WAL with synchronous=FULL (common/db.h);
 * PostgreSQL commits with its own synchronous_commit (on by default).
 *
 * Ownership: cdb_open allocates the connection, cdb_close frees it;
 * cdb_prepare's statements belong to the caller until cdb_finalize.  Text
 * and blobs read from a row live until the next cdb_step, cdb_reset or
 * cdb_finalize of that statement.
 */
#ifndef CDB_H
#define CDB_H

#include <stddef.h>
#include <stdint.h>

enum cdb_engine { CDB_SQLITE, CDB_PG };

#define CDB_ROW 1
#define CDB_DONE 0

struct cdb;
struct cdb_stmt;

/* A schema: migrations[i] takes version i to i + 1, one list per engine,
   the same length. */
struct cdb_schema {
	const char *const *sqlite;
	const char *const *pg;
	int n;
};

/* 1 when url names a PostgreSQL database. */
int cdb_is_pg(const char *url);

/*
 * Opens url and migrates its schema up to the newest (readonly: none, and
 * the schema must be the newest).  PostgreSQL keeps the version in a
 * table cdb_schema(name, version) under `name`, taking an advisory lock
 * while it migrates so front-ends starting together do it once.  0, or
 * -1 with err naming the database (never its password).
 */
int cdb_open(const char *url, const char *name, int readonly,
    const struct cdb_schema *schema, struct cdb **out, char *err,
    size_t errlen);
void cdb_close(struct cdb *db);
enum cdb_engine cdb_engine(const struct cdb *db);
const char *cdb_errmsg(struct cdb *db);

/* Runs sql (one or more statements, no parameters).  0, or -1 (logged). */
int cdb_exec(struct cdb *db, const char *sql);
int cdb_begin(struct cdb *db);
int cdb_commit(struct cdb *db);
void cdb_rollback(struct cdb *db);
int cdb_in_tx(struct cdb *db);

/* NULL on error (cdb_errmsg says why). */
struct cdb_stmt *cdb_prepare(struct cdb *db, const char *sql);
/* Prepares sql and binds ?1.. as fmt says: 't' text, 'i' int64_t, 'h' a
   32-byte blob (a hash or key).  NULL on error. */
struct cdb_stmt *cdb_queryf(struct cdb *db, const char *sql,
    const char *fmt, ...);
/*
 * Inside a transaction: waits for the write lock named key and holds it
 * until the transaction ends, so writers on several machines sharing a
 * PostgreSQL database take turns (SQLite's write transaction is the lock
 * there: a no-op).  0 or -1.
 */
int cdb_lock(struct cdb *db, int64_t key);
/* The same lock shared: holders of it shared run together, and shut out
   (and are shut out by) a holder of it alone.  0 or -1. */
int cdb_lock_shared(struct cdb *db, int64_t key);
/* A write lock named by space (an int32 of the caller's) and a text, in a
   key space of its own: one lock per device, say.  Two names may share a
   lock (a hash); that only makes them take turns.  0 or -1. */
int cdb_lock_name(struct cdb *db, int32_t space, const char *name);
/* Parameters from 1; text and blobs are copied. */
void cdb_bind_int64(struct cdb_stmt *s, int i, int64_t v);
void cdb_bind_text(struct cdb_stmt *s, int i, const char *v);
void cdb_bind_blob(struct cdb_stmt *s, int i, const void *p, size_t n);
void cdb_bind_null(struct cdb_stmt *s, int i);
/* CDB_ROW, CDB_DONE, or -1. */
int cdb_step(struct cdb_stmt *s);
/* Rows the last completed INSERT, UPDATE or DELETE changed. */
int64_t cdb_changes(struct cdb_stmt *s);
/* Columns from 0; NULL reads as 0, "" and an empty blob. */
int64_t cdb_col_int64(struct cdb_stmt *s, int i);
const char *cdb_col_text(struct cdb_stmt *s, int i);
const void *cdb_col_blob(struct cdb_stmt *s, int i, size_t *n);
int cdb_col_null(struct cdb_stmt *s, int i);
/* Ready to step again, bindings kept. */
void cdb_reset(struct cdb_stmt *s);
void cdb_finalize(struct cdb_stmt *s);

#endif
