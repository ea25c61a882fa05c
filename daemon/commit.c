/* commit.c: see commit.h. */
#include "daemon/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* The writer needs little stack: SQLite, sealing and packing work on the
   heap.  A small stack keeps a thread's share of fieldd's memory small. */
#define COMMIT_STACK (256 * 1024)
/* The longest a commit waits for more requests (see committer_writer). */
#define COMMIT_WAIT_NS (5 * 1000 * 1000)

/* Requests that go to the card in one transaction, and their jobs. */
struct group {
	struct commit_req *head, **tail;
	struct submit_job *jobs[COMMIT_GROUP_MAX];
	size_t n;
	int epoch_made;			/* submit_jobs_begin's */
};

struct committer {
	uv_loop_t *loop;
	uv_async_t async;		/* the writer's "some are done" */
	uv_thread_t thread, syncer;
	uv_mutex_t mu;
	uv_cond_t cv;			/* the writer's: queued, synced, stop */
	uv_cond_t scv;			/* the syncer's: commit, quit */
	struct device *dev;
	struct store *wst;		/* the writer's own connection */
	/* under mu: */
	struct commit_req *queue, **queue_tail;	/* waiting */
	struct commit_req *done, **done_tail;	/* committed, to answer */
	int stopping;
	int sync_want, sync_done, sync_rc, sync_quit;	/* the syncer's work */
	/* the writer's: */
	struct group g[2];		/* the one on the card, the next */
	/* the loop's: */
	int thread_running, syncer_running;
	uint64_t commits, requests;	/* for the log */
};

/*
 * The syncer: runs the COMMIT (and so the card's fsync) of the group the
 * writer staged, so that the writer packs and seals the next group
 * meanwhile.  The writer does not touch the connection until the syncer
 * says it is done; the submitter (epoch, packer) stays the writer's.
 */
static void
committer_syncer(void *arg)
{
	struct committer *c = arg;
	int rc;

	uv_mutex_lock(&c->mu);
	for (;;) {
		while (!c->sync_want && !c->sync_quit)
			uv_cond_wait(&c->scv, &c->mu);
		if (!c->sync_want)
			break;
		c->sync_want = 0;
		uv_mutex_unlock(&c->mu);
		rc = store_commit(c->wst);
		uv_mutex_lock(&c->mu);
		c->sync_rc = rc;
		c->sync_done = 1;
		uv_cond_signal(&c->cv);
	}
	uv_mutex_unlock(&c->mu);
}

/* Under mu: moves queued requests into g, up to the group's bound;
   returns how many g had before. */
static size_t
committer_take(struct committer *c, struct group *g)
{
	size_t n0 = g->n;
	struct commit_req *r;

	if (g->n == 0)
		g->tail = &g->head;
	while ((r = c->queue) != NULL && g->n < COMMIT_GROUP_MAX) {
		c->queue = r->next;
		r->next = NULL;
		*g->tail = r;
		g->tail = &r->next;
		g->jobs[g->n++] = &r->job;
	}
	if (c->queue == NULL)
		c->queue_tail = &c->queue;
	return n0;
}

/* Under mu: g's requests are done; the loop answers them. */
static void
committer_hand_back(struct committer *c, struct group *g)
{
	*c->done_tail = g->head;
	c->done_tail = g->tail;
	g->head = NULL;
	g->tail = &g->head;
	g->n = 0;
	uv_async_send(&c->async);
}

/*
 * The writer: one group on the card at a time (one connection, one
 * SQLite writer), and the next one gathered and sealed meanwhile:
 *
 *   take what is queued -> seal it ahead (submit_jobs_prepare)
 *   the card's group committed -> finish it, hand it back
 *   nothing on the card -> the next group: BEGIN, insert -> the syncer
 *
 * While the syncer waits for the card, the writer takes each request
 * as it comes and seals it, so the CPU half of the next transaction
 * (pack, seal, count) is done by the time the card is free, and only
 * the inserts are left between one fsync and the next.
 */
static void
committer_writer(void *arg)
{
	struct committer *c = arg;
	struct submitter *s = &c->dev->sub;
	struct group *next = &c->g[0], *card = &c->g[1], *t;
	size_t n0, last_n = 0, sealed;
	uint64_t t0 = 0, now, until = 0, took;
	int on_card = 0, rc;

	uv_mutex_lock(&c->mu);
	for (;;) {
		if (c->queue && next->n < COMMIT_GROUP_MAX) {
			n0 = committer_take(c, next);
			uv_mutex_unlock(&c->mu);
			sealed = submit_jobs_prepare(s, next->jobs + n0,
			    next->n - n0);
			if (on_card && sealed)
				log_debug("commit: sealed %zu record(s) while "
				    "a commit was on the card", sealed);
			uv_mutex_lock(&c->mu);
			continue;
		}
		if (on_card) {
			if (!c->sync_done) {
				uv_cond_wait(&c->cv, &c->mu);
				continue;
			}
			c->sync_done = 0;
			rc = c->sync_rc;
			uv_mutex_unlock(&c->mu);
			submit_jobs_end(s, c->wst, card->jobs, card->n,
			    card->epoch_made, rc);
			now = uv_hrtime();
			took = now - t0;
			/*
			 * Phones answered by this commit come back with
			 * their next record a moment later.  When fewer
			 * are waiting than it carried, the next commit
			 * waits a little for the rest (at most half a
			 * commit's time, and COMMIT_WAIT_NS), sealing
			 * them as they come: otherwise groups alternate
			 * large and small and eight phones get only half
			 * the sharing.  A lone phone never waits.
			 */
			until = now + (took / 2 < COMMIT_WAIT_NS ? took / 2 :
			    COMMIT_WAIT_NS);
			last_n = card->n;
			uv_mutex_lock(&c->mu);
			committer_hand_back(c, card);
			on_card = 0;
			continue;
		}
		if (next->n == 0) {
			if (c->stopping)
				break;
			uv_cond_wait(&c->cv, &c->mu);
			continue;
		}
		now = uv_hrtime();
		if (!c->stopping && next->n < last_n && now < until) {
			uv_cond_timedwait(&c->cv, &c->mu, until - now);
			continue;
		}
		/* The next group goes to the card. */
		t = card;
		card = next;
		next = t;
		uv_mutex_unlock(&c->mu);
		t0 = uv_hrtime();
		rc = submit_jobs_begin(s, c->wst, card->jobs, card->n,
		    &card->epoch_made);
		uv_mutex_lock(&c->mu);
		if (rc == 0) {
			c->sync_want = 1;
			uv_cond_signal(&c->scv);
			on_card = 1;
		} else {	/* done already: failed, or stored alone */
			last_n = card->n;
			until = 0;
			committer_hand_back(c, card);
		}
	}
	c->sync_quit = 1;
	uv_cond_signal(&c->scv);
	uv_mutex_unlock(&c->mu);
}

/* On the loop: answers every request the writer has committed. */
static void
committer_answer(uv_async_t *h)
{
	struct committer *c = h->data;
	struct commit_req *r, *next;
	uint64_t lo = 0, hi = 0;
	size_t n = 0, dups = 0;
	int stored = 0;

	uv_mutex_lock(&c->mu);
	r = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	uv_mutex_unlock(&c->mu);
	for (struct commit_req *q = r; q; q = q->next) {
		c->requests++;
		if (q->job.worst != SUBMIT_OK)
			continue;
		stored = 1;
		for (size_t i = 0; i < q->job.n; i++) {
			const struct submit_done *d = &q->job.done[i];

			if (d->status != SUBMIT_OK) {
				dups++;
				continue;
			}
			lo = n == 0 || d->seq < lo ? d->seq : lo;
			hi = n == 0 || d->seq > hi ? d->seq : hi;
			n++;
		}
	}
	if (r)
		c->commits++;
	/*
	 * One line for what the writer handed back at once, not one per
	 * record: with eight phones, a line per record was a tenth of the
	 * loop's time per submit (and as much again for the log's reader).
	 * Each record's id is in the debug log (fieldd -v).
	 */
	if (n > 0 && dups > 0)
		log_info("commit: stored %zu record(s), seq %llu to %llu; %zu "
		    "already stored", n, (unsigned long long)lo,
		    (unsigned long long)hi, dups);
	else if (n > 0)
		log_info("commit: stored %zu record(s), seq %llu to %llu", n,
		    (unsigned long long)lo, (unsigned long long)hi);
	else if (dups > 0)
		log_info("commit: %zu record(s) already stored", dups);
	if (stored && c->dev->sub.stored)
		c->dev->sub.stored(c->dev->sub.stored_arg);
	for (; r; r = next) {
		next = r->next;
		r->next = NULL;
		r->done(r);
	}
}

static void
committer_closed(uv_handle_t *h)
{
	struct committer *c = h->data;

	log_info("commit: %llu requests in %llu commits, %llu records sealed "
	    "ahead of their transaction", (unsigned long long)c->requests,
	    (unsigned long long)c->commits,
	    (unsigned long long)c->dev->sub.sealed_ahead);
	uv_cond_destroy(&c->scv);
	uv_cond_destroy(&c->cv);
	uv_mutex_destroy(&c->mu);
	free(c);
}

struct committer *
committer_start(uv_loop_t *loop, struct device *dev, char *err,
    size_t errlen)
{
	uv_thread_options_t to = { UV_THREAD_HAS_STACK_SIZE, COMMIT_STACK };
	struct committer *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->dev = dev;
	c->queue_tail = &c->queue;
	c->done_tail = &c->done;
	if (store_open_again(dev->st, &c->wst, err, errlen) != 0) {
		free(c);
		return NULL;
	}
	c->g[0].tail = &c->g[0].head;
	c->g[1].tail = &c->g[1].head;
	if (uv_mutex_init(&c->mu) != 0 || uv_cond_init(&c->cv) != 0 ||
	    uv_cond_init(&c->scv) != 0) {
		snprintf(err, errlen, "cannot make the writer's lock");
		store_close(c->wst);
		free(c);
		return NULL;
	}
	uv_async_init(loop, &c->async, committer_answer);
	c->async.data = c;
	if (uv_thread_create_ex(&c->syncer, &to, committer_syncer, c) != 0) {
		snprintf(err, errlen, "cannot start the syncer thread");
		store_close(c->wst);
		uv_close((uv_handle_t *)&c->async, committer_closed);
		return NULL;
	}
	c->syncer_running = 1;
	if (uv_thread_create_ex(&c->thread, &to, committer_writer, c) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		committer_stop(c);
		return NULL;
	}
	c->thread_running = 1;
	return c;
}

void
committer_queue(struct committer *c, struct commit_req *r)
{
	r->next = NULL;
	uv_mutex_lock(&c->mu);
	*c->queue_tail = r;
	c->queue_tail = &r->next;
	uv_cond_signal(&c->cv);
	uv_mutex_unlock(&c->mu);
}

void
committer_stop(struct committer *c)
{
	if (c == NULL)
		return;
	uv_mutex_lock(&c->mu);
	c->stopping = 1;
	uv_cond_signal(&c->cv);
	uv_mutex_unlock(&c->mu);
	/* The writer ends once the queue is empty: at most one group's
	   commit away. */
	if (c->thread_running)
		uv_thread_join(&c->thread);
	c->thread_running = 0;
	/* the writer told the syncer to quit as it ended; without a
	   writer, nobody did */
	uv_mutex_lock(&c->mu);
	c->sync_quit = 1;
	uv_cond_signal(&c->scv);
	uv_mutex_unlock(&c->mu);
	if (c->syncer_running)
		uv_thread_join(&c->syncer);
	c->syncer_running = 0;
	committer_answer(&c->async);
	store_close(c->wst);
	c->wst = NULL;
	uv_close((uv_handle_t *)&c->async, committer_closed);
}
