/*
 * store.h: the device's SQLite database.  It owns the connection and its
 * prepared statements; callers hold a struct store from store_open to
 * store_close.
 *
 * What is in it (all of it safe to lose to a seized board):
 *   meta      device id, the collector's public key, last error
 *   forms     form definitions by (form id, version)
 *   epochs    each sealing epoch's public key
 *   records   seq (gap-free from 1), record id, form, version, time, clock
 *             quality, epoch and the sealed bytes -- never plaintext values
 *   counts    plaintext non-identifying counts, one row per
 *             (form, place, day) with its cells, and the seq of the
 *             record that last changed it
 *   counts_latest  for forms counted by their latest record per place
 *   users     enumerators: name, SHA-256 of the token, the PIN as
 *             HTTP Digest's HA1
 *   sessions  logins with a PIN: SHA-256 of the session token, expiry
 *   login_fails  failed PIN logins per user (only names of users with a
 *             PIN: a PIN typed into the name field is never written)
 *
 * Durability: WAL, synchronous=FULL; a write is a transaction begun with
 * store_begin (BEGIN IMMEDIATE, so seq allocation cannot race another
 * process) and durable when store_commit returns 0.  No temporary files
 * (temp_store=MEMORY), freed pages zeroed (secure_delete).
 */
#ifndef STORE_H
#define STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/lockout.h"

#include "form/form.h"

struct store;

/* Newest schema version; store_open migrates older databases to it. */
#define STORE_SCHEMA_VERSION 6
/* A connection that writes checkpoints the WAL after this many frames
   (SQLite's default is 1,000; store.c says why). */
#define STORE_CHECKPOINT_FRAMES 4000

/*
 * Opens (create: also creates) the database at path, runs PRAGMA
 * quick_check and refuses a damaged database with a clear message in err,
 * then applies any missing migrations.  0 and *out, or -1 and err.
 */
int store_open(const char *path, int create, struct store **out, char *err,
    size_t errlen);
void store_close(struct store *st);

/*
 * Opens a database read-only, for reading another device's copy (the
 * collector's open): quick_check, no migrations, no writes.
 */
int store_open_readonly(const char *path, struct store **out, char *err,
    size_t errlen);

/*
 * A second read-write connection to st's database, for fieldd's writer
 * thread (commit.h): st has checked and migrated it, so neither is done
 * again.  Each connection is used by one thread at a time.
 */
int store_open_again(struct store *st, struct store **out, char *err,
    size_t errlen);

/* For tests of migrations: open applying migrations up to `version` only. */
int store_open_at(const char *path, int version, struct store **out,
    char *err, size_t errlen);
int store_schema_version(struct store *st);

/* The last SQLite error message (for logs; never holds record values). */
const char *store_errmsg(struct store *st);

/* meta: 1 and out filled, 0 when absent, -1 on error. */
int store_meta_get(struct store *st, const char *key, char *out,
    size_t outlen);
int store_meta_set(struct store *st, const char *key, const char *value);

/* Transactions.  store_rollback is safe to call when none is open. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Inside a transaction: */

/* 1 and *seq when a record with this id exists, 0 when not, -1 error. */
int store_find_id(struct store *st, const char *id, uint64_t *seq);
/* The next seq: one more than the highest stored. */
int store_next_seq(struct store *st, uint64_t *seq);
int store_epoch_add(struct store *st, const unsigned char pub[32],
    int64_t created_ms, uint64_t *id);

struct store_record {
	uint64_t seq;
	const char *id;
	const char *form_id;
	const char *form_version;
	int64_t created_ms;
	int clock;			/* Field__ClockQuality */
	uint64_t epoch;
	const unsigned char *sealed;
	size_t sealed_len;
};
/* 0 stored, 1 when a record with this id is already stored, -1 error. */
int store_record_add(struct store *st, const struct store_record *r);

/*
 * Adds a record's count cells.  For a form counted by its latest record
 * per place (latest != 0), the place's cells are replaced when this
 * record's day is the same or later than the stored one, and left alone
 * otherwise.
 */
int store_counts_add(struct store *st, const char *form_id,
    const struct form_counts *c, int latest, uint64_t seq);

/* Forms: adds a definition unless (id, version) is there; 0 or -1. */
int store_form_add(struct store *st, const char *form_id,
    const char *version, const char *json);
/* Loads every stored definition into cat, oldest first. */
int store_forms_load(struct store *st, struct form_catalog *cat, char *err,
    size_t errlen);

/* Reading. */
/* Cheap figures (no scan: seqs are gap-free, so records = last seq). */
struct store_stats {
	uint64_t records;
	uint64_t epochs;
	uint64_t last_seq;
	uint64_t users;
	uint64_t db_bytes;		/* the database file's size */
};
int store_stats(struct store *st, struct store_stats *s);
/* The sealed payloads' total size: a scan of every record, for the
   operator's status command, not for the API. */
int store_sealed_bytes(struct store *st, uint64_t *bytes);

/* Counts as a JSON array of {form, day, place, dim, value, measure, n}. */
int store_counts_json(struct store *st, json_t **out);
/*
 * The same for the places (a form's place, every day of it) changed by a
 * record with seq above since (-1: all), oldest change first, stopping at
 * a place boundary once max_cells are out.  *upto is the seq up to which
 * every change is now covered.
 */
int store_counts_since(struct store *st, int64_t since, size_t max_cells,
    json_t **out, uint64_t *upto);

/* Calls fn for every record in seq order with its epoch's public key;
   stops and returns fn's value when it is non-zero. */
typedef int (*store_record_fn)(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32]);
int store_each_record(struct store *st, store_record_fn fn, void *arg);
/* The same for at most limit records with seq above after. */
int store_records_after(struct store *st, uint64_t after, size_t limit,
    store_record_fn fn, void *arg);

/*
 * After the collector's acknowledgement and a retention window: drops the
 * sealed payload of records with seq <= acked_seq stamped before
 * before_ms.  Ids, metadata and counts stay (a resubmitted id is still a
 * duplicate); secure_delete zeroes the freed pages.  The number of
 * records purged, or -1.
 */
int64_t store_purge(struct store *st, uint64_t acked_seq, int64_t before_ms);

/* Free bytes for an unprivileged writer on the database's file system. */
int store_free_bytes(struct store *st, uint64_t *bytes);

/*
 * At start: the latest trusted stamp (*high_ms, 0 when none), and when
 * boot_id differs from the one stored, records stamped untrusted in the
 * boot before are marked CLOCK_UNTRUSTED_EARLIER_BOOT (*marked of them)
 * -- the next sync's clock offset cannot correct them.  0 or -1.
 */
int store_clock_boot(struct store *st, const char *boot_id, int64_t *marked,
    int64_t *high_ms);

/* Users.  Hashes are SHA-256 of the token. */
int store_user_add(struct store *st, const char *name,
    const unsigned char hash[32]);
/* 1 removed, 0 no such user, -1 error. */
int store_user_remove(struct store *st, const char *name);
/* 1 and the user's name (when name is not NULL) when hash is a user's
   token or a session token not expired at now_ms; 0 when not; -1. */
int store_user_check(struct store *st, const unsigned char hash[32],
    int64_t now_ms, char *name, size_t namelen);
/* A user's PIN as HTTP Digest's HA1 (32 hex digits): sets it when set is
   not NULL, else reads it into ha1.  1, 0 when no such user (or no PIN),
   -1. */
int store_user_ha1(struct store *st, const char *name, const char *set,
    char ha1[33]);
/* The newest records (at most max), newest first, until one stamped
   before since_ms: their id, form, version and time only. */
int store_recent(struct store *st, int64_t since_ms, size_t max,
    int (*fn)(void *arg, const char *id, const char *form_id,
    const char *version, int64_t created_ms), void *arg);
/* A login session (users.h), dropping the expired ones.  0 or -1. */
int store_session_add(struct store *st, const unsigned char hash[32],
    const char *name, int64_t expires_ms, int64_t now_ms);

/*
 * Failed logins of one user name (users.c, common/lockout.h), in the
 * store so that a restart does not reset them.  get: 1 and *e, 0 (and
 * *e zero) when none, -1.  put: 0; 1 when name is new and
 * STORE_LOGIN_FAILS_MAX rows are live (not written: the caller fails
 * closed); -1.  Dead rows are dropped only to make room.
 */
#define STORE_LOGIN_FAILS_MAX 4096
int store_login_fails_get(struct store *st, const char *name,
    struct lockout_entry *e);
int store_login_fails_put(struct store *st, const char *name,
    const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now_ms);

#endif
