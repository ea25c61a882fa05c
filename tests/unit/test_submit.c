/* test_submit.c: the submit path end to end on a real store: validation
   writes nothing, dedup by _id, gap-free seqs, epochs rotate, all-or-
   nothing bulk, what is stored opens to what was submitted, and a form
   with no date field counted (by default) on the day it was made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "common/clock.h"
#include "daemon/device.h"
#include "form/recpack.h"
#include "collector/open/seal_open.h"

struct fx {
	char dir[64], ddir[128];
	struct device d;
	struct seal_opener op;
	struct submit_result r;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned char pub[32], priv[32];
	char path[160], err[512];

	log_init("test_submit", LOG_ERR);
	strcpy(f->dir, "/tmp/test_submit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(seal_keypair(pub, priv), 0);
	snprintf(path, sizeof(path), "%s/seal.pub", f->dir);
	assert_int_equal(seal_pub_write(path, pub), 0);
	snprintf(f->ddir, sizeof(f->ddir), "%s/device", f->dir);
	assert_int_equal(device_create(f->ddir, path, "dev-7", err,
	    sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/seal.key", f->dir);
	assert_int_equal(seal_key_write(path, priv), 0);
	assert_int_equal(seal_opener_load(&f->op, path, err, sizeof(err)), 0);
	assert_int_equal(device_open(&f->d, f->ddir, NULL, err, sizeof(err)), 0);
	/* This machine's host keeps its clock right (its kernel shows no NTP
	   state): the board's own rules are test_clock's. */
	clock_set_source(1);
	f->d.sub.opt.free_floor_bytes = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	device_close(&f->d);
	seal_opener_wipe(&f->op);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static json_t *
visit(void)
{
	char day[11];

	util_date(util_now_ms() - 86400000LL, day);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:[s], s:s}",
	    "centre_id", "MRC-01", "visit_date", day, "consent", "yes",
	    "sex", "male", "age_years", 31, "nationality", "ERI",
	    "reasons", "labour_rights", "notes", "needs a lawyer");
}

static uint64_t
records(struct fx *f)
{
	struct store_stats s;

	assert_int_equal(store_stats(f->d.st, &s), 0);
	return s.records;
}

static void
test_valid_then_duplicate(void **state)
{
	struct fx *f = *state;
	json_t *v = visit();

	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_OK);
	assert_int_equal(f->r.seq, 1);
	assert_true(util_is_uuid(f->r.id));
	json_object_set_new(v, "_id",
	    json_string("A1B2C3D4-0000-4000-8000-00000000000A"));
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_OK);
	assert_int_equal(f->r.seq, 2);
	/* Ids are stored lower case; the same id in any case is one record. */
	assert_string_equal(f->r.id, "a1b2c3d4-0000-4000-8000-00000000000a");
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_DUPLICATE);
	assert_int_equal(f->r.seq, 2);
	assert_int_equal(records(f), 2);
	json_decref(v);
}

/* A form with no counts declaration and no date: counted by default,
   on the day the board took it, never on no day. */
static void
test_default_counts_dateless(void **state)
{
	static const char def[] = "{\"form_id\": \"plain\", \"version\": "
	    "\"1\", \"survey\": [{\"type\": \"text\", \"name\": "
	    "\"village\"}]}";
	struct fx *f = *state;
	json_t *rec = json_pack("{s:s}", "village", "Gumbo"), *cells, *c;
	char err[256], today[11];
	size_t i, n = 0;

	assert_non_null(form_catalog_add(f->d.cat, def, strlen(def), err,
	    sizeof(err)));
	assert_int_equal(submit_record(&f->d.sub, "plain", NULL, rec, &f->r),
	    SUBMIT_OK);
	clock_today(today);
	assert_int_equal(store_counts_json(f->d.st, &cells), 0);
	json_array_foreach(cells, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "form")),
		    "plain") != 0)
			continue;
		n++;
		assert_string_equal(json_string_value(json_object_get(c, "day")),
		    today);
		assert_string_equal(json_string_value(json_object_get(c,
		    "place")), "Gumbo");
		assert_string_equal(json_string_value(json_object_get(c,
		    "measure")), "records");
		assert_int_equal(json_integer_value(json_object_get(c, "n")), 1);
	}
	assert_int_equal(n, 1);
	json_decref(cells);
	json_decref(rec);
}

static void
test_refusals_write_nothing(void **state)
{
	struct fx *f = *state;
	json_t *v = visit();

	json_object_set_new(v, "age_years", json_integer(7));
	json_object_set_new(v, "sex", json_string("unknown"));
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_INVALID);
	assert_int_equal(f->r.errs.n, 2);
	assert_string_equal(f->r.form_id, "mrc_visit");
	assert_true(f->r.version[0] != '\0');
	json_decref(v);
	v = visit();
	assert_int_equal(submit_record(&f->d.sub, "nope", NULL, v, &f->r),
	    SUBMIT_NO_FORM);
	assert_non_null(strstr(f->r.msg, "unknown form nope"));
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", "0.0.0", v,
	    &f->r), SUBMIT_NO_FORM);
	assert_non_null(strstr(f->r.msg, "no version 0.0.0"));
	f->d.sub.opt.free_floor_bytes = UINT64_MAX / 2;
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_NO_SPACE);
	assert_non_null(strstr(f->r.msg, "below the floor"));
	assert_int_equal(records(f), 0);
	json_decref(v);
}

static void
test_epochs_rotate(void **state)
{
	struct fx *f = *state;
	struct store_stats s;
	char err[256];
	json_t *v = visit();

	f->d.sub.opt.epoch_records = 3;
	for (int i = 0; i < 7; i++)
		assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v,
		    &f->r), SUBMIT_OK);
	assert_int_equal(store_stats(f->d.st, &s), 0);
	assert_int_equal(s.epochs, 3);
	/* Each start begins a new epoch. */
	device_close(&f->d);
	assert_int_equal(device_open(&f->d, f->ddir, NULL, err, sizeof(err)), 0);
	/* This machine's host keeps its clock right (its kernel shows no NTP
	   state): the board's own rules are test_clock's. */
	clock_set_source(1);
	f->d.sub.opt.free_floor_bytes = 0;
	assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v, &f->r),
	    SUBMIT_OK);
	assert_int_equal(f->r.seq, 8);
	assert_int_equal(store_stats(f->d.st, &s), 0);
	assert_int_equal(s.epochs, 4);
	json_decref(v);
}

struct reported {
	size_t n, idx[8];
	enum submit_status st[8];
	uint64_t seq[8];
};

static void
report(void *arg, size_t i, const struct submit_result *r)
{
	struct reported *rep = arg;

	rep->idx[rep->n] = i;
	rep->st[rep->n] = r->status;
	rep->seq[rep->n++] = r->seq;
}

static void
test_many_all_or_nothing(void **state)
{
	struct fx *f = *state;
	json_t *recs[3] = { visit(), visit(), visit() };
	struct reported rep = { 0 };

	json_object_set_new(recs[1], "visit_date", json_string("2026-13-01"));
	assert_int_equal(submit_many(&f->d.sub, "mrc_visit", NULL, recs, 3,
	    report, &rep, &f->r), SUBMIT_INVALID);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.idx[0], 1);
	assert_int_equal(rep.st[0], SUBMIT_INVALID);
	assert_int_equal(records(f), 0);

	json_decref(recs[1]);
	recs[1] = visit();
	/* The same id twice in one batch is one record. */
	json_object_set_new(recs[0], "_id",
	    json_string("0b7a4c8e-6a38-4f27-9e2a-3f1c9a1c7d11"));
	json_object_set_new(recs[2], "_id",
	    json_string("0b7a4c8e-6a38-4f27-9e2a-3f1c9a1c7d11"));
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(submit_many(&f->d.sub, "mrc_visit", NULL, recs, 3,
	    report, &rep, &f->r), SUBMIT_OK);
	assert_int_equal(rep.n, 3);
	assert_int_equal(rep.st[0], SUBMIT_OK);
	assert_int_equal(rep.seq[0], 1);
	assert_int_equal(rep.seq[1], 2);
	assert_int_equal(rep.st[2], SUBMIT_DUPLICATE);
	assert_int_equal(rep.seq[2], 1);
	assert_int_equal(records(f), 2);
	for (int i = 0; i < 3; i++)
		json_decref(recs[i]);
}

static int
check_open(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32])
{
	struct fx *f = arg;
	struct seal_ad ad = { r->id, r->form_id, r->form_version, "dev-7",
	    r->epoch };
	unsigned char pt[4096];
	Field__Record *rec;
	json_t *vals, *want = visit();

	assert_true(r->sealed_len < sizeof(pt));
	assert_null(memmem(r->sealed, r->sealed_len, "needs a lawyer", 14));
	assert_int_equal(seal_open(&f->op, epoch_pub, &ad, r->sealed,
	    r->sealed_len, pt), 0);
	{
		struct recpack *rp = recpack_new();
		const struct form *fm = form_catalog_get(f->d.cat,
		    r->form_id, r->form_version);
		char why[160];
		struct recpack_meta m = { r->id, r->form_id, r->form_version,
		    "dev-7" };

		/* compressed with the form's dictionary; without it, or
		   with another form's, it does not open */
		assert_int_equal(pt[0], RECPACK_ZSTD);
		assert_int_equal(recpack_decode(rp, NULL, &m, pt, r->sealed_len -
		    SEAL_OVERHEAD, 1 << 20, &rec, why, sizeof(why)), -1);
		assert_int_equal(recpack_decode(rp, form_catalog_get(f->d.cat,
		    "dtm_household", NULL), &m, pt, r->sealed_len - SEAL_OVERHEAD,
		    1 << 20, &rec, why, sizeof(why)), -1);
		/* the bound on the unpacked size holds */
		assert_int_equal(recpack_decode(rp, fm, &m, pt, r->sealed_len -
		    SEAL_OVERHEAD, 16, &rec, why, sizeof(why)), -1);
		assert_int_equal(recpack_decode(rp, fm, &m, pt, r->sealed_len -
		    SEAL_OVERHEAD, 1 << 20, &rec, why, sizeof(why)), 0);
		/* the id, form, version and device are not sealed twice: they
		   come back from the metadata */
		assert_null(memmem(pt, r->sealed_len - SEAL_OVERHEAD, r->id,
		    36));
		recpack_free(rp);
	}
	assert_non_null(rec);
	assert_string_equal(rec->id, r->id);
	assert_int_equal(rec->seq, r->seq);
	assert_string_equal(rec->device_id, "dev-7");
	assert_string_equal(rec->form_id, "mrc_visit");
	assert_int_equal(rec->clock, FIELD__CLOCK_QUALITY__CLOCK_TRUSTED);
	vals = form_values_json(rec);
	assert_true(json_equal(vals, want));
	json_decref(vals);
	json_decref(want);
	field__record__free_unpacked(rec, NULL);
	return 0;
}

static void
test_stored_opens_to_submitted(void **state)
{
	struct fx *f = *state;
	json_t *v = visit();

	for (int i = 0; i < 3; i++)
		assert_int_equal(submit_record(&f->d.sub, "mrc_visit", NULL, v,
		    &f->r), SUBMIT_OK);
	assert_int_equal(store_each_record(f->d.st, check_open, f), 0);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_counts_dateless,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_then_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_write_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epochs_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_opens_to_submitted, setup, teardown),
	};

	return cmocka_run_group_tests_name("submit", tests, NULL, NULL);
}
