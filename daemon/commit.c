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

struct committer {
	uv_loop_t *loop;
	uv_async_t async;		/* the writer's "some are done" */
	uv_thread_t thread;
	uv_mutex_t mu;
	uv_cond_t cv;
	struct device *dev;
	struct store *wst;		/* the writer's own connection */
	/* under mu: */
	struct commit_req *queue, **queue_tail;	/* waiting */
	size_t queued;				/* requests in queue */
	struct commit_req *done, **done_tail;	/* committed, to answer */
	int stopping;
	/* the loop's: */
	int thread_running;
	uint64_t commits, requests;	/* for the debug log */
};

static void
committer_writer(void *arg)
{
	struct committer *c = arg;
	struct submit_job *jobs[COMMIT_GROUP_MAX];
	struct commit_req *group, *r, *last;
	size_t n, last_n = 0;
	uint64_t took_ns = 0, t0, now, until;

	uv_mutex_lock(&c->mu);
	for (;;) {
		while (c->queue == NULL && !c->stopping)
			uv_cond_wait(&c->cv, &c->mu);
		if (c->queue == NULL)
			break;		/* stopping, and nothing left */
		/*
		 * Phones answered by the last commit come back with their
		 * next record a moment later.  When fewer are waiting than
		 * that commit carried, wait a little for the rest (at most
		 * half a commit's time, and COMMIT_WAIT_NS): otherwise
		 * groups alternate large and small and eight phones get
		 * only half the sharing.  A lone phone never waits.
		 */
		now = uv_hrtime();
		until = now + (took_ns / 2 < COMMIT_WAIT_NS ? took_ns / 2 :
		    COMMIT_WAIT_NS);
		while (!c->stopping && c->queued < last_n && now < until) {
			uv_cond_timedwait(&c->cv, &c->mu, until - now);
			now = uv_hrtime();
		}
		/* Everything that came while the last commit was on the
		   card, up to the group's bound. */
		group = c->queue;
		last = NULL;
		for (r = group, n = 0; r && n < COMMIT_GROUP_MAX; r = r->next) {
			jobs[n++] = &r->job;
			last = r;
		}
		c->queue = last->next;
		last->next = NULL;
		if (c->queue == NULL)
			c->queue_tail = &c->queue;
		c->queued -= n;
		uv_mutex_unlock(&c->mu);

		t0 = uv_hrtime();
		submit_jobs_store(&c->dev->sub, c->wst, jobs, n);
		took_ns = uv_hrtime() - t0;
		last_n = n;

		uv_mutex_lock(&c->mu);
		*c->done_tail = group;
		c->done_tail = &last->next;
		uv_mutex_unlock(&c->mu);
		uv_async_send(&c->async);
		uv_mutex_lock(&c->mu);
	}
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
	 * record: with eight phones, formatting and writing a line per
	 * record took about a tenth of the loop's time per submit.  Each
	 * record's id is in the debug log (fieldd -v).
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

	log_debug("commit: %llu requests in %llu commits",
	    (unsigned long long)c->requests, (unsigned long long)c->commits);
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
	if (uv_mutex_init(&c->mu) != 0 || uv_cond_init(&c->cv) != 0) {
		snprintf(err, errlen, "cannot make the writer's lock");
		store_close(c->wst);
		free(c);
		return NULL;
	}
	uv_async_init(loop, &c->async, committer_answer);
	c->async.data = c;
	if (uv_thread_create_ex(&c->thread, &to, committer_writer, c) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		store_close(c->wst);
		uv_close((uv_handle_t *)&c->async, committer_closed);
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
	c->queued++;
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
	committer_answer(&c->async);
	store_close(c->wst);
	c->wst = NULL;
	uv_close((uv_handle_t *)&c->async, committer_closed);
}
