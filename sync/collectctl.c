/*
 * collectctl: the collector's command line.
 *
 *   collectctl keygen DIR                       a sealing key pair alone
 *   collectctl open --key DIR/seal.key DBFILE   a device database, opened
 *   collectctl -d CDIR open --key FILE          the collector's records
 *   collectctl -d CDIR init [--host NAME]       a collector (collector.h)
 *   collectctl -d CDIR enroll-token [--device-id ID] [--hours N]
 *   collectctl -d CDIR devices [--json]
 *   collectctl -d CDIR revoke DEVICE
 *   collectctl -d CDIR sign-csr CSR OUT [--days N] [--not-before DATE]
 *                                    offline enrolment
 *   collectctl -d CDIR import BUNDLE            a USB bundle (bundle_cmd.h)
 *   collectctl -d CDIR receipt DEVICE OUT       its receipt for the device
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/store.h"
#include "form/form.h"
#include "form/recpack.h"
#include "sync/csrv.h"
#include "sync/bundle_cmd.h"
#include "sync/pki.h"
#include "sync/seal.h"
#include "sync/collector.h"
#include "sync/cstore.h"
#include "sync/seal_open.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: collectctl keygen DIR\n"
	    "       collectctl open --key FILE DBFILE\n"
	    "       collectctl -d CDIR open --key FILE\n"
	    "       collectctl -d CDIR init [--host NAME]\n"
	    "       collectctl -d CDIR enroll-token [--device-id ID] "
	    "[--hours N]\n"
	    "       collectctl -d CDIR devices [--json]\n"
	    "       collectctl -d CDIR revoke DEVICE\n"
	    "       collectctl -d CDIR sign-csr CSR OUT [--days N] "
	    "[--not-before YYYY-MM-DD]\n"
	    "       collectctl -d CDIR import BUNDLE\n"
	    "       collectctl -d CDIR receipt DEVICE OUT\n");
	exit(2);
}

static int
cmd_keygen(int argc, char **argv)
{
	unsigned char pub[SEAL_KEY_LEN], priv[SEAL_KEY_LEN];
	char pubpath[4096], keypath[4096];
	struct stat sb;
	int rc = 1;

	if (argc != 2)
		usage();
	snprintf(pubpath, sizeof(pubpath), "%s/seal.pub", argv[1]);
	snprintf(keypath, sizeof(keypath), "%s/seal.key", argv[1]);
	if (stat(keypath, &sb) == 0) {
		fprintf(stderr, "collectctl keygen: %s exists; refusing to "
		    "overwrite a private key\n", keypath);
		return 1;
	}
	if (util_mkdirs(argv[1], 0700) != 0) {
		fprintf(stderr, "collectctl keygen: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	if (seal_keypair(pub, priv) != 0)
		fprintf(stderr, "collectctl keygen: no entropy\n");
	else if (seal_key_write(keypath, priv) != 0 ||
	    seal_pub_write(pubpath, pub) != 0)
		fprintf(stderr, "collectctl keygen: writing keys: %s\n",
		    strerror(errno));
	else {
		printf("%s\n%s\n", pubpath, keypath);
		rc = 0;
	}
	mbedtls_platform_zeroize(priv, sizeof(priv));
	return rc;
}

#define OPEN_MAX_SEALED (1024 * 1024)

struct open_ctx {
	struct seal_opener op;
	struct cstore *cs;		/* the collector's, when opening it */
	struct form_catalog *cat;	/* the dictionaries (recpack.h) */
	struct recpack *rp;
	char device_id[128];
	unsigned long failed, opened;
};

static int
open_one(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32])
{
	struct open_ctx *c = arg;
	struct seal_ad ad = { r->id, r->form_id, r->form_version, c->device_id,
	    r->epoch };
	Field__Record *rec = NULL;
	char why[160];
	unsigned char *pt;
	json_t *o = NULL;
	char when[32];
	size_t len;

	/* The file comes from a device: bound what it can make us allocate. */
	if (r->sealed_len < SEAL_OVERHEAD || r->sealed_len > OPEN_MAX_SEALED ||
	    (pt = malloc(r->sealed_len)) == NULL) {
		fprintf(stderr, "seq %" PRIu64 ": sealed payload missing or of "
		    "impossible size\n", r->seq);
		c->failed++;
		return 0;
	}
	len = r->sealed_len - SEAL_OVERHEAD;
	if (seal_open(&c->op, epoch_pub, &ad, r->sealed, r->sealed_len,
	    pt) != 0) {
		fprintf(stderr, "seq %" PRIu64 ": cannot open (wrong key, or "
		    "the record or its metadata was altered)\n", r->seq);
		c->failed++;
		goto out;
	}
	struct recpack_meta m = { r->id, r->form_id, r->form_version,
	    c->device_id };

	if (recpack_decode(c->rp, form_catalog_get(c->cat, r->form_id,
	    r->form_version), &m, pt, len, OPEN_MAX_SEALED, &rec, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "seq %" PRIu64 ": %s\n", r->seq, why);
		c->failed++;
		goto out;
	}
	if (strcmp(rec->id, r->id) || rec->seq != r->seq ||
	    strcmp(rec->form_id, r->form_id) ||
	    strcmp(rec->form_version, r->form_version) ||
	    strcmp(rec->device_id, c->device_id)) {
		fprintf(stderr, "seq %" PRIu64 ": sealed record does not match "
		    "its metadata\n", r->seq);
		c->failed++;
		goto out;
	}
	if ((o = form_values_json(rec)) == NULL) {
		c->failed++;
		goto out;
	}
	time_t t = (time_t)(rec->created_ms / 1000);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_object_set_new(o, "_id", json_string(rec->id));
	json_object_set_new(o, "_form", json_string(rec->form_id));
	json_object_set_new(o, "_version", json_string(rec->form_version));
	json_object_set_new(o, "_seq", json_integer((json_int_t)rec->seq));
	json_object_set_new(o, "_device", json_string(rec->device_id));
	json_object_set_new(o, "_created", json_string(when));
	json_object_set_new(o, "_clock", json_string(rec->clock ==
	    FIELD__CLOCK_QUALITY__CLOCK_TRUSTED ? "trusted" : "untrusted"));
	if (c->cs) {
		/* The collector's correction, beside the board's stamp. */
		int64_t created, corrected;

		if (cstore_record_times(c->cs, c->device_id, r->seq, &created,
		    &corrected) == 1) {
			t = (time_t)(corrected / 1000);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    gmtime(&t));
			json_object_set_new(o, "_corrected", json_string(when));
		}
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	putchar('\n');
	c->opened++;
out:
	json_decref(o);
	if (rec)
		field__record__free_unpacked(rec, NULL);
	mbedtls_platform_zeroize(pt, len);
	free(pt);
	return 0;
}

static int open_cstore(const char *dir, struct cstore **cs);

/* A record as the collector holds it, opened the same way. */
static int
open_collected(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r)
{
	struct open_ctx *c = arg;
	struct store_record sr = { r->seq, r->id, r->form_id, r->form_version,
	    r->created_ms, (int)r->clock, r->epoch_id, r->sealed.data,
	    r->sealed.len };

	snprintf(c->device_id, sizeof(c->device_id), "%s", device_id);
	if (r->epoch_pub.len != SEAL_KEY_LEN) {
		fprintf(stderr, "device %s seq %" PRIu64 ": no epoch key\n",
		    device_id, r->seq);
		c->failed++;
		return 0;
	}
	return open_one(c, &sr, r->epoch_pub.data);
}

/* collectctl -d CDIR open --key FILE: every record the collector holds. */
static int
open_collector(struct open_ctx *c, const char *dir)
{
	Field__Sync__FormCatalogue fc;
	struct cstore *cs;
	char err[1024];

	if (csrv_catalogue_load(dir, &fc, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < fc.n_forms; i++)
		form_catalog_add(c->cat, fc.forms[i]->definition_json,
		    strlen(fc.forms[i]->definition_json), err, sizeof(err));
	csrv_catalogue_free(&fc);
	if (open_cstore(dir, &cs) != 0)
		return -1;
	c->cs = cs;
	if (cstore_each_record(cs, open_collected, c) != 0) {
		fprintf(stderr, "collectctl open: %s\n", cstore_errmsg(cs));
		cstore_close(cs);
		c->cs = NULL;
		return -1;
	}
	cstore_close(cs);
	c->cs = NULL;
	return 0;
}

static int
cmd_open(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct open_ctx *c;
	struct store *st;
	const char *key = NULL;
	char err[1024];
	int ch, rc = 1;

	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'k')
			usage();
		key = optarg;
	}
	if (key == NULL || argc - optind != (dir ? 0 : 1))
		usage();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 1;
	if ((c->cat = form_catalog_new()) == NULL ||
	    (c->rp = recpack_new()) == NULL) {
		fprintf(stderr, "collectctl open: out of memory\n");
		goto out;
	}
	if (seal_opener_load(&c->op, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		goto out;
	}
	if (dir) {
		if (open_collector(c, dir) == 0) {
			fflush(stdout);
			if (c->failed)
				fprintf(stderr, "collectctl open: %lu opened, "
				    "%lu failed\n", c->opened, c->failed);
			rc = c->failed ? 1 : 0;
		}
		goto out;
	}
	if (store_open_readonly(argv[optind], &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		goto out;
	}
	if (store_meta_get(st, "device_id", c->device_id,
	    sizeof(c->device_id)) != 1) {
		fprintf(stderr, "collectctl open: %s: no device id\n",
		    argv[optind]);
	} else if (store_forms_load(st, c->cat, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s: %s\n", argv[optind],
		    err);
	} else if (store_each_record(st, open_one, c) != 0) {
		fprintf(stderr, "collectctl open: %s: %s\n", argv[optind],
		    store_errmsg(st));
	} else {
		fflush(stdout);
		if (c->failed)
			fprintf(stderr, "collectctl open: %lu opened, %lu "
			    "failed\n", c->opened, c->failed);
		rc = c->failed ? 1 : 0;
	}
	store_close(st);
out:
	seal_opener_wipe(&c->op);
	form_catalog_free(c->cat);
	recpack_free(c->rp);
	free(c);
	return rc;
}

static int
cmd_init(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "localhost";
	char err[1024];
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'h')
			usage();
		host = optarg;
	}
	if (optind != argc)
		usage();
	if (collector_init(dir, host, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl init: %s\n", err);
		return 1;
	}
	printf("collector created in %s (devices seal to %s/seal.pub)\n", dir,
	    dir);
	return 0;
}

static int
cmd_enroll_token(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "device-id", required_argument, NULL, 'i' },
		{ "hours", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *id = NULL;
	char token[COLLECTOR_TOKEN_MAX], err[1024], *end;
	long hours = 72;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'i')
			id = optarg;
		else if (ch == 'h') {
			hours = strtol(optarg, &end, 10);
			if (*end || hours < 1 || hours > 24 * 365) {
				fprintf(stderr, "collectctl enroll-token: "
				    "--hours: 1 to 8760\n");
				return 2;
			}
		} else
			usage();
	}
	if (optind != argc)
		usage();
	if (collector_enroll_token(dir, id, (int)hours, token, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "collectctl enroll-token: %s\n", err);
		return 1;
	}
	fprintf(stderr, "one-time token, valid %ld hours%s%s:\n", hours,
	    id ? " for device " : "", id ? id : "");
	printf("%s\n", token);
	mbedtls_platform_zeroize(token, sizeof(token));
	return 0;
}

static int
cmd_sign_csr(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "days", required_argument, NULL, 'D' },
		{ "not-before", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char *csr, *der = NULL;
	char err[1024] = "", id[65], *end;
	size_t len, der_len;
	long days = 5 * 365;
	int64_t not_before = 0;
	struct tm tm;
	int ch, rc = 1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'D') {
			days = strtol(optarg, &end, 10);
			if (*end || days < 1 || days > 20 * 365) {
				fprintf(stderr, "collectctl sign-csr: --days: 1 "
				    "to 7300\n");
				return 2;
			}
		} else if (ch == 'n') {
			memset(&tm, 0, sizeof(tm));
			end = strptime(optarg, "%Y-%m-%d", &tm);
			if (end == NULL || *end) {
				fprintf(stderr, "collectctl sign-csr: "
				    "--not-before: YYYY-MM-DD\n");
				return 2;
			}
			not_before = (int64_t)timegm(&tm);
		} else
			usage();
	}
	if (argc - optind != 2)
		usage();
	if ((csr = (unsigned char *)util_read_file(argv[optind], 64 * 1024,
	    &len)) == NULL) {
		fprintf(stderr, "collectctl sign-csr: %s: %s\n", argv[optind],
		    errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return 1;
	}
	if (collector_sign_csr(dir, csr, len, (int)days, not_before, &der,
	    &der_len, id, err, sizeof(err)) != 0)
		fprintf(stderr, "collectctl sign-csr: %s: %s\n", argv[optind],
		    err);
	else if (pki_cert_write(argv[optind + 1], der, der_len, err,
	    sizeof(err)) != 0)
		fprintf(stderr, "collectctl sign-csr: %s\n", err);
	else {
		printf("device %s enrolled; give it %s and %s/ca.crt for "
		    "fieldctl install-cert\n", id, argv[optind + 1], dir);
		rc = 0;
	}
	free(der);
	free(csr);
	return rc;
}

static int
open_cstore(const char *dir, struct cstore **cs)
{
	char path[4096], err[1024];

	if (collector_path(path, sizeof(path), dir, "collector.db") != 0 ||
	    access(path, F_OK) != 0) {
		fprintf(stderr, "collectctl: no collector in %s; make one with "
		    "collectctl -d %s init\n", dir, dir);
		return -1;
	}
	if (cstore_open(path, cs, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl: %s\n", err);
		return -1;
	}
	return 0;
}

static void
fmt_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);

	if (ms == 0) {
		snprintf(out, len, "never");
		return;
	}
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static int
print_device(void *arg, const struct cdevice *d)
{
	int json = *(int *)arg;
	char seen[32], revoked[32];

	fmt_time(d->last_seen_ms, seen, sizeof(seen));
	fmt_time(d->revoked_ms, revoked, sizeof(revoked));
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:I,"
		    " s:s}", "device_id", d->id, "serial", d->serial,
		    "last_seen", seen, "revoked", d->revoked_ms ? revoked :
		    NULL, "acked_seq", (json_int_t)d->acked_seq, "pending",
		    (json_int_t)d->pending, "clock_offset_ms",
		    (json_int_t)d->clock_offset_ms, "last_error",
		    d->last_error);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%-24s %-20s %10llu %8llu %12lld  %s%s%s\n", d->id, seen,
		    (unsigned long long)d->acked_seq,
		    (unsigned long long)d->pending,
		    (long long)d->clock_offset_ms,
		    d->revoked_ms ? "revoked " : "",
		    d->revoked_ms ? revoked : "", d->last_error);
	}
	return 0;
}

static int
cmd_devices(const char *dir, int argc, char **argv)
{
	struct cstore *cs;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0, rc;

	if (argc > 2 || (argc == 2 && !json))
		usage();
	if (open_cstore(dir, &cs) != 0)
		return 1;
	if (!json)
		printf("%-24s %-20s %10s %8s %12s  %s\n", "device", "last seen",
		    "acked seq", "pending", "clock off ms", "state / last error");
	rc = cstore_devices(cs, print_device, &json);
	if (rc != 0)
		fprintf(stderr, "collectctl devices: %s\n", cstore_errmsg(cs));
	cstore_close(cs);
	return rc ? 1 : 0;
}

static int
cmd_revoke(const char *dir, int argc, char **argv)
{
	struct cstore *cs;
	int rc;

	if (argc != 2)
		usage();
	if (open_cstore(dir, &cs) != 0)
		return 1;
	rc = cstore_device_revoke(cs, argv[1], util_now_ms());
	if (rc < 0)
		fprintf(stderr, "collectctl revoke: %s\n", cstore_errmsg(cs));
	else if (rc == 0)
		fprintf(stderr, "collectctl revoke: no enrolled device %s, or "
		    "revoked already\n", argv[1]);
	else
		printf("device %s revoked: the collector refuses it from now "
		    "on\n", argv[1]);
	cstore_close(cs);
	return rc == 1 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int ch;

	log_init("collectctl", LOG_WARN);
	while ((ch = getopt(argc, argv, "+d:")) != -1) {
		if (ch == 'd')
			dir = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[0], "open") == 0)
		return cmd_open(dir, argc, argv);
	if (dir == NULL)
		usage();
	if (strcmp(argv[0], "init") == 0)
		return cmd_init(dir, argc, argv);
	if (strcmp(argv[0], "enroll-token") == 0)
		return cmd_enroll_token(dir, argc, argv);
	if (strcmp(argv[0], "devices") == 0)
		return cmd_devices(dir, argc, argv);
	if (strcmp(argv[0], "revoke") == 0)
		return cmd_revoke(dir, argc, argv);
	if (strcmp(argv[0], "sign-csr") == 0)
		return cmd_sign_csr(dir, argc, argv);
	if (strcmp(argv[0], "import") == 0)
		return bundle_cmd_import(dir, argc, argv);
	if (strcmp(argv[0], "receipt") == 0)
		return bundle_cmd_receipt(dir, argc, argv);
	usage();
}
