/* test_cstore.c: the collector's store: exactly-once ingest by (device,
   seq) and record id, the watermark over stored and refused records,
   one-time tokens, revocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "collector/cstore.h"

static char dir[64], path[128];
static struct cstore *cs;

static int
setup(void **state)
{
	char err[256];

	log_init("test_cstore", LOG_ERR);
	strcpy(dir, "/tmp/test_cstore.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/collector.db", dir);
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
	assert_int_equal(cstore_device_enroll(cs, "dev-1", "01", 1000), 0);
	assert_int_equal(cstore_device_enroll(cs, "dev-2", "02", 1000), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	cstore_close(cs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static unsigned char pub[32] = { 1 }, blob[40] = { 2 };

static Field__Sync__SealedRecord *
rec(uint64_t seq, const char *id)
{
	Field__Sync__SealedRecord *r = calloc(1, sizeof(*r));

	field__sync__sealed_record__init(r);
	r->seq = seq;
	r->id = (char *)id;
	r->form_id = "mrc_visit";
	r->form_version = "1";
	r->created_ms = 5000;
	r->clock = FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_SINCE_BOOT;
	r->epoch_id = 1;
	r->epoch_pub.data = pub;
	r->epoch_pub.len = 32;
	r->sealed.data = blob;
	r->sealed.len = sizeof(blob);
	return r;
}

struct refusals {
	int n;
	uint64_t seq[8];
	char why[8][160];
};

static void
on_refused(void *arg, uint64_t seq, const char *reason)
{
	struct refusals *r = arg;

	r->seq[r->n] = seq;
	snprintf(r->why[r->n++], 160, "%s", reason);
}

static int
count_records(void *arg, const char *dev, const Field__Sync__SealedRecord *r)
{
	(*(int *)arg)++;
	return 0;
}

#define ID(n) "00000000-0000-4000-8000-00000000000" #n

static void
test_exactly_once_and_watermark(void **state)
{
	Field__Sync__SealedRecord *b[4] = { rec(1, ID(1)), rec(2, ID(2)),
	    rec(4, ID(4)), rec(3, ID(3)) };
	struct refusals rf = { 0 };
	uint64_t acked = 0;
	struct cdevice d;
	int n = 0;

	/* 1, 2 then a gap: the watermark stops at 2. */
	assert_int_equal(cstore_ingest(cs, "dev-1", 60000, b, 3, 9000, &acked,
	    on_refused, &rf), 0);
	assert_int_equal(acked, 2);
	/* The same batch again (a resend after a cut) and 3: now 4. */
	assert_int_equal(cstore_ingest(cs, "dev-1", 60000, b, 4, 9000, &acked,
	    on_refused, &rf), 0);
	assert_int_equal(acked, 4);
	assert_int_equal(rf.n, 0);
	assert_int_equal(cstore_each_record(cs, count_records, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(cstore_device_get(cs, "dev-1", &d), 1);
	assert_int_equal(d.acked_seq, 4);
	/* stamped before any trusted time: corrected by the offset, the
	   raw stamp kept beside it */
	{
		int64_t created, corrected;

		assert_int_equal(cstore_record_times(cs, "dev-1", 1, &created,
		    &corrected), 1);
		assert_int_equal(created, 5000);
		assert_int_equal(corrected, 65000);
		assert_int_equal(cstore_record_times(cs, "dev-1", 9, &created,
		    &corrected), 0);
	}
	for (int i = 0; i < 4; i++)
		free(b[i]);
}

static void
test_refused_records_do_not_block(void **state)
{
	Field__Sync__SealedRecord *b[3] = { rec(1, ID(1)), rec(2, "not-a-uuid"),
	    rec(3, ID(3)) };
	Field__Sync__SealedRecord *c[1] = { rec(1, ID(1)) };
	struct refusals rf = { 0 };
	uint64_t acked = 0;

	b[2]->epoch_pub.len = 5;
	assert_int_equal(cstore_ingest(cs, "dev-1", 0, b, 3, 9000, &acked,
	    on_refused, &rf), 0);
	assert_int_equal(acked, 3);
	assert_int_equal(rf.n, 2);
	assert_int_equal(rf.seq[0], 2);
	assert_non_null(strstr(rf.why[0], "UUID"));
	assert_non_null(strstr(rf.why[1], "epoch key"));
	/* Another device sending a stored record id: refused, not doubled. */
	memset(&rf, 0, sizeof(rf));
	assert_int_equal(cstore_ingest(cs, "dev-2", 0, c, 1, 9000, &acked,
	    on_refused, &rf), 0);
	assert_int_equal(acked, 1);
	assert_int_equal(rf.n, 1);
	assert_non_null(strstr(rf.why[0], "already stored as dev-1 seq 1"));
	/* An unknown device is a failure, not a silent accept. */
	assert_int_equal(cstore_ingest(cs, "dev-9", 0, c, 1, 9000, &acked,
	    NULL, NULL), -1);
	for (int i = 0; i < 3; i++)
		free(b[i]);
	free(c[0]);
}

static void
test_tokens_and_revocation(void **state)
{
	unsigned char h[32] = { 9 }, h2[32] = { 8 };
	struct cdevice d;

	assert_int_equal(cstore_token_add(cs, h, NULL, 5000), 0);
	assert_int_equal(cstore_token_use(cs, h, "dev-3", 6000), 0); /* expired */
	assert_int_equal(cstore_token_add(cs, h2, "dev-4", 99999), 0);
	assert_int_equal(cstore_token_use(cs, h2, "dev-5", 6000), 0); /* other */
	assert_int_equal(cstore_token_use(cs, h2, "dev-4", 6000), 1);
	assert_int_equal(cstore_token_use(cs, h2, "dev-4", 6000), 0); /* once */
	assert_int_equal(cstore_device_revoke(cs, "dev-2", 7000), 1);
	assert_int_equal(cstore_device_revoke(cs, "dev-2", 7000), 0);
	assert_int_equal(cstore_device_revoke(cs, "nope", 7000), 0);
	assert_int_equal(cstore_device_get(cs, "dev-2", &d), 1);
	assert_int_equal(d.revoked_ms, 7000);
	assert_int_equal(cstore_device_seen(cs, "dev-1", 8000, 12, -3600000,
	    "link down"), 0);
	assert_int_equal(cstore_device_get(cs, "dev-1", &d), 1);
	assert_int_equal(d.pending, 12);
	assert_int_equal(d.clock_offset_ms, -3600000);
	assert_string_equal(d.last_error, "link down");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exactly_once_and_watermark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_records_do_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_and_revocation, setup, teardown),
	};

	return cmocka_run_group_tests_name("cstore", tests, NULL, NULL);
}
