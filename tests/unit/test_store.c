/* test_store.c: migrations, damage refusal, seq and dedup, counts (and a
   transaction's counts rows kept until its commit), users, how often the
   WAL is checkpointed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "common/log.h"
#include "daemon/store.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	strcpy(dir, "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/device.db", dir);
	log_init("test_store", LOG_ERR);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const unsigned char pub[32] = { 1, 2, 3 };

static uint64_t
add_record(struct store *st, const char *id, uint64_t epoch)
{
	static const unsigned char sealed[40] = { 9 };
	uint64_t seq;

	assert_int_equal(store_next_seq(st, &seq), 0);
	struct store_record r = { seq, id, "dtm_household", "1", 1000, 1,
	    epoch, sealed, sizeof(sealed) };
	assert_int_equal(store_record_add(st, &r), 0);
	return seq;
}

static void
test_fresh_schema(void **state)
{
	struct store *st;
	struct store_stats s;
	char err[256];

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_stats(st, &s), 0);
	assert_int_equal(s.records, 0);
	store_close(st);
	/* Opening without create does not make a database. */
	char other[160];
	snprintf(other, sizeof(other), "%s/none.db", dir);
	assert_int_equal(store_open(other, 0, &st, err, sizeof(err)), -1);
}

static void
test_migrate_from_previous(void **state)
{
	struct store *st;
	struct store_stats s;
	char err[256];
	sqlite3 *db;

	/* A database as schema version 1 left it, with one record. */
	assert_int_equal(store_open_at(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(st), 1);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "INSERT INTO epochs(pub, created_ms) VALUES(zeroblob(32), 1);"
	    "INSERT INTO records VALUES(1, 'a', 'f', '1', 1, 1, 1, x'00');"
	    "INSERT INTO meta VALUES('device_id', 'dev-9');",
	    NULL, NULL, NULL), SQLITE_OK);
	/* No counts table yet. */
	assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM counts", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), 0);
	assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_stats(st, &s), 0);
	assert_int_equal(s.records, 1);
	assert_int_equal(s.last_seq, 1);
	char v[64];
	assert_int_equal(store_meta_get(st, "device_id", v, sizeof(v)), 1);
	assert_string_equal(v, "dev-9");
	/* The migrated tables work. */
	unsigned char h[32] = { 7 };
	assert_int_equal(store_user_add(st, "a", h), 0);
	assert_int_equal(store_user_check(st, h, 0, NULL, 0), 1);
	store_close(st);
}

static void
test_newer_schema_refused(void **state)
{
	struct store *st;
	char err[256];
	sqlite3 *db;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
}

static void
test_damaged_refused(void **state)
{
	struct store *st;
	char err[512], junk[4096];
	uint64_t ep;
	int fd;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_epoch_add(st, pub, 1, &ep), 0);
	for (int i = 0; i < 300; i++) {
		char id[40];
		snprintf(id, sizeof(id), "id-%d", i);
		add_record(st, id, ep);
	}
	assert_int_equal(store_commit(st), 0);
	store_close(st);	/* checkpoints the WAL into the file */

	/* Scribble over the middle of the file, as a failing card might. */
	memset(junk, 0xA5, sizeof(junk));
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096 * 3),
	    (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "damaged"));
	assert_non_null(strstr(err, path));

	/* Not a database at all. */
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "damaged"));
}

static void
test_seq_and_dedup(void **state)
{
	struct store *st;
	char err[256];
	uint64_t ep, seq;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_epoch_add(st, pub, 1, &ep), 0);
	assert_int_equal(add_record(st, "r1", ep), 1);
	assert_int_equal(add_record(st, "r2", ep), 2);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_find_id(st, "r2", &seq), 1);
	assert_int_equal(seq, 2);
	assert_int_equal(store_find_id(st, "r3", &seq), 0);
	/* A rolled-back record leaves no gap. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(add_record(st, "r3", ep), 3);
	store_rollback(st);
	assert_int_equal(store_find_id(st, "r3", &seq), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(add_record(st, "r4", ep), 3);
	/* The same id twice is refused by the schema and told apart from a
	   failure, so the submit path can report the first one's seq. */
	static const unsigned char b[1];
	struct store_record dup = { 4, "r4", "f", "1", 1, 1, ep, b, 1 };
	assert_int_equal(store_record_add(st, &dup), 1);
	/* It took no seq: the transaction's next records take 4 and 5
	   (counted on from its own inserts, not read again). */
	assert_int_equal(add_record(st, "r5", ep), 4);
	assert_int_equal(add_record(st, "r6", ep), 5);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(add_record(st, "r7", ep), 6);
	store_rollback(st);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(add_record(st, "r8", ep), 6);
	assert_int_equal(store_commit(st), 0);
	store_close(st);
}

/* Frames the store's WAL file has room for: its size only grows, and
   SQLite writes from its start again after a checkpoint that copied it
   all, so the size says how far the WAL got between checkpoints. */
static long
wal_frames(void)
{
	char wal[160];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &sb), 0);
	return (long)((sb.st_size - 32) / (4096 + 24));
}

/* Records [from, to) each in a transaction of its own, as one phone's. */
static void
add_alone(struct store *st, uint64_t ep, int from, int to)
{
	char id[32];

	for (int i = from; i < to; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(store_begin(st), 0);
		add_record(st, id, ep);
		assert_int_equal(store_commit(st), 0);
	}
}

/*
 * A store checkpoints every 4,000 WAL frames, not SQLite's 1,000
 * (store_open_impl says why): one-record commits, two or three frames
 * each, take the WAL past 1,000 frames and it is not copied back then;
 * it is by 4,000, after which the WAL starts again and stays that size.
 */
static void
test_checkpoint_interval(void **state)
{
	struct store *st;
	char err[256];
	uint64_t ep;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_epoch_add(st, pub, 1, &ep), 0);
	assert_int_equal(store_commit(st), 0);
	add_alone(st, ep, 0, 700);
	assert_true(wal_frames() > 1100);
	add_alone(st, ep, 700, 4000);
	assert_true(wal_frames() >= 4000);
	assert_true(wal_frames() < 4100);
	store_close(st);
}

static int64_t
count_of(struct store *st, const char *place, const char *dim,
    const char *measure)
{
	json_t *arr, *c;
	size_t i;
	int64_t n = -1;

	assert_int_equal(store_counts_json(st, &arr), 0);
	json_array_foreach(arr, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "place")), place) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "dim")), dim) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "measure")), measure) == 0)
			n = json_integer_value(json_object_get(c, "n"));
	}
	json_decref(arr);
	return n;
}

static void
test_counts(void **state)
{
	struct store *st;
	char err[256];
	struct form_count cells[2] = {
		{ "2026-11-20", "SITE-1", "", "", "households", 1 },
		{ "2026-11-20", "SITE-1", "sex", "female", "individuals", 2 },
	};
	struct form_counts c = { 2, 2, cells };

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 1), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 2), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(count_of(st, "SITE-1", "", "households"), 2);
	assert_int_equal(count_of(st, "SITE-1", "sex", "individuals"), 4);

	/* Latest per place: a newer round replaces, an older one is ignored. */
	struct form_count a[1] = { { "2026-11-10", "S-2", "", "", "individuals", 100 } };
	struct form_count b[1] = { { "2026-11-20", "S-2", "", "", "individuals", 150 } };
	struct form_count old[1] = { { "2026-11-01", "S-2", "", "", "individuals", 90 } };
	struct form_counts ca = { 1, 1, a }, cb = { 1, 1, b }, cold = { 1, 1, old };
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_counts_add(st, "dtm_site_assessment", &ca, 1, 3), 0);
	assert_int_equal(count_of(st, "S-2", "", "individuals"), 100);
	assert_int_equal(store_counts_add(st, "dtm_site_assessment", &cb, 1, 4), 0);
	assert_int_equal(count_of(st, "S-2", "", "individuals"), 150);
	assert_int_equal(store_counts_add(st, "dtm_site_assessment", &cold, 1, 5), 0);
	assert_int_equal(count_of(st, "S-2", "", "individuals"), 150);
	assert_int_equal(store_commit(st), 0);
	store_close(st);
}

/*
 * The rows a transaction changes are written at its commit: many records
 * of one place add up, more places than the list holds are written as it
 * fills, a rollback leaves no trace, and each row keeps the seq of the
 * last record that changed it (what sync sends).
 */
static void
test_counts_of_a_transaction(void **state)
{
	struct store *st;
	char err[256], place[16];
	struct form_count cell = { "2026-11-20", "", "", "", "households", 1 };
	struct form_counts c = { 1, 1, &cell };
	json_t *since;
	uint64_t upto;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 150; i++) {
			snprintf(place, sizeof(place), "P-%d", i);
			snprintf(cell.place, sizeof(cell.place), "%s", place);
			assert_int_equal(store_counts_add(st, "dtm_household",
			    &c, 0, (uint64_t)(1 + round * 150 + i)), 0);
		}
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(count_of(st, "P-0", "", "households"), 3);
	assert_int_equal(count_of(st, "P-63", "", "households"), 3);
	assert_int_equal(count_of(st, "P-149", "", "households"), 3);

	/* rolled back: nothing of it */
	snprintf(cell.place, sizeof(cell.place), "P-R");
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 500), 0);
	store_rollback(st);
	assert_int_equal(count_of(st, "P-R", "", "households"), -1);
	snprintf(cell.place, sizeof(cell.place), "P-7");
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 501), 0);
	store_rollback(st);
	assert_int_equal(count_of(st, "P-7", "", "households"), 3);
	/* outside a transaction a change is written at once */
	snprintf(cell.place, sizeof(cell.place), "P-A");
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 300), 0);
	store_close(st);
	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(count_of(st, "P-A", "", "households"), 1);
	snprintf(cell.place, sizeof(cell.place), "P-7");

	/* two records of P-7 in one commit: 5, and the row's seq is 461 */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 460), 0);
	assert_int_equal(store_counts_add(st, "dtm_household", &c, 0, 461), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(count_of(st, "P-7", "", "households"), 5);
	assert_int_equal(store_counts_since(st, 460, SIZE_MAX, &since, &upto),
	    0);
	assert_int_equal(json_array_size(since), 1);
	assert_int_equal(upto, 461);
	json_decref(since);
	assert_int_equal(store_counts_since(st, 461, SIZE_MAX, &since, &upto),
	    0);
	assert_int_equal(json_array_size(since), 0);
	json_decref(since);
	store_close(st);
}

static void
test_users_and_meta(void **state)
{
	struct store *st;
	char err[256], v[16];
	unsigned char h1[32] = { 1 }, h2[32] = { 2 };
	uint64_t free_bytes = 0;

	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	assert_int_equal(store_user_add(st, "amina", h1), 0);
	assert_int_equal(store_user_add(st, "amina", h2), -1);
	assert_int_equal(store_user_check(st, h1, 0, NULL, 0), 1);
	assert_int_equal(store_user_check(st, h2, 0, NULL, 0), 0);
	assert_int_equal(store_user_remove(st, "amina"), 1);
	assert_int_equal(store_user_remove(st, "amina"), 0);
	assert_int_equal(store_user_check(st, h1, 0, NULL, 0), 0);
	assert_int_equal(store_meta_get(st, "x", v, sizeof(v)), 0);
	assert_int_equal(store_meta_set(st, "x", "y"), 0);
	assert_int_equal(store_meta_get(st, "x", v, sizeof(v)), 1);
	assert_string_equal(v, "y");
	assert_int_equal(store_free_bytes(st, &free_bytes), 0);
	assert_true(free_bytes > 0);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_and_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_of_a_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_and_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_interval, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
