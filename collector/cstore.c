/* cstore.c: see cstore.h. */
/*
 * What ingest changes: a device's row (acked_seq) and its records, keyed
 * (device, seq), unique by id, numbered by arrival.  A batch is stored
 * in one transaction -- its own, or a caller's that stores several
 * devices' batches together (collectord's group commit, csrv.c) -- in
 * this order:
 *
 *   BEGIN (SQLite: IMMEDIATE, its one write lock)
 *     -> PostgreSQL: CS_WRITE_LOCK shared, then the device's own lock
 *        (CS_DEVICE_LOCKS, the device id)
 *     -> read acked_seq; arrival numbers: SQLite max(arrival) + 1 on,
 *        PostgreSQL a block from records_arrival_seq
 *     -> each record above acked_seq: inserted (PostgreSQL: many rows
 *        per INSERT), found, or refused
 *     -> acked_seq over every contiguous seq held
 *   COMMIT (which ends the locks) -> *acked, for the caller to ack
 *
 * In a caller's transaction the locks are held until its commit; a
 * group takes its devices in id order, so two groups never wait on each
 * other in a circle.
 *
 * Why an ack is safe: *acked is set only after that commit (inside a
 * caller's cstore_begin, it is durable only at cstore_commit).  The
 * watermark never moves back: it starts from the stored one and only
 * counts up.  A record is stored at most once: seqs at or below the
 * watermark are skipped, a (device, seq) or id already there makes the
 * insert do nothing, and an id held under another (device, seq) is
 * refused.  Refused seqs count as held, so one bad record does not hold
 * the watermark back for ever.
 *
 * Why the device's advisory lock is first, inside the transaction: at
 * PostgreSQL's default READ COMMITTED each statement reads what was
 * committed before it, so what is read after the lock includes the whole
 * batch of this device before this one (on whichever front-end); and the
 * lock ends with the commit or rollback (also when a front-end dies),
 * never before it.  So no batch reads a watermark another is about to
 * change.  Batches of different devices run side by side, and their
 * commits share PostgreSQL's WAL flushes: ingest grows with front-ends.
 * Across devices only the record id is shared, and its unique index
 * makes the second of two inserts of one id wait for the first to
 * commit or roll back, then find it (refused) or insert.
 *
 * Arrival numbers seen by analysis only in commit order.  On SQLite the
 * write transaction is the only writer, so max(arrival) + 1 commits in
 * order.  On PostgreSQL concurrent batches draw from a sequence, so a
 * number may commit after a higher one; a reader of arrival order
 * (cstore_records_since) therefore first takes CS_WRITE_LOCK alone for
 * a moment: every batch holding it shared (all that drew a number) has
 * then ended, and the highest arrival stored is its horizon -- it reads
 * no further, and whatever commits later draws higher numbers.  A batch
 * takes the shared lock before it draws, so none can slip under.
 *
 * A crash or a lost database connection before COMMIT undoes the whole
 * batch: no record, no arrival number, no watermark; it is sent again.
 */
#include "collector/cstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "collector/cdb.h"
#include "common/util.h"
#include "sync/wire.h"

static const char *const cstore_migrations[] = {
	/* 1: devices, tokens, sealed records */
	("CREATE TABLE devices(id TEXT PRIMARY KEY, serial TEXT NOT NULL,"
	"  enrolled_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_seen_ms INTEGER NOT NULL DEFAULT 0,"
	"  acked_seq INTEGER NOT NULL DEFAULT 0,"
	"  pending INTEGER NOT NULL DEFAULT 0,"
	"  clock_offset_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	"CREATE TABLE enroll_tokens(hash BLOB PRIMARY KEY, device_id TEXT,"
	"  expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE records(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  id TEXT NOT NULL UNIQUE, form_id TEXT NOT NULL,"
	"  form_version TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	"  corrected_ms INTEGER NOT NULL, clock INTEGER NOT NULL,"
	"  epoch_id INTEGER NOT NULL, epoch_pub BLOB NOT NULL,"
	"  sealed BLOB NOT NULL, received_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(device_id, seq));"
	"CREATE TABLE refused(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  id TEXT, reason TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(device_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE device_counts(device_id TEXT PRIMARY KEY,"
	"  taken_ms INTEGER NOT NULL, cells BLOB NOT NULL) WITHOUT ROWID;"),
	/* 2: bundles imported from USB sticks, by id, so a replay is refused */
	("CREATE TABLE bundles(bundle_id BLOB PRIMARY KEY,"
	"  device_id TEXT NOT NULL, imported_ms INTEGER NOT NULL,"
	"  first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL);"
	"CREATE INDEX bundles_device ON bundles(device_id);"),
	/*
	 * 3: the order records arrived in, which analysis follows (rowids
	 * may change under VACUUM); coordinators' tokens, hashed.
	 */
	("ALTER TABLE records ADD COLUMN arrival INTEGER;"
	"UPDATE records SET arrival = rowid;"
	"CREATE UNIQUE INDEX records_arrival ON records(arrival);"
	"CREATE TABLE coordinators(name TEXT PRIMARY KEY,"
	"  token_hash BLOB NOT NULL UNIQUE, added_ms INTEGER NOT NULL)"
	"  WITHOUT ROWID;"),
	/* 4: forms devices could not take, as each last said in a hello */
	("CREATE TABLE form_refusals(device_id TEXT NOT NULL,"
	"  form_id TEXT NOT NULL, version TEXT NOT NULL, reason TEXT NOT NULL,"
	"  first_ms INTEGER NOT NULL, seen_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(device_id, form_id, version)) WITHOUT ROWID;"),
	/* 5: wrong coordinators' tokens per client (common/lockout.h), so
	   a restart does not reset a lock */
	("CREATE TABLE token_fails(client TEXT PRIMARY KEY,"
	"  n INTEGER NOT NULL, first_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL) WITHOUT ROWID;"),
	/* 6: PostgreSQL's arrival sequence; SQLite numbers as before */
	("SELECT 1;"),
};

/* The same schema in PostgreSQL's types: BIGINT (times are ms), BYTEA. */
static const char *const cstore_pg_migrations[] = {
	("CREATE TABLE devices(id TEXT PRIMARY KEY, serial TEXT NOT NULL,"
	"  enrolled_ms BIGINT NOT NULL, revoked_ms BIGINT NOT NULL DEFAULT 0,"
	"  last_seen_ms BIGINT NOT NULL DEFAULT 0,"
	"  acked_seq BIGINT NOT NULL DEFAULT 0,"
	"  pending BIGINT NOT NULL DEFAULT 0,"
	"  clock_offset_ms BIGINT NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE enroll_tokens(hash BYTEA PRIMARY KEY, device_id TEXT,"
	"  expires_ms BIGINT NOT NULL, used_ms BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE records(device_id TEXT NOT NULL, seq BIGINT NOT NULL,"
	"  id TEXT NOT NULL UNIQUE, form_id TEXT NOT NULL,"
	"  form_version TEXT NOT NULL, created_ms BIGINT NOT NULL,"
	"  corrected_ms BIGINT NOT NULL, clock INTEGER NOT NULL,"
	"  epoch_id BIGINT NOT NULL, epoch_pub BYTEA NOT NULL,"
	"  sealed BYTEA NOT NULL, received_ms BIGINT NOT NULL,"
	"  PRIMARY KEY(device_id, seq));"
	"CREATE TABLE refused(device_id TEXT NOT NULL, seq BIGINT NOT NULL,"
	"  id TEXT, reason TEXT NOT NULL, received_ms BIGINT NOT NULL,"
	"  PRIMARY KEY(device_id, seq));"
	"CREATE TABLE device_counts(device_id TEXT PRIMARY KEY,"
	"  taken_ms BIGINT NOT NULL, cells BYTEA NOT NULL);"),
	("CREATE TABLE bundles(bundle_id BYTEA PRIMARY KEY,"
	"  device_id TEXT NOT NULL, imported_ms BIGINT NOT NULL,"
	"  first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL);"
	"CREATE INDEX bundles_device ON bundles(device_id);"),
	("ALTER TABLE records ADD COLUMN arrival BIGINT;"
	"CREATE UNIQUE INDEX records_arrival ON records(arrival);"
	"CREATE TABLE coordinators(name TEXT PRIMARY KEY,"
	"  token_hash BYTEA NOT NULL UNIQUE, added_ms BIGINT NOT NULL);"),
	("CREATE TABLE form_refusals(device_id TEXT NOT NULL,"
	"  form_id TEXT NOT NULL, version TEXT NOT NULL, reason TEXT NOT NULL,"
	"  first_ms BIGINT NOT NULL, seen_ms BIGINT NOT NULL,"
	"  PRIMARY KEY(device_id, form_id, version));"),
	("CREATE TABLE token_fails(client TEXT PRIMARY KEY,"
	"  n BIGINT NOT NULL, first_ms BIGINT NOT NULL,"
	"  until_ms BIGINT NOT NULL);"),
	/* Arrival numbers for batches of different devices stored side by
	   side (the top of this file), after every number already used. */
	("CREATE SEQUENCE records_arrival_seq;"
	"SELECT setval('records_arrival_seq',"
	"  coalesce((SELECT max(arrival) FROM records), 0) + 1, false);"),
};
#define CSTORE_N_MIGRATIONS \
	(int)(sizeof(cstore_migrations) / sizeof(cstore_migrations[0]))

struct cstore {
	struct cdb *db;
	int64_t arrival, corrected_ms;	/* of the record being visited */
};

const char *
cstore_errmsg(struct cstore *cs)
{
	return cdb_errmsg(cs->db);
}

int
cstore_open(const char *path, struct cstore **out, char *err, size_t errlen)
{
	struct cstore *cs = calloc(1, sizeof(*cs));

	if (cs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	static const struct cdb_schema schema = { cstore_migrations,
	    cstore_pg_migrations, CSTORE_N_MIGRATIONS };

	if (cdb_open(path, "collector", 0, &schema, &cs->db, err,
	    errlen) != 0) {
		free(cs);
		return -1;
	}
	*out = cs;
	return 0;
}

void
cstore_close(struct cstore *cs)
{
	if (cs == NULL)
		return;
	cdb_close(cs->db);
	free(cs);
}

/* Steps a statement to completion and finalizes it: the rows it
   changed, or -1. */
static int64_t
cs_change(struct cdb_stmt *s)
{
	int64_t n;

	if (s == NULL)
		return -1;
	n = cdb_step(s) == CDB_DONE ? cdb_changes(s) : -1;
	cdb_finalize(s);
	return n;
}

/* The same: 0, or -1. */
static int
cs_done(struct cdb_stmt *s)
{
	return cs_change(s) < 0 ? -1 : 0;
}

/* The lock every writer of records takes shared inside its transaction
   (cdb_lock_shared), and a reader of arrival order or a copy alone
   (cdb_lock): see the top of this file. */
#define CS_WRITE_LOCK 7243051
/* The key space of the devices' own locks (cdb_lock_name). */
#define CS_DEVICE_LOCKS 7243052

static void
cs_device_row(struct cdb_stmt *s, struct cdevice *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", cdb_col_text(s, 0));
	snprintf(d->serial, sizeof(d->serial), "%s", cdb_col_text(s, 1));
	d->enrolled_ms = cdb_col_int64(s, 2);
	d->revoked_ms = cdb_col_int64(s, 3);
	d->last_seen_ms = cdb_col_int64(s, 4);
	d->acked_seq = (uint64_t)cdb_col_int64(s, 5);
	d->pending = (uint64_t)cdb_col_int64(s, 6);
	d->clock_offset_ms = cdb_col_int64(s, 7);
	snprintf(d->last_error, sizeof(d->last_error), "%s",
	    cdb_col_text(s, 8));
}

#define CS_DEVICE_COLS "id, serial, enrolled_ms, revoked_ms, last_seen_ms," \
	" acked_seq, pending, clock_offset_ms, last_error"

int
cstore_device_get(struct cstore *cs, const char *id, struct cdevice *d)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT " CS_DEVICE_COLS " FROM devices"
	    " WHERE id = ?1", "t", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW)
		cs_device_row(s, d);
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_devices(struct cstore *cs,
    int (*fn)(void *arg, const struct cdevice *d), void *arg)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT " CS_DEVICE_COLS " FROM devices"
	    " ORDER BY id", "");
	struct cdevice d;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW) {
		cs_device_row(s, &d);
		if ((ret = fn(arg, &d)) != 0)
			break;
	}
	cdb_finalize(s);
	return ret ? ret : rc == CDB_DONE ? 0 : -1;
}

int
cstore_device_enroll(struct cstore *cs, const char *id, const char *serial,
    int64_t now_ms)
{
	/* A new serial retires the device's older certificates (csrv.c);
	   enrolling again also lifts a revocation. */
	return cs_done(cdb_queryf(cs->db, "INSERT INTO devices(id, serial,"
	    " enrolled_ms) VALUES(?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET"
	    " serial = excluded.serial, enrolled_ms = excluded.enrolled_ms,"
	    " revoked_ms = 0", "tti", id, serial, now_ms));
}

int
cstore_device_revoke(struct cstore *cs, const char *id, int64_t now_ms)
{
	int64_t n = cs_change(cdb_queryf(cs->db, "UPDATE devices SET revoked_ms = ?2"
	    " WHERE id = ?1 AND revoked_ms = 0", "ti", id, now_ms));

	return n < 0 ? -1 : n > 0;
}

int
cstore_device_seen(struct cstore *cs, const char *id, int64_t now_ms,
    uint64_t pending, int64_t clock_offset_ms, const char *last_error)
{
	return cs_done(cdb_queryf(cs->db, "UPDATE devices SET last_seen_ms = ?2,"
	    " pending = ?3, clock_offset_ms = ?4, last_error = ?5 WHERE"
	    " id = ?1", "tiiit", id, now_ms, (int64_t)pending, clock_offset_ms,
	    last_error ? last_error : ""));
}

int
cstore_token_add(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t expires_ms)
{
	return cs_done(cdb_queryf(cs->db, "INSERT INTO enroll_tokens(hash, device_id,"
	    " expires_ms) VALUES(?1, ?2, ?3)", "hti", hash,
	    device_id ? device_id : "", expires_ms));
}

int
cstore_token_use(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t now_ms)
{
	/* One UPDATE that needs used_ms = 0: of two uses at once (two
	   front-ends included) one changes the row, the other nothing. */
	int64_t n = cs_change(cdb_queryf(cs->db, "UPDATE enroll_tokens SET used_ms ="
	    " ?3 WHERE hash = ?1 AND used_ms = 0 AND expires_ms > ?3 AND"
	    " (device_id = '' OR device_id = ?2)", "hti", hash, device_id,
	    now_ms));

	return n < 0 ? -1 : n > 0;
}

/* Why a record cannot be stored as it is, or NULL. */
static const char *
cs_malformed(const Field__Sync__SealedRecord *r)
{
	if (r->seq == 0)
		return "seq 0";
	if (r->id == NULL || !util_is_uuid(r->id))
		return "record id is not a UUID";
	if (r->form_id == NULL || r->form_id[0] == '\0' ||
	    strlen(r->form_id) > 64 || r->form_version == NULL ||
	    r->form_version[0] == '\0' || strlen(r->form_version) > 32)
		return "form id or version missing or too long";
	if (r->epoch_pub.len != 32)
		return "epoch key is not 32 bytes";
	if (r->sealed.len < 28 || r->sealed.len > CSTORE_SEALED_MAX)
		return "sealed payload of impossible size";
	return NULL;
}

static int
cs_seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cs_i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* A stamp made before any trusted time in this boot is corrected by the
   offset the device's hello showed; one from an earlier boot cannot be
   (-1: unknown). */
static int64_t
cs_corrected(const Field__Sync__SealedRecord *r, int64_t clock_offset_ms)
{
	return r->clock == FIELD__CLOCK_QUALITY__CLOCK_TRUSTED ? r->created_ms :
	    r->clock == FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_EARLIER_BOOT ?
	    -1 : r->created_ms + clock_offset_ms;
}

/* Binds one record's 13 columns from parameter base + 1 on. */
static void
cs_bind_record(struct cdb_stmt *ins, int base, const char *device_id,
    int64_t clock_offset_ms, const Field__Sync__SealedRecord *r,
    int64_t now_ms, int64_t arrival)
{
	int64_t corrected = cs_corrected(r, clock_offset_ms);

	cdb_bind_text(ins, base + 1, device_id);
	cdb_bind_int64(ins, base + 2, (int64_t)r->seq);
	cdb_bind_text(ins, base + 3, r->id);
	cdb_bind_text(ins, base + 4, r->form_id);
	cdb_bind_text(ins, base + 5, r->form_version);
	cdb_bind_int64(ins, base + 6, r->created_ms);
	cdb_bind_int64(ins, base + 7, corrected);
	cdb_bind_int64(ins, base + 8, (int64_t)r->clock);
	cdb_bind_int64(ins, base + 9, (int64_t)r->epoch_id);
	cdb_bind_blob(ins, base + 10, r->epoch_pub.data, 32);
	cdb_bind_blob(ins, base + 11, r->sealed.data, r->sealed.len);
	cdb_bind_int64(ins, base + 12, now_ms);
	cdb_bind_int64(ins, base + 13, arrival);
}

#define CS_INSERT_HEAD "INSERT INTO records(device_id, seq, id, form_id," \
	" form_version, created_ms, corrected_ms, clock, epoch_id," \
	" epoch_pub, sealed, received_ms, arrival) VALUES"
/* Rows of one INSERT on PostgreSQL (cs_insert_rows): a whole batch. */
#define CS_INSERT_ROWS WIRE_MAX_BATCH_RECORDS

/* Inserts one record with its arrival number: 1 stored, 0 not (a
   conflict), -1 on failure. */
static int
cs_insert(struct cdb_stmt *ins, const char *device_id,
    int64_t clock_offset_ms, const Field__Sync__SealedRecord *r,
    int64_t now_ms, int64_t arrival)
{
	int rc;

	cs_bind_record(ins, 0, device_id, clock_offset_ms, r, now_ms, arrival);
	rc = cdb_step(ins);
	cdb_reset(ins);
	if (rc != CDB_DONE)
		return -1;
	return cdb_changes(ins) > 0;
}

/*
 * A one-dimensional array in PostgreSQL's binary form (what its
 * array_recv reads), built element by element, to send a column of many
 * rows as one parameter: the header (1 dimension, no NULLs, the element
 * type), its length and lower bound, then each element as a length and
 * its bytes, integers big-endian.
 */
struct cs_pgarr {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

/* Element types (pg_type OIDs). */
#define CS_PG_BYTEA 17
#define CS_PG_INT8 20
#define CS_PG_TEXT 25

static void
cs_pgarr_put(struct cs_pgarr *a, const void *p, size_t n)
{
	if (a->failed)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		unsigned char *q;

		while (cap < a->len + n)
			cap *= 2;
		if ((q = realloc(a->p, cap)) == NULL) {
			a->failed = 1;
			return;
		}
		a->p = q;
		a->cap = cap;
	}
	memcpy(a->p + a->len, p, n);
	a->len += n;
}

static void
cs_pgarr_u32(struct cs_pgarr *a, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	cs_pgarr_put(a, b, 4);
}

static void
cs_pgarr_start(struct cs_pgarr *a, uint32_t type, size_t n)
{
	cs_pgarr_u32(a, 1);		/* dimensions */
	cs_pgarr_u32(a, 0);		/* no NULLs */
	cs_pgarr_u32(a, type);
	cs_pgarr_u32(a, (uint32_t)n);	/* length */
	cs_pgarr_u32(a, 1);		/* lower bound */
}

static void
cs_pgarr_bytes(struct cs_pgarr *a, const void *p, size_t n)
{
	cs_pgarr_u32(a, (uint32_t)n);
	cs_pgarr_put(a, p, n);
}

static void
cs_pgarr_int8(struct cs_pgarr *a, int64_t v)
{
	uint64_t u = (uint64_t)v;
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (56 - 8 * i));
	cs_pgarr_bytes(a, b, 8);
}

/* The columns sent as arrays, in the order of CS_UNNEST_SQL's. */
enum { CS_A_SEQ, CS_A_ID, CS_A_FORM, CS_A_VERSION, CS_A_CREATED,
	CS_A_CORRECTED, CS_A_CLOCK, CS_A_EPOCH, CS_A_PUB, CS_A_SEALED,
	CS_A_ARRIVAL, CS_A_N };

/* One statement whatever the number of rows: short to parse and plan,
   and each column one binary parameter. */
#define CS_UNNEST_SQL "INSERT INTO records(device_id, seq, id, form_id," \
	" form_version, created_ms, corrected_ms, clock, epoch_id," \
	" epoch_pub, sealed, received_ms, arrival) SELECT ?1::text, u.seq," \
	" u.id, u.form_id, u.form_version, u.created_ms, u.corrected_ms," \
	" u.clock, u.epoch_id, u.epoch_pub, u.sealed, ?2::bigint, u.arrival" \
	" FROM unnest(?3::bigint[], ?4::text[], ?5::text[], ?6::text[]," \
	" ?7::bigint[], ?8::bigint[], ?9::bigint[], ?10::bigint[], ?11::bytea[]," \
	" ?12::bytea[], ?13::bigint[]) AS u(seq, id, form_id, form_version," \
	" created_ms, corrected_ms, clock, epoch_id, epoch_pub, sealed," \
	" arrival) ON CONFLICT DO NOTHING RETURNING seq, id"

/*
 * PostgreSQL: the records recs[idx[0..k)] in one INSERT (a round trip,
 * a parse and a plan for k records instead of k), each with its arrival
 * number, the columns as arrays; stored[idx[j]] is set for each row the
 * INSERT stored (RETURNING names them: conflicts are left out).  0 or -1.
 */
static int
cs_insert_rows(struct cstore *cs, const char *device_id,
    int64_t clock_offset_ms, const Field__Sync__SealedRecord *recs,
    const size_t *idx, const int64_t *arrivals, size_t k, int64_t now_ms,
    unsigned char *stored)
{
	static const uint32_t types[CS_A_N] = { CS_PG_INT8, CS_PG_TEXT,
	    CS_PG_TEXT, CS_PG_TEXT, CS_PG_INT8, CS_PG_INT8, CS_PG_INT8,
	    CS_PG_INT8, CS_PG_BYTEA, CS_PG_BYTEA, CS_PG_INT8 };
	struct cs_pgarr a[CS_A_N];
	struct cdb_stmt *s = NULL;
	int rc = -1, failed = 0;

	memset(a, 0, sizeof(a));
	for (int c = 0; c < CS_A_N; c++)
		cs_pgarr_start(&a[c], types[c], k);
	for (size_t j = 0; j < k; j++) {
		const Field__Sync__SealedRecord *r = &recs[idx[j]];

		cs_pgarr_int8(&a[CS_A_SEQ], (int64_t)r->seq);
		cs_pgarr_bytes(&a[CS_A_ID], r->id, strlen(r->id));
		cs_pgarr_bytes(&a[CS_A_FORM], r->form_id, strlen(r->form_id));
		cs_pgarr_bytes(&a[CS_A_VERSION], r->form_version,
		    strlen(r->form_version));
		cs_pgarr_int8(&a[CS_A_CREATED], r->created_ms);
		cs_pgarr_int8(&a[CS_A_CORRECTED], cs_corrected(r,
		    clock_offset_ms));
		cs_pgarr_int8(&a[CS_A_CLOCK], (int64_t)r->clock);
		cs_pgarr_int8(&a[CS_A_EPOCH], (int64_t)r->epoch_id);
		cs_pgarr_bytes(&a[CS_A_PUB], r->epoch_pub.data, 32);
		cs_pgarr_bytes(&a[CS_A_SEALED], r->sealed.data, r->sealed.len);
		cs_pgarr_int8(&a[CS_A_ARRIVAL], arrivals[j]);
	}
	for (int c = 0; c < CS_A_N; c++)
		failed |= a[c].failed;
	if (failed || (s = cdb_prepare(cs->db, CS_UNNEST_SQL)) == NULL)
		goto out;
	cdb_bind_text(s, 1, device_id);
	cdb_bind_int64(s, 2, now_ms);
	for (int c = 0; c < CS_A_N; c++)
		cdb_bind_blob(s, 3 + c, a[c].p, a[c].len);
	while ((rc = cdb_step(s)) == CDB_ROW) {
		uint64_t seq = (uint64_t)cdb_col_int64(s, 0);
		const char *id = cdb_col_text(s, 1);

		/* The row of this batch with that (seq, id) not yet taken
		   (a seq twice in one batch: only one of them is stored). */
		for (size_t j = 0; j < k; j++)
			if (!stored[idx[j]] && recs[idx[j]].seq == seq &&
			    strcmp(recs[idx[j]].id, id) == 0) {
				stored[idx[j]] = 1;
				break;
			}
	}
	rc = rc == CDB_DONE ? 0 : -1;
out:
	cdb_finalize(s);
	for (int c = 0; c < CS_A_N; c++)
		free(a[c].p);
	return rc;
}

int
cstore_ingest(struct cstore *cs, const char *device_id,
    int64_t clock_offset_ms, Field__Sync__SealedRecord *const *recs,
    size_t n, int64_t now_ms, uint64_t *acked,
    void (*refused)(void *arg, uint64_t seq, const char *reason), void *arg)
{
	struct cdb_stmt *ins = NULL, *ref = NULL, *owner = NULL, *have = NULL;
	Field__Sync__SealedRecord *view = NULL;
	struct cdevice d;
	uint64_t mark, *held = NULL;
	size_t nheld = 0, h = 0, *idx = NULL, nidx = 0;
	int64_t arrival = 0, *arrivals = NULL;
	size_t narrivals = 0, nabove = 0;
	char (*ids)[37] = NULL;
	unsigned char *stored = NULL;
	int rc = -1, pg = cdb_engine(cs->db) == CDB_PG;
	/* Inside a caller's cstore_begin, the caller commits or rolls back. */
	int own = !cdb_in_tx(cs->db);

	if (own && cdb_begin(cs->db) != 0)
		return -1;
	/* PostgreSQL: batches of one device take turns, whichever
	   front-end they reach, so a device's watermark is read after its
	   batch before committed; other devices' batches go on (the top of
	   this file).  The shared lock comes before any arrival number. */
	if (cdb_lock_shared(cs->db, CS_WRITE_LOCK) != 0 ||
	    cdb_lock_name(cs->db, CS_DEVICE_LOCKS, device_id) != 0)
		goto out;
	if (cstore_device_get(cs, device_id, &d) != 1)
		goto out;
	mark = d.acked_seq;
	/* The seqs this batch stored, found stored or set aside: the
	   watermark moves over them without asking the database again. */
	if ((held = malloc((n ? n : 1) * sizeof(*held))) == NULL ||
	    (view = calloc(n ? n : 1, sizeof(*view))) == NULL ||
	    (ids = malloc((n ? n : 1) * sizeof(*ids))) == NULL ||
	    (stored = calloc(n ? n : 1, 1)) == NULL ||
	    (idx = malloc((n ? n : 1) * sizeof(*idx))) == NULL)
		goto out;
	/* Each record as it is meant: a batch on the wire leaves out the
	   form, version and epoch a record shares with the one before it
	   (outbox.h), and may carry its id as 16 bytes. */
	for (size_t i = 0; i < n; i++) {
		view[i] = *recs[i];
		if ((view[i].id == NULL || view[i].id[0] == '\0') &&
		    view[i].id_bytes.len == 16) {
			util_uuid_unpack(view[i].id_bytes.data, ids[i]);
			view[i].id = ids[i];
		}
		/* From the one before, stored already or not. */
		if (i > 0) {
			const Field__Sync__SealedRecord *p = &view[i - 1];

			if (view[i].form_id == NULL ||
			    view[i].form_id[0] == '\0')
				view[i].form_id = p->form_id;
			if (view[i].form_version == NULL ||
			    view[i].form_version[0] == '\0')
				view[i].form_version = p->form_version;
			if (view[i].epoch_pub.len == 0) {
				view[i].epoch_pub = p->epoch_pub;
				if (view[i].epoch_id == 0)
					view[i].epoch_id = p->epoch_id;
			}
		}
		nabove += view[i].seq > mark;
	}
	if (!pg) {
		/* Arrival numbers: after the highest, in the order stored
		   (the write transaction makes this batch the only writer). */
		ins = cdb_queryf(cs->db, "SELECT coalesce(max(arrival), 0) FROM"
		    " records", "");
		if (ins == NULL || cdb_step(ins) != CDB_ROW)
			goto out;
		arrival = cdb_col_int64(ins, 0);
		cdb_finalize(ins);
		ins = NULL;
	} else if (nabove > 0) {
		/* A block from the sequence, one round trip for the batch;
		   rising, not necessarily contiguous. */
		if ((arrivals = malloc(nabove * sizeof(*arrivals))) == NULL)
			goto out;
		ins = cdb_queryf(cs->db, "SELECT nextval('records_arrival_seq')"
		    " FROM generate_series(1, ?1)", "i", (int64_t)nabove);
		if (ins == NULL)
			goto out;
		while (narrivals < nabove && cdb_step(ins) == CDB_ROW)
			arrivals[narrivals++] = cdb_col_int64(ins, 0);
		cdb_finalize(ins);
		ins = NULL;
		if (narrivals != nabove)
			goto out;
		qsort(arrivals, narrivals, sizeof(*arrivals), cs_i64_cmp);
		/* PostgreSQL: every record to store in INSERTs of many rows,
		   in batch order with rising arrival numbers; what they did
		   not store is looked at one by one below, as on SQLite. */
		for (size_t i = 0; i < n; i++)
			if (view[i].seq > mark && cs_malformed(&view[i]) == NULL)
				idx[nidx++] = i;
		for (size_t j = 0; j < nidx; j += CS_INSERT_ROWS) {
			size_t k = nidx - j < CS_INSERT_ROWS ? nidx - j :
			    CS_INSERT_ROWS;

			if (cs_insert_rows(cs, device_id, clock_offset_ms, view,
			    idx + j, arrivals + j, k, now_ms, stored) != 0)
				goto out;
		}
	}
	/* Any conflict -- this (device, seq), or this id under another --
	   inserts nothing; only then is it worth asking which. */
	ins = pg ? NULL : cdb_queryf(cs->db, CS_INSERT_HEAD "(?1,?2,?3,?4,?5,"
	    "?6,?7,?8,?9,?10,?11,?12,?13) ON CONFLICT DO NOTHING", "");
	ref = cdb_queryf(cs->db, "INSERT INTO refused(device_id, seq, id, reason,"
	    " received_ms) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	    "");
	owner = cdb_queryf(cs->db, "SELECT device_id, seq FROM records WHERE id = ?1",
	    "");
	have = cdb_queryf(cs->db, "SELECT 1 FROM records WHERE device_id = ?1 AND"
	    " seq = ?2 UNION ALL SELECT 1 FROM refused WHERE device_id = ?1"
	    " AND seq = ?2", "");
	if ((!pg && !ins) || !ref || !owner || !have)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const Field__Sync__SealedRecord *r = &view[i];
		const char *why = cs_malformed(r);
		char reason[160];

		if (r->seq <= mark)
			continue;	/* durable already */
		if (why == NULL) {
			/* The number is used up even when nothing is inserted:
			   arrivals rise, with gaps, which records_since allows. */
			int got = pg ? stored[i] : cs_insert(ins, device_id,
			    clock_offset_ms, r, now_ms, ++arrival);

			if (got < 0) {
				rc = -1;
				goto out;
			}
			held[nheld++] = r->seq;
			if (got)
				continue;
			/* Stored before, or its id is another record's.  The
			   same (device, seq) is taken as this record without
			   comparing ids: a device never reuses a seq. */
			cdb_bind_text(owner, 1, r->id);
			if ((rc = cdb_step(owner)) == CDB_ROW &&
			    (strcmp(cdb_col_text(owner, 0), device_id) != 0 ||
			    (uint64_t)cdb_col_int64(owner, 1) != r->seq)) {
				snprintf(reason, sizeof(reason), "record id "
				    "already stored as %.64s seq %lld",
				    cdb_col_text(owner, 0),
				    (long long)cdb_col_int64(owner, 1));
				why = reason;
				nheld--;
			}
			cdb_reset(owner);
			/* Neither the id nor the (device, seq) is there: the
			   insert met something else (an arrival number a
			   front-end of an older version took).  Never count
			   such a record as held: the batch fails, and the
			   device sends it again. */
			if (rc == CDB_DONE) {
				cdb_bind_text(have, 1, device_id);
				cdb_bind_int64(have, 2, (int64_t)r->seq);
				rc = cdb_step(have);
				cdb_reset(have);
				if (rc != CDB_ROW) {
					rc = -1;
					goto out;
				}
			}
			if (why == NULL)
				continue;
		}
		if (why) {
			cdb_bind_text(ref, 1, device_id);
			cdb_bind_int64(ref, 2, (int64_t)r->seq);
			cdb_bind_text(ref, 3, r->id);
			cdb_bind_text(ref, 4, why);
			cdb_bind_int64(ref, 5, now_ms);
			rc = cdb_step(ref);
			cdb_reset(ref);
			if (rc != CDB_DONE) {
				rc = -1;
				goto out;
			}
			held[nheld++] = r->seq;
			if (refused)
				refused(arg, r->seq, why);
		}
	}
	/* The watermark covers every contiguous seq stored or set aside:
	   this batch's first, then any the database holds beyond them. */
	qsort(held, nheld, sizeof(*held), cs_seq_cmp);
	for (h = 0; h < nheld && held[h] <= mark + 1; h++)
		if (held[h] == mark + 1)
			mark++;
	for (;;) {
		cdb_bind_text(have, 1, device_id);
		cdb_bind_int64(have, 2, (int64_t)(mark + 1));
		rc = cdb_step(have);
		cdb_reset(have);
		if (rc != CDB_ROW)
			break;
		mark++;
	}
	if (rc != CDB_DONE) {
		rc = -1;
		goto out;
	}
	/* In the records' transaction: the watermark can never cover a
	   record that did not commit. */
	if (cs_done(cdb_queryf(cs->db, "UPDATE devices SET acked_seq = ?2 WHERE"
	    " id = ?1", "ti", device_id, (int64_t)mark)) != 0 ||
	    (own && cdb_commit(cs->db) != 0)) {
		rc = -1;
		goto out;
	}
	*acked = mark;
	rc = 0;
out:
	free(held);
	free(arrivals);
	free(view);
	free(ids);
	free(stored);
	free(idx);
	cdb_finalize(ins);
	cdb_finalize(ref);
	cdb_finalize(owner);
	cdb_finalize(have);
	if (rc != 0 && own)
		cdb_rollback(cs->db);
	return rc;
}

/* 1 when cell's (form, place) is one of the n pairs of cells in v. */
static int
counts_place_in(const Field__Sync__CountCell *cell,
    Field__Sync__CountCell *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->place, cell->place) == 0 &&
		    strcmp(v[i]->form_id, cell->form_id) == 0)
			return 1;
	return 0;
}

/*
 * A partial snapshot replaces the places it carries in the one held:
 * the held cells of other places are kept, in front of the new ones.
 * *merged is then a snapshot borrowing cells from both (free only its
 * cells array), or snap itself when nothing is held.
 */
static int
counts_merge(struct cstore *cs, const char *device_id,
    const Field__Sync__CountsSnapshot *snap,
    Field__Sync__CountsSnapshot **held, Field__Sync__CountsSnapshot *merged)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT cells FROM device_counts WHERE"
	    " device_id = ?1", "t", device_id);
	Field__Sync__CountCell **distinct = NULL;
	size_t nd = 0;
	int rc;

	*held = NULL;
	*merged = *snap;
	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW) {
		size_t n;
		const void *p = cdb_col_blob(s, 0, &n);

		*held = p ? field__sync__counts_snapshot__unpack(NULL, n, p) :
		    NULL;
	}
	cdb_finalize(s);
	if (rc != CDB_ROW)
		return rc == CDB_DONE ? 0 : -1;
	if (*held == NULL)
		return 0;	/* unreadable: the new one replaces it */
	merged->cells = calloc((*held)->n_cells + snap->n_cells + 1,
	    sizeof(*merged->cells));
	distinct = calloc(snap->n_cells + 1, sizeof(*distinct));
	if (merged->cells == NULL || distinct == NULL) {
		free(merged->cells);
		free(distinct);
		field__sync__counts_snapshot__free_unpacked(*held, NULL);
		*held = NULL;
		return -1;
	}
	for (size_t i = 0; i < snap->n_cells; i++)
		if (!counts_place_in(snap->cells[i], distinct, nd))
			distinct[nd++] = snap->cells[i];
	merged->n_cells = 0;
	for (size_t i = 0; i < (*held)->n_cells; i++)
		if (!counts_place_in((*held)->cells[i], distinct, nd))
			merged->cells[merged->n_cells++] = (*held)->cells[i];
	for (size_t i = 0; i < snap->n_cells; i++)
		merged->cells[merged->n_cells++] = snap->cells[i];
	merged->partial = 0;
	free(distinct);
	return 0;
}

int
cstore_counts_put(struct cstore *cs, const char *device_id,
    const Field__Sync__CountsSnapshot *snap)
{
	Field__Sync__CountsSnapshot *held = NULL, merged;
	unsigned char *buf;
	struct cdb_stmt *s;
	size_t len;
	int rc;

	if (!snap->partial)
		merged = *snap;
	else if (counts_merge(cs, device_id, snap, &held, &merged) != 0)
		return -1;
	len = field__sync__counts_snapshot__get_packed_size(&merged);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		rc = -1;
		goto out;
	}
	field__sync__counts_snapshot__pack(&merged, buf);
	s = cdb_queryf(cs->db, "INSERT INTO device_counts(device_id, taken_ms, cells)"
	    " VALUES(?1, ?2, ?3) ON CONFLICT(device_id) DO UPDATE SET"
	    " taken_ms = excluded.taken_ms, cells = excluded.cells", "ti",
	    device_id, snap->taken_ms);
	if (s)
		cdb_bind_blob(s, 3, buf, len);
	rc = cs_done(s);
	free(buf);
out:
	if (merged.cells != snap->cells)
		free(merged.cells);
	if (held)
		field__sync__counts_snapshot__free_unpacked(held, NULL);
	return rc;
}

int
cstore_record_times(struct cstore *cs, const char *device_id, uint64_t seq,
    int64_t *created_ms, int64_t *corrected_ms)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT created_ms, corrected_ms FROM"
	    " records WHERE device_id = ?1 AND seq = ?2", "ti", device_id,
	    (int64_t)seq);
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW) {
		*created_ms = cdb_col_int64(s, 0);
		*corrected_ms = cdb_col_int64(s, 1);
	}
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_each_record(struct cstore *cs,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	return cstore_records_since(cs, -1, fn, arg);
}

#define CS_RECORD_COLS "SELECT device_id, seq, id, form_id, form_version," \
	" created_ms, clock, epoch_id, epoch_pub, sealed, arrival," \
	" corrected_ms FROM records "

/* Rows a page of a scan holds: PostgreSQL fetches a whole result. */
#define CS_PAGE 1000

/* Calls fn for each row of s (CS_RECORD_COLS) and finalizes s; *rows is
   how many there were (the page was full when it equals CS_PAGE), last_dev
   and *last_seq the last row's.  fn's non-zero return stops it. */
static int
cs_records(struct cstore *cs, struct cdb_stmt *s,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg, int *rows,
    char last_dev[CSTORE_DEVICE_MAX + 1], int64_t *last_seq)
{
	int rc, ret = 0;

	*rows = 0;
	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW) {
		Field__Sync__SealedRecord r = FIELD__SYNC__SEALED_RECORD__INIT;
		size_t n;

		r.seq = (uint64_t)cdb_col_int64(s, 1);
		r.id = (char *)cdb_col_text(s, 2);
		r.form_id = (char *)cdb_col_text(s, 3);
		r.form_version = (char *)cdb_col_text(s, 4);
		r.created_ms = cdb_col_int64(s, 5);
		r.clock = (Field__ClockQuality)cdb_col_int64(s, 6);
		r.epoch_id = (uint64_t)cdb_col_int64(s, 7);
		r.epoch_pub.data = (uint8_t *)cdb_col_blob(s, 8, &n);
		r.epoch_pub.len = n;
		r.sealed.data = (uint8_t *)cdb_col_blob(s, 9, &n);
		r.sealed.len = n;
		if (r.epoch_pub.data == NULL || r.sealed.data == NULL) {
			rc = -1;
			break;
		}
		cs->arrival = cdb_col_int64(s, 10);
		cs->corrected_ms = cdb_col_int64(s, 11);
		snprintf(last_dev, CSTORE_DEVICE_MAX + 1, "%s",
		    cdb_col_text(s, 0));
		*last_seq = (int64_t)r.seq;
		(*rows)++;
		if ((ret = fn(arg, last_dev, &r)) != 0)
			break;
	}
	cdb_finalize(s);
	return ret ? ret : rc == CDB_DONE ? 0 : -1;
}

/*
 * PostgreSQL: the highest arrival number below which nothing more will
 * commit (the top of this file): taken with CS_WRITE_LOCK alone, which
 * waits for every batch in flight and is let go at once.  SQLite: no
 * limit, its writers commit in arrival order.
 */
static int
cs_arrival_horizon(struct cstore *cs, int64_t *horizon)
{
	struct cdb_stmt *s;
	int own = !cdb_in_tx(cs->db), rc = -1;

	*horizon = INT64_MAX;
	if (cdb_engine(cs->db) != CDB_PG)
		return 0;
	if (own && cdb_begin(cs->db) != 0)
		return -1;
	if (cdb_lock(cs->db, CS_WRITE_LOCK) == 0 &&
	    (s = cdb_queryf(cs->db, "SELECT coalesce(max(arrival), 0) FROM"
	    " records", "")) != NULL) {
		if (cdb_step(s) == CDB_ROW) {
			*horizon = cdb_col_int64(s, 0);
			rc = 0;
		}
		cdb_finalize(s);
	}
	/* Nothing was written: ending it lets the lock go. */
	if (own)
		cdb_rollback(cs->db);
	return rc;
}

int
cstore_records_since(struct cstore *cs, int64_t arrival,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	char dev[CSTORE_DEVICE_MAX + 1] = "";
	int64_t seq = 0, horizon = INT64_MAX;
	int rows, rc;

	if (arrival >= 0 && cs_arrival_horizon(cs, &horizon) != 0)
		return -1;

	/* Page by page, so neither engine holds a whole scan, and fn may
	   use the store between rows. */
	do {
		struct cdb_stmt *s = arrival < 0 ?
		    cdb_queryf(cs->db, CS_RECORD_COLS "WHERE (device_id, seq) >"
		    " (?1, ?2) ORDER BY device_id, seq LIMIT ?3", "tii", dev,
		    seq, (int64_t)CS_PAGE) :
		    cdb_queryf(cs->db, CS_RECORD_COLS "WHERE arrival > ?1 AND"
		    " arrival <= ?3 ORDER BY arrival LIMIT ?2", "iii", arrival,
		    (int64_t)CS_PAGE, horizon);

		rc = cs_records(cs, s, fn, arg, &rows, dev, &seq);
		if (arrival >= 0 && rows > 0)
			arrival = cs->arrival;
	} while (rc == 0 && rows == CS_PAGE);
	return rc;
}

int
cstore_record_one(struct cstore *cs, const char *device_id, uint64_t seq,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	char dev[CSTORE_DEVICE_MAX + 1];
	int64_t last;
	int rows;

	return cs_records(cs, cdb_queryf(cs->db, CS_RECORD_COLS "WHERE device_id = ?1"
	    " AND seq = ?2", "ti", device_id, (int64_t)seq), fn, arg, &rows,
	    dev, &last);
}

int64_t
cstore_cur_arrival(struct cstore *cs, int64_t *corrected_ms)
{
	if (corrected_ms)
		*corrected_ms = cs->corrected_ms;
	return cs->arrival;
}

int
cstore_begin(struct cstore *cs)
{
	return cdb_begin(cs->db);
}

int
cstore_commit(struct cstore *cs)
{
	return cdb_commit(cs->db);
}

void
cstore_rollback(struct cstore *cs)
{
	cdb_rollback(cs->db);
}

/* Prepares sql with ?1 bound to a bundle id. */
static struct cdb_stmt *
cs_bundle_stmt(struct cstore *cs, const char *sql,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN])
{
	struct cdb_stmt *s = cdb_queryf(cs->db, sql, "");

	if (s != NULL)
		cdb_bind_blob(s, 1, id, CSTORE_BUNDLE_ID_LEN);
	return s;
}

int
cstore_bundle_seen(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], int64_t *imported_ms)
{
	struct cdb_stmt *s = cs_bundle_stmt(cs, "SELECT imported_ms FROM bundles"
	    " WHERE bundle_id = ?1", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW && imported_ms != NULL)
		*imported_ms = cdb_col_int64(s, 0);
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_bundle_add(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], const char *device_id,
    int64_t now_ms, uint64_t first_seq, uint64_t last_seq)
{
	struct cdb_stmt *s = cs_bundle_stmt(cs, "INSERT INTO bundles(bundle_id,"
	    " device_id, imported_ms, first_seq, last_seq) VALUES(?1, ?2, ?3,"
	    " ?4, ?5)", id);

	if (s != NULL) {
		cdb_bind_text(s, 2, device_id);
		cdb_bind_int64(s, 3, now_ms);
		cdb_bind_int64(s, 4, (int64_t)first_seq);
		cdb_bind_int64(s, 5, (int64_t)last_seq);
	}
	return cs_done(s);
}

int
cstore_bundle_last(struct cstore *cs, const char *device_id,
    unsigned char id[CSTORE_BUNDLE_ID_LEN])
{
	/* A device's bundles carry rising seqs: the last one imported
	   reaches furthest. */
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT bundle_id FROM bundles WHERE"
	    " device_id = ?1 ORDER BY last_seq DESC, imported_ms DESC LIMIT 1",
	    "t", device_id);
	const void *p;
	size_t n;
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW) {
		if ((p = cdb_col_blob(s, 0, &n)) == NULL ||
		    n != CSTORE_BUNDLE_ID_LEN)
			rc = -1;
		else
			memcpy(id, p, CSTORE_BUNDLE_ID_LEN);
	}
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_held_above(struct cstore *cs, const char *device_id, uint64_t after,
    uint64_t (*ranges)[2], size_t max, size_t *n)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT seq FROM records WHERE"
	    " device_id = ?1 AND seq > ?2 UNION SELECT seq FROM refused WHERE"
	    " device_id = ?1 AND seq > ?2 ORDER BY 1 LIMIT ?3", "tii",
	    device_id, (int64_t)after, (int64_t)CSTORE_HELD_ROWS);
	int rc;

	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW) {
		uint64_t seq = (uint64_t)cdb_col_int64(s, 0);

		if (*n > 0 && ranges[*n - 1][1] + 1 == seq)
			ranges[*n - 1][1] = seq;
		else if (*n < max) {
			ranges[*n][0] = seq - 1;
			ranges[(*n)++][1] = seq;
		} else
			break;
	}
	cdb_finalize(s);
	return rc == CDB_ROW || rc == CDB_DONE ? 0 : -1;
}

int
cstore_record_count(struct cstore *cs, const char *device_id, uint64_t *n)
{
	struct cdb_stmt *s = device_id != NULL ?
	    cdb_queryf(cs->db, "SELECT count(*) FROM records WHERE device_id = ?1",
	    "t", device_id) : cdb_queryf(cs->db, "SELECT count(*) FROM records", "");
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW)
		*n = (uint64_t)cdb_col_int64(s, 0);
	cdb_finalize(s);
	return rc == CDB_ROW ? 0 : -1;
}

int
cstore_counts_taken(struct cstore *cs, const char *device_id,
    int64_t *taken_ms)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT taken_ms FROM device_counts"
	    " WHERE device_id = ?1", "t", device_id);
	int rc;

	if (s == NULL)
		return -1;
	rc = cdb_step(s);
	if (rc == CDB_ROW)
		*taken_ms = cdb_col_int64(s, 0);
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_coordinator_add(struct cstore *cs, const char *name,
    const unsigned char hash[32], int64_t now_ms)
{
	/* Nothing inserted: the name is taken. */
	int64_t n = cs_change(cdb_queryf(cs->db, "INSERT INTO coordinators(name,"
	    " token_hash, added_ms) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING",
	    "thi", name, hash, now_ms));

	return n < 0 ? -1 : n == 0;
}

int
cstore_coordinator_remove(struct cstore *cs, const char *name)
{
	int64_t n = cs_change(cdb_queryf(cs->db, "DELETE FROM coordinators WHERE"
	    " name = ?1", "t", name));

	return n < 0 ? -1 : n > 0;
}

int
cstore_coordinator_find(struct cstore *cs, const unsigned char hash[32],
    char *name, size_t namelen)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT name FROM coordinators WHERE"
	    " token_hash = ?1", "h", hash);
	int rc;

	if (s == NULL)
		return -1;
	if ((rc = cdb_step(s)) == CDB_ROW)
		snprintf(name, namelen, "%s", cdb_col_text(s, 0));
	cdb_finalize(s);
	return rc == CDB_ROW ? 1 : rc == CDB_DONE ? 0 : -1;
}

int
cstore_coordinators(struct cstore *cs,
    int (*fn)(void *arg, const char *name, int64_t added_ms), void *arg)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT name, added_ms FROM coordinators"
	    " ORDER BY name", "");
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW &&
	    (ret = fn(arg, cdb_col_text(s, 0),
	    cdb_col_int64(s, 1))) == 0)
		;
	cdb_finalize(s);
	return ret ? ret : rc == CDB_DONE || rc == CDB_ROW ? 0 : -1;
}

/* A device's words are kept to this many bytes. */
#define CSTORE_FORM_REASON_MAX 300

/*
 * A device's refusals are replaced by what its latest hello lists: the
 * ones it lists again keep the time they were first seen, the others
 * (taken since, by a newer build) go.  One transaction, so `form list`
 * never shows half a hello.
 */
int
cstore_form_refusals_set(struct cstore *cs, const char *device_id,
    Field__Sync__FormRefusal *const *r, size_t n, int64_t now_ms)
{
	int rc = 0;

	if (cstore_begin(cs) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char reason[CSTORE_FORM_REASON_MAX + 1];

		snprintf(reason, sizeof(reason), "%s", r[i]->reason);
		rc = cs_change(cdb_queryf(cs->db, "INSERT INTO form_refusals("
		    "device_id, form_id, version, reason, first_ms, seen_ms)"
		    " VALUES(?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(device_id,"
		    " form_id, version) DO UPDATE SET reason = excluded.reason,"
		    " seen_ms = excluded.seen_ms", "tttti", device_id,
		    r[i]->form_id, r[i]->version, reason, now_ms)) < 0 ? -1 : 0;
	}
	if (rc == 0)
		rc = cs_change(cdb_queryf(cs->db, "DELETE FROM form_refusals"
		    " WHERE device_id = ?1 AND seen_ms < ?2", "ti", device_id,
		    now_ms)) < 0 ? -1 : 0;
	if (rc != 0) {
		cstore_rollback(cs);
		return -1;
	}
	return cstore_commit(cs);
}

int
cstore_form_refusals(struct cstore *cs,
    void (*fn)(void *arg, const char *device_id, const char *form_id,
    const char *version, const char *reason, int64_t first_ms), void *arg)
{
	struct cdb_stmt *s = cdb_queryf(cs->db, "SELECT device_id, form_id,"
	    " version, reason, first_ms FROM form_refusals ORDER BY form_id,"
	    " version, device_id", "");
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW)
		fn(arg, cdb_col_text(s, 0), cdb_col_text(s, 1),
		    cdb_col_text(s, 2), cdb_col_text(s, 3), cdb_col_int64(s, 4));
	cdb_finalize(s);
	return rc == CDB_DONE ? 0 : -1;
}

/*
 * Copying a store (collectctl migrate-store).  Each table with its
 * columns, their kinds ('t' text, 'i' integer, 'b' blob) and what a row
 * already in the destination gets: rows keyed the same are left alone
 * when they never change (records, refusals, bundles), else replaced by
 * the source's, so a second run after the first brings what changed in
 * between.
 */
static const struct cs_table {
	const char *name, *cols, *kinds, *key, *update;
} cs_tables[] = {
	{ "devices", "id, serial, enrolled_ms, revoked_ms, last_seen_ms,"
	    " acked_seq, pending, clock_offset_ms, last_error", "ttiiiiiit",
	    "id", "serial = excluded.serial, enrolled_ms = excluded.enrolled_ms,"
	    " revoked_ms = excluded.revoked_ms, last_seen_ms ="
	    " excluded.last_seen_ms, acked_seq = excluded.acked_seq, pending ="
	    " excluded.pending, clock_offset_ms = excluded.clock_offset_ms,"
	    " last_error = excluded.last_error" },
	{ "enroll_tokens", "hash, device_id, expires_ms, used_ms", "btii",
	    "hash", "used_ms = excluded.used_ms" },
	{ "records", "device_id, seq, id, form_id, form_version, created_ms,"
	    " corrected_ms, clock, epoch_id, epoch_pub, sealed, received_ms,"
	    " arrival", "titttiiiibbii", "device_id, seq", NULL },
	{ "refused", "device_id, seq, id, reason, received_ms", "titti",
	    "device_id, seq", NULL },
	{ "device_counts", "device_id, taken_ms, cells", "tib", "device_id",
	    "taken_ms = excluded.taken_ms, cells = excluded.cells" },
	{ "bundles", "bundle_id, device_id, imported_ms, first_seq, last_seq",
	    "btiii", "bundle_id", NULL },
	{ "coordinators", "name, token_hash, added_ms", "tbi", "name",
	    "token_hash = excluded.token_hash, added_ms = excluded.added_ms" },
	{ "form_refusals", "device_id, form_id, version, reason, first_ms,"
	    " seen_ms", "ttttii", "device_id, form_id, version",
	    "reason = excluded.reason, seen_ms = excluded.seen_ms" },
};

/* Copies one table in one pass; *rows counts what was read. */
static int
cs_copy_table(struct cstore *from, struct cstore *to,
    const struct cs_table *t, uint64_t *rows, char *err, size_t errlen)
{
	char sql[1024], marks[128] = "";
	struct cdb_stmt *r, *w;
	size_t n = strlen(t->kinds);
	int rc;

	for (size_t i = 0; i < n; i++)
		snprintf(marks + strlen(marks), sizeof(marks) - strlen(marks),
		    "%s?%zu", i ? ", " : "", i + 1);
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s", t->cols, t->name);
	r = cdb_prepare(from->db, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO %s(%s) VALUES(%s) ON CONFLICT"
	    "(%s) DO %s%s", t->name, t->cols, marks, t->key,
	    t->update ? "UPDATE SET " : "NOTHING", t->update ? t->update : "");
	w = cdb_prepare(to->db, sql);
	if (r == NULL || w == NULL) {
		snprintf(err, errlen, "%s: %s", t->name, cdb_errmsg(r ?
		    to->db : from->db));
		cdb_finalize(r);
		cdb_finalize(w);
		return -1;
	}
	while ((rc = cdb_step(r)) == CDB_ROW) {
		for (size_t i = 0; i < n; i++) {
			const void *p;
			size_t len;

			if (cdb_col_null(r, (int)i))
				cdb_bind_null(w, (int)i + 1);
			else if (t->kinds[i] == 'i')
				cdb_bind_int64(w, (int)i + 1,
				    cdb_col_int64(r, (int)i));
			else if (t->kinds[i] == 't')
				cdb_bind_text(w, (int)i + 1,
				    cdb_col_text(r, (int)i));
			else if ((p = cdb_col_blob(r, (int)i, &len)) != NULL)
				cdb_bind_blob(w, (int)i + 1, p, len);
		}
		if (cdb_step(w) != CDB_DONE) {
			snprintf(err, errlen, "%s: %s", t->name,
			    cdb_errmsg(to->db));
			rc = -1;
			break;
		}
		cdb_reset(w);
		(*rows)++;
	}
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "%s: %s", t->name, cdb_errmsg(from->db));
	cdb_finalize(r);
	cdb_finalize(w);
	return rc == CDB_DONE ? 0 : -1;
}

int
cstore_copy(struct cstore *from, struct cstore *to, uint64_t *rows,
    char *err, size_t errlen)
{
	err[0] = '\0';
	*rows = 0;
	/* The source: a snapshot to read (SQLite: a deferred transaction,
	   so a collectord still running there goes on writing). */
	if (cdb_exec(from->db, "BEGIN") != 0 || cdb_begin(to->db) != 0) {
		snprintf(err, errlen, "cannot begin: %s", cdb_errmsg(to->db));
		goto fail;
	}
	/* PostgreSQL: no ingest by a front-end while the copy runs. */
	if (cdb_lock(to->db, CS_WRITE_LOCK) != 0) {
		snprintf(err, errlen, "%s", cdb_errmsg(to->db));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(cs_tables) / sizeof(cs_tables[0]); i++)
		if (cs_copy_table(from, to, &cs_tables[i], rows, err,
		    errlen) != 0)
			goto fail;
	/* PostgreSQL: the arrival sequence past every number copied, or a
	   later record would meet one (the insert would do nothing). */
	if (cdb_engine(to->db) == CDB_PG && cdb_exec(to->db, "SELECT setval("
	    "'records_arrival_seq', greatest(coalesce((SELECT max(arrival)"
	    " FROM records), 0), (SELECT last_value FROM records_arrival_seq)))")
	    != 0) {
		snprintf(err, errlen, "arrival numbers: %s", cdb_errmsg(to->db));
		goto fail;
	}
	if (cdb_commit(to->db) != 0) {
		snprintf(err, errlen, "commit: %s", cdb_errmsg(to->db));
		goto fail;
	}
	cdb_rollback(from->db);
	return 0;
fail:
	cdb_rollback(to->db);
	cdb_rollback(from->db);
	return -1;
}

int
cstore_token_fails_put(struct cstore *cs, const char *client,
    const struct lockout_entry *e)
{
	int64_t n = cs_change(cdb_queryf(cs->db, "INSERT INTO token_fails("
	    "client, n, first_ms, until_ms) VALUES(?1, ?2, ?3, ?4) ON CONFLICT"
	    "(client) DO UPDATE SET n = excluded.n, first_ms ="
	    " excluded.first_ms, until_ms = excluded.until_ms", "tiii", client,
	    (int64_t)e->n, e->first_ms, e->until_ms));

	return n < 0 ? -1 : 0;
}

int
cstore_token_fails_load(struct cstore *cs, int64_t dead_before_ms,
    int64_t now_ms, int (*fn)(void *arg, const char *client,
    const struct lockout_entry *e), void *arg)
{
	struct cdb_stmt *s;
	int rc, ret = 0;

	/* the dead first: their windows are over and they are unlocked */
	if (cs_change(cdb_queryf(cs->db, "DELETE FROM token_fails WHERE"
	    " first_ms < ?1 AND until_ms <= ?2", "ii", dead_before_ms,
	    now_ms)) < 0)
		return -1;
	if ((s = cdb_queryf(cs->db, "SELECT client, n, first_ms, until_ms"
	    " FROM token_fails", "")) == NULL)
		return -1;
	while ((rc = cdb_step(s)) == CDB_ROW) {
		struct lockout_entry e;
		int64_t n = cdb_col_int64(s, 1);

		e.n = n < 0 ? 0 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		e.first_ms = cdb_col_int64(s, 2);
		e.until_ms = cdb_col_int64(s, 3);
		if ((ret = fn(arg, cdb_col_text(s, 0), &e)) != 0)
			break;
	}
	cdb_finalize(s);
	return ret ? ret : rc == CDB_DONE || rc == CDB_ROW ? 0 : -1;
}
