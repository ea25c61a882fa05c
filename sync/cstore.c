/* cstore.c: see cstore.h. */
#include "sync/cstore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/util.h"

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
};
#define CSTORE_N_MIGRATIONS \
	(int)(sizeof(cstore_migrations) / sizeof(cstore_migrations[0]))

struct cstore {
	sqlite3 *db;
	int64_t arrival, corrected_ms;	/* of the record being visited */
};

const char *
cstore_errmsg(struct cstore *cs)
{
	return sqlite3_errmsg(cs->db);
}

int
cstore_open(const char *path, struct cstore **out, char *err, size_t errlen)
{
	struct cstore *cs = calloc(1, sizeof(*cs));

	if (cs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (db_open(path, DB_CREATE, cstore_migrations, CSTORE_N_MIGRATIONS,
	    CSTORE_N_MIGRATIONS, &cs->db, err, errlen) != 0) {
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
	sqlite3_close(cs->db);
	free(cs);
}

/*
 * Prepares sql and binds the arguments described by fmt: 't' text,
 * 'i' int64, 'b' 32-byte blob.  NULL on error.
 */
static sqlite3_stmt *
cs_stmt(struct cstore *cs, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int i = 1;

	if (sqlite3_prepare_v2(cs->db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 't')
			sqlite3_bind_text(s, i, va_arg(ap, const char *), -1,
			    SQLITE_TRANSIENT);
		else if (*f == 'i')
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		else if (*f == 'b')
			sqlite3_bind_blob(s, i, va_arg(ap, const void *), 32,
			    SQLITE_TRANSIENT);
	}
	va_end(ap);
	return s;
}

/* Steps a statement to completion: 0, or -1. */
static int
cs_done(sqlite3_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
cs_device_row(sqlite3_stmt *s, struct cdevice *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", sqlite3_column_text(s, 0));
	snprintf(d->serial, sizeof(d->serial), "%s", sqlite3_column_text(s, 1));
	d->enrolled_ms = sqlite3_column_int64(s, 2);
	d->revoked_ms = sqlite3_column_int64(s, 3);
	d->last_seen_ms = sqlite3_column_int64(s, 4);
	d->acked_seq = (uint64_t)sqlite3_column_int64(s, 5);
	d->pending = (uint64_t)sqlite3_column_int64(s, 6);
	d->clock_offset_ms = sqlite3_column_int64(s, 7);
	snprintf(d->last_error, sizeof(d->last_error), "%s",
	    sqlite3_column_text(s, 8));
}

#define CS_DEVICE_COLS "id, serial, enrolled_ms, revoked_ms, last_seen_ms," \
	" acked_seq, pending, clock_offset_ms, last_error"

int
cstore_device_get(struct cstore *cs, const char *id, struct cdevice *d)
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT " CS_DEVICE_COLS " FROM devices"
	    " WHERE id = ?1", "t", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		cs_device_row(s, d);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_devices(struct cstore *cs,
    int (*fn)(void *arg, const struct cdevice *d), void *arg)
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT " CS_DEVICE_COLS " FROM devices"
	    " ORDER BY id", "");
	struct cdevice d;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cs_device_row(s, &d);
		if ((ret = fn(arg, &d)) != 0)
			break;
	}
	sqlite3_finalize(s);
	return ret ? ret : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_device_enroll(struct cstore *cs, const char *id, const char *serial,
    int64_t now_ms)
{
	return cs_done(cs_stmt(cs, "INSERT INTO devices(id, serial,"
	    " enrolled_ms) VALUES(?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET"
	    " serial = excluded.serial, enrolled_ms = excluded.enrolled_ms,"
	    " revoked_ms = 0", "tti", id, serial, now_ms));
}

int
cstore_device_revoke(struct cstore *cs, const char *id, int64_t now_ms)
{
	if (cs_done(cs_stmt(cs, "UPDATE devices SET revoked_ms = ?2 WHERE"
	    " id = ?1 AND revoked_ms = 0", "ti", id, now_ms)) != 0)
		return -1;
	return sqlite3_changes(cs->db) > 0 ? 1 : 0;
}

int
cstore_device_seen(struct cstore *cs, const char *id, int64_t now_ms,
    uint64_t pending, int64_t clock_offset_ms, const char *last_error)
{
	return cs_done(cs_stmt(cs, "UPDATE devices SET last_seen_ms = ?2,"
	    " pending = ?3, clock_offset_ms = ?4, last_error = ?5 WHERE"
	    " id = ?1", "tiiit", id, now_ms, (int64_t)pending, clock_offset_ms,
	    last_error ? last_error : ""));
}

int
cstore_token_add(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t expires_ms)
{
	return cs_done(cs_stmt(cs, "INSERT INTO enroll_tokens(hash, device_id,"
	    " expires_ms) VALUES(?1, ?2, ?3)", "bti", hash,
	    device_id ? device_id : "", expires_ms));
}

int
cstore_token_use(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t now_ms)
{
	if (cs_done(cs_stmt(cs, "UPDATE enroll_tokens SET used_ms = ?3 WHERE"
	    " hash = ?1 AND used_ms = 0 AND expires_ms > ?3 AND (device_id ="
	    " '' OR device_id = ?2)", "bti", hash, device_id, now_ms)) != 0)
		return -1;
	return sqlite3_changes(cs->db) > 0 ? 1 : 0;
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

int
cstore_ingest(struct cstore *cs, const char *device_id,
    int64_t clock_offset_ms, Field__Sync__SealedRecord *const *recs,
    size_t n, int64_t now_ms, uint64_t *acked,
    void (*refused)(void *arg, uint64_t seq, const char *reason), void *arg)
{
	sqlite3_stmt *ins = NULL, *ref = NULL, *owner = NULL, *have = NULL;
	Field__Sync__SealedRecord prev;
	struct cdevice d;
	uint64_t mark;
	int rc = -1;
	/* Inside a caller's cstore_begin, the caller commits or rolls back. */
	int own = sqlite3_get_autocommit(cs->db);

	if (own && db_exec(cs->db, "BEGIN IMMEDIATE") != 0)
		return -1;
	if (cstore_device_get(cs, device_id, &d) != 1)
		goto out;
	mark = d.acked_seq;
	ins = cs_stmt(cs, "INSERT INTO records(device_id, seq, id, form_id,"
	    " form_version, created_ms, corrected_ms, clock, epoch_id,"
	    " epoch_pub, sealed, received_ms, arrival) VALUES(?1,?2,?3,?4,?5,"
	    "?6,?7,?8,?9,?10,?11,?12,"
	    " (SELECT ifnull(max(arrival), 0) + 1 FROM records))"
	    " ON CONFLICT(device_id, seq) DO NOTHING", "");
	ref = cs_stmt(cs, "INSERT OR IGNORE INTO refused(device_id, seq, id,"
	    " reason, received_ms) VALUES(?1, ?2, ?3, ?4, ?5)", "");
	owner = cs_stmt(cs, "SELECT device_id, seq FROM records WHERE id = ?1",
	    "");
	have = cs_stmt(cs, "SELECT 1 FROM records WHERE device_id = ?1 AND"
	    " seq = ?2 UNION ALL SELECT 1 FROM refused WHERE device_id = ?1"
	    " AND seq = ?2", "");
	if (!ins || !ref || !owner || !have)
		goto out;
	for (size_t i = 0; i < n; i++) {
		Field__Sync__SealedRecord view = *recs[i];
		const Field__Sync__SealedRecord *r = &view;
		const char *why;
		char reason[160], idbuf[37];

		if ((view.id == NULL || view.id[0] == '\0') &&
		    view.id_bytes.len == 16) {
			util_uuid_unpack(view.id_bytes.data, idbuf);
			view.id = idbuf;
		}

		/* A batch on the wire leaves out the form, version and epoch
		   a record shares with the one before it (outbox.h). */
		if (i > 0) {
			const Field__Sync__SealedRecord *p = &prev;

			if (view.form_id == NULL || view.form_id[0] == '\0')
				view.form_id = p->form_id;
			if (view.form_version == NULL ||
			    view.form_version[0] == '\0')
				view.form_version = p->form_version;
			if (view.epoch_pub.len == 0) {
				view.epoch_pub = p->epoch_pub;
				if (view.epoch_id == 0)
					view.epoch_id = p->epoch_id;
			}
		}
		prev = view;
		why = cs_malformed(r);

		if (r->seq <= mark)
			continue;	/* durable already */
		if (why == NULL) {
			sqlite3_bind_text(owner, 1, r->id, -1, SQLITE_STATIC);
			if (sqlite3_step(owner) == SQLITE_ROW &&
			    (strcmp((const char *)sqlite3_column_text(owner, 0),
			    device_id) != 0 || (uint64_t)sqlite3_column_int64(
			    owner, 1) != r->seq)) {
				snprintf(reason, sizeof(reason), "record id "
				    "already stored as %.64s seq %lld",
				    sqlite3_column_text(owner, 0),
				    (long long)sqlite3_column_int64(owner, 1));
				why = reason;
			}
			sqlite3_reset(owner);
		}
		if (why) {
			sqlite3_bind_text(ref, 1, device_id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ref, 2, (int64_t)r->seq);
			sqlite3_bind_text(ref, 3, r->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(ref, 4, why, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ref, 5, now_ms);
			rc = sqlite3_step(ref);
			sqlite3_reset(ref);
			if (rc != SQLITE_DONE) {
				rc = -1;
				goto out;
			}
			if (refused)
				refused(arg, r->seq, why);
			continue;
		}
		/* A stamp made before any trusted time in this boot is
		   corrected by the offset the device's hello showed; one
		   from an earlier boot cannot be (-1: unknown). */
		int64_t corrected = r->clock ==
		    FIELD__CLOCK_QUALITY__CLOCK_TRUSTED ? r->created_ms :
		    r->clock == FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_EARLIER_BOOT ?
		    -1 : r->created_ms + clock_offset_ms;
		sqlite3_bind_text(ins, 1, device_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (int64_t)r->seq);
		sqlite3_bind_text(ins, 3, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, r->form_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, r->form_version, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, r->created_ms);
		sqlite3_bind_int64(ins, 7, corrected);
		sqlite3_bind_int(ins, 8, (int)r->clock);
		sqlite3_bind_int64(ins, 9, (int64_t)r->epoch_id);
		sqlite3_bind_blob(ins, 10, r->epoch_pub.data, 32, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 11, r->sealed.data, (int)r->sealed.len,
		    SQLITE_STATIC);
		sqlite3_bind_int64(ins, 12, now_ms);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE) {
			rc = -1;
			goto out;
		}
	}
	/* The watermark covers every contiguous seq stored or set aside. */
	for (;;) {
		sqlite3_bind_text(have, 1, device_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(have, 2, (int64_t)(mark + 1));
		rc = sqlite3_step(have);
		sqlite3_reset(have);
		if (rc != SQLITE_ROW)
			break;
		mark++;
	}
	if (rc != SQLITE_DONE) {
		rc = -1;
		goto out;
	}
	if (cs_done(cs_stmt(cs, "UPDATE devices SET acked_seq = ?2 WHERE"
	    " id = ?1", "ti", device_id, (int64_t)mark)) != 0 ||
	    (own && db_exec(cs->db, "COMMIT") != 0)) {
		rc = -1;
		goto out;
	}
	*acked = mark;
	rc = 0;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(ref);
	sqlite3_finalize(owner);
	sqlite3_finalize(have);
	if (rc != 0 && own && sqlite3_get_autocommit(cs->db) == 0)
		db_exec(cs->db, "ROLLBACK");
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
	sqlite3_stmt *s = cs_stmt(cs, "SELECT cells FROM device_counts WHERE"
	    " device_id = ?1", "t", device_id);
	Field__Sync__CountCell **distinct = NULL;
	size_t nd = 0;
	int rc;

	*held = NULL;
	*merged = *snap;
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*held = field__sync__counts_snapshot__unpack(NULL,
		    (size_t)sqlite3_column_bytes(s, 0),
		    sqlite3_column_blob(s, 0));
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
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
	sqlite3_stmt *s;
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
	s = cs_stmt(cs, "INSERT OR REPLACE INTO device_counts(device_id,"
	    " taken_ms, cells) VALUES(?1, ?2, ?3)", "ti", device_id,
	    snap->taken_ms);
	if (s)
		sqlite3_bind_blob(s, 3, buf, (int)len, SQLITE_TRANSIENT);
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
	sqlite3_stmt *s = cs_stmt(cs, "SELECT created_ms, corrected_ms FROM"
	    " records WHERE device_id = ?1 AND seq = ?2", "ti", device_id,
	    (int64_t)seq);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*created_ms = sqlite3_column_int64(s, 0);
		*corrected_ms = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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

static int cs_records(struct cstore *cs, sqlite3_stmt *s,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg);

int
cstore_records_since(struct cstore *cs, int64_t arrival,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	return cs_records(cs, cs_stmt(cs, arrival < 0 ?
	    CS_RECORD_COLS "ORDER BY device_id, seq" :
	    CS_RECORD_COLS "WHERE arrival > ?1 ORDER BY arrival", "i",
	    arrival), fn, arg);
}

int
cstore_record_one(struct cstore *cs, const char *device_id, uint64_t seq,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	return cs_records(cs, cs_stmt(cs, CS_RECORD_COLS "WHERE device_id = ?1"
	    " AND seq = ?2", "ti", device_id, (int64_t)seq), fn, arg);
}

/* Calls fn for each row of s (CS_RECORD_COLS); finalizes s. */
static int
cs_records(struct cstore *cs, sqlite3_stmt *s,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg)
{
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		Field__Sync__SealedRecord r = FIELD__SYNC__SEALED_RECORD__INIT;

		r.seq = (uint64_t)sqlite3_column_int64(s, 1);
		r.id = (char *)sqlite3_column_text(s, 2);
		r.form_id = (char *)sqlite3_column_text(s, 3);
		r.form_version = (char *)sqlite3_column_text(s, 4);
		r.created_ms = sqlite3_column_int64(s, 5);
		r.clock = (Field__ClockQuality)sqlite3_column_int(s, 6);
		r.epoch_id = (uint64_t)sqlite3_column_int64(s, 7);
		r.epoch_pub.data = (uint8_t *)sqlite3_column_blob(s, 8);
		r.epoch_pub.len = (size_t)sqlite3_column_bytes(s, 8);
		r.sealed.data = (uint8_t *)sqlite3_column_blob(s, 9);
		r.sealed.len = (size_t)sqlite3_column_bytes(s, 9);
		cs->arrival = sqlite3_column_int64(s, 10);
		cs->corrected_ms = sqlite3_column_int64(s, 11);
		if ((ret = fn(arg, (const char *)sqlite3_column_text(s, 0),
		    &r)) != 0)
			break;
	}
	sqlite3_finalize(s);
	return ret ? ret : rc == SQLITE_DONE ? 0 : -1;
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
	return db_exec(cs->db, "BEGIN IMMEDIATE");
}

int
cstore_commit(struct cstore *cs)
{
	return db_exec(cs->db, "COMMIT");
}

void
cstore_rollback(struct cstore *cs)
{
	if (sqlite3_get_autocommit(cs->db) == 0)
		db_exec(cs->db, "ROLLBACK");
}

/* Prepares sql with ?1 bound to a bundle id. */
static sqlite3_stmt *
cs_bundle_stmt(struct cstore *cs, const char *sql,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN])
{
	sqlite3_stmt *s = cs_stmt(cs, sql, "");

	if (s != NULL)
		sqlite3_bind_blob(s, 1, id, CSTORE_BUNDLE_ID_LEN,
		    SQLITE_TRANSIENT);
	return s;
}

int
cstore_bundle_seen(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], int64_t *imported_ms)
{
	sqlite3_stmt *s = cs_bundle_stmt(cs, "SELECT imported_ms FROM bundles"
	    " WHERE bundle_id = ?1", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && imported_ms != NULL)
		*imported_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_bundle_add(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], const char *device_id,
    int64_t now_ms, uint64_t first_seq, uint64_t last_seq)
{
	sqlite3_stmt *s = cs_bundle_stmt(cs, "INSERT INTO bundles(bundle_id,"
	    " device_id, imported_ms, first_seq, last_seq) VALUES(?1, ?2, ?3,"
	    " ?4, ?5)", id);

	if (s != NULL) {
		sqlite3_bind_text(s, 2, device_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 3, now_ms);
		sqlite3_bind_int64(s, 4, (int64_t)first_seq);
		sqlite3_bind_int64(s, 5, (int64_t)last_seq);
	}
	return cs_done(s);
}

int
cstore_bundle_last(struct cstore *cs, const char *device_id,
    unsigned char id[CSTORE_BUNDLE_ID_LEN])
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT bundle_id FROM bundles WHERE"
	    " device_id = ?1 ORDER BY rowid DESC LIMIT 1", "t", device_id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != CSTORE_BUNDLE_ID_LEN)
			rc = SQLITE_CORRUPT;
		else
			memcpy(id, sqlite3_column_blob(s, 0),
			    CSTORE_BUNDLE_ID_LEN);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_record_count(struct cstore *cs, const char *device_id, uint64_t *n)
{
	sqlite3_stmt *s = device_id != NULL ?
	    cs_stmt(cs, "SELECT count(*) FROM records WHERE device_id = ?1",
	    "t", device_id) : cs_stmt(cs, "SELECT count(*) FROM records", "");
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
cstore_counts_taken(struct cstore *cs, const char *device_id,
    int64_t *taken_ms)
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT taken_ms FROM device_counts"
	    " WHERE device_id = ?1", "t", device_id);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*taken_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_coordinator_add(struct cstore *cs, const char *name,
    const unsigned char hash[32], int64_t now_ms)
{
	sqlite3_stmt *s = cs_stmt(cs, "INSERT INTO coordinators(name,"
	    " token_hash, added_ms) VALUES(?1, ?2, ?3)", "tbi", name, hash,
	    now_ms);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_CONSTRAINT_PRIMARYKEY ?
	    1 : -1;
}

int
cstore_coordinator_remove(struct cstore *cs, const char *name)
{
	sqlite3_stmt *s = cs_stmt(cs, "DELETE FROM coordinators WHERE"
	    " name = ?1", "t", name);

	if (s == NULL || cs_done(s) != 0)
		return -1;
	return sqlite3_changes(cs->db) > 0;
}

int
cstore_coordinator_find(struct cstore *cs, const unsigned char hash[32],
    char *name, size_t namelen)
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT name FROM coordinators WHERE"
	    " token_hash = ?1", "b", hash);
	int rc;

	if (s == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		snprintf(name, namelen, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cstore_coordinators(struct cstore *cs,
    int (*fn)(void *arg, const char *name, int64_t added_ms), void *arg)
{
	sqlite3_stmt *s = cs_stmt(cs, "SELECT name, added_ms FROM coordinators"
	    " ORDER BY name", "");
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    (ret = fn(arg, (const char *)sqlite3_column_text(s, 0),
	    sqlite3_column_int64(s, 1))) == 0)
		;
	sqlite3_finalize(s);
	return ret ? ret : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}
