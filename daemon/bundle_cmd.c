/* bundle_cmd.c: see bundle_cmd.h. */
#include "daemon/bundle_cmd.h"

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
#include "daemon/dsync.h"
#include "daemon/outbox.h"
#include "sync/pki.h"

typedef unsigned long long ull;

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
	util_time_iso(r.collector_time_ms, when, sizeof(when));
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
