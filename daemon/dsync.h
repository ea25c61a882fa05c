/*
 * dsync.h: the device's side of sync over a link: one attempt (connect,
 * hello, welcome, counts, batches until everything is acknowledged, bye)
 * and the schedule fieldd runs attempts on.
 *
 * An attempt sends its hello, the counts and the first batches at once
 * from the device's watermark, then follows the collector's (its
 * welcome); keeps up to four batches in flight, sized in bytes (an
 * eighth larger after each batch the link took under 250 ms for, smaller
 * when it took over 600 ms, halved when a link is cut mid-batch; kept
 * across restarts with the round trip); adds forms the
 * collector hands down to the store and the catalogue, keeps the clock
 * offset the welcome gives, and counts its bytes against the day's budget.
 * What it learns is kept in the store's meta table (outbox.h for the
 * watermark; the keys below for status).
 *
 * The device's TLS identity lives in DATADIR/tls: device.key (made on the
 * device by `fieldctl enroll`, never leaves it), device.crt and ca.crt.
 *
 * Ownership: the caller owns struct device and keeps it open while an
 * attempt runs; struct dsync_state (the adaptive batch size, round trip,
 * failure count and where the last attempt stopped) outlives attempts
 * and is the caller's too.
 */
#ifndef DSYNC_H
#define DSYNC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "daemon/device.h"
#include "sync/tls.h"

#define DSYNC_TLS_DIR "tls"
#define DSYNC_KEY_FILE "tls/device.key"
#define DSYNC_CERT_FILE "tls/device.crt"
#define DSYNC_CA_FILE "tls/ca.crt"
/* The last TLS session, for a new process to resume (dsync.c) */
#define DSYNC_SESSION_FILE "tls/session"

/* meta keys written by sync, read by `fieldctl status` */
#define DSYNC_META_LAST_OK "sync_last_ok_ms"
#define DSYNC_META_LAST_TRY "sync_last_attempt_ms"
#define DSYNC_META_LAST_ERROR "sync_last_error"
#define DSYNC_META_OFFSET "clock_offset_ms"
#define DSYNC_META_COUNTS_AT "sync_counts_at_seq"
#define DSYNC_META_BUDGET_DAY "sync_budget_day"
#define DSYNC_META_BUDGET_USED "sync_budget_used"
/* What the board learned about its link, kept so a restart (a reboot
   after a power cut, `fieldctl sync` from a script) starts where the
   last process left off rather than with full-size batches. */
#define DSYNC_META_LINK_BATCH "sync_link_batch_bytes"
#define DSYNC_META_LINK_RTT "sync_link_rtt_ms"

#define DSYNC_HELD_MAX 16

struct dsync_state {
	struct tls_session *session;	/* resumption; made on first use,
					   freed by dsync_state_fini */
	uint32_t batch_bytes;		/* sealed bytes in the next batch;
					   0: read from the store's meta */
	uint32_t rtt_ms;		/* smoothed hello-to-welcome time;
					   0: not known yet */
	uint32_t ack_wait_ms;		/* the longest wait for an ack of
					   late (an eighth less each ack);
					   0: not known yet */
	uint32_t failures;		/* attempts in a row refused, or
					   failed before a welcome */
	int progressed;			/* the last attempt failed after
					   records were acknowledged */
	uint64_t resume_to;		/* the highest seq the last attempt
					   sent, when it failed; 0: none */
	/* Seqs (from, to] the collector holds above its watermark (stored
	   beyond a hole: new records go first after a cut), from its acks
	   and its welcome: sending skips them.  One left out (more than
	   DSYNC_HELD_MAX) is only sent again. */
	struct {
		uint64_t from, to;
	} held[DSYNC_HELD_MAX];
	int nheld;
};

enum dsync_result {
	DSYNC_DONE,		/* everything acknowledged */
	DSYNC_BUDGET,		/* stopped at the day's byte budget */
	DSYNC_FAILED		/* see the reason */
};

typedef void (*dsync_done_fn)(void *arg, enum dsync_result r,
    const char *reason);

struct dsync;

/* Frees what attempts kept in state. */
void dsync_state_fini(struct dsync_state *state);

/* 1 when DATADIR/tls holds a key and a certificate. */
int dsync_enrolled(const char *dir);

/*
 * Starts one attempt on loop against the collector in dev->cfg.  done is
 * called exactly once (also when starting fails, from the loop) and the
 * attempt frees itself after.  NULL only when out of memory.
 */
struct dsync *dsync_start(uv_loop_t *loop, struct device *dev,
    struct dsync_state *state, dsync_done_fn done, void *arg);

/* Ends an attempt early (shutdown): done follows with DSYNC_FAILED. */
void dsync_cancel(struct dsync *s);

/*
 * fieldd's schedule: an attempt when records are waiting, every
 * sync_interval_s; after a failure, a back-off doubling from 1 s up to
 * sync_retry_max_s, each wait drawn from its upper half at random so a
 * camp's boards do not all come back at once -- except after an attempt
 * that got a welcome before the link dropped: then again within 0.2 s.  After a success, sealed
 * payloads past the retention window are purged.
 */
struct dsync_sched;
struct dsync_sched *dsync_sched_start(uv_loop_t *loop, struct device *dev);
/* An attempt now, even with nothing waiting (a long button press,
   SIGUSR1): it also brings forms, configuration and the collector's time. */
void dsync_sched_kick(struct dsync_sched *sc);
/* Told when an attempt starts (syncing 1) and how it ended (syncing 0,
   r and reason as dsync_done_fn's).  Not after dsync_sched_stop. */
typedef void (*dsync_sched_fn)(void *arg, int syncing, enum dsync_result r,
    const char *reason);
void dsync_sched_observe(struct dsync_sched *sc, dsync_sched_fn fn,
    void *arg);
/* Stops: cancels an attempt in flight; frees itself once closed. */
void dsync_sched_stop(struct dsync_sched *sc);

/* The purge after a successful attempt: records acknowledged and older
   than retention_days.  The number purged, or -1. */
int64_t dsync_purge(struct device *dev);

/* The wait before the next attempt after `failures` fruitless ones
   (0: the last one made progress), in ms, jittered. */
uint64_t dsync_backoff_ms(uint32_t failures, uint32_t cap_s);
/* The wait before the next attempt: 10 to 30 ms after one that was cut
   after records went through, else dsync_backoff_ms. */
uint64_t dsync_retry_ms(const struct dsync_state *state, uint32_t cap_s);

#endif
