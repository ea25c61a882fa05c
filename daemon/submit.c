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

/* Inside a transaction: makes sure a fresh enough epoch exists.  Sets
   *made when this transaction created it (so a rollback drops it). */
static int
submit_epoch(struct submitter *s, struct store *st, int *made)
{
	uint64_t age_ms;

	if (s->have_epoch) {
		age_ms = (uint64_t)(util_now_ms() - s->ep.started_ms);
		if (s->ep.used < s->opt.epoch_records &&
		    age_ms < (uint64_t)s->opt.epoch_seconds * 1000)
			return 0;
		seal_epoch_wipe(&s->ep);
		s->have_epoch = 0;
	}
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

/* Inside a transaction: stores one checked record.  0 or -1 (res->msg). */
static int
submit_stage(struct submitter *s, struct store *st, const struct form *f,
    const json_t *rec, struct submit_result *res, int *epoch_made)
{
	Field__Record r = FIELD__RECORD__INIT;
	struct form_counts counts = { 0 };
	unsigned char *pt = NULL, *sealed = NULL;
	size_t len;
	int64_t now;
	int added, counted, rc = -1;

	/* A resubmitted id is found by the insert's uniqueness check, not a
	   lookup before it: duplicates are rare, lookups are not free. */
	if (store_next_seq(st, &res->seq) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "store seq failed");
		return -1;
	}
	if (submit_epoch(s, st, epoch_made) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "cannot start a sealing epoch");
		return -1;
	}
	r.id = res->id;
	r.form_id = (char *)form_id(f);
	r.form_version = (char *)form_version(f);
	r.device_id = s->device_id;
	r.seq = res->seq;
	r.clock = clock_now(&now) ? FIELD__CLOCK_QUALITY__CLOCK_TRUSTED :
	    FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_SINCE_BOOT;
	r.created_ms = now;
	if (form_values(f, rec, &r) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "out of memory");
		return -1;
	}
	if (recpack_encode(s->rp, f, &r, &pt, &len) != 0 ||
	    (sealed = malloc(len + SEAL_OVERHEAD)) == NULL) {
		submit_fail(s, st, res, SUBMIT_ERROR, "out of memory");
		goto out;
	}
	struct seal_ad ad = { res->id, form_id(f), form_version(f),
	    s->device_id, s->ep.id };
	if (seal_record(&s->ep, &ad, pt, len, sealed) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "sealing failed");
		goto out;
	}
	struct store_record sr = { res->seq, res->id, form_id(f),
	    form_version(f), now, (int)r.clock, s->ep.id, sealed,
	    len + SEAL_OVERHEAD };
	if ((added = store_record_add(st, &sr)) > 0) {
		/* stored before: report its seq, store nothing */
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
	counted = form_counts(f, rec, &counts) == 0;
	if (counted) {
		/* a form with no date field counts on the day it was made */
		char today[11];
		clock_today(today);
		for (size_t i = 0; i < counts.n; i++)
			if (counts.c[i].day[0] == '\0')
				memcpy(counts.c[i].day, today, sizeof(today));
	}
	if (!counted ||
	    store_counts_add(st, form_id(f), &counts,
	    form_latest_by(f) != NULL, res->seq) != 0) {
		submit_fail(s, st, res, SUBMIT_ERROR, "updating counts failed");
		goto out;
	}
	res->status = SUBMIT_OK;
	rc = 0;
out:
	if (pt) {
		mbedtls_platform_zeroize(pt, len);
		free(pt);
	}
	free(sealed);
	form_counts_free(&counts);
	form_values_free(&r);
	return rc;
}

static void
submit_abort(struct submitter *s, struct store *st, int epoch_made)
{
	store_rollback(st);
	if (epoch_made) {	/* its row is gone with the transaction */
		seal_epoch_wipe(&s->ep);
		s->have_epoch = 0;
	}
}

void
submit_job_free(struct submit_job *j)
{
	free(j->forms);
	free(j->done);
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
			    epoch_made) != 0) {
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

void
submit_jobs_store(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n)
{
	if (n == 0 || submit_jobs_tx(s, st, jobs, n) == 0 || n == 1)
		return;
	/*
	 * The group failed as a whole: each job alone, so that one that
	 * cannot be stored does not fail the others.  Rare (a failing
	 * card, memory), so the group's common case pays nothing for it.
	 */
	log_warn("submit: a group of %zu failed; storing each alone", n);
	for (size_t k = 0; k < n; k++) {
		jobs[k]->worst = SUBMIT_OK;
		submit_jobs_tx(s, st, &jobs[k], 1);
	}
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
