/* dsync.c: see dsync.h. */
/*
 * One attempt, a struct dsync:
 *
 *   start --not enrolled, no collector, budget spent, no conn-->
 *     dsync_finish, from the timer
 *   CONNECTING --on_ready--> hello, batches from the stored watermark,
 *     without waiting; counts pieces once every record is sent
 *   BEFORE WELCOME --[form_catalogue]-- welcome --> SENDING
 *   SENDING: at most DSYNC_INFLIGHT batches and counts pieces unacked;
 *     each ack (in order) retires the oldest and the pump refills
 *   nothing in flight, counts done --> bye (DONE when all is acked,
 *     BUDGET when the day's bytes ran out), else FAILED
 *   Error, bad frame, stall, cut, cancel --> FAILED
 *   closed --on_close--> dsync_finish: status in one commit, done()
 * "decided" is set once, by the first of these ends; after it nothing
 * changes but the conn closing.
 *
 * Safe to resume: the stored watermark rises here only on an ack or a
 * welcome, each read from the collector's committed store; a record
 * stays in the store after its ack (purged only past retention_days),
 * so a cut at any step loses nothing: the next hello starts from the
 * stored watermark and the collector skips what it holds.  The counts'
 * place (DSYNC_META_COUNTS_AT) is kept only on its ack, so a piece cut
 * off is sent again.  A crash loses only this attempt's status, its
 * bytes against the budget, what it learned of the link, and the
 * failures in state.  After a cut past the welcome, the next attempt
 * of the process sends from where the last one stopped and what the
 * collector lacks below that once welcomed (gap_next, gap_to); the
 * collector stores records beyond a gap, so nothing is lost either way.
 *
 * Schedule: a success or the budget: sync_interval_s; a failure: 10 to
 * 30 ms after one that got records acknowledged, 0.1 to 0.2 s after an
 * attempt welcomed and not refused, else 1 s doubling up to
 * sync_retry_max_s, each drawn from its upper half.  Batch bytes: 9/8
 * when the link took under DSYNC_ACK_FAST_MS for a batch, 2/3 over
 * DSYNC_ACK_SLOW_MS (dsync_ack says how that is counted), halved when an
 * attempt fails with batches in flight.  The batch size and round trip
 * are kept in the store's meta at the end of each attempt and read by a
 * new process's first (dsync_link_load); the TLS session in
 * DSYNC_SESSION_FILE likewise.
 *
 * What the collector holds above its watermark (held ranges, from acks
 * and from the welcome) is skipped when sending; a batch's first record
 * leaves out what the last batch on the conn ended with once the welcome
 * offers the batch carry (sync/wire.h); the stall watch shortens while
 * batches wait for acks (DSYNC_STALL_MS).
 */
#include "daemon/dsync.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/rng.h"
#include "common/util.h"
#include "sync/frame.h"
#include "daemon/formsync.h"
#include "daemon/outbox.h"
#include "sync/wire.h"

#define DSYNC_CONNECT_MS 15000
/* No byte from the collector for this long: the link is dead.  While
   batches wait for acks and the link's pace is known, much less: six
   times the longest wait for an ack of late plus two round trips, at
   least DSYNC_STALL_MIN_MS (a link that drops without a reset, as a
   radio link out of range does, would otherwise hold an attempt for two
   minutes; a collector's commit or a short radio hiccup takes far less
   than the floor). */
#define DSYNC_STALL_MS 120000
#define DSYNC_STALL_MIN_MS 8000
/* Batches in flight, and their size: sized in bytes so an ack comes
   back every quarter to half second or so whatever the link (on a
   64 kbit/s link cut every 50 KB, 250/600 ms gave 85% of the link
   against 81% for 400/1000 ms, bench_sync part 2), which keeps a slow link
   busy without putting much in the air for a cut to waste, and lets a
   fast one carry big batches (fewer commits at the collector). */
#define DSYNC_INFLIGHT 4
#define DSYNC_COUNTS_CELLS_MIN 20
#define DSYNC_BATCH_BYTES_START (8 * 1024)
#define DSYNC_BATCH_BYTES_MIN 1024
#define DSYNC_ACK_FAST_MS 250
#define DSYNC_ACK_SLOW_MS 600
/* A round trip remembered from an earlier attempt is trusted up to this
   (a store edited by hand, or a link from another life). */
#define DSYNC_RTT_MAX_MS 30000
/* What a TLS handshake and its records cost beside our frames, roughly:
   enough to keep a paid link's budget honest. */
#define DSYNC_HANDSHAKE_BYTES 4096
#define DSYNC_TLS_RECORD 16384
#define DSYNC_TLS_OVERHEAD 29

struct dsync {
	uv_loop_t *loop;
	struct device *dev;
	struct dsync_state *state;
	dsync_done_fn done;
	void *arg;
	struct tls_ctx *ctx;
	struct tls_conn *c;
	struct frame_reader fr;
	uv_timer_t timer;		/* start failures and the stall watch */
	int welcomed, decided, counts_pending, counts_done, refused;
	enum dsync_result result;
	char reason[256];
	uint64_t sent_to, acked, counts_at;
	struct {
		uint64_t from;		/* the seq before the batch's first */
		uint64_t last;		/* the batch's last seq */
		uint64_t sent_ms;	/* util_mono_ms when it went */
		int counts;		/* a counts piece, not a batch */
	} inflight[DSYNC_INFLIGHT + 1];
	int ninflight;
	uint32_t max_batch;
	uint64_t budget_left, bytes;
	int budget_stop;
	uint64_t acked_records;
	uint64_t hello_ms;		/* util_mono_ms when the hello went */
	/* Records the last attempt sent whose fate the welcome tells:
	   (gap_next, gap_to] is sent again once welcomed, if the
	   collector lacks it.  Empty when gap_next == gap_to. */
	uint64_t gap_next, gap_to;
	int forms_seen;			/* forms came before the welcome */
	uint64_t last_ack_ms;		/* util_mono_ms of the last ack */
	/* The batch carry (sync/wire.h): what the last batch sent on this
	   conn ended with, and whether the welcome lets a batch's first
	   record leave that out. */
	struct wire_carry carry;
	int carry_ok;
	uint64_t stall_ms;		/* the stall watch's period now */
};

static void dsync_pump(struct dsync *s);
static void held_prune(struct dsync_state *st, uint64_t acked);
static void held_add(struct dsync_state *st, uint64_t from, uint64_t to);
static int dsync_counts(struct dsync *s);

void
dsync_state_fini(struct dsync_state *state)
{
	tls_session_free(state->session);
	state->session = NULL;
}

int
dsync_enrolled(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, DSYNC_KEY_FILE);
	if (access(p, R_OK) != 0)
		return 0;
	snprintf(p, sizeof(p), "%s/%s", dir, DSYNC_CERT_FILE);
	return access(p, R_OK) == 0;
}

uint64_t
dsync_backoff_ms(uint32_t failures, uint32_t cap_s)
{
	uint64_t cap = (uint64_t)cap_s * 1000, d = 5000;
	uint32_t r;

	/* 0: welcomed, then cut: back at once, but not in a tight loop. */
	if (failures == 0)
		d = 200;
	else
		d = 1000;
	for (uint32_t i = 1; i < failures && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* Full jitter over the upper half: spread, never too eager. */
	if (rng_bytes(&r, sizeof(r)) != 0)
		r = 0;
	return d / 2 + (d / 2 ? r % (d / 2 + 1) : 0);
}

uint64_t
dsync_retry_ms(const struct dsync_state *state, uint32_t cap_s)
{
	uint32_t r;

	if (!state->progressed)
		return dsync_backoff_ms(state->failures, cap_s);
	if (rng_bytes(&r, sizeof(r)) != 0)
		r = 0;
	return 10 + r % 21;
}

/*
 * The TLS session, kept in DATADIR/tls/session (0600, like the key) so a
 * new process resumes instead of a full handshake: on a link that cuts
 * every few KB, the certificates of a full one use up most of what gets
 * through.  Written without an fsync: losing it costs one full handshake.
 */
static void
session_path(const char *dir, const char *name, char *p, size_t len)
{
	snprintf(p, len, "%s/%s%s", dir, DSYNC_SESSION_FILE, name);
}

static void
session_read(const char *dir, struct tls_session *ts)
{
	unsigned char buf[TLS_SESSION_MAX];
	char p[PATH_MAX + 32];
	ssize_t n;
	int fd;

	session_path(dir, "", p, sizeof(p));
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && tls_session_load(ts, buf, (size_t)n) != 0)
		log_warn("sync: %s is not a session this build can use; "
		    "the next handshake is a full one", DSYNC_SESSION_FILE);
}

static void
session_write(const char *dir, const struct tls_session *ts)
{
	unsigned char buf[TLS_SESSION_MAX];
	char p[PATH_MAX + 32], tmp[PATH_MAX + 32];
	long n = tls_session_save(ts, buf, sizeof(buf));
	int fd, ok;

	session_path(dir, "", p, sizeof(p));
	if (n <= 0) {
		(void)unlink(p);
		return;
	}
	session_path(dir, ".tmp", tmp, sizeof(tmp));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return;
	ok = write(fd, buf, (size_t)n) == n;
	if (close(fd) != 0 || !ok || rename(tmp, p) != 0)
		(void)unlink(tmp);
}

static void
meta_set_u64(struct store *st, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	store_meta_set(st, key, buf);
}

static uint64_t
meta_get_u64(struct store *st, const char *key)
{
	char buf[32];

	return store_meta_get(st, key, buf, sizeof(buf)) == 1 ?
	    strtoull(buf, NULL, 10) : 0;
}

/* Bytes the day's budget has left; UINT64_MAX without a budget. */
static uint64_t
budget_left(struct device *dev)
{
	uint64_t cap = dev->cfg.sync_budget_kb_day * 1024, used;
	char day[11], have[16];

	if (cap == 0)
		return UINT64_MAX;
	util_date(util_now_ms(), day);
	if (store_meta_get(dev->st, DSYNC_META_BUDGET_DAY, have,
	    sizeof(have)) != 1 || strcmp(have, day) != 0)
		return cap;
	used = meta_get_u64(dev->st, DSYNC_META_BUDGET_USED);
	return used >= cap ? 0 : cap - used;
}

static void
budget_spend(struct device *dev, uint64_t bytes)
{
	char day[11], have[16];
	uint64_t used = 0;

	if (dev->cfg.sync_budget_kb_day == 0)
		return;
	util_date(util_now_ms(), day);
	if (store_meta_get(dev->st, DSYNC_META_BUDGET_DAY, have,
	    sizeof(have)) == 1 && strcmp(have, day) == 0)
		used = meta_get_u64(dev->st, DSYNC_META_BUDGET_USED);
	else
		store_meta_set(dev->st, DSYNC_META_BUDGET_DAY, day);
	meta_set_u64(dev->st, DSYNC_META_BUDGET_USED, used + bytes);
}

static void
dsync_freed(uv_handle_t *h)
{
	struct dsync *s = h->data;

	frame_reader_free(&s->fr);
	tls_ctx_free(s->ctx);
	free(s);
}

/* The end of an attempt: the conn is gone (or never was). */
static void
dsync_finish(struct dsync *s)
{
	struct store *st = s->dev->st;
	int64_t now = util_now_ms();

	if (!s->decided) {
		s->result = DSYNC_FAILED;
		snprintf(s->reason, sizeof(s->reason), "link closed");
	}
	/* Batches were in the air when it failed: a cut wasted them, so
	   the next attempt starts smaller. */
	if (s->result == DSYNC_FAILED && s->ninflight > 0 &&
	    s->state->batch_bytes / 2 >= DSYNC_BATCH_BYTES_MIN)
		s->state->batch_bytes /= 2;
	/* A link that got as far as the collector's welcome and then
	   dropped is worth trying again at once; refusals, and links that
	   never get there, are tried less and less often. */
	if (s->refused)		/* revoked, say: start afresh next time */
		tls_session_forget(s->state->session);
	/* A handshake made a new session (or a refusal dropped it). */
	if (s->welcomed || s->refused)
		session_write(s->dev->dir, s->state->session);
	if (s->result == DSYNC_FAILED && (s->refused || !s->welcomed))
		s->state->failures++;
	else
		s->state->failures = 0;
	/* Cut after records went through: the link carries, so the next
	   attempt goes at once (dsync_retry_ms); each such retry moves
	   the watermark, so this never spins. */
	s->state->progressed = s->result == DSYNC_FAILED && !s->refused &&
	    s->acked_records > 0;
	/* How far this attempt sent, for the next one to start beyond:
	   only after a welcome, which sent what the collector lacked
	   first, so what the next attempt leaves for its own welcome is
	   at most what this one had in flight.  Without one (cut in the
	   handshake, say), the next starts from the watermark again:
	   never a gap that grows while nothing is acknowledged. */
	s->state->resume_to = s->result == DSYNC_FAILED && s->welcomed &&
	    !s->refused ? s->sent_to : 0;
	held_prune(s->state, s->acked);
	/* One commit for the lot: an SD card is spared a sync per key. */
	if (store_begin(st) == 0) {
		meta_set_u64(st, DSYNC_META_LAST_TRY, (uint64_t)now);
		if (s->result != DSYNC_FAILED)
			meta_set_u64(st, DSYNC_META_LAST_OK, (uint64_t)now);
		store_meta_set(st, DSYNC_META_LAST_ERROR,
		    s->result == DSYNC_FAILED ? s->reason : "");
		if (s->bytes)
			budget_spend(s->dev, s->bytes);
		/* In the same commit: what this attempt learned about the
		   link outlives the process. */
		if (s->state->batch_bytes)
			meta_set_u64(st, DSYNC_META_LINK_BATCH,
			    s->state->batch_bytes);
		if (s->state->rtt_ms)
			meta_set_u64(st, DSYNC_META_LINK_RTT,
			    s->state->rtt_ms);
		if (store_commit(st) != 0)
			store_rollback(st);
	}
	if (s->result == DSYNC_FAILED)
		log_warn("sync: attempt failed: %s (%" PRIu64 " records "
		    "acknowledged first)", s->reason, s->acked_records);
	else
		log_info("sync: %s; %" PRIu64 " records acknowledged, "
		    "watermark %" PRIu64 ", %" PRIu64 " bytes",
		    s->result == DSYNC_DONE ? "done" : "daily budget reached",
		    s->acked_records, s->acked, s->bytes);
	s->done(s->arg, s->result, s->reason);
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, dsync_freed);
}

static void
dsync_fail(struct dsync *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
dsync_fail(struct dsync *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->decided) {
		s->decided = 1;
		s->result = DSYNC_FAILED;
		va_start(ap, fmt);
		vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
		va_end(ap);
	}
	if (s->c)
		tls_conn_close(s->c, s->reason);
}

static int
dsync_send(struct dsync *s, const Field__Sync__Envelope *env)
{
	long n = wire_send(s->c, env);

	if (n < 0) {
		dsync_fail(s, "link closed, or not taking data, while "
		    "sending a %s frame", wire_kind_name(env->kind_case));
		return -1;
	}
	s->bytes += (uint64_t)n + DSYNC_TLS_OVERHEAD *
	    ((uint64_t)n / DSYNC_TLS_RECORD + 1);
	return 0;
}

static void
dsync_bye(struct dsync *s, enum dsync_result r)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Bye bye = FIELD__SYNC__BYE__INIT;

	bye.reason = r == DSYNC_DONE ? "done" : "daily budget";
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BYE;
	env.bye = &bye;
	s->decided = 1;
	s->result = r;
	s->reason[0] = '\0';
	dsync_send(s, &env);
	tls_conn_close(s->c, "bye");
}

/*
 * Sends the next piece of the counts: the places changed since the last
 * piece acknowledged, about a batch's worth at a time, so a board with
 * months of counts never sends them all again, and a slow link still
 * gets records through between pieces.  0, or -1 when the attempt ended.
 */
static int
dsync_counts(struct dsync *s)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__CountsSnapshot *snap;
	struct store *st = s->dev->st;
	char v[32];
	int64_t since = store_meta_get(st, DSYNC_META_COUNTS_AT, v,
	    sizeof(v)) == 1 ? strtoll(v, NULL, 10) : -1;

	if (s->counts_done || s->counts_pending)
		return 0;
	/* A piece about the size of a batch (a cell packs to ~50 bytes). */
	if (outbox_counts_since(st, since, s->state->batch_bytes / 50 >
	    DSYNC_COUNTS_CELLS_MIN ? s->state->batch_bytes / 50 :
	    DSYNC_COUNTS_CELLS_MIN, util_now_ms(), &snap,
	    &s->counts_at) != 0) {
		dsync_fail(s, "cannot read the counts: %s", store_errmsg(st));
		return -1;
	}
	if (snap->n_cells == 0) {
		s->counts_done = 1;
		outbox_counts_free(snap);
		return 0;
	}
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_COUNTS;
	env.counts = snap;
	s->counts_pending = dsync_send(s, &env) == 0;
	outbox_counts_free(snap);
	if (!s->counts_pending)
		return -1;
	/* The collector acks a counts piece as it acks a batch. */
	s->inflight[s->ninflight].from = s->sent_to;
	s->inflight[s->ninflight].last = s->sent_to;
	s->inflight[s->ninflight].sent_ms = util_mono_ms();
	s->inflight[s->ninflight++].counts = 1;
	return 0;
}

/* The stall watch's period: short while batches' acks are due on a
   link whose pace is known (DSYNC_STALL_MS says why), restarted from
   now. */
static void
dsync_stall_arm(struct dsync *s)
{
	uint64_t ms = DSYNC_STALL_MS;
	int counts = 0;

	/* A counts piece can be many batches long (a whole place): its
	   ack may come much later than any batch's did. */
	for (int i = 0; i < s->ninflight; i++)
		counts |= s->inflight[i].counts;
	if (s->ninflight > 0 && !counts && s->state->ack_wait_ms > 0) {
		ms = 6 * (uint64_t)s->state->ack_wait_ms +
		    2 * (uint64_t)s->state->rtt_ms;
		if (ms < DSYNC_STALL_MIN_MS)
			ms = DSYNC_STALL_MIN_MS;
		if (ms > DSYNC_STALL_MS)
			ms = DSYNC_STALL_MS;
	}
	s->stall_ms = ms;
	uv_timer_set_repeat(&s->timer, ms);
	uv_timer_again(&s->timer);
}

/*
 * Held ranges (dsync_state.held): what the collector acknowledged above
 * its watermark.  After a cut the next attempt sends new records first
 * and then the gap below them; when that one is cut in turn, the gap of
 * the attempt after it holds records the collector stored beyond a hole
 * it had not filled yet.  Their acks told us so: the gap skips them.
 */
static void
held_prune(struct dsync_state *st, uint64_t acked)
{
	int j = 0;

	for (int i = 0; i < st->nheld; i++) {
		if (st->held[i].to <= acked)
			continue;
		if (st->held[i].from < acked)
			st->held[i].from = acked;
		st->held[j++] = st->held[i];
	}
	st->nheld = j;
}

static void
held_add(struct dsync_state *st, uint64_t from, uint64_t to)
{
	for (int i = 0; i < st->nheld; i++) {
		if (st->held[i].to == from) {		/* extends it */
			st->held[i].to = to;
			return;
		}
		if (st->held[i].from == to) {
			st->held[i].from = from;
			return;
		}
	}
	if (st->nheld < DSYNC_HELD_MAX) {
		st->held[st->nheld].from = from;
		st->held[st->nheld++].to = to;
	}
}

/* The next seq to send of the gap from next, past the held ranges; and
   in *room how many follow it before the next held range. */
static uint64_t
held_skip(const struct dsync_state *st, uint64_t next, uint64_t *room)
{
	int moved = 1;

	while (moved) {
		moved = 0;
		for (int i = 0; i < st->nheld; i++)
			if (st->held[i].from <= next && next < st->held[i].to) {
				next = st->held[i].to;
				moved = 1;
			}
	}
	*room = UINT64_MAX;
	for (int i = 0; i < st->nheld; i++)
		if (st->held[i].from > next && st->held[i].from - next < *room)
			*room = st->held[i].from - next;
	return next;
}

/*
 * The first attempt of a process: the batch size and round trip the last
 * process learned, from the store; the defaults on a board that never
 * synced.  Out-of-range values (a store edited by hand) are clamped.
 */
static void
dsync_link_load(struct dsync *s)
{
	struct dsync_state *state = s->state;
	uint64_t b = meta_get_u64(s->dev->st, DSYNC_META_LINK_BATCH);
	uint64_t r = meta_get_u64(s->dev->st, DSYNC_META_LINK_RTT);

	if (b == 0) {
		state->batch_bytes = DSYNC_BATCH_BYTES_START;
		return;
	}
	state->batch_bytes = b < DSYNC_BATCH_BYTES_MIN ?
	    DSYNC_BATCH_BYTES_MIN : b > WIRE_MAX_BATCH_BYTES ?
	    WIRE_MAX_BATCH_BYTES : (uint32_t)b;
	if (state->rtt_ms == 0)
		state->rtt_ms = r > DSYNC_RTT_MAX_MS ? DSYNC_RTT_MAX_MS :
		    (uint32_t)r;
	log_info("sync: remembered link: batches of %" PRIu32 " bytes, "
	    "round trip %" PRIu32 " ms", state->batch_bytes, state->rtt_ms);
}

static void
dsync_on_ready(struct tls_conn *c, void *arg)
{
	struct dsync *s = arg;
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Hello h = FIELD__SYNC__HELLO__INIT;
	struct formsync_hello forms;
	struct store_stats stats;
	uint64_t acked;
	char ver[64];
	int sent;

	(void)c;
	if (store_stats(s->dev->st, &stats) != 0 ||
	    outbox_acked(s->dev->st, &acked) != 0) {
		dsync_fail(s, "cannot read the store: %s",
		    store_errmsg(s->dev->st));
		return;
	}
	form_catalog_version(s->dev->cat, ver, sizeof(ver));
	h.device_id = (char *)s->dev->sub.device_id;
	h.protocol_version = SYNC_PROTOCOL_VERSION;
	h.highest_seq = stats.last_seq;
	h.device_time_ms = util_now_ms();
	h.pending = stats.last_seq > acked ? stats.last_seq - acked : 0;
	h.catalogue_version = ver;
	if (formsync_hello(s->dev, &h, &forms) != 0) {
		dsync_fail(s, "out of memory");
		return;
	}
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_HELLO;
	env.hello = &h;
	s->bytes += DSYNC_HANDSHAKE_BYTES;
	/* A TLS record of its own, though the first batch follows in the
	   same flight: the collector reads a record only once all of it has
	   come, and its welcome (the round trip; an attempt welcomed is
	   retried at once, not after a back-off) should not wait for a
	   batch to come whole. */
	sent = dsync_send(s, &env);
	formsync_hello_free(&forms);
	if (sent != 0)
		return;
	/* No waiting for the welcome: counts and the first batches follow
	   the hello at once, from our own watermark, which saves a round
	   trip on every reconnect.  The collector takes them in order and
	   skips what it holds already. */
	s->acked = s->sent_to = acked;
	/* After a cut, new records first: the collector may well hold
	   what the last attempt sent whose acks the cut lost, and the
	   welcome, a round trip away, says how far it got; whatever it
	   lacks goes then.  The link carries nothing twice meanwhile. */
	if (s->state->resume_to > acked &&
	    s->state->resume_to <= stats.last_seq) {
		s->gap_next = acked;
		s->gap_to = s->sent_to = s->state->resume_to;
	}
	held_prune(s->state, acked);
	s->max_batch = s->dev->cfg.sync_batch_max;
	s->hello_ms = util_mono_ms();
	if (s->state->batch_bytes == 0)
		dsync_link_load(s);
	/* Records first: on a link that drops every few KB, what goes
	   before the first batch decides whether an attempt gets any record
	   through.  The counts follow the records (dsync_pump). */
	dsync_pump(s);
}

static void
dsync_welcome(struct dsync *s, const Field__Sync__Welcome *w)
{
	struct store *st = s->dev->st;
	char buf[32];

	s->welcomed = 1;
	/* The round trip: the hello goes first and the collector answers
	   it at once, unless forms it sent first took the link. */
	if (!s->forms_seen) {
		uint64_t took = util_mono_ms() - s->hello_ms;

		if (took > DSYNC_RTT_MAX_MS)
			took = DSYNC_RTT_MAX_MS;
		s->state->rtt_ms = s->state->rtt_ms == 0 ? (uint32_t)took :
		    (uint32_t)((3 * (uint64_t)s->state->rtt_ms + took) / 4);
	}
	/* The collector's clock is the one to trust: keep the offset so
	   status shows it and untrusted stamps can be explained. */
	snprintf(buf, sizeof(buf), "%" PRId64,
	    w->collector_time_ms - util_now_ms());
	store_meta_set(st, DSYNC_META_OFFSET, buf);
	device_clock_offset(s->dev, w->collector_time_ms - util_now_ms());
	/* From now on a batch's first record need not repeat what the
	   last one sent on this conn said (the collector reads them in
	   order); an older collector never says so. */
	s->carry_ok = w->batch_carry;
	if (w->max_batch_records && w->max_batch_records < s->max_batch)
		s->max_batch = w->max_batch_records;
	if (w->acked_seq > s->acked) {
		/* A bundle got there first: skip what it carried.  The
		   collector read this from its committed store. */
		if (outbox_set_acked(st, w->acked_seq) != 0) {
			dsync_fail(s, "cannot record the watermark: %s",
			    store_errmsg(st));
			return;
		}
		s->acked = w->acked_seq;
		if (s->sent_to < s->acked)
			s->sent_to = s->acked;
		if (s->gap_next < s->acked)
			s->gap_next = s->acked < s->gap_to ? s->acked :
			    s->gap_to;
	} else if (w->acked_seq < s->acked) {
		/* The collector lost what it had acknowledged (a restore
		   from backup): send it again from its watermark. */
		log_warn("sync: the collector's watermark %" PRIu64 " is "
		    "below ours (%" PRIu64 "); sending again from there",
		    w->acked_seq, s->acked);
		/* For this attempt only: the stored watermark is never
		   lowered (outbox_set_acked), and what is purged is gone. */
		s->acked = s->sent_to = w->acked_seq;
		s->gap_next = s->gap_to = 0;
		s->state->nheld = 0;
	}
	/* What the collector holds above its watermark, read from its
	   store: the gap, and new records, skip it.  A collector that says
	   it (one that offers the carry: the same version) is the one to
	   believe, over what acks told earlier (a store restored from a
	   backup may have lost those). */
	if (w->batch_carry)
		s->state->nheld = 0;
	if (w->acked_seq >= s->acked)
		for (size_t i = 0; i + 1 < w->n_held_above &&
		    i < 2 * WIRE_MAX_HELD_RANGES; i += 2)
			if (w->held_above[i] >= s->acked &&
			    w->held_above[i] < w->held_above[i + 1])
				held_add(s->state, w->held_above[i],
				    w->held_above[i + 1]);
	dsync_pump(s);
}

static void
dsync_ack(struct dsync *s, const Field__Sync__Ack *a)
{
	struct store *st = s->dev->st;
	uint64_t took, now, wait;
	int was_counts;

	if (s->ninflight == 0) {
		dsync_fail(s, "an ack with no batch in flight");
		return;
	}
	/* Kept at once, in its own commit: the collector committed it
	   before it acked, so after a crash those records are not sent
	   again. */
	if (a->acked_seq > s->acked) {
		if (outbox_set_acked(st, a->acked_seq) != 0) {
			dsync_fail(s, "cannot record the ack: %s",
			    store_errmsg(st));
			return;
		}
		s->acked_records += a->acked_seq - s->acked;
		s->acked = a->acked_seq;
	}
	for (size_t i = 0; i < a->n_refused; i++)
		log_warn("sync: the collector set record seq %" PRIu64 " aside:"
		    " %.160s", a->refused[i]->seq, a->refused[i]->reason);
	/* One ack per batch or counts piece, in the order sent: this one
	   answers inflight[0], whatever its acked_seq says. */
	/* The time the link spent on this batch: since the ack before
	   it when it waited behind others (acks then come a batch's
	   transfer apart), else since it was sent, less the round trip,
	   which no batch size changes.  Counted from its send alone, a
	   batch would pay for those queued ahead of it, and batches would
	   shrink until their fixed costs (a record in full at the start
	   of each, frame and TLS record) eat the link. */
	now = util_mono_ms();
	/* How long an ack may keep us waiting with batches in the air,
	   for the stall watch: the longest wait of late, decaying. */
	wait = now - (s->last_ack_ms > s->inflight[0].sent_ms ?
	    s->last_ack_ms : s->inflight[0].sent_ms);
	if (wait > DSYNC_STALL_MS)
		wait = DSYNC_STALL_MS;
	s->state->ack_wait_ms = wait > s->state->ack_wait_ms / 8 * 7 ?
	    (uint32_t)wait : s->state->ack_wait_ms / 8 * 7;
	if (s->last_ack_ms > s->inflight[0].sent_ms)
		took = now - s->last_ack_ms;
	else {
		took = now - s->inflight[0].sent_ms;
		took = took > s->state->rtt_ms ? took - s->state->rtt_ms : 0;
	}
	s->last_ack_ms = now;
	was_counts = s->inflight[0].counts;
	/* Stored beyond the collector's watermark (above a hole the gap
	   fills): remembered, so a later attempt's gap skips it. */
	if (!was_counts && s->inflight[0].last > a->acked_seq &&
	    s->inflight[0].last > s->acked)
		held_add(s->state, s->inflight[0].from > s->acked ?
		    s->inflight[0].from : s->acked, s->inflight[0].last);
	memmove(s->inflight, s->inflight + 1,
	    sizeof(s->inflight[0]) * DSYNC_INFLIGHT);
	s->ninflight--;
	if (was_counts) {
		/* Acks come in order: this one covers the counts piece. */
		meta_set_u64(st, DSYNC_META_COUNTS_AT, s->counts_at);
		s->counts_pending = 0;
		dsync_pump(s);
		return;
	}
	/* Grow gently (an eighth per ack), halve on a cut: the size
	   settles below what the link carries between cuts. */
	if (took < DSYNC_ACK_FAST_MS &&
	    s->state->batch_bytes < WIRE_MAX_BATCH_BYTES)
		s->state->batch_bytes = s->state->batch_bytes / 8 * 9 >
		    WIRE_MAX_BATCH_BYTES ? WIRE_MAX_BATCH_BYTES :
		    s->state->batch_bytes / 8 * 9;
	else if (took > DSYNC_ACK_SLOW_MS &&
	    s->state->batch_bytes / 3 * 2 >= DSYNC_BATCH_BYTES_MIN)
		s->state->batch_bytes = s->state->batch_bytes / 3 * 2;
	dsync_pump(s);
}

static int
dsync_envelope(void *arg, Field__Sync__Envelope *env)
{
	struct dsync *s = arg;

	if (s->decided) {
		field__sync__envelope__free_unpacked(env, NULL);
		return 1;
	}
	switch (env->kind_case) {
	case FIELD__SYNC__ENVELOPE__KIND_WELCOME:
		if (s->welcomed)
			goto unexpected;
		dsync_welcome(s, env->welcome);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_ACK:
		if (!s->welcomed)	/* the collector welcomes first */
			goto unexpected;
		dsync_ack(s, env->ack);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_FORM_CATALOGUE:
		if (s->welcomed)	/* it comes before the welcome */
			goto unexpected;
		s->forms_seen = 1;
		formsync_take(s->dev, env->form_catalogue);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_ERROR: {
		char msg[161];

		/* The collector's words, made printable before they reach
		   the log and the status. */
		snprintf(msg, sizeof(msg), "%s", env->error->message);
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		s->refused = 1;
		dsync_fail(s, "collector refused: %s", msg);
		break;
	}
	case FIELD__SYNC__ENVELOPE__KIND_BYE:
		dsync_fail(s, "collector said bye");
		break;
	default:
		goto unexpected;
	}
	field__sync__envelope__free_unpacked(env, NULL);
	return s->decided;
unexpected:
	dsync_fail(s, "unexpected %s from the collector",
	    wire_kind_name(env->kind_case));
	field__sync__envelope__free_unpacked(env, NULL);
	return 1;
}

/* Sends batches while fewer than DSYNC_INFLIGHT are unacknowledged;
   ends the attempt when everything sent has been acknowledged. */
static void
dsync_pump(struct dsync *s)
{
	struct store *st = s->dev->st;
	struct store_stats stats;

	if (s->decided)
		return;
	if (store_stats(st, &stats) != 0) {
		dsync_fail(s, "cannot read the store: %s", store_errmsg(st));
		return;
	}
	while (!s->budget_stop && s->ninflight < DSYNC_INFLIGHT) {
		Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
		Field__Sync__RecordBatch *b;
		uint64_t bytes = 0, last, from;
		uint32_t limit = s->max_batch;
		/* What the collector lacks of the last attempt's first (once
		   welcomed), then new records. */
		int gap = s->welcomed && s->gap_next < s->gap_to;
		int rc;

		if (gap) {
			uint64_t room;

			/* What the collector acknowledged in an attempt
			   before (held ranges) is not sent again. */
			from = s->gap_next = held_skip(s->state, s->gap_next,
			    &room);
			if (from >= s->gap_to) {
				s->gap_next = s->gap_to;
				continue;
			}
			/* Seqs are gap-free: this many end at gap_to, or at
			   the next held range. */
			if (s->gap_to - from < limit)
				limit = (uint32_t)(s->gap_to - from);
			if (room < limit)
				limit = (uint32_t)room;
		} else if (s->sent_to < stats.last_seq) {
			uint64_t room;

			from = s->sent_to = held_skip(s->state, s->sent_to,
			    &room);
			if (from >= stats.last_seq) {
				s->sent_to = stats.last_seq;
				continue;
			}
			if (room < limit)
				limit = (uint32_t)room;
		} else
			break;
		if (outbox_batch(st, from, limit, s->state->batch_bytes,
		    &b) != 0) {
			dsync_fail(s, "cannot read records: %s",
			    store_errmsg(st));
			return;
		}
		if (b->n_records == 0) {
			/* Only purged records are left: acked already. */
			if (gap)
				s->gap_next = s->gap_to;
			else
				s->sent_to = stats.last_seq;
			outbox_batch_free(b);
			continue;
		}
		for (size_t i = 0; i < b->n_records; i++)
			bytes += b->records[i]->sealed.len + 64;
		/* Stop before the batch that would pass the day's budget;
		   what is in flight still gets its ack before the bye. */
		if (bytes > s->budget_left - (s->bytes < s->budget_left ?
		    s->bytes : s->budget_left)) {
			s->budget_stop = 1;
			outbox_batch_free(b);
			break;
		}
		last = b->records[b->n_records - 1]->seq;
		outbox_batch_compact(b);
		if (s->carry_ok)
			wire_carry_compact(&s->carry, b->records[0]);
		env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BATCH;
		env.batch = b;
		rc = dsync_send(s, &env);
		wire_carry_take(&s->carry, b);
		outbox_batch_free(b);
		if (rc != 0)
			return;
		if (gap)
			s->gap_next = last;
		else
			s->sent_to = last;
		s->inflight[s->ninflight].from = from;
		s->inflight[s->ninflight].last = last;
		s->inflight[s->ninflight].counts = 0;
		s->inflight[s->ninflight++].sent_ms = util_mono_ms();
	}
	/* The counts once every record is sent, what the collector lacks
	   of the last attempt's too (known only from the welcome), or the
	   day's budget stopped them: a piece, a whole place, can be many
	   times a batch, and on a link that drops every few KB it would
	   keep the records out.  They are the records' sums, so records
	   go first. */
	if (!s->counts_done && !s->counts_pending &&
	    s->ninflight < DSYNC_INFLIGHT && (s->budget_stop ||
	    (s->gap_next >= s->gap_to && s->sent_to >= stats.last_seq))) {
		if (dsync_counts(s) != 0)
			return;
	}
	if (!s->decided)
		dsync_stall_arm(s);
	/* Done only once the collector has answered: its welcome brings
	   the clock and, before it, any new forms. */
	if (s->ninflight > 0 || !s->welcomed || !s->counts_done)
		return;
	if (s->budget_stop)
		dsync_bye(s, DSYNC_BUDGET);
	else if (s->acked >= stats.last_seq)
		dsync_bye(s, DSYNC_DONE);
	else {
		/* Something skipped as held is not there after all: send
		   everything above the watermark next time. */
		s->state->nheld = 0;
		dsync_fail(s, "the collector's watermark stays at %" PRIu64
		    " below seq %" PRIu64, s->acked, stats.last_seq);
	}
}

static void
dsync_on_data(struct tls_conn *c, const unsigned char *data, size_t len,
    void *arg)
{
	struct dsync *s = arg;
	char err[256];

	(void)c;
	/* Any byte from the collector shows the link alive: the stall
	   watch starts over, even while closing. */
	uv_timer_again(&s->timer);
	if (s->decided)
		return;
	if (frame_reader_feed(&s->fr, data, len, dsync_envelope, s, err,
	    sizeof(err)) < 0)
		dsync_fail(s, "from the collector: %s", err);
}

static void
dsync_on_close(struct tls_conn *c, const char *reason, void *arg)
{
	struct dsync *s = arg;

	(void)c;
	s->c = NULL;
	if (!s->decided) {
		s->decided = 1;
		s->result = DSYNC_FAILED;
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
	}
	dsync_finish(s);
}

static const struct tls_callbacks dsync_cb = {
	.on_ready = dsync_on_ready,
	.on_data = dsync_on_data,
	.on_close = dsync_on_close,
};

static void
dsync_on_timer(uv_timer_t *t)
{
	struct dsync *s = t->data;

	if (s->c == NULL) {
		dsync_finish(s);	/* it never started */
		return;
	}
	dsync_fail(s, "no reply from the collector for %.1f s",
	    (double)s->stall_ms / 1000);
}

struct dsync *
dsync_start(uv_loop_t *loop, struct device *dev, struct dsync_state *state,
    dsync_done_fn done, void *arg)
{
	struct dsync *s = calloc(1, sizeof(*s));
	struct tls_config tc = { 0 };
	char key[PATH_MAX + 32], crt[PATH_MAX + 32], ca[PATH_MAX + 32], port[8];

	if (s == NULL)
		return NULL;
	s->loop = loop;
	s->dev = dev;
	s->state = state;
	s->done = done;
	s->arg = arg;
	frame_reader_init(&s->fr, WIRE_MAX_FRAME);
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->decided = 1;		/* until the conn is up, failing is final */
	s->result = DSYNC_FAILED;
	if (!dsync_enrolled(dev->dir)) {
		snprintf(s->reason, sizeof(s->reason), "not enrolled: "
		    "fieldctl enroll --collector HOST:PORT --token TOKEN");
		goto later;
	}
	if (dev->cfg.collector_host[0] == '\0') {
		snprintf(s->reason, sizeof(s->reason), "no collector set: "
		    "fieldctl enroll, or fieldctl config set collector "
		    "HOST:PORT");
		goto later;
	}
	if ((s->budget_left = budget_left(dev)) == 0) {
		s->result = DSYNC_BUDGET;
		goto later;
	}
	snprintf(key, sizeof(key), "%s/%s", dev->dir, DSYNC_KEY_FILE);
	snprintf(crt, sizeof(crt), "%s/%s", dev->dir, DSYNC_CERT_FILE);
	snprintf(ca, sizeof(ca), "%s/%s", dev->dir, DSYNC_CA_FILE);
	snprintf(port, sizeof(port), "%d", dev->cfg.collector_port);
	tc.role = TLS_CLIENT;
	tc.cert_file = crt;
	tc.key_file = key;
	tc.ca_file = ca;
	tc.peer_auth = TLS_PEER_REQUIRED;
	if ((s->ctx = tls_ctx_new(&tc, s->reason, sizeof(s->reason))) ==
	    NULL)
		goto later;
	s->c = tls_connect(loop, s->ctx, dev->cfg.collector_host, port,
	    DSYNC_CONNECT_MS, &dsync_cb, s, s->reason, sizeof(s->reason));
	if (s->c == NULL)
		goto later;
	if (state->session == NULL &&
	    (state->session = tls_session_new()) != NULL)
		session_read(dev->dir, state->session);
	if (state->session != NULL)
		tls_conn_use_session(s->c, state->session);
	s->decided = 0;
	s->stall_ms = DSYNC_STALL_MS;
	uv_timer_start(&s->timer, dsync_on_timer, DSYNC_STALL_MS,
	    DSYNC_STALL_MS);
	return s;
later:
	uv_timer_start(&s->timer, dsync_on_timer, 0, 0);
	return s;
}

void
dsync_cancel(struct dsync *s)
{
	dsync_fail(s, "cancelled");
}

int64_t
dsync_purge(struct device *dev)
{
	uint64_t acked;
	int64_t before = util_now_ms() -
	    (int64_t)dev->cfg.retention_days * 86400 * 1000;

	if (outbox_acked(dev->st, &acked) != 0)
		return -1;
	return store_purge(dev->st, acked, before);
}

/* --- fieldd's schedule ------------------------------------------------ */

struct dsync_sched {
	uv_loop_t *loop;
	struct device *dev;
	struct dsync_state state;
	struct dsync *attempt;
	uv_timer_t timer;
	int stopping;
	int forced;		/* kicked: try even with nothing waiting */
	dsync_sched_fn observe;
	void *observe_arg;
};

static void sched_arm(struct dsync_sched *sc, uint64_t ms);

static void
sched_freed(uv_handle_t *h)
{
	struct dsync_sched *sc = h->data;

	dsync_state_fini(&sc->state);
	free(sc);
}

static void
sched_done(void *arg, enum dsync_result r, const char *reason)
{
	struct dsync_sched *sc = arg;
	int64_t n;

	sc->attempt = NULL;
	if (sc->observe && !sc->stopping)
		sc->observe(sc->observe_arg, 0, r, reason);
	if (sc->stopping) {
		uv_close((uv_handle_t *)&sc->timer, sched_freed);
		return;
	}
	/* Purge only payloads at or below the stored watermark, after
	   an attempt that brought everything up to it. */
	if (r == DSYNC_DONE && (n = dsync_purge(sc->dev)) > 0)
		log_info("sync: %" PRId64 " acknowledged payloads past the "
		    "retention window purged", n);
	sched_arm(sc, r == DSYNC_FAILED ? dsync_retry_ms(&sc->state,
	    sc->dev->cfg.sync_retry_max_s) :
	    (uint64_t)sc->dev->cfg.sync_interval_s * 1000);
}

static void
sched_on_timer(uv_timer_t *t)
{
	struct dsync_sched *sc = t->data;
	struct store_stats stats;
	uint64_t acked;

	int forced = sc->forced;

	if (sc->attempt)
		return;
	sc->forced = 0;
	if (sc->dev->cfg.collector_host[0] == '\0' ||
	    !dsync_enrolled(sc->dev->dir) ||
	    store_stats(sc->dev->st, &stats) != 0 ||
	    outbox_acked(sc->dev->st, &acked) != 0 ||
	    (stats.last_seq <= acked && !forced)) {
		if (forced)
			log_info("sync: asked for, but no collector is set or "
			    "this device is not enrolled");
		sched_arm(sc, (uint64_t)sc->dev->cfg.sync_interval_s * 1000);
		return;
	}
	sc->attempt = dsync_start(sc->loop, sc->dev, &sc->state, sched_done,
	    sc);
	if (sc->attempt && sc->observe)
		sc->observe(sc->observe_arg, 1, DSYNC_DONE, NULL);
	if (sc->attempt == NULL)
		sched_arm(sc, dsync_backoff_ms(++sc->state.failures,
		    sc->dev->cfg.sync_retry_max_s));
}

static void
sched_arm(struct dsync_sched *sc, uint64_t ms)
{
	uv_timer_start(&sc->timer, sched_on_timer, ms, 0);
}

struct dsync_sched *
dsync_sched_start(uv_loop_t *loop, struct device *dev)
{
	struct dsync_sched *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->loop = loop;
	sc->dev = dev;
	uv_timer_init(loop, &sc->timer);
	sc->timer.data = sc;
	sched_arm(sc, 1000);	/* soon after start: a link may be up */
	return sc;
}

void
dsync_sched_kick(struct dsync_sched *sc)
{
	if (sc->attempt == NULL && !sc->stopping) {
		sc->forced = 1;
		sched_arm(sc, 0);
	}
}

void
dsync_sched_observe(struct dsync_sched *sc, dsync_sched_fn fn, void *arg)
{
	sc->observe = fn;
	sc->observe_arg = arg;
}

void
dsync_sched_stop(struct dsync_sched *sc)
{
	sc->stopping = 1;
	uv_timer_stop(&sc->timer);
	if (sc->attempt)
		dsync_cancel(sc->attempt);
	else
		uv_close((uv_handle_t *)&sc->timer, sched_freed);
}
