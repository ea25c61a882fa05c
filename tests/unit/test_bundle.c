/* test_bundle.c: USB bundles end to end through the commands and the
   reader: a round trip lands every record once and the receipt raises
   the board's watermark; any altered, cut, foreign, mislabelled,
   revoked or replayed bundle is refused and leaves collector.db as it
   was; an import that fails half-way changes nothing; receipts for
   another device or from another CA are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <glob.h>
#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/device.h"
#include "sync/bundle.h"
#include "daemon/bundle_cmd.h"
#include "collector/import_cmd.h"
#include "collector/collector.h"
#include "collector/cstore.h"
#include "sync/frame.h"
#include "daemon/outbox.h"
#include "sync/pki.h"

#define DEVICE "dev-b1"
#define N_RECORDS 5

struct fx {
	char dir[64], cdir[128], ddir[128], usb[128], path[256];
	struct device dev;
	mbedtls_x509_crt ca;
	mbedtls_pk_context ca_key;
};

static void
join(char *out, size_t len, const char *dir, const char *name)
{
	assert_true(snprintf(out, len, "%s/%s", dir, name) < (int)len);
}

static uint64_t
cert_serial_of(const unsigned char *der, size_t len)
{
	mbedtls_x509_crt crt;
	uint64_t serial = 0;
	char err[256];

	assert_int_equal(pki_cert_parse(&crt, der, len, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_serial(&crt, &serial), 0);
	mbedtls_x509_crt_free(&crt);
	return serial;
}

/*
 * Gives the device a certificate for cn from ca/ca_key over its own key
 * (made on first use), as enrolment would; when enrol is set the
 * collector enrols the device with the certificate's serial.
 */
static void
issue(struct fx *f, const char *cn, const mbedtls_x509_crt *ca,
    mbedtls_pk_context *ca_key, int enrol)
{
	mbedtls_pk_context key;
	struct cstore *cs;
	struct stat sb;
	unsigned char *csr, *der;
	size_t csr_len, len;
	struct pki_sign_opts o = { 0, 365, 0 };
	char path[256], err[512], serial[32];
	uint64_t ser;

	join(path, sizeof(path), f->ddir, "tls");
	assert_int_equal(util_mkdirs(path, 0700), 0);
	join(path, sizeof(path), f->ddir, "tls/device.key");
	if (stat(path, &sb) != 0) {
		assert_int_equal(pki_key_generate(&key, err, sizeof(err)), 0);
		assert_int_equal(pki_key_write(&key, path, err, sizeof(err)), 0);
	} else
		assert_int_equal(pki_key_read(&key, path, err, sizeof(err)), 0);
	assert_int_equal(pki_csr_create(&key, cn, &csr, &csr_len, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_csr_sign(ca, ca_key, csr, csr_len, &o, &der, &len,
	    &ser, err, sizeof(err)), 0);
	join(path, sizeof(path), f->ddir, "tls/device.crt");
	assert_int_equal(pki_cert_write(path, der, len, err, sizeof(err)), 0);
	join(path, sizeof(path), f->ddir, "tls/ca.crt");
	assert_int_equal(pki_cert_write(path, f->ca.raw.p, f->ca.raw.len, err,
	    sizeof(err)), 0);
	if (enrol) {
		join(path, sizeof(path), f->cdir, "collector.db");
		assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
		snprintf(serial, sizeof(serial), "%llu", (unsigned long long)ser);
		assert_int_equal(cstore_device_enroll(cs, cn, serial, 1), 0);
		cstore_close(cs);
	}
	free(csr);
	free(der);
	mbedtls_pk_free(&key);
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

static void
submit(struct fx *f, int n)
{
	struct submit_result *res = malloc(sizeof(*res));

	for (int i = 0; i < n; i++) {
		json_t *v = visit(i);
		assert_int_equal(submit_record(&f->dev.sub, "mrc_visit", NULL, v,
		    res), SUBMIT_OK);
		json_decref(v);
	}
	free(res);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[256], err[512];

	log_init("test_bundle", LOG_ERR);
	strcpy(f->dir, "/tmp/test_bundle.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	join(f->cdir, sizeof(f->cdir), f->dir, "collector");
	join(f->ddir, sizeof(f->ddir), f->dir, "device");
	join(f->usb, sizeof(f->usb), f->dir, "usb");
	assert_int_equal(mkdir(f->usb, 0700), 0);
	assert_int_equal(collector_init(f->cdir, "localhost", "", err,
	    sizeof(err)), 0);
	join(path, sizeof(path), f->cdir, "ca.crt");
	assert_int_equal(pki_cert_read(&f->ca, path, err, sizeof(err)), 0);
	join(path, sizeof(path), f->cdir, "ca.key");
	assert_int_equal(pki_key_read(&f->ca_key, path, err, sizeof(err)), 0);
	join(path, sizeof(path), f->cdir, "seal.pub");
	assert_int_equal(device_create(f->ddir, path, DEVICE, err,
	    sizeof(err)), 0);
	assert_int_equal(device_open(&f->dev, f->ddir, NULL, err,
	    sizeof(err)), 0);
	f->dev.sub.opt.free_floor_bytes = 0;
	issue(f, DEVICE, &f->ca, &f->ca_key, 1);
	submit(f, N_RECORDS);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	device_close(&f->dev);
	mbedtls_x509_crt_free(&f->ca);
	mbedtls_pk_free(&f->ca_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* How many files in the stick's folder match pattern. */
static size_t
files(struct fx *f, const char *pattern, char *first, size_t len)
{
	char pat[256];
	glob_t g;
	size_t n;

	join(pat, sizeof(pat), f->usb, pattern);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	if (n > 0 && first != NULL)
		snprintf(first, len, "%s", g.gl_pathv[0]);
	globfree(&g);
	return n;
}

/* fieldctl export to the stick; the bundle's path in f->path. */
static void
export(struct fx *f)
{
	char *argv[] = { "export", f->usb, NULL };

	assert_int_equal(bundle_cmd_export(f->ddir, 2, argv), 0);
	assert_int_equal(files(f, "*.fldb", f->path, sizeof(f->path)), 1);
}

static int
import(struct fx *f, const char *path)
{
	char *argv[] = { "import", (char *)path, NULL };

	return import_cmd_bundle(f->cdir, 2, argv);
}

static int
import_receipt(struct fx *f, const char *path)
{
	char *argv[] = { "import-receipt", (char *)path, NULL };

	return bundle_cmd_import_receipt(f->ddir, 2, argv);
}

static int
receipt(struct fx *f, const char *device, const char *out)
{
	char *argv[] = { "receipt", (char *)device, (char *)out, NULL };

	return import_cmd_receipt(f->cdir, 3, argv);
}

/* Everything an import could change in collector.db, as one string. */
static void
db_state(struct fx *f, char *out, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char path[256];

	join(path, sizeof(path), f->cdir, "collector.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM"
	    " records) || '/' || (SELECT count(*) FROM refused) || '/' ||"
	    " (SELECT count(*) FROM bundles) || '/' || (SELECT count(*) FROM"
	    " device_counts) || '/' || (SELECT group_concat(id || ':' ||"
	    " acked_seq || ':' || revoked_ms) FROM devices)", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, len, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void
db_exec_sql(struct fx *f, const char *sql)
{
	sqlite3 *db;
	char path[256];

	join(path, sizeof(path), f->cdir, "collector.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static uint64_t
records_held(struct fx *f)
{
	struct cstore *cs;
	char path[256], err[256];
	uint64_t n = 0;

	join(path, sizeof(path), f->cdir, "collector.db");
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
	assert_int_equal(cstore_record_count(cs, NULL, &n), 0);
	cstore_close(cs);
	return n;
}

static uint64_t
device_acked(struct fx *f)
{
	uint64_t acked = 0;

	assert_int_equal(outbox_acked(f->dev.st, &acked), 0);
	return acked;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *buf = (unsigned char *)util_read_file(path, 1 << 26, len);

	assert_non_null(buf);
	return buf;
}

static void
spit(const char *path, const unsigned char *buf, size_t len)
{
	assert_int_equal(util_write_file(path, buf, len, 0644), 0);
}

/* Sealed bytes by seq, to compare what arrived with what was sent. */
struct sealed_set {
	unsigned char *sealed[N_RECORDS * 4 + 1];
	size_t len[N_RECORDS * 4 + 1];
	int seen[N_RECORDS * 4 + 1];
};

static int
keep_device_record(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32])
{
	struct sealed_set *s = arg;

	assert_true(r->seq < N_RECORDS * 4 + 1);
	s->sealed[r->seq] = malloc(r->sealed_len);
	memcpy(s->sealed[r->seq], r->sealed, r->sealed_len);
	s->len[r->seq] = r->sealed_len;
	return 0;
}

static int
match_collector_record(void *arg, const char *device,
    const Field__Sync__SealedRecord *r)
{
	struct sealed_set *s = arg;

	assert_string_equal(device, DEVICE);
	assert_true(r->seq < N_RECORDS * 4 + 1);
	assert_non_null(s->sealed[r->seq]);
	assert_int_equal(r->sealed.len, s->len[r->seq]);
	assert_memory_equal(r->sealed.data, s->sealed[r->seq], r->sealed.len);
	s->seen[r->seq]++;
	return 0;
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim;
	struct sealed_set *set = calloc(1, sizeof(*set));
	struct bundle b;
	struct cstore *cs;
	char path[256], err[512], want[256], rpath[256];
	uint64_t serial;

	export(f);
	snprintf(want, sizeof(want), "%s/%s-1-%d.fldb", f->usb, DEVICE,
	    N_RECORDS);
	assert_string_equal(f->path, want);
	bundle_limits_default(&lim);
	assert_int_equal(bundle_read_file(f->path, &f->ca, &lim, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.device_id, DEVICE);
	assert_int_equal(b.first_seq, 1);
	assert_int_equal(b.last_seq, N_RECORDS);
	assert_int_equal(b.records, N_RECORDS);
	assert_int_equal(b.batches, 1);
	assert_true(b.cells > 0);
	join(path, sizeof(path), f->ddir, "tls/device.crt");
	{
		mbedtls_x509_crt crt;
		assert_int_equal(pki_cert_read(&crt, path, err, sizeof(err)), 0);
		serial = cert_serial_of(crt.raw.p, crt.raw.len);
		mbedtls_x509_crt_free(&crt);
	}
	assert_true(b.serial == serial);
	bundle_free(&b);

	/* Nothing personal travels in the clear on the stick. */
	{
		size_t len;
		unsigned char *buf = slurp(f->path, &len);
		assert_null(memmem(buf, len, "private note", 12));
		free(buf);
	}

	assert_int_equal(records_held(f), 0);
	assert_int_equal(import(f, f->path), 0);
	assert_int_equal(records_held(f), N_RECORDS);
	assert_int_equal(store_each_record(f->dev.st, keep_device_record, set),
	    0);
	join(path, sizeof(path), f->cdir, "collector.db");
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
	assert_int_equal(cstore_each_record(cs, match_collector_record, set),
	    0);
	{
		struct cdevice d;
		assert_int_equal(cstore_device_get(cs, DEVICE, &d), 1);
		assert_int_equal(d.acked_seq, N_RECORDS);
	}
	cstore_close(cs);
	for (int s = 1; s <= N_RECORDS; s++) {
		assert_int_equal(set->seen[s], 1);
		free(set->sealed[s]);
	}
	free(set);

	/* The receipt, into the stick's folder, raises the watermark. */
	assert_int_equal(device_acked(f), 0);
	assert_int_equal(receipt(f, DEVICE, f->usb), 0);
	assert_int_equal(files(f, "*.fldr", rpath, sizeof(rpath)), 1);
	assert_int_equal(import_receipt(f, rpath), 0);
	assert_int_equal(device_acked(f), N_RECORDS);
	/* Importing it again changes nothing and is no error. */
	assert_int_equal(import_receipt(f, rpath), 0);
	assert_int_equal(device_acked(f), N_RECORDS);

	/* Nothing pending: no file, and that is not a failure. */
	unlink(f->path);
	{
		char *argv[] = { "export", f->usb, NULL };
		assert_int_equal(bundle_cmd_export(f->ddir, 2, argv), 0);
	}
	assert_int_equal(files(f, "*.fldb", NULL, 0), 0);
	assert_int_equal(files(f, ".dev-*", NULL, 0), 0);	/* no temp file */

	/* New records go in the next bundle only. */
	submit(f, 2);
	export(f);
	snprintf(want, sizeof(want), "%s/%s-%d-%d.fldb", f->usb, DEVICE,
	    N_RECORDS + 1, N_RECORDS + 2);
	assert_string_equal(f->path, want);
	assert_int_equal(import(f, f->path), 0);
	assert_int_equal(records_held(f), N_RECORDS + 2);
}

/* The header's frame ends where its varint length says. */
static size_t
header_end(const unsigned char *buf)
{
	uint64_t n = 0;
	size_t i = BUNDLE_MAGIC_LEN;
	int shift = 0;

	do {
		n |= (uint64_t)(buf[i] & 0x7f) << shift;
		shift += 7;
	} while (buf[i++] & 0x80);
	return i + (size_t)n;
}

/* No message quotes a record: checked names, numbers and offsets only. */
static void
assert_clean_message(const char *err)
{
	assert_true(err[0] != '\0');
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	if (strstr(err, "private note") != NULL)
		fail_msg("message quotes a record: %s", err);
}

static void
test_tampered_anywhere(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim;
	struct bundle b;
	unsigned char *buf, *cert;
	char err[512], before[256], after[256], path[256];
	size_t len, hend, cert_at, cert_end;

	export(f);
	buf = slurp(f->path, &len);
	hend = header_end(buf);
	assert_true(hend > 200 && hend < len);
	bundle_limits_default(&lim);
	/* Where the certificate sits in the header. */
	{
		mbedtls_x509_crt crt;

		join(path, sizeof(path), f->ddir, "tls/device.crt");
		assert_int_equal(pki_cert_read(&crt, path, err, sizeof(err)), 0);
		cert = memmem(buf, hend, crt.raw.p, crt.raw.len);
		assert_non_null(cert);
		cert_at = (size_t)(cert - buf);
		cert_end = cert_at + crt.raw.len;
		mbedtls_x509_crt_free(&crt);
	}
	/* Every byte of the magic and the header's frame, fields and
	   signature, every 8th of the certificate inside it and every 41st
	   of the body (one hash covers all of it), flipped in the low or
	   the high bit by turns: refused each time.  (A read verifies two
	   signatures: the sampling keeps the valgrind run short.) */
	for (size_t i = 0; i < len; i += i >= cert_at && i < cert_end ? 8 :
	    i < hend ? 1 : 41) {
		unsigned char was = buf[i];

		buf[i] ^= i % 2 ? 0x80 : 0x01;
		if (bundle_read(buf, len, &f->ca, &lim, &b, err,
		    sizeof(err)) == 0)
			fail_msg("byte %zu altered was accepted", i);
		assert_clean_message(err);
		buf[i] = was;
	}
	/* Untouched, it still reads. */
	assert_int_equal(bundle_read(buf, len, &f->ca, &lim, &b, err,
	    sizeof(err)), 0);
	bundle_free(&b);

	/* Through the command: a byte of the header, of the body and of the
	   signature (the header frame's last bytes) altered: refused, and
	   collector.db as it was. */
	join(path, sizeof(path), f->usb, "tampered.bin");
	db_state(f, before, sizeof(before));
	size_t at[] = { 20, hend - 3, hend + 5, len - 1 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		buf[at[i]] ^= 0x10;
		spit(path, buf, len);
		assert_int_equal(import(f, path), 1);
		buf[at[i]] ^= 0x10;
		db_state(f, after, sizeof(after));
		assert_string_equal(before, after);
	}
	/* Extended by a byte: the body's hash no longer matches. */
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(bundle_read(buf, len + 1, &f->ca, &lim, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "body_sha256"));
	free(buf);
}

static void
test_truncated(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim;
	struct bundle b;
	unsigned char *buf;
	char err[512], before[256], after[256], path[256];
	size_t len, hend;

	export(f);
	buf = slurp(f->path, &len);
	hend = header_end(buf);
	bundle_limits_default(&lim);
	for (size_t n = 0; n < len; n += n < hend + 16 ? 1 : 61) {
		if (bundle_read(buf, n, &f->ca, &lim, &b, err,
		    sizeof(err)) == 0)
			fail_msg("cut at %zu of %zu bytes was accepted", n, len);
		assert_clean_message(err);
	}
	/* The messages say where. */
	assert_int_equal(bundle_read(buf, 4, &f->ca, &lim, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "byte 0"));
	assert_int_equal(bundle_read(buf, hend - 1, &f->ca, &lim, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "frame at byte 8"));
	assert_non_null(strstr(err, "cut short"));

	join(path, sizeof(path), f->usb, "cut.bin");
	spit(path, buf, len - 10);
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	free(buf);
}

static void
test_foreign_ca(void **state)
{
	struct fx *f = *state;
	mbedtls_pk_context other_key;
	mbedtls_x509_crt other;
	unsigned char *der;
	size_t len;
	char err[512], before[256], after[256];

	assert_int_equal(pki_key_generate(&other_key, err, sizeof(err)), 0);
	assert_int_equal(pki_ca_create(&other_key, "other CA", 1, &der, &len,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_cert_parse(&other, der, len, err, sizeof(err)), 0);
	free(der);
	/* The same device name and key, certified by another CA. */
	issue(f, DEVICE, &other, &other_key, 0);
	export(f);
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	{
		struct bundle_limits lim;
		struct bundle b;
		bundle_limits_default(&lim);
		assert_int_equal(bundle_read_file(f->path, &f->ca, &lim, &b,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bundle certificate"));
		/* Against the other CA it is sound: only the CA differs. */
		assert_int_equal(bundle_read_file(f->path, &other, &lim, &b,
		    err, sizeof(err)), 0);
		bundle_free(&b);
	}
	mbedtls_x509_crt_free(&other);
	mbedtls_pk_free(&other_key);
}

/* The device's signer, as export builds it, with any certificate. */
struct signer {
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	struct bundle_signer s;
};

static void
signer_load(struct fx *f, struct signer *sg, const char *device_id)
{
	char path[256], err[512];

	join(path, sizeof(path), f->ddir, "tls/device.key");
	assert_int_equal(pki_key_read(&sg->key, path, err, sizeof(err)), 0);
	join(path, sizeof(path), f->ddir, "tls/device.crt");
	assert_int_equal(pki_cert_read(&sg->crt, path, err, sizeof(err)), 0);
	sg->s.device_id = device_id;
	sg->s.key = &sg->key;
	sg->s.cert_der = sg->crt.raw.p;
	sg->s.cert_len = sg->crt.raw.len;
}

static void
signer_free(struct signer *sg)
{
	mbedtls_pk_free(&sg->key);
	mbedtls_x509_crt_free(&sg->crt);
}

/* bundle_write into memory, with the given limits. */
static unsigned char *
write_mem(struct fx *f, const struct bundle_signer *s,
    const struct bundle_limits *lim, struct bundle_info *info, size_t *len)
{
	FILE *out = tmpfile(), *scratch = tmpfile();
	unsigned char *buf;
	char err[512];

	assert_non_null(out);
	assert_non_null(scratch);
	if (bundle_write(f->dev.st, s, fileno(out), fileno(scratch), lim,
	    util_now_ms(), info, err, sizeof(err)) != 0)
		fail_msg("bundle_write: %s", err);
	*len = (size_t)lseek(fileno(out), 0, SEEK_END);
	buf = malloc(*len + 1);
	assert_int_equal(pread(fileno(out), buf, *len, 0), (ssize_t)*len);
	fclose(out);
	fclose(scratch);
	return buf;
}

static void
test_cn_not_device(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim;
	struct bundle_info info;
	struct signer sg;
	struct bundle b;
	unsigned char *buf;
	char err[512], path[256];
	size_t len;

	/* A certificate from the right CA, for another name. */
	issue(f, "dev-other", &f->ca, &f->ca_key, 1);
	/* fieldctl export will not sign with it ... */
	{
		char *argv[] = { "export", f->usb, NULL };
		assert_int_equal(bundle_cmd_export(f->ddir, 2, argv), 1);
		assert_int_equal(files(f, "*", NULL, 0), 0);
	}
	/* ... and a bundle that claims DEVICE under it is refused. */
	memset(&sg, 0, sizeof(sg));
	signer_load(f, &sg, DEVICE);
	bundle_limits_default(&lim);
	buf = write_mem(f, &sg.s, &lim, &info, &len);
	assert_int_equal(info.records, N_RECORDS);
	assert_int_equal(bundle_read(buf, len, &f->ca, &lim, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "device_id \"" DEVICE "\" is not the "
	    "certificate's CN \"dev-other\""));
	join(path, sizeof(path), f->usb, "mislabelled.fldb");
	spit(path, buf, len);
	assert_int_equal(import(f, path), 1);
	assert_int_equal(records_held(f), 0);
	free(buf);
	signer_free(&sg);
}

static void
test_device_state_refusals(void **state)
{
	struct fx *f = *state;
	struct cstore *cs;
	char path[256], err[256], before[256], after[256];

	export(f);
	join(path, sizeof(path), f->cdir, "collector.db");
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);

	/* Enrolled since with another certificate: the old one is refused. */
	assert_int_equal(cstore_device_enroll(cs, DEVICE, "12345", 2), 0);
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);

	/* Not enrolled at all. */
	cstore_close(cs);
	db_exec_sql(f, "UPDATE devices SET id = 'someone-else'");
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	db_exec_sql(f, "DELETE FROM devices");
	issue(f, DEVICE, &f->ca, &f->ca_key, 1);
	unlink(f->path);
	export(f);

	/* Revoked. */
	assert_int_equal(cstore_open(path, &cs, err, sizeof(err)), 0);
	assert_int_equal(cstore_device_revoke(cs, DEVICE, 3), 1);
	cstore_close(cs);
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(records_held(f), 0);
	/* ... and it gets no receipt. */
	join(path, sizeof(path), f->usb, "r.fldr");
	assert_int_equal(receipt(f, DEVICE, path), 1);
}

static void
test_replay(void **state)
{
	struct fx *f = *state;
	char before[256], after[256];

	export(f);
	assert_int_equal(import(f, f->path), 0);
	db_state(f, before, sizeof(before));
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);

	/* A new bundle of the same records is no replay: all already held. */
	{
		char rpath[256];
		unlink(f->path);
		export(f);
		assert_int_equal(import(f, f->path), 0);
		assert_int_equal(records_held(f), N_RECORDS);
		join(rpath, sizeof(rpath), f->usb, "r.fldr");
		assert_int_equal(receipt(f, DEVICE, rpath), 0);
		assert_int_equal(import_receipt(f, rpath), 0);
		assert_int_equal(device_acked(f), N_RECORDS);
	}
}

static void
test_all_or_nothing(void **state)
{
	struct fx *f = *state;
	char before[256], after[256];

	export(f);
	db_state(f, before, sizeof(before));
	/* The store fails on the third record ... */
	db_exec_sql(f, "CREATE TRIGGER fail_3 BEFORE INSERT ON records WHEN"
	    " NEW.seq = 3 BEGIN SELECT RAISE(ABORT, 'injected'); END");
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	db_exec_sql(f, "DROP TRIGGER fail_3");
	/* ... or at the very last step, after every record and the counts
	   are in: nothing of it stays. */
	db_exec_sql(f, "CREATE TRIGGER fail_last BEFORE INSERT ON bundles"
	    " BEGIN SELECT RAISE(ABORT, 'injected'); END");
	assert_int_equal(import(f, f->path), 1);
	db_state(f, after, sizeof(after));
	assert_string_equal(before, after);
	db_exec_sql(f, "DROP TRIGGER fail_last");
	/* The bundle was not marked imported: it goes in now, once. */
	assert_int_equal(import(f, f->path), 0);
	assert_int_equal(records_held(f), N_RECORDS);
}

static void
test_limits_and_batches(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim, small;
	struct bundle_info info;
	struct signer sg;
	struct bundle b;
	unsigned char *buf;
	char err[512];
	size_t len;

	memset(&sg, 0, sizeof(sg));
	signer_load(f, &sg, DEVICE);
	bundle_limits_default(&lim);

	/* A frame limit below the batch: the writer makes more batches. */
	small = lim;
	small.max_frame = 700;
	buf = write_mem(f, &sg.s, &small, &info, &len);
	assert_int_equal(info.records, N_RECORDS);
	assert_int_equal(info.more, 0);
	assert_int_equal(bundle_read(buf, len, &f->ca, &small, &b, err,
	    sizeof(err)), 0);
	assert_true(b.batches > 1);
	bundle_free(&b);
	/* A reader with a smaller frame cap names the frame. */
	small.max_frame = 300;
	assert_int_equal(bundle_read(buf, len, &f->ca, &small, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "frame at byte"));
	assert_non_null(strstr(err, "over the limit"));
	/* A file cap. */
	small = lim;
	small.max_file = len - 1;
	assert_int_equal(bundle_read(buf, len, &f->ca, &small, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "over the limit"));
	free(buf);

	/* A record cap: the writer stops and says more are left ... */
	small = lim;
	small.max_records = 3;
	buf = write_mem(f, &sg.s, &small, &info, &len);
	assert_int_equal(info.records, 3);
	assert_int_equal(info.last_seq, 3);
	assert_int_equal(info.more, 1);
	assert_int_equal(bundle_read(buf, len, &f->ca, &small, &b, err,
	    sizeof(err)), 0);
	bundle_free(&b);
	free(buf);
	/* ... and a reader refuses more than its cap. */
	buf = write_mem(f, &sg.s, &lim, &info, &len);
	small.max_records = N_RECORDS - 1;
	assert_int_equal(bundle_read(buf, len, &f->ca, &small, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "records"));
	free(buf);
	signer_free(&sg);
}

/* A body of hand-made envelopes, signed as a device would. */
struct body {
	unsigned char buf[8192];
	size_t len;
};

static void
body_add(struct body *bd, const Field__Sync__Envelope *env)
{
	unsigned char *fr;
	size_t n;

	assert_int_equal(frame_encode(env, 4096, &fr, &n), 0);
	assert_true(bd->len + n <= sizeof(bd->buf));
	memcpy(bd->buf + bd->len, fr, n);
	bd->len += n;
	free(fr);
}

static void
body_counts(struct body *bd)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__CountsSnapshot c = FIELD__SYNC__COUNTS_SNAPSHOT__INIT;

	c.taken_ms = 1;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_COUNTS;
	env.counts = &c;
	body_add(bd, &env);
}

static void
body_batch(struct body *bd, const uint64_t *seqs, size_t n)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__RecordBatch b = FIELD__SYNC__RECORD_BATCH__INIT;
	Field__Sync__SealedRecord r[8], *rp[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		field__sync__sealed_record__init(&r[i]);
		r[i].seq = seqs[i];
		rp[i] = &r[i];
	}
	b.records = rp;
	b.n_records = n;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BATCH;
	env.batch = &b;
	body_add(bd, &env);
}

/* magic + header for (first, last, records) + body: read, -1 or 0. */
static int
read_signed(struct fx *f, const struct bundle_signer *s, uint64_t first,
    uint64_t last, uint64_t records, const struct body *bd, char *err,
    size_t errlen)
{
	struct bundle_span span;
	struct bundle_limits lim;
	struct bundle b;
	unsigned char hash[32], *hf, *file;
	size_t hl, len;
	int rc;

	memset(&span, 0, sizeof(span));
	span.first_seq = first;
	span.last_seq = last;
	span.records = records;
	mbedtls_sha256_ret(bd->buf, bd->len, hash, 0);
	assert_int_equal(bundle_header_frame(s, &span, hash, &hf, &hl, err,
	    errlen), 0);
	len = BUNDLE_MAGIC_LEN + hl + bd->len;
	file = malloc(len);
	memcpy(file, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	memcpy(file + BUNDLE_MAGIC_LEN, hf, hl);
	memcpy(file + BUNDLE_MAGIC_LEN + hl, bd->buf, bd->len);
	bundle_limits_default(&lim);
	rc = bundle_read(file, len, &f->ca, &lim, &b, err, errlen);
	bundle_free(&b);
	free(hf);
	free(file);
	return rc;
}

static void
test_body_order(void **state)
{
	struct fx *f = *state;
	Field__Sync__Envelope hello = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Hello h = FIELD__SYNC__HELLO__INIT;
	struct signer sg;
	struct body bd;
	char err[512];
	static const uint64_t s123[] = { 1, 2, 3 }, s13[] = { 1, 3 },
	    s4[] = { 4 }, s0[] = { 0 }, s122[] = { 1, 2, 2 }, s2[] = { 2, 3 };

	memset(&sg, 0, sizeof(sg));
	signer_load(f, &sg, DEVICE);

	/* Well formed, seqs with a gap (purged records) included. */
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s13, 2);
	body_batch(&bd, s4, 1);
	assert_int_equal(read_signed(f, &sg.s, 1, 4, 3, &bd, err,
	    sizeof(err)), 0);

	/* A batch before the counts. */
	memset(&bd, 0, sizeof(bd));
	body_batch(&bd, s123, 3);
	body_counts(&bd);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "batch before the counts"));

	/* Two counts snapshots. */
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_counts(&bd);
	body_batch(&bd, s123, 3);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "out of place"));

	/* No counts at all, and an empty body. */
	memset(&bd, 0, sizeof(bd));
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no counts"));

	/* A kind that has no place in a bundle. */
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	hello.kind_case = FIELD__SYNC__ENVELOPE__KIND_HELLO;
	hello.hello = &h;
	h.device_id = DEVICE;
	body_add(&bd, &hello);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "a hello envelope has no place"));

	/* Seqs outside the header's range, repeated, or not starting at
	   first_seq; fewer records than the header says. */
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s13, 2);
	body_batch(&bd, s4, 1);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "record 1 of the batch has seq 4"));
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s0, 1);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 1, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "first record has seq 0"));
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s122, 3);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "record 3 of the batch has seq 2"));
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s2, 2);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 2, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "first_seq 1"));
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s13, 2);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "header says 3"));
	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, s123, 3);
	assert_int_equal(read_signed(f, &sg.s, 1, 3, 2, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more records than the header's 2"));

	/* A header that cannot be: records past its range. */
	assert_int_equal(read_signed(f, &sg.s, 2, 3, 3, &bd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bundle header: records 3"));

	/* A second header, and a batch, in place of the first header. */
	{
		unsigned char *hf;
		size_t hl;
		struct bundle_span span;
		unsigned char hash[32] = { 0 };

		memset(&span, 0, sizeof(span));
		span.first_seq = span.last_seq = span.records = 1;
		assert_int_equal(bundle_header_frame(&sg.s, &span, hash, &hf,
		    &hl, err, sizeof(err)), 0);
		memset(&bd, 0, sizeof(bd));
		body_counts(&bd);
		memcpy(bd.buf + bd.len, hf, hl);
		bd.len += hl;
		free(hf);
		assert_int_equal(read_signed(f, &sg.s, 1, 3, 3, &bd,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "bundle_header envelope has no "
		    "place"));
	}
	{
		struct bundle_limits lim;
		struct bundle b;
		unsigned char file[4096];

		memset(&bd, 0, sizeof(bd));
		body_batch(&bd, s123, 3);
		memcpy(file, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
		memcpy(file + BUNDLE_MAGIC_LEN, bd.buf, bd.len);
		bundle_limits_default(&lim);
		assert_int_equal(bundle_read(file, BUNDLE_MAGIC_LEN + bd.len,
		    &f->ca, &lim, &b, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "frame at byte 8: a batch envelope "
		    "where the bundle header must be"));
	}
	signer_free(&sg);
}

/* A header frame with a field the format does not have is refused even
   though its signed part is intact: its bytes would go unchecked. */
static void
test_header_not_canonical(void **state)
{
	struct fx *f = *state;
	struct bundle_limits lim;
	struct bundle b;
	unsigned char *buf, *out;
	char err[512];
	size_t len, hend, n, hl;
	uint64_t flen = 0;
	int shift = 0;

	export(f);
	buf = slurp(f->path, &len);
	/* Rebuild the header frame with an unknown field (99, varint 1)
	   appended to the Envelope: frame length + 3. */
	n = BUNDLE_MAGIC_LEN;
	do {
		flen |= (uint64_t)(buf[n] & 0x7f) << shift;
		shift += 7;
	} while (buf[n++] & 0x80);
	hend = n + (size_t)flen;
	out = malloc(len + 16);
	memcpy(out, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	hl = frame_put_varint(out + BUNDLE_MAGIC_LEN, flen + 3);
	memcpy(out + BUNDLE_MAGIC_LEN + hl, buf + n, (size_t)flen);
	memcpy(out + BUNDLE_MAGIC_LEN + hl + flen, "\x98\x06\x01", 3);
	memcpy(out + BUNDLE_MAGIC_LEN + hl + flen + 3, buf + hend, len - hend);
	bundle_limits_default(&lim);
	assert_int_equal(bundle_read(out, BUNDLE_MAGIC_LEN + hl + flen + 3 +
	    len - hend, &f->ca, &lim, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "canonical"));
	free(out);
	free(buf);
}

static void
test_receipts(void **state)
{
	struct fx *f = *state;
	struct bundle_receipt r, back;
	mbedtls_pk_context other_key;
	mbedtls_x509_crt other;
	unsigned char *buf, *der;
	char path[256], err[512];
	size_t len;

	export(f);
	assert_int_equal(import(f, f->path), 0);

	/* A receipt for another device is refused by this one. */
	issue(f, "dev-b2", &f->ca, &f->ca_key, 1);
	issue(f, DEVICE, &f->ca, &f->ca_key, 1);	/* back to DEVICE */
	join(path, sizeof(path), f->usb, "b2.fldr");
	assert_int_equal(receipt(f, "dev-b2", path), 0);
	assert_int_equal(import_receipt(f, path), 1);
	assert_int_equal(device_acked(f), 0);
	/* Unknown devices get none. */
	assert_int_equal(receipt(f, "dev-unknown", path), 1);

	/* One signed by another CA is refused. */
	memset(&r, 0, sizeof(r));
	snprintf(r.device_id, sizeof(r.device_id), "%s", DEVICE);
	r.acked_seq = N_RECORDS;
	r.collector_time_ms = util_now_ms();
	assert_int_equal(pki_key_generate(&other_key, err, sizeof(err)), 0);
	assert_int_equal(pki_ca_create(&other_key, "other CA", 1, &der, &len,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_cert_parse(&other, der, len, err, sizeof(err)), 0);
	free(der);
	assert_int_equal(bundle_receipt_write(&r, &other_key, &buf, &len, err,
	    sizeof(err)), 0);
	join(path, sizeof(path), f->usb, "other.fldr");
	spit(path, buf, len);
	assert_int_equal(import_receipt(f, path), 1);
	assert_int_equal(device_acked(f), 0);
	assert_int_equal(bundle_receipt_read(buf, len, &f->ca, &back, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "signature"));
	assert_int_equal(bundle_receipt_read(buf, len, &other, &back, err,
	    sizeof(err)), 0);
	free(buf);

	/* Every byte altered, any cut, a byte more: refused. */
	r.has_bundle_id = 1;
	memset(r.bundle_id, 0xab, sizeof(r.bundle_id));
	assert_int_equal(bundle_receipt_write(&r, &f->ca_key, &buf, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(bundle_receipt_read(buf, len, &f->ca, &back, err,
	    sizeof(err)), 0);
	assert_string_equal(back.device_id, DEVICE);
	assert_int_equal(back.acked_seq, N_RECORDS);
	assert_int_equal(back.has_bundle_id, 1);
	assert_memory_equal(back.bundle_id, r.bundle_id, BUNDLE_ID_LEN);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		if (bundle_receipt_read(buf, len, &f->ca, &back, err,
		    sizeof(err)) == 0)
			fail_msg("receipt byte %zu altered was accepted", i);
		assert_clean_message(err);
		buf[i] ^= 0x01;
	}
	for (size_t n = 0; n < len; n++)
		assert_int_equal(bundle_receipt_read(buf, n, &f->ca, &back, err,
		    sizeof(err)), -1);
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(bundle_receipt_read(buf, len + 1, &f->ca, &back, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "after the receipt"));
	free(buf);

	/* A watermark past the device's last record: refused (a receipt for
	   an earlier device with this id would stop it sending). */
	r.acked_seq = N_RECORDS + 10;
	assert_int_equal(bundle_receipt_write(&r, &f->ca_key, &buf, &len, err,
	    sizeof(err)), 0);
	join(path, sizeof(path), f->usb, "ahead.fldr");
	spit(path, buf, len);
	assert_int_equal(import_receipt(f, path), 1);
	assert_int_equal(device_acked(f), 0);
	free(buf);

	/* The real one, to a file name of our choosing. */
	join(path, sizeof(path), f->usb, "mine.fldr");
	assert_int_equal(receipt(f, DEVICE, path), 0);
	assert_int_equal(import_receipt(f, path), 0);
	assert_int_equal(device_acked(f), N_RECORDS);

	mbedtls_x509_crt_free(&other);
	mbedtls_pk_free(&other_key);
}

static void
test_pki_sign_verify(void **state)
{
	struct fx *f = *state;
	unsigned char sig[PKI_SIG_MAX + 1], small[8];
	const unsigned char msg[] = "signed bytes";
	size_t siglen;
	char err[256];

	assert_int_equal(pki_sign(&f->ca_key, msg, sizeof(msg), sig,
	    sizeof(sig), &siglen, err, sizeof(err)), 0);
	assert_true(siglen >= 8 && siglen <= PKI_SIG_MAX);
	assert_int_equal(pki_verify(&f->ca.pk, msg, sizeof(msg), sig, siglen,
	    err, sizeof(err)), 0);
	/* Other data, a cut or padded signature, another key: refused. */
	assert_int_equal(pki_verify(&f->ca.pk, msg, sizeof(msg) - 1, sig,
	    siglen, err, sizeof(err)), -1);
	assert_int_equal(pki_verify(&f->ca.pk, msg, sizeof(msg), sig,
	    siglen - 1, err, sizeof(err)), -1);
	sig[siglen] = 0;
	assert_int_equal(pki_verify(&f->ca.pk, msg, sizeof(msg), sig,
	    siglen + 1, err, sizeof(err)), -1);
	assert_int_equal(pki_verify(&f->ca.pk, msg, sizeof(msg), sig, 0, err,
	    sizeof(err)), -1);
	{
		mbedtls_pk_context other;
		assert_int_equal(pki_key_generate(&other, err, sizeof(err)), 0);
		assert_int_equal(pki_verify(&other, msg, sizeof(msg), sig,
		    siglen, err, sizeof(err)), -1);
		mbedtls_pk_free(&other);
	}
	/* No room for the signature. */
	assert_int_equal(pki_sign(&f->ca_key, msg, sizeof(msg), small,
	    sizeof(small), &siglen, err, sizeof(err)), -1);
	assert_int_equal(siglen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered_anywhere, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreign_ca, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cn_not_device, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_state_refusals,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_or_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_batches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_header_not_canonical,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pki_sign_verify, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("bundle", tests, NULL, NULL);
}
