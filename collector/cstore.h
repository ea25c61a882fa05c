/*
 * cstore.h: the collector's SQLite database (embedded default; see
 * docs/architecture.md).  It owns the connection.  What it keeps:
 *
 *   devices        enrolled devices: certificate serial, revocation, last
 *                  seen, the acknowledged watermark, what they reported
 *   enroll_tokens  SHA-256 of one-time enrolment tokens
 *   records        sealed records as devices sent them, keyed by
 *                  (device, seq) and unique by record id; the time the
 *                  device stamped and the time corrected by its clock
 *                  offset.  Never plaintext: ingest needs no private key.
 *   refused        records set aside, with the reason
 *   device_counts  each device's latest counts snapshot
 *   coordinators   who may read counts over HTTP: name, token hash
 *
 * Durability: WAL, synchronous=FULL; cstore_ingest commits before it
 * returns the watermark that may be acknowledged.
 */
#ifndef CSTORE_H
#define CSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/lockout.h"

#include "proto/sync.pb-c.h"

struct cstore;

#define CSTORE_DEVICE_MAX 64
#define CSTORE_SEALED_MAX (1024 * 1024)

struct cdevice {
	char id[CSTORE_DEVICE_MAX + 1];
	char serial[64];
	int64_t enrolled_ms, revoked_ms, last_seen_ms;	/* 0: never */
	uint64_t acked_seq;
	uint64_t pending;		/* as the device last reported */
	int64_t clock_offset_ms;	/* collector time - device time */
	char last_error[160];
};

int cstore_open(const char *path, struct cstore **out, char *err,
    size_t errlen);
void cstore_close(struct cstore *cs);
const char *cstore_errmsg(struct cstore *cs);

/* 1 and *d, 0 when unknown, -1 on error. */
int cstore_device_get(struct cstore *cs, const char *id, struct cdevice *d);
/* Adds or re-enrols a device with its certificate serial. */
int cstore_device_enroll(struct cstore *cs, const char *id,
    const char *serial, int64_t now_ms);
/* 1 revoked, 0 no such device, -1 error. */
int cstore_device_revoke(struct cstore *cs, const char *id, int64_t now_ms);
/* Records what a device said in its hello, and its last error if any. */
int cstore_device_seen(struct cstore *cs, const char *id, int64_t now_ms,
    uint64_t pending, int64_t clock_offset_ms, const char *last_error);
/* Calls fn for every device, in id order. */
int cstore_devices(struct cstore *cs,
    int (*fn)(void *arg, const struct cdevice *d), void *arg);

/* Enrolment tokens: stored hashed; a token is used once. */
int cstore_token_add(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t expires_ms);
/*
 * Uses a token for device_id: 1 when it was valid (unused, unexpired, and
 * for this device when it names one) and is now spent, 0 when not, -1.
 */
int cstore_token_use(struct cstore *cs, const unsigned char hash[32],
    const char *device_id, int64_t now_ms);

/*
 * Ingests a batch from device_id in one transaction: records at or below
 * the watermark are skipped (already durable), a (device, seq) already
 * stored is skipped, a malformed record or one whose id is stored under
 * another (device, seq) is refused with a reason; then the watermark
 * advances over every contiguous seq stored or refused.  On return 0,
 * *acked is durable and may be acknowledged; refusals are reported
 * through refused(arg, seq, reason).  -1 on a store failure (nothing
 * changed).
 */
int cstore_ingest(struct cstore *cs, const char *device_id,
    int64_t clock_offset_ms, Field__Sync__SealedRecord *const *recs,
    size_t n, int64_t now_ms, uint64_t *acked,
    void (*refused)(void *arg, uint64_t seq, const char *reason), void *arg);

/* Stores a device's counts snapshot: a full one replaces what is held, a
   partial one replaces the places it carries. */
int cstore_counts_put(struct cstore *cs, const char *device_id,
    const Field__Sync__CountsSnapshot *snap);

/* A stored record's time as the device stamped it and as corrected by
   the device's clock offset (the same when the stamp was trusted).  1 and
   the times, 0 when there is no such record, -1 on error. */
int cstore_record_times(struct cstore *cs, const char *device_id,
    uint64_t seq, int64_t *created_ms, int64_t *corrected_ms);

/* Every stored record in (device, seq) order, for opening. */
int cstore_each_record(struct cstore *cs,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg);
/* The records that arrived after `arrival`, in the order they arrived
   (every record when arrival < 0, in (device, seq) order). */
int cstore_records_since(struct cstore *cs, int64_t arrival,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg);
/* The one record (device_id, seq), when it is there. */
int cstore_record_one(struct cstore *cs, const char *device_id, uint64_t seq,
    int (*fn)(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r), void *arg);
/* Inside fn: the visited record's arrival number and corrected time. */
int64_t cstore_cur_arrival(struct cstore *cs, int64_t *corrected_ms);

/*
 * Coordinators (collectctl coordinator add|remove): a name and the
 * SHA-256 of its token, which collectord's /counts checks.
 */
/* 0, 1 when the name is taken, -1. */
int cstore_coordinator_add(struct cstore *cs, const char *name,
    const unsigned char hash[32], int64_t now_ms);
/* 1 removed, 0 no such name, -1. */
int cstore_coordinator_remove(struct cstore *cs, const char *name);
/* 1 and the name (size CSTORE_DEVICE_MAX + 1) whose token has this hash,
   0 none, -1. */
int cstore_coordinator_find(struct cstore *cs, const unsigned char hash[32],
    char *name, size_t namelen);
int cstore_coordinators(struct cstore *cs,
    int (*fn)(void *arg, const char *name, int64_t added_ms), void *arg);

/*
 * Forms devices could not take (sync.proto FormRefusal): a device's list
 * is replaced by the one its latest hello carries.  0 or -1.
 */
int cstore_form_refusals_set(struct cstore *cs, const char *device_id,
    Field__Sync__FormRefusal *const *r, size_t n, int64_t now_ms);
/* Every refusal, by form and version; 0 or -1. */
int cstore_form_refusals(struct cstore *cs,
    void (*fn)(void *arg, const char *device_id, const char *form_id,
    const char *version, const char *reason, int64_t first_ms), void *arg);

/*
 * Bundles (sync/bundle.h) and all-or-nothing imports.
 *
 *   bundles   every bundle imported from a USB stick: its 16-byte id
 *             (unique: a replayed bundle is refused), the device, when,
 *             and the seqs it spanned.
 *
 * cstore_begin opens a write transaction (BEGIN IMMEDIATE, so it waits
 * for collectord's writes rather than failing); cstore_ingest and every
 * other write called before cstore_commit join it, and nothing of them
 * is durable -- *acked included -- until cstore_commit returns 0.  After
 * any failure the caller calls cstore_rollback, which undoes all of it
 * and is safe to call when no transaction is open.
 */
#define CSTORE_BUNDLE_ID_LEN 16

int cstore_begin(struct cstore *cs);
int cstore_commit(struct cstore *cs);
void cstore_rollback(struct cstore *cs);

/* 1 and *imported_ms (when not NULL) when the bundle id was imported,
   0 when not, -1 on error. */
int cstore_bundle_seen(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], int64_t *imported_ms);
/* Records an imported bundle; -1 on error, a known id included. */
int cstore_bundle_add(struct cstore *cs,
    const unsigned char id[CSTORE_BUNDLE_ID_LEN], const char *device_id,
    int64_t now_ms, uint64_t first_seq, uint64_t last_seq);
/* The id of the device's most recently imported bundle: 1 and id, 0 when
   it has none, -1 on error. */
int cstore_bundle_last(struct cstore *cs, const char *device_id,
    unsigned char id[CSTORE_BUNDLE_ID_LEN]);

/* The seqs of device_id stored or set aside above after (above a hole in
   what it sent), as up to max ranges (from, to], in *n; looks at no more
   than CSTORE_HELD_ROWS of them.  0 or -1. */
#define CSTORE_HELD_ROWS 4096
int cstore_held_above(struct cstore *cs, const char *device_id,
    uint64_t after, uint64_t (*ranges)[2], size_t max, size_t *n);

/* How many records are stored for device_id (NULL: for every device). */
int cstore_record_count(struct cstore *cs, const char *device_id,
    uint64_t *n);

/* When device_id's stored counts snapshot was taken: 1 and *taken_ms, 0
   when it has none, -1 on error (so an older snapshot can be kept out). */
int cstore_counts_taken(struct cstore *cs, const char *device_id,
    int64_t *taken_ms);

/*
 * Copies every row of from into to, in one transaction of to's (nothing
 * is copied when it fails).  Rows to already holds are kept when they
 * never change (records, refusals, bundles), and brought up to date when
 * they do (devices' watermarks, tokens, counts, coordinators), so a copy
 * run again later adds only what arrived since.  *rows: rows read.  0, or
 * -1 with err naming the table.
 */
int cstore_copy(struct cstore *from, struct cstore *to, uint64_t *rows,
    char *err, size_t errlen);

/*
 * Wrong coordinators' tokens per client (chttp.c), kept so that a
 * restart does not reset a lock.  put: 0 or -1.  load: drops the rows
 * whose window began before dead_before_ms and that are unlocked at
 * now_ms, then calls fn for each left (a non-zero return stops and is
 * returned); 0 or -1.
 */
int cstore_token_fails_put(struct cstore *cs, const char *client,
    const struct lockout_entry *e);
int cstore_token_fails_load(struct cstore *cs, int64_t dead_before_ms,
    int64_t now_ms, int (*fn)(void *arg, const char *client,
    const struct lockout_entry *e), void *arg);

#endif
