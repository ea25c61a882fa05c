/* import_cmd.c: see import_cmd.h. */
#include "collector/import_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/csrv.h"
#include "collector/cstore.h"
#include "common/cli.h"
#include "common/util.h"
#include "sync/bundle.h"
#include "sync/pki.h"

typedef unsigned long long ull;

/* Refused records whose reasons an import prints; the rest are counted. */
#define IMPORT_REASONS 20

/* path = dir/name; -1 (and a message) when too long. */
static int
cmd_path(char *out, size_t outlen, const char *cmd, const char *dir,
    const char *name)
{
	if (collector_path(out, outlen, dir, name) == 0)
		return 0;
	fprintf(stderr, "%s: %s: path too long\n", cmd, dir);
	return -1;
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
		util_time_iso(at, when, sizeof(when));
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
		util_time_iso(d->revoked_ms, when, sizeof(when));
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
import_cmd_bundle(const char *cdir, int argc, char **argv)
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
import_cmd_receipt(const char *cdir, int argc, char **argv)
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
