/* store.c: see store.h. */
/*
 * How the state changes:
 *
 *   submit (submit.c), one transaction begun with BEGIN IMMEDIATE:
 *     store_next_seq -> [store_epoch_add] -> store_record_add
 *     -> store_counts_add, per record; then the counts rows the
 *     transaction changed are written -> COMMIT; the caller answers
 *     only after it
 *   sync: meta acked_seq rises (outbox.c); store_purge nulls payloads
 *   open: store_clock_boot marks the boot before's untrusted stamps
 *
 * Invariants:
 *   - seqs are gap-free from 1 and never reused: a seq is max(seq) + 1,
 *     read inside the write transaction that inserts it (the next
 *     record of the same transaction takes the one after it; BEGIN IMMEDIATE
 *     takes the write lock first, so fieldd and fieldctl never read the
 *     same max), a rollback gives it back, and no row is ever deleted
 *     (a purge keeps the row).  Sync's watermark and store_stats rely on
 *     it.
 *   - a record id is stored once (UNIQUE): a resubmission is found by its
 *     insert failing, and keeps its first seq.
 *   - an epoch row holds only the public key; the epoch's secret stays in
 *     the submitter's memory (submit.c), so the board cannot open what
 *     it sealed.  A rolled-back epoch row takes its id with it, and the
 *     submitter drops that epoch, so an id never names two keys.
 *   - a payload is purged only at or below the acknowledged watermark.
 *
 * A crash: WAL with synchronous=FULL, so a submit is there whole (record,
 * seq, epoch, counts) or not at all; store_meta_set outside a transaction
 * is its own durable commit; the boot marking and the new boot_id commit
 * together, so a crash before that commit marks at the next open.
 */
#include "daemon/store.h"

#include "board/board.h"

#include <errno.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"

/*
 * Numbered migrations: migration i (1-based) takes the schema from
 * version i-1 to i.  Never edit a shipped one; add a new one.
 */
static const char *const store_migrations[] = {
	/* 1: the sealed outbox */
	("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	"  WITHOUT ROWID;"
	"CREATE TABLE forms(form_id TEXT NOT NULL, version TEXT NOT NULL,"
	"  added INTEGER NOT NULL, definition TEXT NOT NULL,"
	"  PRIMARY KEY(form_id, version));"
	"CREATE TABLE epochs(id INTEGER PRIMARY KEY, pub BLOB NOT NULL,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE records(seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE, form_id TEXT NOT NULL,"
	"  form_version TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	"  clock INTEGER NOT NULL, epoch INTEGER NOT NULL REFERENCES epochs(id),"
	"  sealed BLOB);"),
	/* 2: plaintext counts */
	/* one row per form, place and day; cells: see store_cells_merge */
	("CREATE TABLE counts(form_id TEXT NOT NULL, place TEXT NOT NULL,"
	"  day TEXT NOT NULL, cells BLOB NOT NULL,"
	"  PRIMARY KEY(form_id, place, day)) WITHOUT ROWID;"
	"CREATE TABLE counts_latest(form_id TEXT NOT NULL, place TEXT NOT NULL,"
	"  day TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  PRIMARY KEY(form_id, place)) WITHOUT ROWID;"),
	/* 3: enumerators */
	("CREATE TABLE users(name TEXT PRIMARY KEY, token_hash BLOB NOT NULL"
	"  UNIQUE, created_ms INTEGER NOT NULL);"),
	/* 4: the seq of the last record that changed a counts row, so sync
	   sends only the places that changed (no index: read at sync only) */
	("ALTER TABLE counts ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"),
	/* 5: enumerators' PINs (as HTTP Digest's HA1) and login sessions */
	("ALTER TABLE users ADD COLUMN ha1 TEXT;"
	"CREATE TABLE sessions(token_hash BLOB PRIMARY KEY, name TEXT NOT NULL,"
	"  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"),
	/* 6: failed logins per user name (common/lockout.h), kept so that
	   a restart does not reset them */
	("CREATE TABLE login_fails(name TEXT PRIMARY KEY, n INTEGER NOT NULL,"
	"  first_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL)"
	"  WITHOUT ROWID;"),
};
#define STORE_N_MIGRATIONS \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))

_Static_assert(STORE_N_MIGRATIONS == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION must match the migrations");

enum {
	Q_FIND_ID, Q_NEXT_SEQ, Q_EPOCH_ADD, Q_RECORD_ADD, Q_COUNT_GET,
	Q_COUNT_PUT, Q_COUNT_SET,
	Q_LATEST_GET, Q_LATEST_SET, Q_COUNTS_DROP, Q_META_GET, Q_META_SET,
	Q_USER_CHECK, Q_BEGIN, Q_COMMIT, Q_N
};

static const char *const store_sql[Q_N] = {
	[Q_FIND_ID] = "SELECT seq FROM records WHERE id = ?1",
	[Q_NEXT_SEQ] = "SELECT coalesce(max(seq), 0) + 1 FROM records",
	[Q_EPOCH_ADD] = "INSERT INTO epochs(pub, created_ms) VALUES(?1, ?2)",
	[Q_RECORD_ADD] = "INSERT INTO records(seq, id, form_id, form_version,"
	    " created_ms, clock, epoch, sealed) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
	[Q_COUNT_GET] = "SELECT cells FROM counts WHERE form_id = ?1 AND"
	    " place = ?2 AND day = ?3",
	/* a new row, or (Q_COUNT_SET) the row Q_COUNT_GET found in the same
	   transaction: an upsert would look for the row a second time */
	[Q_COUNT_PUT] = "INSERT INTO counts(form_id, place, day, cells, seq)"
	    " VALUES(?1, ?2, ?3, ?4, ?5)",
	[Q_COUNT_SET] = "UPDATE counts SET cells = ?4, seq = ?5 WHERE"
	    " form_id = ?1 AND place = ?2 AND day = ?3",
	[Q_LATEST_GET] = "SELECT day FROM counts_latest WHERE form_id = ?1"
	    " AND place = ?2",
	[Q_LATEST_SET] = "INSERT OR REPLACE INTO counts_latest(form_id, place,"
	    " day, seq) VALUES(?1, ?2, ?3, ?4)",
	[Q_COUNTS_DROP] = "DELETE FROM counts WHERE form_id = ?1 AND place = ?2",
	[Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[Q_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
	[Q_USER_CHECK] = "SELECT name FROM users WHERE token_hash = ?1"
	    " UNION ALL SELECT s.name FROM sessions s JOIN users u USING (name)"
	    " WHERE s.token_hash = ?1 AND s.expires_ms > ?2",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
};

/*
 * A counts row changed by the open transaction, kept here until the
 * transaction commits: a group of records from one place and day reads
 * and writes its row once, not once per record.
 */
struct store_pending {
	char *form_id, *place, *day;	/* one allocation, form_id first */
	unsigned char *cells;
	size_t len;
	uint64_t seq;			/* the last record that changed it */
	int stored;			/* the row is in the table (UPDATE) */
};
#define STORE_PENDING_MAX 64	/* then written at once, and begun again */

struct store {
	sqlite3 *db;
	char *path;
	char *dir;			/* the folder holding path */
	sqlite3_stmt *q[Q_N];
	int in_tx;
	uint64_t tx_last_seq;		/* in a transaction: the seq it last
					   added, 0 before it adds one */
	struct store_pending pending[STORE_PENDING_MAX];
	size_t n_pending;
};

static void store_pending_drop(struct store *st);
static int store_pending_write(struct store *st);

const char *
store_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

static int
store_exec(struct store *st, const char *sql)
{
	return db_exec(st->db, sql);
}

/* Returns the statement reset and with its bindings cleared. */
static sqlite3_stmt *
store_q(struct store *st, int which)
{
	sqlite3_stmt *s = st->q[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int
store_schema_version(struct store *st)
{
	return db_schema_version(st->db);
}

/* mode: DB_CREATE, DB_OPEN or DB_READONLY (common/db.h). */
static int
store_open_impl(const char *path, int mode, int version,
    struct store **out, char *err, size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	{
		char *copy = strdup(path);	/* dirname may change its argument */

		st->dir = copy ? strdup(dirname(copy)) : NULL;
		free(copy);
		if (st->dir == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (db_open(path, mode, store_migrations, (int)STORE_N_MIGRATIONS,
	    version, &st->db, err, errlen) != 0)
		goto fail;
	/*
	 * Checkpoint every STORE_CHECKPOINT_FRAMES WAL frames, not SQLite's
	 * 1,000: under load a record writes about three frames, and each
	 * checkpoint copies every page the WAL touched and syncs the
	 * database twice.  Four times fewer checkpoints copy the pages
	 * written again and again (the records' right edge, counts, the
	 * index's inner pages) once instead of four times, and sync a
	 * quarter as often: with eight phones the writer spent about a fifth
	 * less time in the kernel.  The price is a longer wait, a quarter as
	 * often, for the submits behind a checkpoint (docs/architecture.md).
	 * Every connection that writes gets the same, or a sessions row
	 * written on the loop would run the checkpoint there.  The WAL grows
	 * to about 16 MiB (within the free-space floor's 64), its index stays
	 * in one 32 KiB block of shared memory (which holds 4,062 frames),
	 * and recovery after a crash reads at most that much.
	 */
	if (mode != DB_READONLY)
		sqlite3_wal_autocheckpoint(st->db, STORE_CHECKPOINT_FRAMES);
	if (version == STORE_SCHEMA_VERSION) {
		for (int i = 0; i < Q_N; i++) {
			if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
			    SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) !=
			    SQLITE_OK) {
				snprintf(err, errlen, "%s: %s", path,
				    sqlite3_errmsg(st->db));
				goto fail;
			}
		}
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

int
store_open(const char *path, int create, struct store **out, char *err,
    size_t errlen)
{
	return store_open_impl(path, create ? DB_CREATE : DB_OPEN,
	    STORE_SCHEMA_VERSION, out, err, errlen);
}

int
store_open_readonly(const char *path, struct store **out, char *err,
    size_t errlen)
{
	return store_open_impl(path, DB_READONLY, STORE_SCHEMA_VERSION, out,
	    err, errlen);
}

int
store_open_again(struct store *st, struct store **out, char *err,
    size_t errlen)
{
	if (store_open_impl(st->path, DB_AGAIN, STORE_SCHEMA_VERSION, out,
	    err, errlen) != 0)
		return -1;
	/*
	 * A writer's pages: the records' right edge, the id index's inner
	 * pages, counts.  Its leaves are random (ids are UUIDs) whatever the
	 * cache, so a quarter of the reader's keeps the board's memory
	 * nearly what one connection used.
	 */
	if (store_exec(*out, "PRAGMA cache_size = -256") != 0) {
		snprintf(err, errlen, "%s: %s", st->path, store_errmsg(*out));
		store_close(*out);
		return -1;
	}
	return 0;
}

int
store_open_at(const char *path, int version, struct store **out, char *err,
    size_t errlen)
{
	return store_open_impl(path, DB_CREATE, version, out, err, errlen);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(st->q[i]);
	store_pending_drop(st);
	if (st->db)
		sqlite3_close(st->db);
	free(st->path);
	free(st->dir);
	free(st);
}

int
store_meta_get(struct store *st, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *s = store_q(st, Q_META_GET);
	int rc;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s", sqlite3_column_text(s, 0));
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_meta_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = store_q(st, Q_META_SET);
	int rc;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs a prepared statement that returns no rows: 0 or -1 (logged). */
static int
store_step(struct store *st, int which)
{
	sqlite3_stmt *s = store_q(st, which);
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	log_err("store: %s: %s", store_sql[which], sqlite3_errmsg(st->db));
	return -1;
}

int
store_begin(struct store *st)
{
	if (store_step(st, Q_BEGIN) != 0)
		return -1;
	st->in_tx = 1;
	st->tx_last_seq = 0;
	store_pending_drop(st);
	return 0;
}

int
store_commit(struct store *st)
{
	int rc = store_pending_write(st) == 0 ? store_step(st, Q_COMMIT) : -1;

	/* A failed COMMIT can leave the transaction open: undo it, so
	   a submit that was not answered left nothing behind. */
	if (rc != 0)
		store_rollback(st);
	st->in_tx = 0;
	st->tx_last_seq = 0;
	return rc;
}

void
store_rollback(struct store *st)
{
	/* SQLite rolls back by itself after some errors (a full disk,
	   I/O): only what is still open is rolled back here. */
	if (sqlite3_get_autocommit(st->db) == 0)
		store_exec(st, "ROLLBACK");
	st->in_tx = 0;
	st->tx_last_seq = 0;
	store_pending_drop(st);
}

int
store_find_id(struct store *st, const char *id, uint64_t *seq)
{
	sqlite3_stmt *s = store_q(st, Q_FIND_ID);
	int rc;

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Only inside store_begin's BEGIN IMMEDIATE: the write lock is held
   before max(seq) is read, so no other process takes the same seq. */
int
store_next_seq(struct store *st, uint64_t *seq)
{
	sqlite3_stmt *s;
	int rc;

	if (st->in_tx && st->tx_last_seq) {
		*seq = st->tx_last_seq + 1;	/* the max, added by this tx */
		return 0;
	}
	s = store_q(st, Q_NEXT_SEQ);
	rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_epoch_add(struct store *st, const unsigned char pub[32],
    int64_t created_ms, uint64_t *id)
{
	sqlite3_stmt *s = store_q(st, Q_EPOCH_ADD);
	int rc;

	sqlite3_bind_blob(s, 1, pub, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, created_ms);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	*id = (uint64_t)sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_record_add(struct store *st, const struct store_record *r)
{
	sqlite3_stmt *s = store_q(st, Q_RECORD_ADD);
	int rc;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)r->seq);
	sqlite3_bind_text(s, 2, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->form_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->form_version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->created_ms);
	sqlite3_bind_int(s, 6, r->clock);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)r->epoch);
	sqlite3_bind_blob(s, 8, r->sealed, (int)r->sealed_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	/* The id's UNIQUE (extended codes are on, common/db.c; a seq
	   taken would be SQLITE_CONSTRAINT_PRIMARYKEY): a resubmission. */
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != SQLITE_DONE)
		return -1;
	if (st->in_tx)
		st->tx_last_seq = r->seq;
	return 0;
}

/*
 * Counts are kept one row per (form, place, day).  Its cells are a flat
 * blob, each cell "dim\0value\0measure\0" and n as 8 bytes little-endian,
 * so that a record's cells cost one read and one write and the merge
 * allocates one buffer (bench/bench_store.c measures the submit path).
 */
#define CELL_N_BYTES 8

/* Next cell at p (end e): 0 and its parts, or -1 when malformed. */
static int
cell_next(const unsigned char **p, const unsigned char *e, const char **dim,
    const char **value, const char **measure, const unsigned char **np)
{
	const char **part[3] = { dim, value, measure };
	const unsigned char *q = *p;

	for (int i = 0; i < 3; i++) {
		const unsigned char *z = memchr(q, 0, (size_t)(e - q));
		if (z == NULL)
			return -1;
		*part[i] = (const char *)q;
		q = z + 1;
	}
	if (e - q < CELL_N_BYTES)
		return -1;
	*np = q;
	*p = q + CELL_N_BYTES;
	return 0;
}

static int64_t
cell_get_n(const unsigned char *np)
{
	uint64_t v = 0;

	for (int i = CELL_N_BYTES - 1; i >= 0; i--)
		v = (v << 8) | np[i];
	return (int64_t)v;
}

static void
cell_set_n(unsigned char *np, int64_t n)
{
	for (int i = 0; i < CELL_N_BYTES; i++)
		np[i] = (unsigned char)((uint64_t)n >> (8 * i));
}

static unsigned char *
cell_put(unsigned char *p, const struct form_count *x)
{
	const char *s[3] = { x->dim, x->value, x->measure };

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(s[i]) + 1;
		memcpy(p, s[i], n);
		p += n;
	}
	cell_set_n(p, x->n);
	return p + CELL_N_BYTES;
}

/* The open transaction's changed row for (form, place, day), or NULL. */
static struct store_pending *
store_pending_find(struct store *st, const char *form_id, const char *place,
    const char *day)
{
	for (size_t i = 0; i < st->n_pending; i++) {
		struct store_pending *p = &st->pending[i];

		if (strcmp(p->place, place) == 0 && strcmp(p->day, day) == 0 &&
		    strcmp(p->form_id, form_id) == 0)
			return p;
	}
	return NULL;
}

static void
store_pending_drop(struct store *st)
{
	for (size_t i = 0; i < st->n_pending; i++) {
		free(st->pending[i].form_id);
		free(st->pending[i].cells);
	}
	st->n_pending = 0;
}

/* Writes the transaction's changed counts rows into the table (inside the
   transaction still), then forgets them.  0 or -1. */
static int
store_pending_write(struct store *st)
{
	int rc = 0;

	for (size_t i = 0; i < st->n_pending && rc == 0; i++) {
		struct store_pending *p = &st->pending[i];
		sqlite3_stmt *s = store_q(st, p->stored ? Q_COUNT_SET :
		    Q_COUNT_PUT);

		sqlite3_bind_text(s, 1, p->form_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, p->place, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, p->day, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 4, p->cells, (int)p->len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)p->seq);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(s);
	}
	store_pending_drop(st);
	return rc;
}

/* A new pending row for (form, place, day); NULL when out of memory or
   when writing the full list failed. */
static struct store_pending *
store_pending_add(struct store *st, const char *form_id, const char *place,
    const char *day, int stored)
{
	size_t lf = strlen(form_id) + 1, lp = strlen(place) + 1,
	    ld = strlen(day) + 1;
	struct store_pending *p;
	char *k;

	if (st->n_pending == STORE_PENDING_MAX && store_pending_write(st) != 0)
		return NULL;
	if ((k = malloc(lf + lp + ld)) == NULL)
		return NULL;
	p = &st->pending[st->n_pending++];
	p->form_id = memcpy(k, form_id, lf);
	p->place = memcpy(k + lf, place, lp);
	p->day = memcpy(k + lf + lp, day, ld);
	p->cells = NULL;
	p->len = 0;
	p->seq = 0;
	p->stored = stored;
	return p;
}

/*
 * Adds c's cells (one place and day) into the row, or replaces it.  The
 * row is read from the table the first time the transaction changes it,
 * and written back at its commit (store_pending_write), so a commit of
 * many records from one place reads and writes its row once.
 */
static int
store_cells_merge(struct store *st, const char *form_id,
    const struct form_counts *c, int replace, uint64_t seq)
{
	struct store_pending *pd = store_pending_find(st, form_id,
	    c->c[0].place, c->c[0].day);
	sqlite3_stmt *s = NULL;
	const unsigned char *old = NULL, *p, *e, *np;
	const char *dim, *value, *measure;
	unsigned char *buf = NULL, *w, *used = NULL;
	size_t old_len = 0, cap;
	int rc = -1, step = SQLITE_ROW;

	if (pd == NULL) {
		s = store_q(st, Q_COUNT_GET);
		sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, c->c[0].place, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, c->c[0].day, -1, SQLITE_STATIC);
		step = sqlite3_step(s);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			goto out;
		if (step == SQLITE_ROW) {
			old = sqlite3_column_blob(s, 0);
			old_len = (size_t)sqlite3_column_bytes(s, 0);
		}
	} else {
		old = pd->cells;
		old_len = pd->len;
	}
	if (replace) {
		old = NULL;
		old_len = 0;
	}
	cap = old_len;
	for (size_t i = 0; i < c->n; i++)
		cap += strlen(c->c[i].dim) + strlen(c->c[i].value) +
		    strlen(c->c[i].measure) + 3 + CELL_N_BYTES;
	if ((buf = malloc(cap ? cap : 1)) == NULL ||
	    (used = calloc(c->n ? c->n : 1, 1)) == NULL)
		goto out;
	/* The stored cells, each with the new n added where it matches. */
	w = buf;
	for (p = old, e = old + old_len; p && p < e;) {
		const unsigned char *start = p;
		int64_t n;

		if (cell_next(&p, e, &dim, &value, &measure, &np) != 0)
			goto out;	/* damaged row: refuse, change nothing */
		n = cell_get_n(np);
		for (size_t i = 0; i < c->n; i++)
			if (!used[i] && strcmp(c->c[i].dim, dim) == 0 &&
			    strcmp(c->c[i].value, value) == 0 &&
			    strcmp(c->c[i].measure, measure) == 0) {
				n += c->c[i].n;
				used[i] = 1;
				break;
			}
		memcpy(w, start, (size_t)(np - start));
		cell_set_n(w + (np - start), n);
		w += (np - start) + CELL_N_BYTES;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!used[i])
			w = cell_put(w, &c->c[i]);
	if (s != NULL) {
		sqlite3_reset(s);	/* old pointed into s's row until here */
		s = NULL;
	}
	if (pd == NULL && (pd = store_pending_add(st, form_id, c->c[0].place,
	    c->c[0].day, step == SQLITE_ROW)) == NULL)
		goto out;
	free(pd->cells);
	pd->cells = buf;
	pd->len = (size_t)(w - buf);
	pd->seq = seq;
	buf = NULL;
	rc = 0;
out:
	if (s != NULL)
		sqlite3_reset(s);
	free(buf);
	free(used);
	return rc;
}

/* For a latest-per-place form: 1 when this record replaces the place's
   cells (it is as recent or newer), 0 when an older round, -1 error. */
static int
store_latest_take(struct store *st, const char *form_id,
    const struct form_count *c, uint64_t seq)
{
	sqlite3_stmt *s = store_q(st, Q_LATEST_GET);
	int rc, newer = 1;

	sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->place, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		newer = strcmp(c->day, (const char *)sqlite3_column_text(s,
		    0)) >= 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (!newer)
		return 0;
	/* the place's rows this transaction changed go, with the rest */
	if (store_pending_write(st) != 0)
		return -1;
	s = store_q(st, Q_COUNTS_DROP);
	sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->place, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	s = store_q(st, Q_LATEST_SET);
	sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->place, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)seq);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 1 : -1;
}

int
store_counts_add(struct store *st, const char *form_id,
    const struct form_counts *c, int latest, uint64_t seq)
{
	if (c->n == 0)
		return 0;
	if (latest) {
		int take = store_latest_take(st, form_id, &c->c[0], seq);
		if (take <= 0)
			return take;
	}
	if (store_cells_merge(st, form_id, c, latest, seq) != 0)
		return -1;
	/* outside a transaction there is no commit to wait for */
	return st->in_tx ? 0 : store_pending_write(st);
}

int
store_form_add(struct store *st, const char *form_id, const char *version,
    const char *json)
{
	sqlite3_stmt *s;
	int rc;

	/* added = max + 1: store_forms_load gives the forms back in the
	   order they came, the shipped ones and the collector's. */
	rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO forms(form_id,"
	    " version, added, definition) VALUES(?1, ?2, (SELECT"
	    " coalesce(max(added), 0) + 1 FROM forms), ?3)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, version, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, json, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_forms_load(struct store *st, struct form_catalog *cat, char *err,
    size_t errlen)
{
	sqlite3_stmt *s, *d = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0, len;
	char *copy = NULL, what[FORM_ID_MAX + FORM_VERSION_MAX + 16];
	int rc, out = -1;

	/*
	 * The order first, then each definition alone: sorting whole rows
	 * copied every definition (up to 8 MiB each) into the sorter, the
	 * largest part of fieldd's peak with a large form.
	 */
	if (sqlite3_prepare_v2(st->db, "SELECT rowid FROM forms ORDER BY"
	    " added, rowid", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			int64_t *m = realloc(ids, (cap = cap ? cap * 2 : 16) *
			    sizeof(*ids));
			if (m == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			ids = m;
		}
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(st->db, "SELECT form_id, version, definition"
	    " FROM forms WHERE rowid = ?1", -1, &d, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *json;
		char ferr[256];

		sqlite3_reset(d);
		sqlite3_bind_int64(d, 1, ids[i]);
		if ((rc = sqlite3_step(d)) != SQLITE_ROW) {
			snprintf(err, errlen, "%s", rc == SQLITE_DONE ?
			    "a stored form went while loading" :
			    sqlite3_errmsg(st->db));
			goto fail;
		}
		/* A copy, then the statement and the pages it read (a large
		   definition's overflow pages fill the cache) let go before
		   the definition is parsed. */
		json = (const char *)sqlite3_column_text(d, 2);
		len = (size_t)sqlite3_column_bytes(d, 2);
		snprintf(what, sizeof(what), "%s version %s",
		    sqlite3_column_text(d, 0), sqlite3_column_text(d, 1));
		if (json == NULL || (copy = malloc(len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(copy, json, len + 1);
		sqlite3_reset(d);
		sqlite3_db_release_memory(st->db);
		if (form_catalog_add(cat, copy, len, ferr, sizeof(ferr)) ==
		    NULL) {
			snprintf(err, errlen, "stored form %s: %s", what, ferr);
			goto fail;
		}
		free(copy);
		copy = NULL;
	}
	out = 0;
fail:
	sqlite3_finalize(s);
	sqlite3_finalize(d);
	free(ids);
	free(copy);
	return out;
}

static int
store_scalar(struct store *st, const char *sql, uint64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int64_t
store_purge(struct store *st, uint64_t acked_seq, int64_t before_ms)
{
	sqlite3_stmt *s;
	int rc;

	/* Never above the watermark: nothing the collector lacks is lost.
	   The row stays, so its seq and id stay taken.  The window runs
	   from the record's own stamp, not from its ack. */
	if (sqlite3_prepare_v2(st->db, "UPDATE records SET sealed = NULL"
	    " WHERE seq <= ?1 AND created_ms < ?2 AND sealed IS NOT NULL", -1,
	    &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)acked_seq);
	sqlite3_bind_int64(s, 2, before_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(st->db) : -1;
}

int
store_stats(struct store *st, struct store_stats *s)
{
	uint64_t pages, page_size;

	memset(s, 0, sizeof(*s));
	if (store_scalar(st, "SELECT coalesce(max(seq), 0) FROM records",
	    &s->last_seq) ||
	    store_scalar(st, "SELECT coalesce(max(id), 0) FROM epochs",
	    &s->epochs) ||
	    store_scalar(st, "SELECT count(*) FROM users", &s->users) ||
	    store_scalar(st, "PRAGMA page_count", &pages) ||
	    store_scalar(st, "PRAGMA page_size", &page_size))
		return -1;
	s->records = s->last_seq;
	s->db_bytes = pages * page_size;
	return 0;
}

int
store_sealed_bytes(struct store *st, uint64_t *bytes)
{
	return store_scalar(st, "SELECT coalesce(sum(length(sealed)), 0) FROM"
	    " records", bytes);
}

int
store_counts_json(struct store *st, json_t **out)
{
	return store_counts_since(st, -1, SIZE_MAX, out, NULL);
}

int
store_counts_since(struct store *st, int64_t since, size_t max_cells,
    json_t **out, uint64_t *upto)
{
	sqlite3_stmt *s;
	json_t *arr;
	size_t cells = 0;
	int rc;

	/* Rows this connection's open transaction changed, in the table
	   first (the transaction's own reads see them). */
	if (store_pending_write(st) != 0)
		return -1;
	/* Whole places (every day of a form's place), those changed after
	   since, in the order they last changed; a place is never split, so
	   a receiver replaces the places it gets and keeps the others. */
	if (sqlite3_prepare_v2(st->db, "WITH g AS (SELECT form_id, place,"
	    " max(seq) AS gmax FROM counts GROUP BY form_id, place"
	    " HAVING max(seq) > ?1)"
	    " SELECT c.form_id, c.day, c.place, c.cells, g.gmax FROM counts c"
	    " JOIN g USING (form_id, place)"
	    " ORDER BY g.gmax, c.form_id, c.place, c.day", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	if (upto)
		*upto = since > 0 ? (uint64_t)since : 0;
	if ((arr = json_array()) == NULL) {
		sqlite3_finalize(s);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_blob(s, 3), *np;
		const unsigned char *e = p + sqlite3_column_bytes(s, 3);
		const char *dim, *value, *measure;
		uint64_t gmax = (uint64_t)sqlite3_column_int64(s, 4);

		/* Full: stop at a place boundary (a new gmax). */
		if (upto && gmax != *upto && cells >= max_cells) {
			rc = SQLITE_DONE;
			break;
		}
		/* Rows come by gmax, a place's rows together: every place up
		   to this one goes out whole, and the piece's ack lets the
		   device skip them next time. */
		if (upto)
			*upto = gmax;

		while (p && p < e) {
			json_t *o;

			if (cell_next(&p, e, &dim, &value, &measure, &np) != 0) {
				rc = SQLITE_CORRUPT;
				break;
			}
			cells++;
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			    "form", sqlite3_column_text(s, 0),
			    "day", sqlite3_column_text(s, 1),
			    "place", sqlite3_column_text(s, 2),
			    "dim", dim, "value", value, "measure", measure,
			    "n", (json_int_t)cell_get_n(np));
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
		}
		if (rc != SQLITE_ROW)
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return -1;
	}
	*out = arr;
	return 0;
}

int
store_each_record(struct store *st, store_record_fn fn, void *arg)
{
	return store_records_after(st, 0, SIZE_MAX, fn, arg);
}

int
store_records_after(struct store *st, uint64_t after, size_t limit,
    store_record_fn fn, void *arg)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT r.seq, r.id, r.form_id,"
	    " r.form_version, r.created_ms, r.clock, r.epoch, r.sealed, e.pub"
	    " FROM records r JOIN epochs e ON e.id = r.epoch WHERE r.seq > ?1"
	    " ORDER BY r.seq LIMIT ?2", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	sqlite3_bind_int64(s, 2, (uint64_t)limit > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_record r = {
			.seq = (uint64_t)sqlite3_column_int64(s, 0),
			.id = (const char *)sqlite3_column_text(s, 1),
			.form_id = (const char *)sqlite3_column_text(s, 2),
			.form_version = (const char *)sqlite3_column_text(s, 3),
			.created_ms = sqlite3_column_int64(s, 4),
			.clock = sqlite3_column_int(s, 5),
			.epoch = (uint64_t)sqlite3_column_int64(s, 6),
			.sealed = sqlite3_column_blob(s, 7),
			.sealed_len = (size_t)sqlite3_column_bytes(s, 7),
		};
		const unsigned char *pub = sqlite3_column_blob(s, 8);

		if (sqlite3_column_bytes(s, 8) != 32 || pub == NULL) {
			ret = -1;
			break;
		}
		if ((ret = fn(arg, &r, pub)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = -1;
	sqlite3_finalize(s);
	return ret;
}

int
store_free_bytes(struct store *st, uint64_t *bytes)
{
	int ro;

	return board_storage(st->dir, bytes, &ro);
}

int
store_clock_boot(struct store *st, const char *boot_id, int64_t *marked,
    int64_t *high_ms)
{
	sqlite3_stmt *s;
	char was[64] = "";
	int rc = -1;

	*marked = 0;
	*high_ms = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(created_ms), 0)"
	    " FROM records WHERE clock = 1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		*high_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (boot_id[0] == '\0')
		return 0;
	if (store_meta_get(st, "boot_id", was, sizeof(was)) < 0)
		return -1;
	/* Same boot: its untrusted stamps can still be corrected by the
	   offset of a sync in this boot. */
	if (strcmp(was, boot_id) == 0)
		return 0;
	/* The marking and the new boot_id commit together: a crash before
	   the commit leaves both for the next open. */
	if (store_begin(st) != 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "UPDATE records SET clock = 3"
	    " WHERE clock = 2", -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) == SQLITE_DONE)
		*marked = sqlite3_changes(st->db);
	else
		goto out;
	if (store_meta_set(st, "boot_id", boot_id) != 0)
		goto out;
	rc = store_commit(st);
out:
	if (s)
		sqlite3_finalize(s);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int
store_user_add(struct store *st, const char *name,
    const unsigned char hash[32])
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO users(name, token_hash,"
	    " created_ms) VALUES(?1, ?2, ?3)", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, util_now_ms());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_user_remove(struct store *st, const char *name)
{
	sqlite3_stmt *s;
	int rc, n;

	/* Its sessions go with it: a name added again starts afresh. */
	if (store_exec(st, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM users WHERE name = ?1",
	    -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	n = sqlite3_changes(st->db);
	if (rc != SQLITE_DONE || sqlite3_prepare_v2(st->db, "DELETE FROM"
	    " sessions WHERE name = ?1", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || store_exec(st, "COMMIT") != 0)
		goto fail;
	return n > 0 ? 1 : 0;
fail:
	store_exec(st, "ROLLBACK");
	return -1;
}

int
store_user_check(struct store *st, const unsigned char hash[32],
    int64_t now_ms, char *name, size_t namelen)
{
	sqlite3_stmt *s = store_q(st, Q_USER_CHECK);
	int rc;

	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && name)
		snprintf(name, namelen, "%s", sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
store_user_ha1(struct store *st, const char *name, const char *set,
    char ha1[33])
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, set ? "UPDATE users SET ha1 = ?2"
	    " WHERE name = ?1 RETURNING ha1" : "SELECT ha1 FROM users"
	    " WHERE name = ?1 AND ha1 IS NOT NULL", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (set)
		sqlite3_bind_text(s, 2, set, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && ha1)
		snprintf(ha1, 33, "%s", sqlite3_column_text(s, 0));
	if (rc == SQLITE_ROW && set)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_ROW : SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
store_session_add(struct store *st, const unsigned char hash[32],
    const char *name, int64_t expires_ms, int64_t now_ms)
{
	sqlite3_stmt *s;
	int rc;

	if (store_exec(st, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM sessions WHERE"
	    " expires_ms <= ?1", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, now_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || sqlite3_prepare_v2(st->db, "INSERT INTO"
	    " sessions(token_hash, name, expires_ms) VALUES(?1, ?2, ?3)", -1,
	    &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, expires_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	return store_exec(st, "COMMIT");
fail:
	store_exec(st, "ROLLBACK");
	return -1;
}

int
store_recent(struct store *st, int64_t since_ms, size_t max,
    int (*fn)(void *arg, const char *id, const char *form_id,
    const char *version, int64_t created_ms), void *arg)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	/* The newest first, by seq (the primary key), up to the first one
	   older than since_ms: no scan of a store of millions for a
	   phone's list. */
	if (sqlite3_prepare_v2(st->db, "SELECT id, form_id, form_version,"
	    " created_ms FROM records ORDER BY seq DESC LIMIT ?1", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    sqlite3_column_int64(s, 3) >= since_ms &&
	    (ret = fn(arg, (const char *)sqlite3_column_text(s, 0),
	    (const char *)sqlite3_column_text(s, 1),
	    (const char *)sqlite3_column_text(s, 2),
	    sqlite3_column_int64(s, 3))) == 0)
		;
	sqlite3_finalize(s);
	return ret ? ret : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int
store_login_fails_get(struct store *st, const char *name,
    struct lockout_entry *e)
{
	sqlite3_stmt *s;
	int rc;

	memset(e, 0, sizeof(*e));
	if (sqlite3_prepare_v2(st->db, "SELECT n, first_ms, until_ms FROM"
	    " login_fails WHERE name = ?1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(s, 0);
		e->n = n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		e->first_ms = sqlite3_column_int64(s, 1);
		e->until_ms = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* One int64 from sql with ?1 = a, or -1. */
static int64_t
store_login_fails_int(struct store *st, const char *sql, int64_t a)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, a);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

int
store_login_fails_put(struct store *st, const char *name,
    const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now_ms)
{
	struct lockout_entry old;
	sqlite3_stmt *s;
	int64_t rows;
	int rc;

	if ((rc = store_login_fails_get(st, name, &old)) < 0)
		return -1;
	if (rc == 0) {
		/* A new name: room only among the live rows' bound; the
		   dead are dropped first (forgetting them changes nothing). */
		rows = store_login_fails_int(st, "SELECT count(*) FROM"
		    " login_fails", 0);
		if (rows < 0)
			return -1;
		if (rows >= STORE_LOGIN_FAILS_MAX) {
			sqlite3_stmt *d;

			if (sqlite3_prepare_v2(st->db, "DELETE FROM login_fails"
			    " WHERE until_ms <= ?1 AND (first_ms <= ?2 OR"
			    " first_ms > ?3)", -1, &d, NULL) != SQLITE_OK)
				return -1;
			sqlite3_bind_int64(d, 1, now_ms);
			sqlite3_bind_int64(d, 2, now_ms - r->window_ms);
			sqlite3_bind_int64(d, 3, now_ms + r->window_ms);
			rc = sqlite3_step(d);
			sqlite3_finalize(d);
			if (rc != SQLITE_DONE)
				return -1;
			rows = store_login_fails_int(st, "SELECT count(*) FROM"
			    " login_fails", 0);
			if (rows < 0)
				return -1;
			if (rows >= STORE_LOGIN_FAILS_MAX)
				return 1;
		}
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO login_fails(name,"
	    " n, first_ms, until_ms) VALUES(?1, ?2, ?3, ?4)", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, e->n);
	sqlite3_bind_int64(s, 3, e->first_ms);
	sqlite3_bind_int64(s, 4, e->until_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
