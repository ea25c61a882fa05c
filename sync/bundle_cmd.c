/* bundle_cmd.c: see bundle_cmd.h. */
#include "sync/bundle_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/util.h"
#include "daemon/store.h"
#include "sync/bundle.h"
#include "sync/cstore.h"
#include "sync/csrv.h"
#include "sync/dsync.h"
#include "sync/outbox.h"
#include "sync/pki.h"

typedef unsigned long long ull;

/* Refused records whose reasons an import prints; the rest are counted. */
#define IMPORT_REASONS 20

/* path = dir/name; -1 (and a message) when too long. */
static int
cmd_path(char *out, size_t outlen, const char *cmd, const char *dir,
    const char *name)
{
	if (snprintf(out, outlen, "%s/%s", dir, name) < (int)outlen)
		return 0;
	fprintf(stderr, "%s: %s: path too long\n", cmd, dir);
	return -1;
}

static void
cmd_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%lld ms", (long long)ms);
}

/* Opens DATADIR's store and reads the device id: 0, or -1 with a message. */
static int
cmd_device(const char *datadir, const char *cmd, struct store **st,
    char id[PKI_CN_MAX + 1])
{
	char path[PATH_MAX], err[1024];
	struct stat sb;

	*st = NULL;
	if (cmd_path(path, sizeof(path), cmd, datadir, "device.db") != 0)
		return -1;
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "%s: no device in %s\n", cmd, datadir);
		return -1;
	}
	if (store_open(path, 0, st, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	if (store_meta_get(*st, "device_id", id, PKI_CN_MAX + 1) != 1) {
		fprintf(stderr, "%s: %s: no device id\n", cmd, path);
		store_close(*st);
		*st = NULL;
		return -1;
	}
	return 0;
}

/*
 * The device's key and certificate, checked to belong together and to
 * name this device, so a bundle the collector would refuse is not made.
 */
static int
cmd_device_keys(const char *datadir, const char *id, mbedtls_pk_context *key,
    mbedtls_x509_crt *crt)
{
	static const char cmd[] = "fieldctl export";
	char path[PATH_MAX], cn[PKI_CN_MAX + 1], err[1024];
	struct stat sb;

	mbedtls_pk_init(key);
	mbedtls_x509_crt_init(crt);
	if (snprintf(path, sizeof(path), "%s/" DSYNC_KEY_FILE, datadir) >=
	    (int)sizeof(path))
		return -1;
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		fprintf(stderr, "%s: %s: missing; enrol this device with its "
		    "collector first (fieldctl enroll)\n", cmd, path);
		return -1;
	}
	if (pki_key_read(key, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" DSYNC_CERT_FILE, datadir);
	if (pki_cert_read(crt, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	if (mbedtls_pk_check_pair(&crt->pk, key) != 0) {
		fprintf(stderr, "%s: %s is not the certificate of "
		    "its key; enrol the device again\n", cmd, path);
		return -1;
	}
	if (pki_cert_cn(crt, cn, sizeof(cn)) != 0 || strcmp(cn, id) != 0) {
		fprintf(stderr, "%s: %s names another device than %s; enrol "
		    "the device again\n", cmd, path, id);
		return -1;
	}
	return 0;
}

int
bundle_cmd_export(const char *datadir, int argc, char **argv)
{
	static const char cmd[] = "fieldctl export";
	struct bundle_limits lim;
	struct bundle_signer sg;
	struct bundle_info info;
	struct store *st = NULL;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	struct stat sb;
	char id[PKI_CN_MAX + 1], path[PATH_MAX], tmp[PATH_MAX];
	char scratch[PATH_MAX], err[1024];
	const char *dir;
	uint64_t acked = 0;
	int fd = -1, sfd = -1, rc = 1, made = 0;

	cli_operands(argc, argv, 1, 1, 1, "DIR");
	dir = argv[1];
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	if (cmd_device(datadir, cmd, &st, id) != 0 ||
	    cmd_device_keys(datadir, id, &key, &crt) != 0)
		goto out;
	if (stat(dir, &sb) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "%s: %s: not a folder\n", cmd, dir);
		goto out;
	}
	/* Both temporary files sit in DIR, so the rename stays on the stick
	   and a board's card takes no extra writes. */
	if (snprintf(scratch, sizeof(scratch), "%s/.%s.body.XXXXXX", dir,
	    id) >= (int)sizeof(scratch) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.fldb.XXXXXX", dir, id) >=
	    (int)sizeof(tmp)) {
		fprintf(stderr, "%s: %s: path too long\n", cmd, dir);
		goto out;
	}
	if ((sfd = mkstemp(scratch)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, dir, strerror(errno));
		goto out;
	}
	unlink(scratch);	/* gone however this ends */
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, dir, strerror(errno));
		goto out;
	}
	made = 1;
	/* Sealed records and counts only: readable by the collector's user. */
	fchmod(fd, 0644);
	sg.device_id = id;
	sg.key = &key;
	sg.cert_der = crt.raw.p;
	sg.cert_len = crt.raw.len;
	bundle_limits_default(&lim);
	if (bundle_write(st, &sg, fd, sfd, &lim, util_now_ms(), &info, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	if (info.records == 0) {
		outbox_acked(st, &acked);
		printf("nothing to export: every record of device %s up to seq "
		    "%llu is acknowledged\n", id, (ull)acked);
		rc = 0;
		goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "%s: %s: %s\n", cmd, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (snprintf(path, sizeof(path), "%s/%s-%llu-%llu.fldb", dir, id,
	    (ull)info.first_seq, (ull)info.last_seq) >= (int)sizeof(path)) {
		fprintf(stderr, "%s: %s: path too long\n", cmd, dir);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		goto out;
	}
	made = 0;
	if (util_sync_dir(dir) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, dir, strerror(errno));
		goto out;
	}
	printf("%s\n", path);
	printf("%llu records (seq %llu to %llu), %zu count cells, %llu bytes\n",
	    (ull)info.records, (ull)info.first_seq, (ull)info.last_seq,
	    info.cells, (ull)info.bytes);
	if (info.more)
		printf("more records are pending than one bundle holds: import "
		    "this one and its receipt, then export again\n");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);	/* failed, or nothing to export */
	if (sfd >= 0)
		close(sfd);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	store_close(st);
	return rc;
}

int
bundle_cmd_import_receipt(const char *datadir, int argc, char **argv)
{
	static const char cmd[] = "fieldctl import-receipt";
	struct bundle_receipt r;
	struct store_stats s;
	struct store *st = NULL;
	mbedtls_x509_crt ca;
	unsigned char *buf = NULL;
	char id[PKI_CN_MAX + 1], path[PATH_MAX], err[1024], when[32];
	uint64_t before, after;
	size_t len;
	int rc = 1;

	cli_operands(argc, argv, 1, 1, 1, "FILE");
	mbedtls_x509_crt_init(&ca);
	if (cmd_device(datadir, cmd, &st, id) != 0)
		goto out;
	if (snprintf(path, sizeof(path), "%s/" DSYNC_CA_FILE, datadir) >=
	    (int)sizeof(path) || pki_cert_read(&ca, path, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s (is this device enrolled?)\n", cmd,
		    err);
		goto out;
	}
	if ((buf = (unsigned char *)util_read_file(argv[1], BUNDLE_RECEIPT_MAX,
	    &len)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", cmd, argv[1], errno == EFBIG ?
		    "larger than a receipt can be" : strerror(errno));
		goto out;
	}
	if (bundle_receipt_read(buf, len, &ca, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, argv[1], err);
		goto out;
	}
	if (strcmp(r.device_id, id) != 0) {
		fprintf(stderr, "%s: %s: a receipt for device %s; this is "
		    "device %s\n", cmd, argv[1], r.device_id, id);
		goto out;
	}
	if (store_stats(st, &s) != 0 || outbox_acked(st, &before) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, store_errmsg(st));
		goto out;
	}
	/* A watermark past the last record would keep new records from ever
	   being sent: a receipt from an earlier device with this id. */
	if (r.acked_seq > s.last_seq) {
		fprintf(stderr, "%s: %s: acknowledges up to seq %llu, but this "
		    "device's last record is seq %llu; refusing it (a receipt "
		    "for an earlier device with this id?)\n", cmd, argv[1],
		    (ull)r.acked_seq, (ull)s.last_seq);
		goto out;
	}
	if (outbox_set_acked(st, r.acked_seq) != 0 ||
	    outbox_acked(st, &after) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, store_errmsg(st));
		goto out;
	}
	cmd_time(r.collector_time_ms, when, sizeof(when));
	if (after > before)
		printf("watermark %llu -> %llu (collector time %s)\n",
		    (ull)before, (ull)after, when);
	else
		printf("watermark stays at %llu: the receipt acknowledges up to "
		    "%llu (collector time %s)\n", (ull)before,
		    (ull)r.acked_seq, when);
	printf("%llu records pending\n", (ull)(s.last_seq - after));
	rc = 0;
out:
	free(buf);
	mbedtls_x509_crt_free(&ca);
	store_close(st);
	return rc;
}

/* Opens CDIR/collector.db: 0, or -1 with a message. */
static int
cmd_cstore(const char *cdir, const char *cmd, struct cstore **cs)
{
	char err[1024];

	*cs = NULL;
	if (csrv_store_open(cdir, cs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

struct import_ctx {
	struct cstore *cs;
	const struct cdevice *d;
	int64_t now;
	uint64_t acked, refused;
	int counts_stored, failed;
	char why[IMPORT_REASONS][200];
};

static void
import_refused(void *arg, uint64_t seq, const char *reason)
{
	struct import_ctx *c = arg;

	/* The reasons are cstore's own words: ids and seqs, no values. */
	if (c->refused < IMPORT_REASONS)
		snprintf(c->why[c->refused], sizeof(c->why[0]), "seq %llu: %s",
		    (ull)seq, reason);
	c->refused++;
}

static int
import_frame(void *arg, const Field__Sync__Envelope *env)
{
	struct import_ctx *c = arg;
	int64_t taken;
	int have;

	if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND_COUNTS) {
		/* A bundle carried late must not replace a newer snapshot. */
		if ((have = cstore_counts_taken(c->cs, c->d->id, &taken)) < 0)
			goto fail;
		if (have == 1 && taken >= env->counts->taken_ms)
			return 0;
		if (cstore_counts_put(c->cs, c->d->id, env->counts) != 0)
			goto fail;
		c->counts_stored = 1;
		return 0;
	}
	if (cstore_ingest(c->cs, c->d->id, c->d->clock_offset_ms,
	    env->batch->records, env->batch->n_records, c->now, &c->acked,
	    import_refused, c) != 0)
		goto fail;
	return 0;
fail:
	c->failed = 1;
	return 1;
}

/*
 * Checks the verified bundle against the store, inside the caller's
 * transaction: not imported before, its device enrolled with the signing
 * certificate's serial and not revoked.  0, or -1 with a message.
 */
static int
import_check(struct cstore *cs, const struct bundle *b, const char *hex,
    struct cdevice *d, char *err, size_t errlen)
{
	char when[32], serial[32];
	int64_t at;
	int rc;

	if ((rc = cstore_bundle_seen(cs, b->id, &at)) != 0) {
		cmd_time(at, when, sizeof(when));
		snprintf(err, errlen, rc < 0 ? "collector.db: %s" :
		    "bundle %s was imported already (%s); refusing a replay",
		    rc < 0 ? cstore_errmsg(cs) : hex, when);
		return -1;
	}
	if ((rc = cstore_device_get(cs, b->device_id, d)) != 1) {
		if (rc < 0)
			snprintf(err, errlen, "collector.db: %s",
			    cstore_errmsg(cs));
		else
			snprintf(err, errlen, "device %s is not enrolled with "
			    "this collector", b->device_id);
		return -1;
	}
	if (d->revoked_ms != 0) {
		cmd_time(d->revoked_ms, when, sizeof(when));
		snprintf(err, errlen, "device %s was revoked (%s); refusing its "
		    "bundle", b->device_id, when);
		return -1;
	}
	snprintf(serial, sizeof(serial), "%llu", (ull)b->serial);
	if (strcmp(d->serial, serial) != 0) {
		snprintf(err, errlen, "signed with certificate serial %s, but "
		    "device %s is enrolled with serial %s (an old or copied "
		    "certificate?)", serial, b->device_id, d->serial);
		return -1;
	}
	return 0;
}

int
bundle_cmd_import(const char *cdir, int argc, char **argv)
{
	static const char cmd[] = "collectctl import";
	struct import_ctx *c = NULL;
	struct bundle_limits lim;
	struct cstore *cs = NULL;
	struct cdevice d;
	struct bundle b;
	mbedtls_x509_crt ca;
	char path[PATH_MAX], err[1024], hex[2 * BUNDLE_ID_LEN + 1];
	uint64_t before, after, fresh, held;
	int rc = 1, in_tx = 0;

	cli_operands(argc, argv, 1, 1, 1, "BUNDLE");
	memset(&b, 0, sizeof(b));
	mbedtls_x509_crt_init(&ca);
	if (cmd_path(path, sizeof(path), cmd, cdir, "ca.crt") != 0)
		goto out;
	if (pki_cert_read(&ca, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	bundle_limits_default(&lim);
	if (bundle_read_file(argv[1], &ca, &lim, &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	util_hex(b.id, BUNDLE_ID_LEN, hex);
	if (cmd_cstore(cdir, cmd, &cs) != 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	if (cstore_begin(cs) != 0) {
		fprintf(stderr, "%s: collector.db: %s\n", cmd,
		    cstore_errmsg(cs));
		goto out;
	}
	in_tx = 1;
	if (import_check(cs, &b, hex, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, argv[1], err);
		goto out;
	}
	c->cs = cs;
	c->d = &d;
	c->now = util_now_ms();
	c->acked = d.acked_seq;
	if (cstore_record_count(cs, d.id, &before) != 0)
		goto store_fail;
	if ((rc = bundle_each(&b, import_frame, c, err, sizeof(err))) != 0) {
		if (c->failed)
			goto store_fail;
		fprintf(stderr, "%s: %s: %s; nothing was imported\n", cmd,
		    argv[1], err);
		rc = 1;
		goto out;
	}
	rc = 1;
	if (cstore_record_count(cs, d.id, &after) != 0 ||
	    cstore_bundle_add(cs, b.id, d.id, c->now, b.first_seq,
	    b.last_seq) != 0 || cstore_commit(cs) != 0)
		goto store_fail;
	in_tx = 0;
	/* Records at or below the watermark, or stored under their (device,
	   seq) already, are skipped by ingest: what is neither new nor
	   refused was held. */
	fresh = after - before;
	held = b.records - fresh;
	held -= c->refused < held ? c->refused : held;
	printf("bundle %s from device %s: %llu records, seq %llu to %llu\n",
	    hex, d.id, (ull)b.records, (ull)b.first_seq, (ull)b.last_seq);
	printf("records new %llu, already held %llu, refused %llu\n",
	    (ull)fresh, (ull)held, (ull)c->refused);
	for (uint64_t i = 0; i < c->refused && i < IMPORT_REASONS; i++)
		printf("refused %s\n", c->why[i]);
	if (c->refused > IMPORT_REASONS)
		printf("... and %llu more refused\n",
		    (ull)(c->refused - IMPORT_REASONS));
	printf("counts snapshot %s\n", c->counts_stored ? "stored" :
	    "older than the one held, not stored");
	printf("watermark %llu\n", (ull)c->acked);
	rc = 0;
	goto out;
store_fail:
	fprintf(stderr, "%s: %s: collector.db: %s; nothing was imported\n",
	    cmd, argv[1], cstore_errmsg(cs));
	rc = 1;
out:
	if (in_tx)
		cstore_rollback(cs);
	free(c);
	cstore_close(cs);
	bundle_free(&b);
	mbedtls_x509_crt_free(&ca);
	return rc;
}

int
bundle_cmd_receipt(const char *cdir, int argc, char **argv)
{
	static const char cmd[] = "collectctl receipt";
	struct bundle_receipt r;
	struct cstore *cs = NULL;
	struct cdevice d;
	mbedtls_pk_context key;
	mbedtls_x509_crt ca;
	struct stat sb;
	unsigned char *buf = NULL;
	char path[PATH_MAX], out[PATH_MAX], err[1024];
	const char *id;
	size_t len;
	int rc = 1, have;

	cli_operands(argc, argv, 1, 2, 2, "DEVICE and OUT");
	id = argv[1];
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&ca);
	memset(&r, 0, sizeof(r));
	if (!pki_name_ok(id, 0)) {
		fprintf(stderr, "%s: not a device id\n", cmd);
		goto out;
	}
	if (cmd_cstore(cdir, cmd, &cs) != 0)
		goto out;
	if ((have = cstore_device_get(cs, id, &d)) != 1) {
		fprintf(stderr, "%s: %s\n", cmd, have < 0 ? cstore_errmsg(cs) :
		    "no such device enrolled with this collector");
		goto out;
	}
	if (d.revoked_ms != 0) {
		fprintf(stderr, "%s: device %s is revoked; no receipt for it\n",
		    cmd, id);
		goto out;
	}
	if (cmd_path(path, sizeof(path), cmd, cdir, "ca.crt") != 0)
		goto out;
	if (pki_cert_read(&ca, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	if (cmd_path(path, sizeof(path), cmd, cdir, "ca.key") != 0)
		goto out;
	if (pki_key_read(&key, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	/* Devices check receipts against ca.crt: a mismatched key would
	   make receipts every device refuses. */
	if (mbedtls_pk_check_pair(&ca.pk, &key) != 0) {
		fprintf(stderr, "%s: %s does not match ca.crt\n", cmd, path);
		goto out;
	}
	snprintf(r.device_id, sizeof(r.device_id), "%s", id);
	r.acked_seq = d.acked_seq;
	r.collector_time_ms = util_now_ms();
	if ((have = cstore_bundle_last(cs, id, r.bundle_id)) < 0) {
		fprintf(stderr, "%s: collector.db: %s\n", cmd,
		    cstore_errmsg(cs));
		goto out;
	}
	r.has_bundle_id = have == 1;
	if (bundle_receipt_write(&r, &key, &buf, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	if (stat(argv[2], &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (snprintf(out, sizeof(out), "%s/%s-%llu.fldr", argv[2], id,
		    (ull)r.acked_seq) >= (int)sizeof(out)) {
			fprintf(stderr, "%s: %s: path too long\n", cmd,
			    argv[2]);
			goto out;
		}
	} else
		snprintf(out, sizeof(out), "%s", argv[2]);
	if (util_write_file(out, buf, len, 0644) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, out, strerror(errno));
		goto out;
	}
	printf("%s\n", out);
	printf("receipt for device %s: acknowledged up to seq %llu\n", id,
	    (ull)r.acked_seq);
	rc = 0;
out:
	free(buf);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&ca);
	cstore_close(cs);
	return rc;
}
