/* submit.c: see submit.h. */
#include "daemon/submit.h"

#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/util.h"

int
submit_init(struct submitter *s, struct store *st,
    const struct form_catalog *cat, const struct submit_opts *opt, char *err,
    size_t errlen)
{
	char pub[128];

	memset(s, 0, sizeof(*s));
	s->st = st;
	s->cat = cat;
	s->opt = *opt;
	if (store_meta_get(st, "device_id", s->device_id,
	    sizeof(s->device_id)) != 1 ||
	    store_meta_get(st, "collector_pub", pub, sizeof(pub)) != 1 ||
	    seal_pub_parse(pub, s->collector_pub) != 0) {
		snprintf(err, errlen, "the device is not initialised (no device"
		    " id or collector key); run fieldctl init");
		return -1;
	}
	if ((s->rp = recpack_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
submit_fini(struct submitter *s)
{
	if (s->have_epoch)
		seal_epoch_wipe(&s->ep);
	recpack_free(s->rp);
	s->rp = NULL;
	s->have_epoch = 0;
}

static void
submit_fail(struct submitter *s, struct store *st, struct submit_result *res,
    enum submit_status status, const char *what)
{
	res->status = status;
	snprintf(res->msg, sizeof(res->msg), "%s", what);
	if (status == SUBMIT_ERROR) {
		log_err("submit: %s: %s", what, store_errmsg(st));
		store_meta_set(st, "last_error", what);
	}
	(void)s;
}

/* Validation: everything that needs no transaction. */
static const struct form *
submit_check(struct submitter *s, const char *form_id, const char *version,
    json_t *rec, struct submit_result *res)
{
	const struct form *f;
	json_t *v;
	char today[11];

	/* Not the whole struct: its errors alone are 20 KiB, and a submit's
	   time is counted in microseconds (bench_store). */
	res->status = SUBMIT_OK;
	res->id[0] = res->version[0] = res->msg[0] = '\0';
	res->seq = 0;
	res->errs.n = res->errs.dropped = 0;
	snprintf(res->form_id, sizeof(res->form_id), "%s", form_id);
	if (version == NULL && json_is_object(rec) &&
	    (v = json_object_get(rec, "_version")) != NULL &&
	    json_is_string(v))
		version = json_string_value(v);
	if ((f = form_catalog_get(s->cat, form_id, version)) == NULL) {
		res->status = SUBMIT_NO_FORM;
		if (version && form_catalog_get(s->cat, form_id, NULL))
			snprintf(res->msg, sizeof(res->msg), "form %.64s has "
			    "no version %.32s", form_id, version);
		else
			snprintf(res->msg, sizeof(res->msg), "unknown form "
			    "%.64s", form_id);
		return NULL;
	}
	snprintf(res->version, sizeof(res->version), "%s", form_version(f));
	clock_today(today);
	if (form_validate(f, rec, today, &res->errs) != 0) {
		res->status = SUBMIT_INVALID;
		snprintf(res->msg, sizeof(res->msg), "form %s version %s: "
		    "%zu error(s)", form_id, form_version(f),
		    res->errs.n + res->errs.dropped);
		return NULL;
	}
	if ((v = json_object_get(rec, "_id")) != NULL) {
		snprintf(res->id, sizeof(res->id), "%s", json_string_value(v));
		util_lower(res->id);
	} else if (rng_uuid(res->id) != 0) {
		submit_fail(s, s->st, res, SUBMIT_ERROR,
		    "no entropy for a record id");
		return NULL;
	}
	return f;
}

static int
submit_space_ok(struct submitter *s, struct submit_result *res)
{
	uint64_t avail;

	if (s->refusal) {
		res->status = SUBMIT_REFUSED;
		snprintf(res->msg, sizeof(res->msg), "%s", s->refusal);
		return 0;
	}
	if (s->opt.free_floor_bytes == 0)
		return 1;
	if (store_free_bytes(s->st, &avail) != 0) {
		submit_fail(s, s->st, res, SUBMIT_ERROR,
		    "cannot read free space");
		return 0;
	}
	if (avail >= s->opt.free_floor_bytes)
		return 1;
	res->status = SUBMIT_NO_SPACE;
	snprintf(res->msg, sizeof(res->msg), "storage low: %llu MiB free, "
	    "below the floor of %llu MiB; new records are refused until "
	    "space is freed", (unsigned long long)(avail >> 20),
	    (unsigned long long)(s->opt.free_floor_bytes >> 20));
	log_warn("submit: %s", res->msg);
	return 0;
}

/* Whether the current epoch may seal one more record. */
static int
submit_epoch_fresh(const struct submitter *s)
{
	uint64_t age_ms;

	if (!s->have_epoch)
		return 0;
	age_ms = (uint64_t)(util_now_ms() - s->ep.started_ms);
	return s->ep.used < s->opt.epoch_records &&
	    age_ms < (uint64_t)s->opt.epoch_seconds * 1000;
}

/* Inside a transaction: makes sure a fresh enough epoch exists.  Sets
   *made when this transaction created it (so a rollback drops it). */
static int
submit_epoch(struct submitter *s, struct store *st, int *made)
{
	if (submit_epoch_fresh(s))
		return 0;
	if (s->have_epoch) {
		seal_epoch_wipe(&s->ep);
		s->have_epoch = 0;
	}
	s->epoch_serial++;	/* records sealed ahead under the old one
				   are sealed again */
	if (seal_epoch_start(&s->ep, s->collector_pub, s->device_id) != 0)
		return -1;
	if (store_epoch_add(st, s->ep.pub, s->ep.started_ms,
	    &s->ep.id) != 0) {
		seal_epoch_wipe(&s->ep);
		return -1;
	}
	s->have_epoch = 1;
	*made = 1;
	return 0;
}

/* A record packed and sealed for one seq under one epoch, and its count
   cells: the CPU half of storing it, which needs no transaction. */
struct submit_sealed {
	unsigned char *blob;		/* NULL: not sealed */
	size_t len;
	uint64_t seq, serial;		/* sealed for this seq and epoch */
	int64_t created_ms;
	int clock;			/* Field__ClockQuality */
	struct form_counts counts;
};

static void
submit_sealed_free(struct submit_sealed *sl)
{
	free(sl->blob);
	form_counts_free(&sl->counts);
	memset(sl, 0, sizeof(*sl));
}

/*
 * Packs and seals one checked record for seq under the current epoch
 * (which must be fresh), and counts it.  Touches no store: it runs
 * inside a transaction or ahead of one (submit_jobs_prepare).  NULL, or
 * what failed.
 */
static const char *
submit_seal(struct submitter *s, const struct form *f, const json_t *rec,
    const char *id, uint64_t seq, struct submit_sealed *sl)
{
	Field__Record r = FIELD__RECORD__INIT;
	unsigned char *pt = NULL;
	size_t len = 0;
	const char *why = NULL;
	char today[11];
	int64_t now;

	memset(sl, 0, sizeof(*sl));
	r.id = (char *)id;
	r.form_id = (char *)form_id(f);
	r.form_version = (char *)form_version(f);
	r.device_id = s->device_id;
	r.seq = seq;
	r.clock = clock_now(&now) ? FIELD__CLOCK_QUALITY__CLOCK_TRUSTED :
	    FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_SINCE_BOOT;
	r.created_ms = now;
	struct seal_ad ad = { id, form_id(f), form_version(f), s->device_id,
	    s->ep.id };
	if (form_values(f, rec, &r) != 0 ||
	    recpack_encode(s->rp, f, &r, &pt, &len) != 0 ||
	    (sl->blob = malloc(len + SEAL_OVERHEAD)) == NULL)
		why = "out of memory";
	else if (seal_record(&s->ep, &ad, pt, len, sl->blob) != 0)
		why = "sealing failed";
	else if (form_counts(f, rec, &sl->counts) != 0)
		why = "updating counts failed";
	if (pt) {
		mbedtls_platform_zeroize(pt, len);
		free(pt);
	}
	form_values_free(&r);
	if (why) {
		submit_sealed_free(sl);
		return why;
	}
	/* a form with no date field counts on the day it was made */
	clock_today(today);
	for (size_t i = 0; i < sl->counts.n; i++)
		if (sl->counts.c[i].day[0] == '\0')
			memcpy(sl->counts.c[i].day, today, sizeof(today));
	sl->len = len + SEAL_OVERHEAD;
	sl->seq = seq;
	sl->serial = s->epoch_serial;
	sl->created_ms = now;
	sl->clock = (int)r.clock;
	return NULL;
}

/*
 * Inside a transaction: stores one checked record, sealed ahead (ahead,
 * when not NULL) if that was for the seq it gets now and the epoch in
 * use, or sealed here.  0 or -1 (res->msg).
 */
static int
submit_stage(struct submitter *s, struct store *st, const struct form *f,
    const json_t *rec, struct submit_result *res, int *epoch_made,
    struct submit_sealed *ahead)
{
	struct submit_sealed own, *sl = &own;
	const char *why;
	int added, rc = -1;

	memset(&own, 0, sizeof(own));
	/* A resubmitted id is found by the insert's uniqueness check, not a
	   lookup before it: duplicates are rare, lookups are not free. */
	if (store_next_seq(st, &res->seq) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "store seq failed");
		return -1;
	}
	s->seq_guess = res->seq;
	if (submit_epoch(s, st, epoch_made) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "cannot start a sealing epoch");
		return -1;
	}
	if (ahead && ahead->blob && ahead->seq == res->seq &&
	    ahead->serial == s->epoch_serial) {
		sl = ahead;
		s->sealed_ahead++;
	} else if ((why = submit_seal(s, f, rec, res->id, res->seq,
	    &own)) != NULL) {
		submit_fail(s, st, res, SUBMIT_ERROR, why);
		return -1;
	}
	struct store_record sr = { res->seq, res->id, form_id(f),
	    form_version(f), sl->created_ms, sl->clock, s->ep.id, sl->blob,
	    sl->len };
	if ((added = store_record_add(st, &sr)) > 0) {
		/* stored before: report its seq, store nothing (the seq
		   is the next record's) */
		if (store_find_id(st, res->id, &res->seq) != 1) {
			submit_fail(s, st, res, SUBMIT_ERROR, "store lookup failed");
			goto out;
		}
		res->status = SUBMIT_DUPLICATE;
		rc = 0;
		goto out;
	}
	if (added < 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "storing the record failed");
		goto out;
	}
	if (store_counts_add(st, form_id(f), &sl->counts,
	    form_latest_by(f) != NULL, res->seq) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "updating counts failed");
		goto out;
	}
	s->seq_guess = res->seq + 1;
	res->status = SUBMIT_OK;
	rc = 0;
out:
	submit_sealed_free(&own);
	/* Freed here, on the thread that sealed it: freed on the loop, each
	   block would wait for the lock of the writer's malloc arena. */
	if (ahead)
		submit_sealed_free(ahead);
	return rc;
}

static void
submit_abort(struct submitter *s, struct store *st, int epoch_made)
{
	store_rollback(st);
	s->seq_guess = 0;	/* the seqs are given back: guess again */
	if (epoch_made) {	/* its row is gone with the transaction */
		seal_epoch_wipe(&s->ep);
		s->have_epoch = 0;
	}
}

void
submit_job_free(struct submit_job *j)
{
	for (size_t i = 0; j->sealed && i < j->n; i++)
		submit_sealed_free(&j->sealed[i]);
	free(j->sealed);
	free(j->forms);
	free(j->done);
	j->sealed = NULL;
	j->forms = NULL;
	j->done = NULL;
}

enum submit_status
submit_job_check(struct submitter *s, struct submit_job *j,
    submit_report_fn report, void *arg)
{
	struct submit_result *res = j->res;
	size_t n = j->n;

	j->worst = SUBMIT_OK;
	j->forms = calloc(n ? n : 1, sizeof(*j->forms));
	j->done = calloc(n ? n : 1, sizeof(*j->done));
	if (j->forms == NULL || j->done == NULL) {
		submit_fail(s, s->st, res, SUBMIT_ERROR, "out of memory");
		return j->worst = SUBMIT_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		if ((j->forms[i] = submit_check(s, j->form_id, j->version,
		    j->recs[i], res)) != NULL) {
			memcpy(j->done[i].id, res->id, sizeof(j->done[i].id));
			continue;
		}
		if (j->worst == SUBMIT_OK || j->worst == SUBMIT_INVALID)
			j->worst = res->status;
		if (report)
			report(arg, i, res);
		if (res->status == SUBMIT_ERROR)
			return j->worst;
	}
	if (j->worst == SUBMIT_OK && !submit_space_ok(s, res))
		j->worst = res->status;
	return j->worst;
}

/* Stages every record of jobs[0..n) in the transaction open on st.
   0, or -1 with the failure in the job at fault's res. */
static int
submit_jobs_stage(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n, int *epoch_made)
{
	for (size_t k = 0; k < n; k++) {
		struct submit_job *j = jobs[k];
		struct submit_result *res = j->res;

		for (size_t i = 0; i < j->n; i++) {
			res->status = SUBMIT_OK;
			res->msg[0] = '\0';
			memcpy(res->id, j->done[i].id, sizeof(res->id));
			snprintf(res->form_id, sizeof(res->form_id), "%s",
			    form_id(j->forms[i]));
			snprintf(res->version, sizeof(res->version), "%s",
			    form_version(j->forms[i]));
			if (submit_stage(s, st, j->forms[i], j->recs[i], res,
			    epoch_made, j->sealed ? &j->sealed[i] : NULL) != 0) {
				j->worst = res->status;
				return -1;
			}
			j->done[i].seq = res->seq;
			j->done[i].status = res->status;
		}
	}
	return 0;
}

/* One transaction on st for jobs[0..n): 0 when committed. */
static int
submit_jobs_tx(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n)
{
	int epoch_made = 0;

	if (store_begin(st) != 0) {
		for (size_t k = 0; k < n; k++) {
			submit_fail(s, st, jobs[k]->res, SUBMIT_ERROR,
			    "store busy or failing");
			jobs[k]->worst = SUBMIT_ERROR;
		}
		return -1;
	}
	if (submit_jobs_stage(s, st, jobs, n, &epoch_made) != 0) {
		submit_abort(s, st, epoch_made);
		return -1;
	}
	if (store_commit(st) != 0) {
		submit_abort(s, st, epoch_made);
		for (size_t k = 0; k < n; k++) {
			submit_fail(s, st, jobs[k]->res, SUBMIT_ERROR,
			    "commit failed");
			jobs[k]->worst = SUBMIT_ERROR;
		}
		return -1;
	}
	return 0;
}

/*
 * A group failed as a whole: each job alone, so that one that cannot be
 * stored does not fail the others.  Rare (a failing card, memory), so
 * the group's common case pays nothing for it.
 */
static void
submit_jobs_alone(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n)
{
	if (n < 2)
		return;
	log_warn("submit: a group of %zu failed; storing each alone", n);
	for (size_t k = 0; k < n; k++) {
		jobs[k]->worst = SUBMIT_OK;
		submit_jobs_tx(s, st, &jobs[k], 1);
	}
}

size_t
submit_jobs_prepare(struct submitter *s, struct submit_job *const *jobs,
    size_t n)
{
	size_t sealed = 0;

	for (size_t k = 0; k < n; k++) {
		struct submit_job *j = jobs[k];

		if (j->sealed == NULL &&
		    (j->sealed = calloc(j->n ? j->n : 1,
		    sizeof(*j->sealed))) == NULL)
			return sealed;
		for (size_t i = 0; i < j->n; i++) {
			/* the transaction seals what this does not */
			if (s->seq_guess == 0 || !submit_epoch_fresh(s) ||
			    submit_seal(s, j->forms[i], j->recs[i],
			    j->done[i].id, s->seq_guess, &j->sealed[i]) != NULL)
				return sealed;
			s->seq_guess++;
			sealed++;
		}
	}
	return sealed;
}

int
submit_jobs_begin(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n, int *epoch_made)
{
	*epoch_made = 0;
	if (store_begin(st) != 0) {
		for (size_t k = 0; k < n; k++) {
			submit_fail(s, st, jobs[k]->res, SUBMIT_ERROR,
			    "store busy or failing");
			jobs[k]->worst = SUBMIT_ERROR;
		}
	} else if (submit_jobs_stage(s, st, jobs, n, epoch_made) == 0)
		return 0;
	else
		submit_abort(s, st, *epoch_made);
	submit_jobs_alone(s, st, jobs, n);
	return -1;
}

void
submit_jobs_end(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n, int epoch_made, int commit_rc)
{
	if (commit_rc == 0)
		return;
	submit_abort(s, st, epoch_made);
	for (size_t k = 0; k < n; k++) {
		submit_fail(s, st, jobs[k]->res, SUBMIT_ERROR, "commit failed");
		jobs[k]->worst = SUBMIT_ERROR;
	}
	submit_jobs_alone(s, st, jobs, n);
}

void
submit_jobs_store(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n)
{
	int epoch_made;

	if (n > 0 && submit_jobs_begin(s, st, jobs, n, &epoch_made) == 0)
		submit_jobs_end(s, st, jobs, n, epoch_made, store_commit(st));
}

void
submit_job_report(struct submit_job *j, submit_report_fn report, void *arg)
{
	struct submit_result *res = j->res;

	for (size_t i = 0; report && i < j->n; i++) {
		memcpy(res->id, j->done[i].id, sizeof(res->id));
		res->seq = j->done[i].seq;
		res->status = j->done[i].status;
		snprintf(res->form_id, sizeof(res->form_id), "%s",
		    form_id(j->forms[i]));
		snprintf(res->version, sizeof(res->version), "%s",
		    form_version(j->forms[i]));
		report(arg, i, res);
	}
}

enum submit_status
submit_many(struct submitter *s, const char *form_id, const char *version,
    json_t *const *recs, size_t n, submit_report_fn report, void *arg,
    struct submit_result *res)
{
	struct submit_job job = { 0 }, *j = &job;

	j->form_id = form_id;
	j->version = version;
	j->recs = recs;
	j->n = n;
	j->res = res;
	if (submit_job_check(s, j, report, arg) == SUBMIT_OK) {
		submit_jobs_store(s, s->st, &j, 1);
		if (j->worst == SUBMIT_OK) {
			if (s->stored)
				s->stored(s->stored_arg);
			submit_job_report(j, report, arg);
		}
	}
	submit_job_free(j);
	return j->worst;
}

enum submit_status
submit_record(struct submitter *s, const char *form_id, const char *version,
    json_t *rec, struct submit_result *res)
{
	json_t *one[1] = { rec };
	enum submit_status st = submit_many(s, form_id, version, one, 1, NULL,
	    NULL, res);

	return st == SUBMIT_OK ? res->status : st;
}
