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
 *   collectctl -d CDIR import BUNDLE            a USB bundle (import_cmd.h)
 *   collectctl -d CDIR receipt DEVICE OUT       its receipt for the device
 *   collectctl -d CDIR export --key FILE --form F --out DIR [...] (export.h)
 *   collectctl -d CDIR analyse --key FILE       (collector/open/counts_cmd.h)
 *   collectctl -d CDIR counts --form F ...
 *   collectctl -d CDIR coordinator add|remove NAME, coordinator list
 *   collectctl -d CDIR migrate-store --from sqlite:PATH --to postgresql://...
 *                                    copies the store; then names the new
 *                                    one in CDIR/collectord.conf
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

#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "daemon/store.h"
#include "form/form.h"
#include "form/recpack.h"
#include "collector/csrv.h"
#include "collector/form_admin.h"
#include "collector/import_cmd.h"
#include "sync/pki.h"
#include "sync/seal.h"
#include "collector/collector.h"
#include "collector/cstore.h"
#include "collector/cdb.h"
#include "collector/csrv.h"
#include "collector/open/seal_open.h"
#include "collector/open/ropen.h"
#include "collector/open/export.h"
#include "collector/open/counts_cmd.h"

static const struct cli_cmd collectctl_cmds[] = {
	{ "keygen", "keygen DIR", "a sealing key pair alone: DIR/seal.pub, "
	    "DIR/seal.key" },
	{ "open", "open --key FILE DBFILE", "a device database, opened" },
	{ "open", "-d CDIR open --key FILE",
	    "every record the collector holds, opened" },
	{ "init", "-d CDIR init [--host NAME] [--store postgresql://...]",
	    "a collector: CA, TLS certificate, sealing key pair" },
	{ "migrate-store", "-d CDIR migrate-store --from sqlite:PATH "
	    "--to postgresql://...", "copies the store, then names the new "
	    "one in collectord.conf" },
	{ "enroll-token", "-d CDIR enroll-token [--device-id ID] [--hours N]",
	    "a one-time enrolment token (the last line)" },
	{ "devices", "-d CDIR devices [--json]", NULL },
	{ "revoke", "-d CDIR revoke DEVICE", NULL },
	{ "sign-csr", "-d CDIR sign-csr CSR OUT [--days N] "
	    "[--not-before YYYY-MM-DD]", "offline enrolment" },
	{ "import", "-d CDIR import BUNDLE", "a device's USB bundle" },
	{ "receipt", "-d CDIR receipt DEVICE OUT",
	    "the receipt for the device's bundles" },
	{ "export", "-d CDIR export --key FILE --form F --out DIR "
	    "[--labels [--lang LANGUAGE]] [--split-multiple] [--bom] [--xlsx]",
	    "F.csv, a CSV per repeat group (or F.xlsx, a sheet each), "
	    "F.jsonl" },
	{ "analyse", "-d CDIR analyse --key FILE",
	    "opens what arrived into the analysis tables" },
	{ "counts", "-d CDIR counts --form F [--by DIM[,DIM...]] "
	    "[--from DATE] [--to DATE] [--where DIM=VALUE]... "
	    "[--format table|csv|json|hxl] [--threshold N] [--key FILE]",
	    "suppressed unless --key (an analyst)" },
	{ "coordinator", "-d CDIR coordinator add NAME | remove NAME | list",
	    "add prints the coordinator's token once" },
	{ "form", "form check FILE.xlsx|FILE.json",
	    "a form checked as a whole: its size, or every error" },
	{ "form", "-d CDIR form add FILE.xlsx|FILE.json",
	    "checked, then handed to devices at their next sync" },
	{ "form", "-d CDIR form list", "what devices get, and who refused what" },
	{ NULL, NULL, NULL },
};

static const struct cli collectctl_cli = {
	.prog = "collectctl",
	.version = FIELD_VERSION,
	.synopsis = "[-d CDIR] COMMAND ...",
	.more = "See collectctl(8).\n",
	.cmds = collectctl_cmds,
};

static int
cmd_keygen(int argc, char **argv)
{
	unsigned char pub[SEAL_KEY_LEN], priv[SEAL_KEY_LEN];
	char pubpath[4096], keypath[4096];
	struct stat sb;
	int rc = 1;

	cli_operands(argc, argv, 1, 1, 1, "DIR");
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

struct open_ctx {
	struct ropen *ro;
	struct cstore *cs;		/* the collector's, when opening it */
	char device_id[128];		/* a device database's */
	unsigned long failed, opened;
};

/* Prints one opened record as a JSON line, or why it did not open. */
static void
open_print(struct open_ctx *c, int rc, Field__Record *rec, uint64_t seq,
    int64_t corrected_ms, const char *why)
{
	json_t *o;

	if (rc != 0 || (o = ropen_json(rec, corrected_ms)) == NULL) {
		fprintf(stderr, "seq %" PRIu64 ": %s\n", seq,
		    rc != 0 ? why : "out of memory");
		c->failed++;
	} else {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(o);
		c->opened++;
	}
	if (rec)
		field__record__free_unpacked(rec, NULL);
}

/* A record of a device database. */
static int
open_one(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32])
{
	struct open_ctx *c = arg;
	Field__Record *rec;
	char why[160];
	int rc;

	rc = ropen_record(c->ro, c->device_id, r, epoch_pub, SEAL_KEY_LEN, &rec,
	    why, sizeof(why));
	open_print(c, rc, rec, r->seq, -1, why);
	return 0;
}

/* A record as the collector holds it, with the collector's correction
   of its time beside the board's stamp. */
static int
open_collected(void *arg, const char *device_id,
    const Field__Sync__SealedRecord *r)
{
	struct open_ctx *c = arg;
	Field__Record *rec;
	int64_t created, corrected = -1;
	char why[160];
	int rc;

	rc = ropen_sealed(c->ro, device_id, r, &rec, why, sizeof(why));
	if (rc == 0 && cstore_record_times(c->cs, device_id, r->seq, &created,
	    &corrected) != 1)
		corrected = -1;
	open_print(c, rc, rec, r->seq, corrected, why);
	return 0;
}

static int open_cstore(const char *dir, struct cstore **cs);

/* collectctl -d CDIR open --key FILE: every record the collector holds. */
static int
open_collector(struct open_ctx *c, const char *dir)
{
	char err[1024];
	int rc;

	if (ropen_load_collector_forms(c->ro, dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		return -1;
	}
	if (open_cstore(dir, &c->cs) != 0)
		return -1;
	if ((rc = cstore_each_record(c->cs, open_collected, c)) != 0)
		fprintf(stderr, "collectctl open: %s\n", cstore_errmsg(c->cs));
	cstore_close(c->cs);
	c->cs = NULL;
	return rc;
}

static int
cmd_open(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct open_ctx ctx, *c = &ctx;
	struct store *st;
	const char *key = NULL;
	char err[1024];
	int ch, rc = 1;

	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch != 'k')
			cli_misuse();
		key = optarg;
	}
	cli_operands(argc, argv, optind, dir ? 0 : 1, dir ? 0 : 1,
	    "DBFILE, or -d CDIR");
	if (key == NULL)
		cli_fail("open needs --key FILE");
	memset(&ctx, 0, sizeof(ctx));
	if (ropen_new(key, &c->ro, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
		return 1;
	}
	if (dir) {
		if (open_collector(c, dir) == 0)
			rc = 0;
	} else if (store_open_readonly(argv[optind], &st, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "collectctl open: %s\n", err);
	} else {
		if (store_meta_get(st, "device_id", c->device_id,
		    sizeof(c->device_id)) != 1)
			fprintf(stderr, "collectctl open: %s: no device id\n",
			    argv[optind]);
		else if (store_forms_load(st, ropen_catalog(c->ro), err,
		    sizeof(err)) != 0)
			fprintf(stderr, "collectctl open: %s: %s\n",
			    argv[optind], err);
		else if (store_each_record(st, open_one, c) != 0)
			fprintf(stderr, "collectctl open: %s: %s\n",
			    argv[optind], store_errmsg(st));
		else
			rc = 0;
		store_close(st);
	}
	fflush(stdout);
	if (rc == 0 && c->failed) {
		fprintf(stderr, "collectctl open: %lu opened, %lu failed\n",
		    c->opened, c->failed);
		rc = 1;
	}
	ropen_free(c->ro);
	return rc;
}

/*
 * Moving a collector to PostgreSQL without stopping it for more than a
 * restart: run it once while collectord keeps ingesting (the copy reads a
 * snapshot), then stop collectord, run it again (it adds what arrived
 * meanwhile and brings watermarks up to date), start collectord: its
 * conf now names the new store, and boards just reconnect.
 */
static int
cmd_migrate_store(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL;
	struct cstore *src = NULL, *dst = NULL;
	uint64_t rows, n_src, n_dst;
	char err[1024];
	int ch, rc = 1;

	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch == 'f')
			from = optarg;
		else if (ch == 't')
			to = optarg;
		else
			cli_misuse();
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (from == NULL || to == NULL)
		cli_fail("migrate-store needs --from sqlite:PATH and --to "
		    "postgresql://...");
	if (strncmp(from, "sqlite:", 7) != 0 || !cdb_is_pg(to)) {
		fprintf(stderr, "collectctl migrate-store: expected --from "
		    "sqlite:PATH --to postgresql://...\n");
		return 2;
	}
	if (access(from + 7, R_OK) != 0) {
		fprintf(stderr, "collectctl migrate-store: --from: %s: %s\n",
		    from + 7, strerror(errno));
		return 1;
	}
	if (cstore_open(from, &src, err, sizeof(err)) != 0 ||
	    cstore_open(to, &dst, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl migrate-store: %s\n", err);
		goto out;
	}
	if (cstore_copy(src, dst, &rows, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl migrate-store: %s; nothing was "
		    "copied\n", err);
		goto out;
	}
	if (cstore_record_count(src, NULL, &n_src) != 0 ||
	    cstore_record_count(dst, NULL, &n_dst) != 0 || n_dst < n_src) {
		fprintf(stderr, "collectctl migrate-store: the new store holds "
		    "fewer records than the old one; collectord.conf is "
		    "unchanged\n");
		goto out;
	}
	if (csrv_config_set_store(dir, to, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl migrate-store: %s\n", err);
		goto out;
	}
	printf("%" PRIu64 " rows copied (%" PRIu64 " records); %s/%s now "
	    "names the new store: restart collectord to use it\n", rows,
	    n_dst, dir, CSRV_CONF);
	rc = 0;
out:
	cstore_close(src);
	cstore_close(dst);
	return rc;
}

static int
cmd_init(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "store", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "localhost", *store = "";
	char err[1024];
	int ch;

	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch == 'h')
			host = optarg;
		else if (ch == 's')
			store = optarg;
		else
			cli_misuse();
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (store[0] && !cdb_is_pg(store)) {
		fprintf(stderr, "collectctl init: --store: expected a PostgreSQL "
		    "URL, postgresql://...\n");
		return 2;
	}
	if (collector_init(dir, host, store, err, sizeof(err)) != 0) {
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
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
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
			cli_misuse();
	}
	cli_operands(argc, argv, optind, 0, 0, "");
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
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
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
			cli_misuse();
	}
	cli_operands(argc, argv, optind, 2, 2, "CSR and OUT");
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
	char err[1024];

	if (csrv_store_open(dir, cs, err, sizeof(err)) != 0) {
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

	cli_operands(argc, argv, 1, 0, 1, "");
	if (argc == 2 && !json)
		cli_fail("unknown option '%s' for devices", argv[1]);
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

	cli_operands(argc, argv, 1, 1, 1, "DEVICE");
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
	static const struct option lo[] = {
		CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	int ch;

	log_init("collectctl", LOG_WARN);
	cli_init(&collectctl_cli);
	while ((ch = cli_getopt(argc, argv, "+hd:", lo)) != -1) {
		if (ch == 'd')
			dir = optarg;
		else
			cli_help();
	}
	argc -= optind;
	argv += optind;
	cli_command(argc, argv);
	if (strcmp(argv[0], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[0], "open") == 0)
		return cmd_open(dir, argc, argv);
	if (strcmp(argv[0], "form") == 0)
		return form_admin(dir, argc, argv);
	if (dir == NULL)
		cli_fail("%s needs -d CDIR", argv[0]);
	if (strcmp(argv[0], "init") == 0)
		return cmd_init(dir, argc, argv);
	if (strcmp(argv[0], "migrate-store") == 0)
		return cmd_migrate_store(dir, argc, argv);
	if (strcmp(argv[0], "enroll-token") == 0)
		return cmd_enroll_token(dir, argc, argv);
	if (strcmp(argv[0], "devices") == 0)
		return cmd_devices(dir, argc, argv);
	if (strcmp(argv[0], "revoke") == 0)
		return cmd_revoke(dir, argc, argv);
	if (strcmp(argv[0], "sign-csr") == 0)
		return cmd_sign_csr(dir, argc, argv);
	if (strcmp(argv[0], "import") == 0)
		return import_cmd_bundle(dir, argc, argv);
	if (strcmp(argv[0], "receipt") == 0)
		return import_cmd_receipt(dir, argc, argv);
	if (strcmp(argv[0], "export") == 0)
		return export_cmd(dir, argc, argv);
	if (strcmp(argv[0], "analyse") == 0)
		return counts_cmd_analyse(dir, argc, argv);
	if (strcmp(argv[0], "counts") == 0)
		return counts_cmd_counts(dir, argc, argv);
	if (strcmp(argv[0], "coordinator") == 0)
		return counts_cmd_coordinator(dir, argc, argv);
	cli_misuse();
}
