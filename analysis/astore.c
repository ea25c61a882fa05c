/* astore.c: see astore.h. */
#include "analysis/astore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "collector/cdb.h"
#include "collector/csrv.h"

/*
 * 2: every row gets a key (perturb.h).  Rows counted before have none and
 * no key can be given them without opening their records again, so they
 * go and the next `collectctl analyse` counts every record anew; until
 * then coordinators get no counts rather than unperturbed ones.  The
 * generation moves on, so no ETag names what was shown before.
 */
#define ASTORE_REKEY \
	("DELETE FROM cols; DELETE FROM chunks; DELETE FROM failed;" \
	"DELETE FROM meta WHERE key = 'arrival';" \
	"UPDATE meta SET value = value + 1 WHERE key = 'generation';")

/* SQLite: CDIR/analysis.db. */
static const char *const astore_migrations[] = {
	/* 1: facts in column chunks, value codes, failures */
	("CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
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
	"  reason TEXT NOT NULL, PRIMARY KEY(device_id, seq)) WITHOUT ROWID;"),
	ASTORE_REKEY,
};

/*
 * PostgreSQL: the same tables in the collector's database (their names
 * are not the collector's), BIGINT and BYTEA.  A column's data is zstd
 * already: stored out of line as it is (EXTERNAL), not compressed again.
 */
static const char *const astore_pg_migrations[] = {
	("CREATE TABLE meta(key TEXT PRIMARY KEY, value BIGINT NOT NULL);"
	"CREATE TABLE dict(form TEXT NOT NULL, dim TEXT NOT NULL,"
	"  value TEXT NOT NULL, code BIGINT NOT NULL,"
	"  PRIMARY KEY(form, dim, value));"
	"CREATE TABLE chunks(form TEXT NOT NULL, level BIGINT NOT NULL,"
	"  no BIGINT NOT NULL, nrows BIGINT NOT NULL,"
	"  day_min BIGINT NOT NULL, day_max BIGINT NOT NULL,"
	"  PRIMARY KEY(form, level, no));"
	"CREATE TABLE cols(form TEXT NOT NULL, level BIGINT NOT NULL,"
	"  no BIGINT NOT NULL, col TEXT NOT NULL, data BYTEA NOT NULL,"
	"  PRIMARY KEY(form, level, no, col));"
	"ALTER TABLE cols ALTER COLUMN data SET STORAGE EXTERNAL;"
	"CREATE TABLE failed(device_id TEXT NOT NULL, seq BIGINT NOT NULL,"
	"  reason TEXT NOT NULL, PRIMARY KEY(device_id, seq));"),
	ASTORE_REKEY,
};
#define ASTORE_N_MIGRATIONS \
	(int)(sizeof(astore_migrations) / sizeof(astore_migrations[0]))
_Static_assert(sizeof(astore_migrations) == sizeof(astore_pg_migrations),
    "a migration per engine");

/* The lock `collectctl analyse` holds while it writes (cdb_lock; the
   collector's writers take 7243051). */
#define ASTORE_WRITE_LOCK 7243052

/* A string-keyed hash map (the value codes), open addressing. */
struct smap_ent {
	char *key;
	int64_t num;
	char *str;
};

struct smap {
	size_t n, cap;			/* cap: a power of two */
	struct smap_ent *e;
};

/* The chunk being filled for one (form, level). */
struct abuild {
	char form[72];
	int level;
	int64_t no;
	size_t n, ncols;
	uint32_t dmin, dmax;
	uint32_t *day;
	char names[ASTORE_COL_MAX][ASTORE_COL_NAME];
	uint32_t *cols[ASTORE_COL_MAX];
	int dirty;
	struct abuild *next;
};

struct astore {
	struct cdb *db;
	int pg;				/* on PostgreSQL */
	int writable;
	char err[256];			/* astore's own error, else the db's */
	struct smap codes;		/* "form\x1f" "dim\x1f" value -> code */
	struct smap values;		/* "form\x1f" "dim\x1e" code -> value */
	struct smap maxcode;		/* "form\x1f" "dim" -> highest code */
	struct abuild *builds;
	int added;			/* rows appended since begin */
	/* meta as this writer's last commit left it (seen: there was one),
	   to tell when another writer came in between two transactions */
	int seen;
	int64_t seen_gen, seen_arrival;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	uint32_t *scan_buf;		/* ncols + 1 decoded columns */
	size_t scan_cols;
};

static uint64_t
smap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct smap_ent *
smap_find(const struct smap *m, const char *key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = smap_hash(key) & (m->cap - 1);; i = (i + 1) &
	    (m->cap - 1)) {
		if (m->e[i].key == NULL)
			return NULL;
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	}
}

static int smap_put(struct smap *m, const char *key, int64_t num,
    const char *str);

static int
smap_grow(struct smap *m)
{
	struct smap old = *m;

	m->cap = old.cap ? old.cap * 2 : 256;
	m->n = 0;
	if ((m->e = calloc(m->cap, sizeof(*m->e))) == NULL) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].key) {
			smap_put(m, old.e[i].key, old.e[i].num, old.e[i].str);
			free(old.e[i].key);
			free(old.e[i].str);
		}
	free(old.e);
	return 0;
}

/* Sets key to (num, a copy of str or NULL). */
static int
smap_put(struct smap *m, const char *key, int64_t num, const char *str)
{
	struct smap_ent *e = smap_find(m, key);
	char *s = NULL;

	if (str && (s = strdup(str)) == NULL)
		return -1;
	if (e) {
		free(e->str);
		e->num = num;
		e->str = s;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap && smap_grow(m) != 0) {
		free(s);
		return -1;
	}
	size_t i = smap_hash(key) & (m->cap - 1);
	while (m->e[i].key)
		i = (i + 1) & (m->cap - 1);
	if ((m->e[i].key = strdup(key)) == NULL) {
		free(s);
		return -1;
	}
	m->e[i].num = num;
	m->e[i].str = s;
	m->n++;
	return 0;
}

static void
smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->e[i].key);
		free(m->e[i].str);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}

const char *
astore_errmsg(struct astore *as)
{
	return as->err[0] ? as->err : cdb_errmsg(as->db);
}

/* Steps a statement to its end and finalizes it: 0, or -1. */
static int
as_done(struct cdb_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	cdb_finalize(s);
	return rc == CDB_DONE ? 0 : -1;
}

/* Remembers a code both ways. */
static int
as_code_remember(struct astore *as, const char *form, const char *dim,
    const char *value, int64_t code)
{
	char key[512];
	struct smap_ent *e;

	if (snprintf(key, sizeof(key), "%s\x1f%s", form, dim) >=
	    (int)sizeof(key))
		return -1;
	e = smap_find(&as->maxcode, key);
	if ((e == NULL || e->num < code) &&
	    smap_put(&as->maxcode, key, code, NULL) != 0)
		return -1;
	if (snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", form, dim, value) >=
	    (int)sizeof(key) || smap_put(&as->codes, key, code, NULL) != 0)
		return -1;
	snprintf(key, sizeof(key), "%s\x1f%s\x1e%" PRId64, form, dim, code);
	return smap_put(&as->values, key, code, value);
}

/* (Re)reads every value code from the tables.  0 or -1. */
static int
as_dict_load(struct astore *as)
{
	struct cdb_stmt *s;
	int rc = 0, st = CDB_DONE;

	smap_free(&as->codes);
	smap_free(&as->values);
	smap_free(&as->maxcode);
	if ((s = cdb_queryf(as->db, "SELECT form, dim, value, code FROM dict",
	    "")) == NULL)
		return -1;
	while (rc == 0 && (st = cdb_step(s)) == CDB_ROW)
		rc = as_code_remember(as, cdb_col_text(s, 0),
		    cdb_col_text(s, 1), cdb_col_text(s, 2),
		    cdb_col_int64(s, 3));
	cdb_finalize(s);
	return rc == 0 && st == CDB_DONE ? 0 : -1;
}

int
astore_open(const char *cdir, int writable, struct astore **out, char *err,
    size_t errlen)
{
	static const struct cdb_schema schema = { astore_migrations,
	    astore_pg_migrations, ASTORE_N_MIGRATIONS };
	struct astore *as = calloc(1, sizeof(*as));
	struct csrv_limits lim;
	char path[4096], listen[64] = "";
	const char *url;

	if (as == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Where the collector keeps its records, the analysis tables are:
	   a PostgreSQL store shares them with every front-end. */
	csrv_limits_default(&lim);
	if (csrv_config_load(cdir, &lim, listen, sizeof(listen), err,
	    errlen) != 0) {
		free(as);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/analysis.db", cdir);
	url = lim.store[0] ? lim.store : path;
	as->pg = cdb_is_pg(url);
	as->writable = writable;
	if (cdb_open(url, "analysis", !writable, &schema, &as->db, err,
	    errlen) != 0) {
		if (!writable && !as->pg)
			snprintf(err, errlen, "no analysis tables in %s yet: "
			    "run collectctl -d %s analyse --key FILE", cdir,
			    cdir);
		else if (!writable && strstr(err, "no analysis tables yet"))
			snprintf(err, errlen, "no analysis tables in the "
			    "PostgreSQL store of %s yet: run collectctl -d %s "
			    "analyse --key FILE", cdir, cdir);
		free(as);
		return -1;
	}
	/*
	 * A reader sees one state of the tables from here to astore_close:
	 * the generation it reads is the one its scans count (analyse may
	 * commit meanwhile, from this machine or another front-end's).
	 */
	if (!writable && cdb_exec(as->db, as->pg ? "BEGIN ISOLATION LEVEL"
	    " REPEATABLE READ, READ ONLY" : "BEGIN") != 0) {
		snprintf(err, errlen, "%s: %s", as->pg ? "postgresql" : path,
		    cdb_errmsg(as->db));
		astore_close(as);
		return -1;
	}
	if ((as->cctx = ZSTD_createCCtx()) == NULL ||
	    (as->dctx = ZSTD_createDCtx()) == NULL || as_dict_load(as) != 0) {
		snprintf(err, errlen, "%s: %s", as->pg ? "postgresql" : path,
		    cdb_errmsg(as->db));
		astore_close(as);
		return -1;
	}
	*out = as;
	return 0;
}

static void
as_build_free(struct abuild *b)
{
	free(b->day);
	for (size_t i = 0; i < b->ncols; i++)
		free(b->cols[i]);
	free(b);
}

static void
as_builds_drop(struct astore *as)
{
	while (as->builds) {
		struct abuild *b = as->builds;
		as->builds = b->next;
		as_build_free(b);
	}
}

void
astore_close(struct astore *as)
{
	if (as == NULL)
		return;
	as_builds_drop(as);
	smap_free(&as->codes);
	smap_free(&as->values);
	smap_free(&as->maxcode);
	ZSTD_freeCCtx(as->cctx);
	ZSTD_freeDCtx(as->dctx);
	free(as->scan_buf);
	cdb_rollback(as->db);	/* a reader's snapshot; nothing written */
	cdb_close(as->db);
	free(as);
}

int64_t
astore_meta(struct astore *as, const char *key)
{
	struct cdb_stmt *s = cdb_queryf(as->db, "SELECT value FROM meta WHERE"
	    " key = ?1", "t", key);
	int64_t v = 0;

	if (s == NULL)
		return 0;
	if (cdb_step(s) == CDB_ROW)
		v = cdb_col_int64(s, 0);
	cdb_finalize(s);
	return v;
}

static int
as_meta_set(struct astore *as, const char *key, int64_t v)
{
	return as_done(cdb_queryf(as->db, "INSERT INTO meta(key, value)"
	    " VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET"
	    " value = excluded.value", "ti", key, v));
}

/*
 * One writer at a time: SQLite's BEGIN IMMEDIATE waits for the file's
 * write lock; on PostgreSQL an advisory lock held to the end of the
 * transaction.  Then, the lock held, the tables are as the last writer
 * left them: when that was not this one, what it remembers (codes, the
 * chunk being filled) comes from the tables again -- or, when it had
 * committed before, it stops: its place in the records is stale.
 */
int
astore_begin(struct astore *as)
{
	int64_t gen, arrival;

	as->err[0] = '\0';
	as->added = 0;
	if (cdb_begin(as->db) != 0)
		return -1;
	if (cdb_lock(as->db, ASTORE_WRITE_LOCK) != 0)
		goto fail;
	gen = astore_meta(as, "generation");
	arrival = astore_meta(as, "arrival");
	if (as->seen && (gen != as->seen_gen ||
	    arrival != as->seen_arrival)) {
		snprintf(as->err, sizeof(as->err), "another collectctl analyse "
		    "wrote the analysis tables meanwhile; run analyse again");
		goto fail;
	}
	if (!as->seen) {
		as_builds_drop(as);
		if (as_dict_load(as) != 0)
			goto fail;
		as->seen = 1;
		as->seen_gen = gen;
		as->seen_arrival = arrival;
	}
	return 0;
fail:
	cdb_rollback(as->db);
	return -1;
}

void
astore_rollback(struct astore *as)
{
	cdb_rollback(as->db);
	/* Forget what the transaction made: chunks and codes come back
	   from the tables as they are there. */
	as_builds_drop(as);
	as_dict_load(as);
}

int64_t
astore_code(struct astore *as, const char *form, const char *dim,
    const char *value, int multi)
{
	char key[512];
	struct smap_ent *e;
	int64_t code;

	if (snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", form, dim, value) >=
	    (int)sizeof(key))
		return -1;
	if ((e = smap_find(&as->codes, key)) != NULL)
		return e->num;
	snprintf(key, sizeof(key), "%s\x1f%s", form, dim);
	e = smap_find(&as->maxcode, key);
	code = (e ? e->num : 0) + 1;
	if (multi && code > ASTORE_MULTI_MAX)
		return 0;
	if (as_done(cdb_queryf(as->db, "INSERT INTO dict(form, dim, value, code)"
	    " VALUES(?1, ?2, ?3, ?4)", "ttti", form, dim, value, code)) != 0 ||
	    as_code_remember(as, form, dim, value, code) != 0)
		return -1;
	return code;
}

const char *
astore_value(struct astore *as, const char *form, const char *dim,
    uint32_t code)
{
	char key[512];
	struct smap_ent *e;

	snprintf(key, sizeof(key), "%s\x1f%s\x1e%" PRIu32, form, dim, code);
	e = smap_find(&as->values, key);
	return e ? e->str : NULL;
}

uint32_t
astore_lookup(struct astore *as, const char *form, const char *dim,
    const char *value)
{
	char key[512];
	struct smap_ent *e;

	if (snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", form, dim, value) >=
	    (int)sizeof(key))
		return 0;
	e = smap_find(&as->codes, key);
	return e ? (uint32_t)e->num : 0;
}

/* Decompresses a column of n values into out; -1 when it is not one. */
static int
as_col_decode(struct astore *as, const void *data, size_t len, size_t n,
    uint32_t *out)
{
	size_t got;

	if (data == NULL)
		return -1;
	got = ZSTD_decompressDCtx(as->dctx, out, n * sizeof(*out), data, len);
	return ZSTD_isError(got) || got != n * sizeof(*out) ? -1 : 0;
}

static int
as_build_col(struct abuild *b, const char *name)
{
	for (size_t i = 0; i < b->ncols; i++)
		if (strcmp(b->names[i], name) == 0)
			return (int)i;
	if (b->ncols == ASTORE_COL_MAX || strlen(name) >= ASTORE_COL_NAME ||
	    (b->cols[b->ncols] = calloc(ASTORE_CHUNK_ROWS,
	    sizeof(uint32_t))) == NULL)
		return -1;
	snprintf(b->names[b->ncols], ASTORE_COL_NAME, "%s", name);
	return (int)b->ncols++;
}

/* The chunk being filled for (form, level): the last one when not full,
   else a new one. */
static struct abuild *
as_build(struct astore *as, const char *form, int level)
{
	struct abuild *b;
	struct cdb_stmt *s, *c;
	int ok = 1, rc;

	for (b = as->builds; b; b = b->next)
		if (b->level == level && strcmp(b->form, form) == 0)
			return b;
	if (strlen(form) >= sizeof(b->form) ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	snprintf(b->form, sizeof(b->form), "%s", form);
	b->level = level;
	b->dmin = UINT32_MAX;
	if ((b->day = calloc(ASTORE_CHUNK_ROWS, sizeof(uint32_t))) == NULL ||
	    (s = cdb_queryf(as->db, "SELECT no, nrows, day_min, day_max FROM chunks"
	    " WHERE form = ?1 AND level = ?2 ORDER BY no DESC LIMIT 1", "ti",
	    form, (int64_t)level)) == NULL) {
		as_build_free(b);
		return NULL;
	}
	if ((rc = cdb_step(s)) == CDB_ROW) {
		b->no = cdb_col_int64(s, 0);
		b->n = (size_t)cdb_col_int64(s, 1);
		b->dmin = (uint32_t)cdb_col_int64(s, 2);
		b->dmax = (uint32_t)cdb_col_int64(s, 3);
		if (b->n >= ASTORE_CHUNK_ROWS) {
			b->no++;
			b->n = 0;
			b->dmin = UINT32_MAX;
			b->dmax = 0;
		}
	}
	cdb_finalize(s);
	ok = rc != -1;
	/* Load the columns of a chunk not yet full, to go on filling it
	   (one chunk's columns: a small result). */
	if (ok && b->n > 0) {
		c = cdb_queryf(as->db, "SELECT col, data FROM cols WHERE form = ?1"
		    " AND level = ?2 AND no = ?3", "tii", form, (int64_t)level,
		    b->no);
		ok = c != NULL;
		while (ok && (rc = cdb_step(c)) == CDB_ROW) {
			const char *name = cdb_col_text(c, 0);
			int i = strcmp(name, "day") == 0 ? -2 :
			    as_build_col(b, name);
			const void *p;
			size_t len;

			p = cdb_col_blob(c, 1, &len);
			ok = i != -1 && as_col_decode(as, p, len, b->n,
			    i == -2 ? b->day : b->cols[i]) == 0;
		}
		ok = ok && rc == CDB_DONE;
		cdb_finalize(c);
	}
	if (!ok) {
		as_build_free(b);
		return NULL;
	}
	b->next = as->builds;
	as->builds = b;
	return b;
}

static int
as_put_col(struct astore *as, const struct abuild *b, const char *name,
    const uint32_t *v)
{
	size_t cap = ZSTD_compressBound(b->n * sizeof(*v)), len;
	void *buf = malloc(cap);
	struct cdb_stmt *s;

	if (buf == NULL)
		return -1;
	len = ZSTD_compressCCtx(as->cctx, buf, cap, v, b->n * sizeof(*v), 1);
	if (ZSTD_isError(len) || (s = cdb_queryf(as->db, "INSERT INTO cols(form,"
	    " level, no, col, data) VALUES(?1, ?2, ?3, ?4, ?5)", "tiit",
	    b->form, (int64_t)b->level, b->no, name)) == NULL) {
		free(buf);
		return -1;
	}
	cdb_bind_blob(s, 5, buf, len);
	free(buf);		/* the binding is a copy */
	return as_done(s);
}

/* Writes a chunk (replacing what was there of it). */
static int
as_build_flush(struct astore *as, struct abuild *b)
{
	if (!b->dirty || b->n == 0)
		return 0;
	if (as_done(cdb_queryf(as->db, "DELETE FROM cols WHERE form = ?1 AND"
	    " level = ?2 AND no = ?3", "tii", b->form, (int64_t)b->level,
	    b->no)) != 0 || as_put_col(as, b, "day", b->day) != 0)
		return -1;
	for (size_t i = 0; i < b->ncols; i++)
		if (as_put_col(as, b, b->names[i], b->cols[i]) != 0)
			return -1;
	if (as_done(cdb_queryf(as->db, "INSERT INTO chunks(form, level, no, nrows,"
	    " day_min, day_max) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT(form, level, no) DO UPDATE SET"
	    " nrows = excluded.nrows, day_min = excluded.day_min,"
	    " day_max = excluded.day_max", "tiiiii", b->form,
	    (int64_t)b->level, b->no, (int64_t)b->n, (int64_t)b->dmin,
	    (int64_t)b->dmax)) != 0)
		return -1;
	b->dirty = 0;
	if (b->n == ASTORE_CHUNK_ROWS) {
		/* Full: the next rows start the next chunk. */
		b->no++;
		b->n = 0;
		b->dmin = UINT32_MAX;
		b->dmax = 0;
		for (size_t i = 0; i < b->ncols; i++)
			memset(b->cols[i], 0, ASTORE_CHUNK_ROWS *
			    sizeof(uint32_t));
	}
	return 0;
}

int
astore_append(struct astore *as, const char *form, int level, uint32_t day,
    size_t ncols, const char *const *names, const uint32_t *cols)
{
	struct abuild *b = as_build(as, form, level);

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < ncols; i++) {
		int c = as_build_col(b, names[i]);
		if (c < 0)
			return -1;
		b->cols[c][b->n] = cols[i];
	}
	b->day[b->n++] = day;
	if (day < b->dmin)
		b->dmin = day;
	if (day > b->dmax)
		b->dmax = day;
	b->dirty = 1;
	as->added = 1;
	return b->n == ASTORE_CHUNK_ROWS ? as_build_flush(as, b) : 0;
}

int
astore_commit(struct astore *as, int64_t arrival)
{
	int64_t gen = astore_meta(as, "generation");

	for (struct abuild *b = as->builds; b; b = b->next)
		if (as_build_flush(as, b) != 0)
			return -1;
	if (as_meta_set(as, "arrival", arrival) != 0)
		return -1;
	if (as->added && as_meta_set(as, "generation", ++gen) != 0)
		return -1;
	if (cdb_commit(as->db) != 0)
		return -1;
	as->added = 0;
	as->seen = 1;
	as->seen_gen = gen;
	as->seen_arrival = arrival;
	return 0;
}

int
astore_fail(struct astore *as, const char *device_id, uint64_t seq,
    const char *reason)
{
	as->added = 1;
	return as_done(cdb_queryf(as->db, "INSERT INTO failed(device_id, seq,"
	    " reason) VALUES(?1, ?2, ?3) ON CONFLICT(device_id, seq) DO UPDATE"
	    " SET reason = excluded.reason", "tit", device_id, (int64_t)seq,
	    reason));
}

int64_t
astore_failed_count(struct astore *as)
{
	struct cdb_stmt *s = cdb_queryf(as->db, "SELECT count(*) FROM failed", "");
	int64_t n = -1;

	if (s && cdb_step(s) == CDB_ROW)
		n = cdb_col_int64(s, 0);
	cdb_finalize(s);
	return n;
}

int64_t
astore_failed_list(struct astore *as, size_t max, char (*devices)[65],
    uint64_t *seqs)
{
	struct cdb_stmt *s = cdb_queryf(as->db, "SELECT device_id, seq FROM failed"
	    " ORDER BY device_id, seq LIMIT ?1", "i", (int64_t)max);
	int64_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW) {
		snprintf(devices[n], 65, "%s", cdb_col_text(s, 0));
		seqs[n++] = (uint64_t)cdb_col_int64(s, 1);
	}
	cdb_finalize(s);
	return rc == CDB_DONE ? n : -1;
}

int
astore_unfail(struct astore *as, const char *device_id, uint64_t seq)
{
	as->added = 1;
	return as_done(cdb_queryf(as->db, "DELETE FROM failed WHERE device_id = ?1"
	    " AND seq = ?2", "ti", device_id, (int64_t)seq));
}

/*
 * The chunks are listed first (a row each: a small result on either
 * engine), then each named column of each chunk is read by itself, so
 * no more than one column's data is held at a time.
 */
int
astore_scan(struct astore *as, const char *form, int level,
    uint32_t day_from, uint32_t day_to, size_t ncols,
    const char *const *names,
    int (*fn)(void *arg, size_t nrows, const uint32_t *day,
    const uint32_t *const *cols), void *arg)
{
	const uint32_t *cols[ASTORE_COL_MAX];
	struct cdb_stmt *ch, *cs;
	int rc = 0, st = CDB_DONE;

	if (ncols > ASTORE_COL_MAX)
		return -1;
	if (as->scan_cols < ncols + 1) {
		free(as->scan_buf);
		as->scan_cols = 0;
		if ((as->scan_buf = malloc((ncols + 1) * ASTORE_CHUNK_ROWS *
		    sizeof(uint32_t))) == NULL)
			return -1;
		as->scan_cols = ncols + 1;
	}
	ch = cdb_queryf(as->db, "SELECT no, nrows FROM chunks WHERE form = ?1 AND"
	    " level = ?2 AND day_max >= ?3 AND day_min <= ?4 ORDER BY no",
	    "tiii", form, (int64_t)level, (int64_t)day_from, (int64_t)day_to);
	cs = cdb_queryf(as->db, "SELECT data FROM cols WHERE form = ?1 AND"
	    " level = ?2 AND no = ?3 AND col = ?4", "ti", form,
	    (int64_t)level);
	if (ch == NULL || cs == NULL) {
		cdb_finalize(ch);
		cdb_finalize(cs);
		return -1;
	}
	while (rc == 0 && (st = cdb_step(ch)) == CDB_ROW) {
		int64_t no = cdb_col_int64(ch, 0);
		size_t n = (size_t)cdb_col_int64(ch, 1);

		if (n > ASTORE_CHUNK_ROWS) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i <= ncols && rc == 0; i++) {
			uint32_t *out = as->scan_buf + i * ASTORE_CHUNK_ROWS;
			const char *name = i == 0 ? "day" : names[i - 1];
			const void *p;
			size_t len;
			int r;

			cdb_reset(cs);
			cdb_bind_int64(cs, 3, no);
			cdb_bind_text(cs, 4, name);
			if ((r = cdb_step(cs)) != CDB_ROW) {
				if (i == 0 || r != CDB_DONE)
					rc = -1;
				else
					cols[i - 1] = NULL;
				continue;
			}
			p = cdb_col_blob(cs, 0, &len);
			rc = as_col_decode(as, p, len, n, out);
			if (i > 0)
				cols[i - 1] = out;
		}
		if (rc == 0)
			rc = fn(arg, n, as->scan_buf, cols);
	}
	if (rc == 0 && st != CDB_DONE)
		rc = -1;
	cdb_finalize(ch);
	cdb_finalize(cs);
	return rc;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
as_days(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int64_t
astore_day(const char *s)
{
	int y, m, d, n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || s[10] != '\0' || y < 1970 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	int64_t day = as_days(y, m, d);
	char back[11];
	astore_date((uint32_t)day, back);
	return strcmp(back, s) == 0 ? day : -1;
}

void
astore_date(uint32_t day, char out[11])
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(y % 10000),
	    (unsigned)(m % 100), (unsigned)(d % 100));
}
