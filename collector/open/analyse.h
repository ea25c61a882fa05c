/*
 * analyse.h: `collectctl -d CDIR analyse --key FILE`: opens the records
 * that arrived since the last run (cstore arrival order), validates each
 * against the form version it names, and appends its facts to the
 * analysis tables (astore.h).  A record that does not open or validate is
 * kept out of the counts and listed in the failed table with the reason
 * (never its content), and tried again at the start of every run (the
 * form version it names may have reached the collector since).  Commits every ANALYSE_COMMIT_EVERY records, so an
 * interrupted run loses nothing and a new one goes on where it stopped.
 * Linked only into collectctl (it needs the private key).
 */
#ifndef ANALYSE_H
#define ANALYSE_H

#include <stddef.h>
#include <stdint.h>

#define ANALYSE_COMMIT_EVERY 20000
#define ANALYSE_RETRY_MAX 100000	/* set aside ones tried again a run */

struct analyse_stats {
	uint64_t opened;		/* new ones opened, valid and counted */
	uint64_t retried;		/* set aside before, counted now */
	uint64_t failed;		/* kept out, with a reason */
	double seconds;
};

/* 0 and *st, or -1 with err (nothing of the failed batch is kept). */
int analyse_run(const char *cdir, const char *keyfile,
    struct analyse_stats *st, char *err, size_t errlen);

#endif
