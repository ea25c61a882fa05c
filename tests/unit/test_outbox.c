/* test_outbox.c: the data path of sync without the wire: a device's
   records go out in batches, are ingested by the collector's store with
   resends and out-of-order repeats, arrive exactly once, and open with
   the collector's key only (ingest never needed it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/device.h"
#include "form/recpack.h"
#include "collector/cstore.h"
#include "daemon/outbox.h"
#include "collector/open/seal_open.h"
#include "sync/wire.h"

#define N_RECORDS 25

static char dir[64];
static struct device dev;
static struct cstore *cs;
static struct seal_opener op;

static int
setup(void **state)
{
	unsigned char pub[32], priv[32];
	char path[160], ddir[128], err[512];

	log_init("test_outbox", LOG_ERR);
	strcpy(dir, "/tmp/test_outbox.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(seal_keypair(pub, priv), 0);
	snprintf(path, sizeof(path), "%s/seal.pub", dir);
	assert_int_equal(seal_pub_write(path, pub), 0);
	snprintf(ddir, sizeof(ddir), "%s/device", dir);
	assert_int_equal(device_create(ddir, path, "dev-5", err, sizeof(err)), 0);
	assert_int_equal(device_open(&dev, ddir, NULL, err, sizeof(err)), 0);
	dev.sub.opt.free_floor_bytes = 0;
	dev.sub.opt.epoch_records = 10;		/* several epochs */
	snprintf(path, sizeof(path), "%s/seal.key", dir);
	assert_int_equal(seal_key_write(path, priv), 0);
	assert_int_equal(seal_opener_load(&op, path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/collector.db", dir);
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
	assert_int_equal(cstore_device_enroll(cs, "dev-5", "05", 1), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	device_close(&dev);
	cstore_close(cs);
	seal_opener_wipe(&op);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static json_t *
visit(int i)
{
	char day[11];

	util_date(util_now_ms() - 86400000LL, day);
	return json_pack("{s:s, s:s, s:s, s:i, s:[s], s:s}", "centre_id",
	    "MRC-01", "visit_date", day, "consent", "yes", "age_years", 20 + i,
	    "reasons", "labour_rights", "notes", "private note");
}

static int opened[N_RECORDS + 1];

static int
open_one(void *arg, const char *device, const Field__Sync__SealedRecord *r)
{
	struct seal_ad ad = { r->id, r->form_id, r->form_version, device,
	    r->epoch_id };
	unsigned char pt[4096];
	Field__Record *rec;
	json_t *v;

	assert_true(r->seq >= 1 && r->seq <= N_RECORDS);
	assert_true(r->sealed.len < sizeof(pt));
	assert_int_equal(seal_open(&op, r->epoch_pub.data, &ad, r->sealed.data,
	    r->sealed.len, pt), 0);
	{
		struct recpack *rp = recpack_new();
		char why[160];
		struct recpack_meta m = { r->id, r->form_id, r->form_version,
		    "dev-5" };

		/* compressed with the form's dictionary */
		assert_int_equal(pt[0], RECPACK_ZSTD);
		assert_int_equal(recpack_decode(rp, form_catalog_get(dev.cat,
		    r->form_id, r->form_version), &m, pt, r->sealed.len -
		    SEAL_OVERHEAD, 1 << 20, &rec, why, sizeof(why)), 0);
		recpack_free(rp);
	}
	assert_non_null(rec);
	assert_int_equal(rec->seq, r->seq);
	v = form_values_json(rec);
	assert_int_equal(json_integer_value(json_object_get(v, "age_years")),
	    20 + (int)r->seq - 1);
	json_decref(v);
	field__record__free_unpacked(rec, NULL);
	opened[r->seq]++;
	return 0;
}

static void
test_uuid_pack(void **state)
{
	unsigned char raw[16];
	char back[37];

	(void)state;
	assert_int_equal(util_uuid_pack("8d6f0e5c-1b2a-4c3d-8e9f-a0b1c2d3e4f5",
	    raw), 0);
	util_uuid_unpack(raw, back);
	assert_string_equal(back, "8d6f0e5c-1b2a-4c3d-8e9f-a0b1c2d3e4f5");
	/* upper case would not come back the same: kept as text */
	assert_int_equal(util_uuid_pack("8D6F0E5C-1B2A-4C3D-8E9F-A0B1C2D3E4F5",
	    raw), -1);
	assert_int_equal(util_uuid_pack("not-a-uuid", raw), -1);
}

static void
test_exactly_once_through_resends(void **state)
{
	struct submit_result *res = malloc(sizeof(*res));
	Field__Sync__RecordBatch *b;
	uint64_t acked = 0, col_acked = 0;
	int rounds = 0;

	for (int i = 0; i < N_RECORDS; i++) {
		json_t *v = visit(i);
		assert_int_equal(submit_record(&dev.sub, "mrc_visit", NULL, v,
		    res), SUBMIT_OK);
		json_decref(v);
	}
	assert_int_equal(outbox_acked(dev.st, &acked), 0);
	assert_int_equal(acked, 0);
	for (;;) {
		assert_int_equal(outbox_batch(dev.st, acked, 7, 1 << 20, &b), 0);
		if (b->n_records == 0) {
			outbox_batch_free(b);
			break;
		}
		assert_int_equal(b->records[0]->seq, acked + 1);
		/* As on the wire: what a record shares with the one before
		   it is left out, and the collector puts it back. */
		outbox_batch_compact(b);
		assert_string_equal(b->records[0]->id, "");
		assert_int_equal(b->records[0]->id_bytes.len, 16);
		if (b->n_records > 1) {
			assert_string_equal(b->records[1]->form_id, "");
			assert_int_equal(b->records[1]->epoch_pub.len, 0);
		}
		/* The link drops every other ack: the batch goes again. */
		assert_int_equal(cstore_ingest(cs, "dev-5", 0, b->records,
		    b->n_records, 1000, &col_acked, NULL, NULL), 0);
		if (rounds++ % 2 == 0)
			assert_int_equal(cstore_ingest(cs, "dev-5", 0,
			    b->records, b->n_records, 1000, &col_acked, NULL,
			    NULL), 0);
		assert_int_equal(outbox_set_acked(dev.st, col_acked), 0);
		/* A late, lower ack never moves the watermark back. */
		assert_int_equal(outbox_set_acked(dev.st, 1), 0);
		assert_int_equal(outbox_acked(dev.st, &acked), 0);
		assert_int_equal(acked, col_acked);
		outbox_batch_free(b);
	}
	assert_int_equal(acked, N_RECORDS);
	assert_int_equal(cstore_each_record(cs, open_one, NULL), 0);
	for (int s = 1; s <= N_RECORDS; s++)
		assert_int_equal(opened[s], 1);
	free(res);
}

/* The batch carry (sync/wire.h): each batch's first record leaves out
   what the last batch ended with; through the wire encoding, the
   collector's carry puts it back, across epochs, and every record
   arrives once. */
static void
test_batch_carry(void **state)
{
	struct submit_result *res = malloc(sizeof(*res));
	struct wire_carry dcarry, ccarry;
	Field__Sync__RecordBatch *b, *got;
	uint64_t acked = 0, col_acked = 0;
	int batches = 0, carried = 0;

	memset(&dcarry, 0, sizeof(dcarry));
	memset(&ccarry, 0, sizeof(ccarry));
	memset(opened, 0, sizeof(opened));
	for (int i = 0; i < N_RECORDS; i++) {
		json_t *v = visit(i);
		assert_int_equal(submit_record(&dev.sub, "mrc_visit", NULL, v,
		    res), SUBMIT_OK);
		json_decref(v);
	}
	for (;;) {
		unsigned char *wire;
		size_t len;

		assert_int_equal(outbox_batch(dev.st, acked, 4, 1 << 20, &b), 0);
		if (b->n_records == 0) {
			outbox_batch_free(b);
			break;
		}
		outbox_batch_compact(b);
		wire_carry_compact(&dcarry, b->records[0]);
		wire_carry_take(&dcarry, b);
		if (batches++ > 0 && b->records[0]->form_id[0] == '\0') {
			carried++;
			assert_string_equal(b->records[0]->form_version, "");
		}
		len = field__sync__record_batch__get_packed_size(b);
		wire = malloc(len);
		field__sync__record_batch__pack(b, wire);
		outbox_batch_free(b);
		got = field__sync__record_batch__unpack(NULL, len, wire);
		free(wire);
		assert_non_null(got);
		/* The collector's side, as csrv.c does it. */
		assert_int_equal(wire_carry_fill(&ccarry, got->records[0]), 0);
		wire_carry_take(&ccarry, got);
		assert_string_equal(got->records[0]->form_id, "mrc_visit");
		assert_int_equal(got->records[0]->epoch_pub.len, 32);
		assert_int_equal(cstore_ingest(cs, "dev-5", 0, got->records,
		    got->n_records, 1000, &col_acked, NULL, NULL), 0);
		field__sync__record_batch__free_unpacked(got, NULL);
		acked = col_acked;
	}
	assert_int_equal(acked, N_RECORDS);
	/* Every batch but the first starts carried (its form, version); the
	   epoch changes every 10 records, and then its key goes in full. */
	assert_int_equal(carried, batches - 1);
	assert_int_equal(cstore_each_record(cs, open_one, NULL), 0);
	for (int s = 1; s <= N_RECORDS; s++)
		assert_int_equal(opened[s], 1);
	free(res);
}

static void
test_byte_budget(void **state)
{
	struct submit_result *res = malloc(sizeof(*res));
	Field__Sync__RecordBatch *b;

	for (int i = 0; i < 3; i++) {
		json_t *v = visit(i);
		assert_int_equal(submit_record(&dev.sub, "mrc_visit", NULL, v,
		    res), SUBMIT_OK);
		json_decref(v);
	}
	/* A budget below one record still sends one, never none. */
	assert_int_equal(outbox_batch(dev.st, 0, 10, 1, &b), 0);
	assert_int_equal(b->n_records, 1);
	outbox_batch_free(b);
	assert_int_equal(outbox_batch(dev.st, 0, 10, 1 << 20, &b), 0);
	assert_int_equal(b->n_records, 3);
	/* Nothing personal travels in the clear. */
	size_t len = field__sync__record_batch__get_packed_size(b);
	unsigned char *wire = malloc(len);
	field__sync__record_batch__pack(b, wire);
	assert_null(memmem(wire, len, "private note", 12));
	free(wire);
	outbox_batch_free(b);
	free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_pack),
		cmocka_unit_test_setup_teardown(test_exactly_once_through_resends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_carry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_budget, setup, teardown),
	};

	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
