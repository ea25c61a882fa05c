/*
 * bench_store: the cost of a durable submit, measured against a bare
 * SQLite insert of the same bytes with the same durability, in one run.
 *
 *   baseline: WAL, synchronous=FULL, one transaction per row, inserting
 *             (seq, id, sealed bytes of the size our records seal to),
 *             checkpointed as often as the store is
 *   store:    submit_record: validate, seal, insert, counts, commit
 *
 * The two alternate in rounds so drift of the machine hits both alike;
 * and once more paired one by one, the ratio of the two medians.
 * Also: bulk import (submit_many) and the cost of sealing alone.
 */
#include <sqlite3.h>

#include "bench/bench_common.h"
#include "common/rng.h"
#include "daemon/csvin.h"

#define ROUNDS 20
#define PER_ROUND 150

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
bare_round(sqlite3 *db, size_t sealed_len, int round)
{
	unsigned char *blob = malloc(sealed_len);
	sqlite3_stmt *s;
	double t0;
	char id[37];

	rng_bytes(blob, sealed_len);
	sqlite3_prepare_v2(db, "INSERT INTO records(id, sealed) VALUES(?1, ?2)",
	    -1, &s, NULL);
	t0 = bench_now();
	for (int i = 0; i < PER_ROUND; i++) {
		rng_uuid(id);
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, blob, (int)sealed_len, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			fprintf(stderr, "bare insert: %s\n", sqlite3_errmsg(db));
		sqlite3_reset(s);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	t0 = bench_now() - t0;
	sqlite3_finalize(s);
	free(blob);
	(void)round;
	return t0;
}

static double
store_round(struct device *d, json_t **recs)
{
	struct submit_result *r = malloc(sizeof(*r));
	double t0 = bench_now();

	for (int i = 0; i < PER_ROUND; i++)
		if (submit_record(&d->sub, "dtm_household", NULL, recs[i], r) !=
		    SUBMIT_OK) {
			fprintf(stderr, "submit: %s\n", r->msg);
			exit(1);
		}
	t0 = bench_now() - t0;
	free(r);
	return t0;
}

int
main(void)
{
	struct device d;
	char dir[64], bare[128];
	json_t *recs[PER_ROUND];
	sqlite3 *db;
	double tb = 0, ts = 0, io;
	size_t sealed_len;

	io = bench_io_pressure();
	if (bench_device(dir, &d) != 0)
		return 1;
	for (int i = 0; i < PER_ROUND; i++)
		recs[i] = bench_household(i);
	/* Size of one sealed record: store one and look. */
	{
		struct submit_result r;
		uint64_t bytes = 0;
		submit_record(&d.sub, "dtm_household", NULL, recs[0], &r);
		store_sealed_bytes(d.st, &bytes);
		sealed_len = (size_t)bytes;
	}
	snprintf(bare, sizeof(bare), "%s/bare.db", dir);
	sqlite3_open(bare, &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    "CREATE TABLE records(seq INTEGER PRIMARY KEY, id TEXT NOT NULL"
	    " UNIQUE, sealed BLOB)", NULL, NULL, NULL);
	/* checkpoints as often as the store's: the same durability and the
	   same housekeeping, so the ratio is what a submit adds */
	sqlite3_wal_autocheckpoint(db, STORE_CHECKPOINT_FRAMES);
	/*
	 * Rounds alternate ABBA so drift hits both alike; the figure is the
	 * median of the per-round ratios, robust to a stall in one round.
	 */
	double ratios[ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		double b, s;
		if (round % 2 == 0) {
			b = bare_round(db, sealed_len, round);
			s = store_round(&d, recs);
		} else {
			s = store_round(&d, recs);
			b = bare_round(db, sealed_len, round);
		}
		tb += b;
		ts += s;
		ratios[round] = s / b;
	}
	qsort(ratios, ROUNDS, sizeof(double), cmp_double);
	double median = (ratios[ROUNDS / 2 - 1] + ratios[ROUNDS / 2]) / 2;
	int n = ROUNDS * PER_ROUND;
	printf("durable submit: bare SQLite insert %.0f/s (%.1f us), store "
	    "submit %.0f/s (%.1f us); ratio %.2fx the bare cost (median of "
	    "%d rounds, %.2fx to %.2fx; budget 1.25x); sealed record %zu "
	    "bytes\n", n / tb, tb / n * 1e6, n / ts, ts / n * 1e6, median,
	    ROUNDS, ratios[0], ratios[ROUNDS - 1], sealed_len);

	/*
	 * The same, paired one by one: a bare insert, then a submit, each
	 * with its own fsync, timed alone; the ratio of their medians.  On
	 * a machine whose disk others share, a round's fsyncs can cost ten
	 * times the next round's and the ratio of rounds above swings with
	 * them; neighbours in time see the same disk.
	 */
	{
		enum { PAIRS = 2000 };
		double *tb1 = malloc(PAIRS * sizeof(double));
		double *ts1 = malloc(PAIRS * sizeof(double));
		unsigned char *blob = malloc(sealed_len);
		struct submit_result *r1 = malloc(sizeof(*r1));
		sqlite3_stmt *ins1;
		char id1[37];

		rng_bytes(blob, sealed_len);
		sqlite3_prepare_v2(db, "INSERT INTO records(id, sealed) VALUES"
		    "(?1, ?2)", -1, &ins1, NULL);
		for (int i = 0; i < PAIRS; i++) {
			double t0 = bench_now();

			rng_uuid(id1);
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
			sqlite3_bind_text(ins1, 1, id1, -1, SQLITE_STATIC);
			sqlite3_bind_blob(ins1, 2, blob, (int)sealed_len,
			    SQLITE_STATIC);
			sqlite3_step(ins1);
			sqlite3_reset(ins1);
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
			tb1[i] = bench_now() - t0;
			t0 = bench_now();
			if (submit_record(&d.sub, "dtm_household", NULL,
			    recs[i % PER_ROUND], r1) != SUBMIT_OK) {
				fprintf(stderr, "submit: %s\n", r1->msg);
				exit(1);
			}
			ts1[i] = bench_now() - t0;
		}
		sqlite3_finalize(ins1);
		qsort(tb1, PAIRS, sizeof(double), cmp_double);
		qsort(ts1, PAIRS, sizeof(double), cmp_double);
		printf("durable submit, paired: bare insert median %.1f us, "
		    "store submit median %.1f us: %.2fx the bare cost (budget "
		    "1.25x; %d pairs; I/O pressure at the start %.1f%%)\n",
		    tb1[PAIRS / 2] * 1e6, ts1[PAIRS / 2] * 1e6,
		    ts1[PAIRS / 2] / tb1[PAIRS / 2], PAIRS, io);
		free(tb1);
		free(ts1);
		free(blob);
		free(r1);
	}
	sqlite3_close(db);

	/*
	 * Bulk import, as fieldctl import does it: a CSV export of households
	 * and one of members (csvin), typed (form_coerce), all stored in one
	 * transaction (submit_many); against bare inserts of the same number
	 * of sealed-size rows in one transaction.
	 */
	enum { BULK = 20000 };
	struct submit_result *r = malloc(sizeof(*r));
	char hh[128], mem[128], day[11];
	FILE *fh, *fm;

	util_date(util_now_ms() - 86400000LL, day);
	snprintf(hh, sizeof(hh), "%s/households.csv", dir);
	snprintf(mem, sizeof(mem), "%s/members.csv", dir);
	fh = fopen(hh, "w");
	fm = fopen(mem, "w");
	fprintf(fh, "KEY,site_id,admin1,admin2,registration_date,consent,"
	    "head_name,phone,shelter_type,intention,needs\n");
	fprintf(fm, "PARENT_KEY,member_name,sex,age_years,relationship,"
	    "vulnerabilities\n");
	for (int i = 0; i < BULK; i++) {
		fprintf(fh, "k%d,SITE-00%d,SS01,SS0101,%s,yes,Head %d,"
		    "+211 912 345 678,tent,stay,food water\n", i, i % 2, day, i);
		fprintf(fm, "k%d,Head %d,female,34,head,\nk%d,Spouse,male,36,"
		    "spouse,\nk%d,Child,female,4,child,disability\n", i, i, i,
		    i);
	}
	fclose(fh);
	fclose(fm);
	double t0 = bench_now();
	struct csvin_repeat rep = { "members", mem };
	static char cerr[4096];
	json_t *rows;
	const struct form *hf = form_catalog_get(d.cat, "dtm_household", NULL);
	if (csvin_read(hh, &rep, 1, &rows, cerr, sizeof(cerr)) != 0) {
		fprintf(stderr, "bulk: %s", cerr);
		return 1;
	}
	json_t **many = malloc(BULK * sizeof(*many));
	for (int i = 0; i < BULK; i++) {
		many[i] = json_object_get(json_array_get(rows, (size_t)i),
		    "record");
		memset(&r->errs, 0, sizeof(r->errs));
		form_coerce(hf, many[i], &r->errs);
	}
	if (submit_many(&d.sub, "dtm_household", NULL, many, BULK, NULL, NULL,
	    r) != SUBMIT_OK) {
		fprintf(stderr, "bulk: %s\n", r->msg);
		return 1;
	}
	double tbulk = bench_now() - t0;
	sqlite3_open(bare, &db);
	sqlite3_stmt *ins;
	unsigned char blob[4096];
	char id[37];
	rng_bytes(blob, sealed_len);
	sqlite3_prepare_v2(db, "INSERT INTO records(id, sealed) VALUES(?1, ?2)",
	    -1, &ins, NULL);
	t0 = bench_now();
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (int i = 0; i < BULK; i++) {
		rng_uuid(id);
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, blob, (int)sealed_len, SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	double tbare = bench_now() - t0;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	printf("bulk import (CSV, %d households of 3 in one transaction): "
	    "%.0f records/s; %.1fx the cost of bare inserts in one "
	    "transaction (%.0f/s)\n", BULK, BULK / tbulk, tbulk / tbare,
	    BULK / tbare);

	/* Sealing alone, for a record of the size above. */
	struct seal_epoch ep;
	unsigned char pt[4096], out[4096 + SEAL_OVERHEAD];
	size_t plen = sealed_len - SEAL_OVERHEAD;
	struct seal_ad ad = { "0b7a4c8e-6a38-4f27-9e2a-3f1c9a1c7d11",
	    "dtm_household", "2026.11.1", "bench-dev", 1 };
	seal_epoch_start(&ep, d.sub.collector_pub, "bench-dev");
	ep.id = 1;
	rng_bytes(pt, plen);
	enum { SEALS = 200000 };
	t0 = bench_now();
	for (int i = 0; i < SEALS; i++)
		seal_record(&ep, &ad, pt, plen, out);
	double tseal = bench_now() - t0;
	t0 = bench_now();
	for (int i = 0; i < 200; i++) {
		struct seal_epoch e2;
		seal_epoch_start(&e2, d.sub.collector_pub, "bench-dev");
		seal_epoch_wipe(&e2);
	}
	double tepoch = (bench_now() - t0) / 200;
	seal_epoch_wipe(&ep);
	printf("seal: %.2f us per %zu-byte record (%.4fx a durable bare "
	    "insert); epoch start %.0f us\n", tseal / SEALS * 1e6, plen,
	    (tseal / SEALS) / (tb / n), tepoch * 1e6);

	for (int i = 0; i < PER_ROUND; i++)
		json_decref(recs[i]);
	json_decref(rows);
	free(many);
	free(r);
	device_close(&d);
	bench_rmdir(dir);
	return 0;
}
