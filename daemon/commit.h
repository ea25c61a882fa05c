/*
 * commit.h: fieldd's group commit.  One writer thread with its own SQLite
 * connection stores every record fieldd takes (the JSON API, OpenRosa);
 * the loop thread goes on serving reads, the web app and sync while the
 * writer waits for the card.
 *
 *   loop:   check (submit_job_check) -> committer_queue -> (returns)
 *   writer: takes every job queued so far -> one transaction
 *           (submit_jobs_store) -> COMMIT, fsync -> hands them back
 *   loop:   done(arg, job) for each, in queue order: the answer
 *
 * Jobs that arrive while a commit is in flight wait for the next one and
 * go in together, so eight phones cost about one fsync, not eight.  A job
 * is handed back only after the commit that covers it has returned:
 * acknowledged still means on the card.  Seqs stay gap-free (one writer,
 * BEGIN IMMEDIATE, seq = max + 1 inside the transaction).  The submitter's
 * sealing epoch belongs to the writer thread; the loop touches the
 * submitter only to check records and read the board's refusal.
 */
#ifndef COMMIT_H
#define COMMIT_H

#include <uv.h>

#include "daemon/device.h"
#include "daemon/submit.h"

/* At most this many requests in one transaction (the rest wait for the
   next): bounds a transaction's time, and the writer's buffer. */
#define COMMIT_GROUP_MAX 128

struct commit_req;
typedef void (*commit_done_fn)(struct commit_req *r);

/* A request's records on their way to the card: made by the caller,
   which owns it again in done. */
struct commit_req {
	struct submit_job job;		/* checked: submit_job_check == OK */
	commit_done_fn done;
	void *arg;
	struct commit_req *next;	/* the committer's */
};

struct committer;

/*
 * Opens the writer's connection to dev's store and starts its thread.
 * NULL with err on failure.
 */
struct committer *committer_start(uv_loop_t *loop, struct device *dev,
    char *err, size_t errlen);
/* Queues r; r->done(r) runs on the loop after r's commit returned. */
void committer_queue(struct committer *c, struct commit_req *r);
/*
 * Lets the writer finish every queued request, answers them, joins the
 * thread, closes its connection, and frees c once its handle is closed.
 * Call it from the loop; run the loop afterwards until it is done.
 */
void committer_stop(struct committer *c);

#endif
