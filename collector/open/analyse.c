/* analyse.c: see analyse.h. */
#include "collector/open/analyse.h"

#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/astore.h"
#include "analysis/perturb.h"
#include "form/form.h"
#include "collector/collector.h"
#include "collector/cstore.h"
#include "collector/csrv.h"
#include "collector/open/ropen.h"
#include "sync/seal.h"

_Static_assert(FORM_CDIM_MAX + 2 * FORM_CMEASURE_MAX + 1 <= ASTORE_COL_MAX,
    "a record's columns (dimensions, measures, p:, w) fit a chunk");

struct run {
	struct ropen *ro;
	struct cstore *cs;
	struct astore *as;
	struct analyse_stats *st;
	char today[11];
	uint64_t open_failures, batch;
	int64_t arrival;
	int retrying;			/* a record set aside before */
	char err[256];
	/* the record being turned into facts */
	const struct form *f;
	struct form_cschema sch;
	uint32_t rec[FORM_CDIM_MAX];
	uint32_t item[FORM_MAX_REPEAT_ITEMS][FORM_CDIM_MAX];
	const char *bad_dim;
};

static int
an_value(void *arg, long item, size_t dim, const char *value)
{
	struct run *r = arg;
	const struct form_cdim *d = &r->sch.dims[dim];
	int64_t code = astore_code(r->as, form_id(r->f), d->name, value,
	    d->multi);
	uint32_t *slot;

	if (code < 0)
		return -1;
	if (code == 0) {
		r->bad_dim = d->name;
		return 1;
	}
	if (item >= FORM_MAX_REPEAT_ITEMS)
		return 1;
	slot = item < 0 ? &r->rec[dim] : &r->item[item][dim];
	if (d->multi)
		*slot |= 1u << (code - 1);
	else
		*slot = (uint32_t)code;
	return 0;
}

/* Appends the record's row and its items' rows.  0, 1 when the record
   cannot be counted (reason in why), -1 on a store failure. */
static int
an_facts(struct run *r, const json_t *o, int64_t created_ms, char *why,
    size_t whylen)
{
	/* dims, measures exact and perturbed, the weight */
	char names[2 * FORM_CDIM_MAX + 2 * FORM_CMEASURE_MAX + 1]
	    [ASTORE_COL_NAME];
	const char *np[2 * FORM_CDIM_MAX + 2 * FORM_CMEASURE_MAX + 1];
	uint32_t cols[2 * FORM_CDIM_MAX + 2 * FORM_CMEASURE_MAX + 1];
	/* the record's key, then its items' (perturb.h) */
	uint32_t keys[1 + FORM_MAX_REPEAT_ITEMS];
	int64_t m[FORM_CMEASURE_MAX];
	char daystr[11];
	size_t n_items, nc = 0, nrec, n_keyed;
	int64_t day;
	int rc;

	memset(r->rec, 0, sizeof(r->rec));
	memset(r->item, 0, sizeof(r->item));
	r->bad_dim = NULL;
	rc = form_facts(r->f, o, daystr, m, &n_items, an_value, r);
	if (rc < 0 && r->bad_dim == NULL)
		return -1;
	if (rc != 0) {
		snprintf(why, whylen, "dimension %s has more than %d values",
		    r->bad_dim ? r->bad_dim : "?", ASTORE_MULTI_MAX);
		return 1;
	}
	if (daystr[0] == '\0' && created_ms > 0) {
		/* a form with no date: the day the board made the record */
		time_t t = (time_t)(created_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(daystr, sizeof(daystr), "%Y-%m-%d", &tm);
	}
	if ((day = astore_day(daystr)) < 0) {
		snprintf(why, whylen, "no date to count it on");
		return 1;
	}
	for (size_t i = 0; i < r->sch.n_dims; i++) {
		if (r->sch.dims[i].item)
			continue;
		snprintf(names[nc], ASTORE_COL_NAME, "d:%s",
		    r->sch.dims[i].name);
		cols[nc++] = r->rec[i];
	}
	nrec = nc;
	/* A key for the record and one for each item row it adds, drawn
	   once here and never again: a row counts the same in every answer.
	   What the keys make of the row is stored, not the keys. */
	n_keyed = n_items < FORM_MAX_REPEAT_ITEMS ? n_items :
	    FORM_MAX_REPEAT_ITEMS;
	if (perturb_keys(keys, 1 + n_keyed) != 0) {
		snprintf(r->err, sizeof(r->err), "no entropy for the record "
		    "keys");
		return -1;
	}
	for (size_t i = 0; i < r->sch.n_measures; i++) {
		int64_t p = 0;

		if (r->sch.measures[i].kind == FORM_M_RECORDS)
			continue;	/* one per row */
		if (m[i] < 0 || m[i] > UINT32_MAX) {
			snprintf(why, whylen, "measure %s out of range",
			    r->sch.measures[i].name);
			return 1;
		}
		snprintf(names[nc], ASTORE_COL_NAME, "m:%s",
		    r->sch.measures[i].name);
		cols[nc++] = (uint32_t)m[i];
		/* What the measure counts outside an analyst's query: an
		   items count, what its item rows weigh (so a count of people
		   is one number at either level); a sum, moved by the key. */
		if (r->sch.measures[i].kind == FORM_M_ITEMS)
			for (size_t k = 0; k < n_keyed; k++)
				p += perturb_count(keys[1 + k]);
		else
			p = perturb_sum(keys[0], perturb_salt(
			    r->sch.measures[i].name), (uint32_t)m[i]);
		snprintf(names[nc], ASTORE_COL_NAME, "p:%s",
		    r->sch.measures[i].name);
		cols[nc++] = (uint32_t)p;
	}
	snprintf(names[nc], ASTORE_COL_NAME, "w");
	cols[nc++] = (uint32_t)perturb_count(keys[0]);
	for (size_t i = 0; i < nc; i++)
		np[i] = names[i];
	if (astore_append(r->as, form_id(r->f), 0, (uint32_t)day, nc, np,
	    cols) != 0)
		return -1;
	/* Items carry their record's dimensions and their own. */
	nc = nrec;
	snprintf(names[nc], ASTORE_COL_NAME, "w");
	np[nc] = names[nc];
	nc++;
	for (size_t i = 0; i < r->sch.n_dims; i++) {
		if (!r->sch.dims[i].item)
			continue;
		snprintf(names[nc], ASTORE_COL_NAME, "d:%s",
		    r->sch.dims[i].name);
		np[nc] = names[nc];
		nc++;
	}
	for (size_t k = 0; k < n_items && k < FORM_MAX_REPEAT_ITEMS; k++) {
		size_t c = nrec;
		cols[c++] = (uint32_t)perturb_count(keys[1 + k]);
		for (size_t i = 0; i < r->sch.n_dims; i++)
			if (r->sch.dims[i].item)
				cols[c++] = r->item[k][i];
		if (astore_append(r->as, form_id(r->f), 1, (uint32_t)day, nc,
		    np, cols) != 0)
			return -1;
	}
	return 0;
}

/* Counts one record; 0 (counted or set aside), -1 on a store failure. */
static int
an_record(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *sr)
{
	struct run *r = arg;
	struct form_errors errs;
	Field__Record *rec = NULL;
	json_t *o = NULL;
	char why[512];
	int rc = 1;

	if (!r->retrying)
		r->arrival = cstore_cur_arrival(r->cs, NULL);
	r->f = NULL;
	if (ropen_sealed(r->ro, device_id, sr, &rec, why, sizeof(why)) != 0) {
		r->open_failures += !r->retrying;
	} else if ((r->f = form_catalog_get(ropen_catalog(r->ro),
	    rec->form_id, rec->form_version)) == NULL) {
		snprintf(why, sizeof(why), "form %s version %s is unknown here",
		    rec->form_id, rec->form_version);
	} else if ((o = form_values_json(rec)) == NULL) {
		rc = -1;
	} else if (memset(&errs, 0, sizeof(errs)),
	    form_validate(r->f, o, r->today, &errs) != 0) {
		snprintf(why, sizeof(why), "invalid for %s %s: %s: %s",
		    rec->form_id, rec->form_version, errs.n ? errs.e[0].path :
		    "", errs.n ? errs.e[0].reason : "");
	} else if (form_cschema(r->f, &r->sch) != 0) {
		rc = 0;		/* a form that declares no counts */
		r->st->opened += !r->retrying;
	} else if ((rc = an_facts(r, o, (int64_t)rec->created_ms, why,
	    sizeof(why))) == 0) {
		r->st->opened += !r->retrying;
	}
	if (rc == 1) {
		rc = astore_fail(r->as, device_id, sr->seq, why);
		r->st->failed++;
	} else if (rc == 0 && r->retrying) {
		rc = astore_unfail(r->as, device_id, sr->seq);
		r->st->retried++;
	}
	json_decref(o);
	if (rec)
		field__record__free_unpacked(rec, NULL);
	if (rc != 0) {
		if (r->err[0] == '\0')	/* else an_facts said why */
			snprintf(r->err, sizeof(r->err), "analysis tables: %s",
			    astore_errmsg(r->as));
		return -1;
	}
	/* Commit every so often: an interrupted run keeps what it did. */
	if (!r->retrying && ++r->batch == ANALYSE_COMMIT_EVERY) {
		r->batch = 0;
		if (astore_commit(r->as, r->arrival) != 0 ||
		    astore_begin(r->as) != 0) {
			snprintf(r->err, sizeof(r->err), "analysis tables: %s",
			    astore_errmsg(r->as));
			return -1;
		}
	}
	return 0;
}

/*
 * Tries the records set aside before again, first: the form version one
 * named may have reached the collector since.  Those still failing stay
 * aside with their (new) reason.
 */
static int
an_retry(struct run *r)
{
	char (*devs)[65] = calloc(ANALYSE_RETRY_MAX, sizeof(*devs));
	uint64_t *seqs = calloc(ANALYSE_RETRY_MAX, sizeof(*seqs));
	int64_t n = devs && seqs ? astore_failed_list(r->as,
	    ANALYSE_RETRY_MAX, devs, seqs) : -1;
	int rc = n < 0 ? -1 : 0;

	r->retrying = 1;
	for (int64_t i = 0; i < n && rc == 0; i++)
		rc = cstore_record_one(r->cs, devs[i], seqs[i], an_record, r);
	r->retrying = 0;
	free(devs);
	free(seqs);
	return rc;
}

/* The key must be this collector's: refuse another before opening. */
static int
an_key_check(const char *cdir, struct ropen *ro, char *err, size_t errlen)
{
	unsigned char pub[SEAL_KEY_LEN];
	char path[4096], e[256];

	if (collector_path(path, sizeof(path), cdir, "seal.pub") != 0 ||
	    seal_pub_read(path, pub, e, sizeof(e)) != 0)
		return 0;	/* no public key kept: the records will say */
	if (ropen_key_is(ro, pub))
		return 0;
	snprintf(err, errlen, "the key is not this collector's (it does not "
	    "match %s)", path);
	return -1;
}

int
analyse_run(const char *cdir, const char *keyfile, struct analyse_stats *st,
    char *err, size_t errlen)
{
	struct run *r = calloc(1, sizeof(*r));
	struct timespec t0, t1;
	time_t now = time(NULL) + 86400;	/* a day's grace for zones */
	struct tm tm;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->st = st;
	gmtime_r(&now, &tm);
	strftime(r->today, sizeof(r->today), "%Y-%m-%d", &tm);
	if (ropen_new(keyfile, &r->ro, err, errlen) != 0 ||
	    an_key_check(cdir, r->ro, err, errlen) != 0 ||
	    ropen_load_collector_forms(r->ro, cdir, err, errlen) != 0)
		goto out;
	if (csrv_store_open(cdir, &r->cs, err, errlen) != 0) {
		r->cs = NULL;
		goto out;
	}
	if (astore_open(cdir, 1, &r->as, err, errlen) != 0) {
		r->as = NULL;
		goto out;
	}
	if (astore_begin(r->as) != 0) {
		snprintf(err, errlen, "analysis tables: %s",
		    astore_errmsg(r->as));
		goto out;
	}
	r->arrival = astore_meta(r->as, "arrival");
	if (an_retry(r) != 0) {
		snprintf(err, errlen, "%s", r->err[0] ? r->err :
		    cstore_errmsg(r->cs));
		astore_rollback(r->as);
		goto out;
	}
	if (cstore_records_since(r->cs, r->arrival, an_record, r) != 0) {
		snprintf(err, errlen, "%s", r->err[0] ? r->err :
		    cstore_errmsg(r->cs));
		astore_rollback(r->as);
		goto out;
	}
	if (r->open_failures > 0 && st->opened == 0) {
		/* Nothing opened at all: the wrong key, not bad records. */
		snprintf(err, errlen, "no record would open with this key; is "
		    "it the collector's?");
		astore_rollback(r->as);
		goto out;
	}
	if (astore_commit(r->as, r->arrival) != 0) {
		snprintf(err, errlen, "analysis tables: %s",
		    astore_errmsg(r->as));
		astore_rollback(r->as);
		goto out;
	}
	rc = 0;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	astore_close(r->as);
	cstore_close(r->cs);
	ropen_free(r->ro);
	free(r);
	return rc;
}
