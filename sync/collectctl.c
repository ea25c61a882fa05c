/*
 * collectctl: the collector's command line.  For now: make the sealing
 * key pair, and open a device database's sealed records with the private
 * key (the start of the collector's tools; see seal_open.h).
 *
 *   collectctl keygen DIR
 *   collectctl open --key DIR/seal.key DBFILE
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

#include "common/log.h"
#include "common/util.h"
#include "daemon/store.h"
#include "form/form.h"
#include "sync/seal.h"
#include "sync/seal_open.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: collectctl keygen DIR\n"
	    "       collectctl open --key FILE DBFILE\n");
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
	rec = field__record__unpack(NULL, len, pt);
	if (rec == NULL || strcmp(rec->id, r->id) || rec->seq != r->seq ||
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

static int
cmd_open(int argc, char **argv)
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

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'k')
			usage();
		key = optarg;
	}
	if (key == NULL || argc - optind != 1)
		usage();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 1;
	if (seal_opener_load(&c->op, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		free(c);
		return 1;
	}
	if (store_open_readonly(argv[optind], &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		goto out;
	}
	if (store_meta_get(st, "device_id", c->device_id,
	    sizeof(c->device_id)) != 1) {
		fprintf(stderr, "collectctl open: %s: no device id\n",
		    argv[optind]);
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
	free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	log_init("collectctl", LOG_WARN);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "open") == 0)
		return cmd_open(argc - 1, argv + 1);
	usage();
}
