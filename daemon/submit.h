/*
 * submit.h: the one path every record takes on the device, whatever it
 * came through (HTTP, fieldctl submit, CSV import):
 *
 *   validate against the form version it names -> count cells ->
 *   protobuf Record -> seal (current epoch) -> one transaction: dedup by
 *   record id, next seq, insert, counts -> COMMIT (synchronous=FULL)
 *
 * Only after the commit is the submitter told the seq.  A rejected record
 * writes nothing.  The submitter owns the current sealing epoch: a new one
 * at each start (the first record after submit_init) and after
 * epoch_records records or epoch_seconds, the old key wiped.
 */
#ifndef SUBMIT_H
#define SUBMIT_H

#include <jansson.h>
#include <stdint.h>

#include "daemon/store.h"
#include "form/form.h"
#include "form/recpack.h"
#include "sync/seal.h"

struct submit_opts {
	uint64_t free_floor_bytes;	/* refuse new records below this */
	uint32_t epoch_records;		/* rotate after this many records */
	uint32_t epoch_seconds;		/* ... or this long */
};

struct submitter {
	struct store *st;
	const struct form_catalog *cat;
	struct submit_opts opt;
	char device_id[65];
	unsigned char collector_pub[SEAL_KEY_LEN];
	struct seal_epoch ep;
	int have_epoch;
	struct recpack *rp;		/* compresses before sealing */
	/* Set by fieldd's board monitor (boardmon.h), not owned here. */
	const char *refusal;		/* non-NULL: refuse every record so */
	void (*stored)(void *arg);	/* after each commit */
	void *stored_arg;
};

enum submit_status {
	SUBMIT_OK,		/* stored now */
	SUBMIT_DUPLICATE,	/* this _id was stored before: its seq */
	SUBMIT_INVALID,		/* validation errors in errs */
	SUBMIT_NO_FORM,		/* unknown form or version (msg) */
	SUBMIT_NO_SPACE,	/* below the free-space floor (msg) */
	SUBMIT_REFUSED,		/* not now: the battery is low (msg) */
	SUBMIT_ERROR		/* storage or sealing failed (msg) */
};

struct submit_result {
	enum submit_status status;
	char id[37];
	uint64_t seq;
	char form_id[FORM_ID_MAX + 1];
	char version[FORM_VERSION_MAX + 1];
	char msg[256];
	struct form_errors errs;
};

/* Reads the device id and collector key from the store.  0 or -1 + err. */
int submit_init(struct submitter *s, struct store *st,
    const struct form_catalog *cat, const struct submit_opts *opt,
    char *err, size_t errlen);
/* Wipes the epoch key and frees what submit_init made. */
void submit_fini(struct submitter *s);

/*
 * Submits one record of form_id; version NULL means the record's
 * `_version` or else the form's current version.  Fills res; returns
 * res->status.
 */
enum submit_status submit_record(struct submitter *s, const char *form_id,
    const char *version, json_t *rec, struct submit_result *res);

/*
 * Bulk, all or nothing: checks every record first, calling report(arg, i,
 * res) for each one refused; when all are valid, stores them all in one
 * transaction and then calls report for each (status SUBMIT_OK or
 * SUBMIT_DUPLICATE, with its id and seq).  Returns SUBMIT_OK when all were
 * stored, SUBMIT_INVALID or SUBMIT_NO_FORM when any was refused, or the
 * failure (res then says why).  res is scratch space and the last result.
 */
typedef void (*submit_report_fn)(void *arg, size_t i,
    const struct submit_result *res);
enum submit_status submit_many(struct submitter *s, const char *form_id,
    const char *version, json_t *const *recs, size_t n,
    submit_report_fn report, void *arg, struct submit_result *res);

/*
 * The two halves of submit_many, for group commit (fieldd, commit.h):
 * check a request's records on the loop, then store several requests'
 * records in one transaction on the writer's own connection and thread,
 * then answer each on the loop.  Between submit_job_check and the end of
 * submit_jobs_store the submitter's epoch and packer belong to the one
 * thread storing; nothing else may store through the same submitter.
 */
struct submit_done {
	char id[37];
	uint64_t seq;
	enum submit_status status;
};

struct submit_job {
	const char *form_id;		/* in: as for submit_many; the two
					   strings are read by the check only */
	const char *version;
	json_t *const *recs;
	size_t n;
	enum submit_status worst;	/* out: SUBMIT_OK when all stored */
	struct submit_result *res;	/* in: space for the last record's
					   result, or the failure */
	const struct form **forms;	/* per record, from the check */
	struct submit_done *done;	/* per record: id, then seq, status */
};

/* Checks j's records (calling report for each refused) and the free
   space; SUBMIT_OK when j may be stored.  Free j with submit_job_free
   whatever it returns. */
enum submit_status submit_job_check(struct submitter *s,
    struct submit_job *j, submit_report_fn report, void *arg);
/*
 * Stores jobs[0..n), every one checked, in one transaction on st (fieldd's
 * writer connection, or s->st): seqs gap-free in job order.  When the
 * group fails, each job is tried alone, so one job's failure is only its
 * own.  Each job's worst and res say how it went.  Calls no callback:
 * s->stored is the caller's to call, on its own thread.
 */
void submit_jobs_store(struct submitter *s, struct store *st,
    struct submit_job *const *jobs, size_t n);
/* After a store with worst SUBMIT_OK: report(arg, i, res) per record. */
void submit_job_report(struct submit_job *j, submit_report_fn report,
    void *arg);
void submit_job_free(struct submit_job *j);

#endif
