/*
 * cdb_impl.h: what cdb.c's two engines provide (private to cdb*.c).
 * Every struct cdb and struct cdb_stmt starts with its engine's ops.
 */
#ifndef CDB_IMPL_H
#define CDB_IMPL_H

#include "collector/cdb.h"

struct cdb_ops {
	enum cdb_engine engine;
	int (*open)(const char *url, const char *name, int readonly,
	    const struct cdb_schema *schema, struct cdb **out, char *err,
	    size_t errlen);
	void (*close)(struct cdb *db);
	const char *(*errmsg)(struct cdb *db);
	int (*exec)(struct cdb *db, const char *sql);
	int (*begin)(struct cdb *db);
	int (*in_tx)(struct cdb *db);
	struct cdb_stmt *(*prepare)(struct cdb *db, const char *sql);
	void (*bind_int64)(struct cdb_stmt *s, int i, int64_t v);
	void (*bind_text)(struct cdb_stmt *s, int i, const char *v);
	void (*bind_blob)(struct cdb_stmt *s, int i, const void *p, size_t n);
	void (*bind_null)(struct cdb_stmt *s, int i);
	int (*step)(struct cdb_stmt *s);
	int64_t (*changes)(struct cdb_stmt *s);
	int64_t (*col_int64)(struct cdb_stmt *s, int i);
	const char *(*col_text)(struct cdb_stmt *s, int i);
	const void *(*col_blob)(struct cdb_stmt *s, int i, size_t *n);
	int (*col_null)(struct cdb_stmt *s, int i);
	void (*reset)(struct cdb_stmt *s);
	void (*finalize)(struct cdb_stmt *s);
};

/* The first member of every engine's connection and statement. */
struct cdb_head {
	const struct cdb_ops *ops;
};

extern const struct cdb_ops cdb_sqlite_ops;
extern const struct cdb_ops cdb_pg_ops;

#endif
