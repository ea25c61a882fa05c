/*
 * fieldctl: the device operator's command line.  It opens the same store
 * as fieldd (SQLite serialises the writers) and submits through the same
 * path (submit.h), so a record from here is sealed and counted exactly as
 * one from the API.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "daemon/csvin.h"
#include "daemon/device.h"
#include "daemon/users.h"
#include "firmware/update_cmd.h"
#include "daemon/bundle_cmd.h"
#include "daemon/form_cmd.h"
#include "daemon/dsync_cmd.h"

#define FIELDCTL_MAX_RECORD (1024 * 1024)

static const struct cli_cmd fieldctl_cmds[] = {
	{ "init", "-d DATADIR init --collector-key FILE [--device-id ID]",
	    "a new device in DATADIR, sealing to the collector's seal.pub" },
	{ "submit", "-d DATADIR submit FORM_ID [FILE]",
	    "one JSON record (stdin without FILE); prints \"_id seq\"" },
	{ "import", "-d DATADIR import FORM_ID FILE.csv "
	    "[--repeat GROUP=FILE.csv ...]", "records from CSV, all or none" },
	{ "counts", "-d DATADIR counts [--json|--csv]", NULL },
	{ "status", "-d DATADIR status [--json]", NULL },
	{ "user", "-d DATADIR user add NAME | user remove NAME",
	    "add prints the enumerator's token once" },
	{ "user", "-d DATADIR user pin NAME",
	    "sets a PIN read on stdin (4-12 digits)" },
	{ "enroll", "-d DATADIR enroll --collector HOST:PORT --token TOKEN",
	    NULL },
	{ "csr", "-d DATADIR csr OUT", "offline enrolment: a request" },
	{ "install-cert", "-d DATADIR install-cert CERT CA",
	    "offline enrolment: the signed certificate" },
	{ "config", "-d DATADIR config set KEY VALUE",
	    "in DATADIR/fieldd.conf" },
	{ "sync", "-d DATADIR sync [--attempts N]",
	    "exit 0 when everything is acknowledged" },
	{ "export", "-d DATADIR export DIR",
	    "unacknowledged records to a bundle" },
	{ "import-receipt", "-d DATADIR import-receipt FILE",
	    "the collector's receipt for bundles" },
	{ "form", "-d DATADIR form add FILE.xlsx|FILE.json",
	    "a form for this board, checked by its own rules" },
	{ "form", "-d DATADIR form list", "the board's forms, and refusals" },
	{ "update", "update verify BUNDLE [--root DIR] [--key FILE]",
	    "checks a signed release bundle" },
	{ "update", "update apply BUNDLE [--root DIR] [--key FILE] "
	    "[--restart CMD] [--health URL] [--timeout S]",
	    "installs it, switches to it; back when it does not answer" },
	{ NULL, NULL, NULL },
};

static const struct cli fieldctl_cli = {
	.prog = "fieldctl",
	.version = FIELD_VERSION,
	.synopsis = "-d DATADIR COMMAND ...",
	.more = "See fieldctl(8).\n",
	.cmds = fieldctl_cmds,
};

static void
print_errors(const char *where, const struct submit_result *r)
{
	if (r->status != SUBMIT_INVALID) {
		fprintf(stderr, "%s%s\n", where, r->msg);
		return;
	}
	for (size_t i = 0; i < r->errs.n; i++)
		fprintf(stderr, "%sform %s version %s: %s%s%s\n", where,
		    r->form_id, r->version, r->errs.e[i].path,
		    r->errs.e[i].path[0] ? ": " : "", r->errs.e[i].reason);
	if (r->errs.dropped)
		fprintf(stderr, "%s... and %zu more errors\n", where,
		    r->errs.dropped);
}

static int
cmd_init(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "collector-key", required_argument, NULL, 'k' },
		{ "device-id", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *id = NULL;
	char err[512];
	int ch;

	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch == 'k')
			key = optarg;
		else if (ch == 'i')
			id = optarg;
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (key == NULL)
		cli_fail("init needs --collector-key FILE");
	if (device_create(dir, key, id, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl init: %s\n", err);
		return 1;
	}
	printf("device created in %s\n", dir);
	return 0;
}

static int
open_device(struct device *d, const char *dir)
{
	char err[1024];

	if (device_open(d, dir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl: %s\n", err);
		return -1;
	}
	return 0;
}

static int
cmd_submit(const char *dir, int argc, char **argv)
{
	struct submit_result *r;
	struct device d;
	json_error_t jerr;
	json_t *rec;
	char *text;
	size_t len;
	int rc = 1;

	cli_operands(argc, argv, 1, 1, 2, "FORM_ID");
	if (argc == 3) {
		if ((text = util_read_file(argv[2], FIELDCTL_MAX_RECORD,
		    &len)) == NULL) {
			fprintf(stderr, "fieldctl submit: %s: %s\n", argv[2],
			    errno == EFBIG ? "larger than 1 MiB" :
			    strerror(errno));
			return 1;
		}
	} else {
		if ((text = malloc(FIELDCTL_MAX_RECORD + 1)) == NULL)
			return 1;
		len = fread(text, 1, FIELDCTL_MAX_RECORD + 1, stdin);
		if (len > FIELDCTL_MAX_RECORD) {
			fprintf(stderr, "fieldctl submit: record larger than "
			    "1 MiB\n");
			free(text);
			return 1;
		}
	}
	rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (rec == NULL || !json_is_object(rec)) {
		if (rec)
			fprintf(stderr, "fieldctl submit: a record must be a "
			    "JSON object\n");
		else
			fprintf(stderr, "fieldctl submit: malformed JSON at "
			    "line %d, column %d\n", jerr.line, jerr.column);
		json_decref(rec);
		return 1;
	}
	if ((r = malloc(sizeof(*r))) == NULL || open_device(&d, dir) != 0) {
		free(r);
		json_decref(rec);
		return 1;
	}
	switch (submit_record(&d.sub, argv[1], NULL, rec, r)) {
	case SUBMIT_OK:
	case SUBMIT_DUPLICATE:
		printf("%s %llu%s\n", r->id, (unsigned long long)r->seq,
		    r->status == SUBMIT_DUPLICATE ? " duplicate" : "");
		rc = 0;
		break;
	default:
		print_errors("", r);
		break;
	}
	device_close(&d);
	json_decref(rec);
	free(r);
	return rc;
}

struct import_ctx {
	json_t *rows;			/* csvin_read output */
	size_t stored, duplicates, refused;
};

static void
import_report(void *arg, size_t i, const struct submit_result *r)
{
	struct import_ctx *c = arg;
	char where[64];

	switch (r->status) {
	case SUBMIT_OK:
		c->stored++;
		break;
	case SUBMIT_DUPLICATE:
		c->duplicates++;
		break;
	default:
		c->refused++;
		snprintf(where, sizeof(where), "line %lld: ",
		    (long long)json_integer_value(json_object_get(
		    json_array_get(c->rows, i), "line")));
		print_errors(where, r);
	}
}

static int
cmd_import(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct csvin_repeat reps[8];
	struct import_ctx ctx = { 0 };
	struct submit_result *r = NULL;
	struct form_errors *fe = NULL;
	const struct form *f;
	json_t **recs = NULL;
	struct device d;
	size_t n_reps = 0, n, bad = 0;
	char err[8192];
	int ch, rc = 1;

	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		char *eq;

		if ((eq = strchr(optarg, '=')) == NULL)
			cli_fail("--repeat: expected GROUP=FILE.csv, not '%s'",
			    optarg);
		if (n_reps == 8)
			cli_fail("--repeat: at most 8");
		*eq = '\0';
		reps[n_reps].group = optarg;
		reps[n_reps++].path = eq + 1;
	}
	cli_operands(argc, argv, optind, 2, 2, "FORM_ID and FILE.csv");
	const char *form = argv[optind], *csv = argv[optind + 1];
	if (open_device(&d, dir) != 0)
		return 1;
	if ((f = form_catalog_get(d.cat, form, NULL)) == NULL) {
		fprintf(stderr, "fieldctl import: unknown form %s\n", form);
		goto out;
	}
	if (csvin_read(csv, reps, n_reps, &ctx.rows, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s", err);
		fprintf(stderr, "fieldctl import: nothing imported\n");
		goto out;
	}
	n = json_array_size(ctx.rows);
	recs = calloc(n ? n : 1, sizeof(*recs));
	fe = malloc(sizeof(*fe));
	r = malloc(sizeof(*r));
	if (recs == NULL || fe == NULL || r == NULL)
		goto out;
	/* CSV cells are text: type them for the form first. */
	for (size_t i = 0; i < n; i++) {
		json_t *row = json_array_get(ctx.rows, i);

		recs[i] = json_object_get(row, "record");
		memset(fe, 0, sizeof(*fe));
		if (form_coerce(f, recs[i], fe) == 0)
			continue;
		bad++;
		for (size_t k = 0; k < fe->n; k++)
			fprintf(stderr, "line %lld: %s: %s\n",
			    (long long)json_integer_value(json_object_get(row,
			    "line")), fe->e[k].path, fe->e[k].reason);
	}
	if (bad) {
		fprintf(stderr, "fieldctl import: %zu bad row(s); nothing "
		    "imported\n", bad);
		goto out;
	}
	if (submit_many(&d.sub, form, NULL, recs, n, import_report, &ctx,
	    r) != SUBMIT_OK) {
		if (ctx.refused == 0)
			print_errors("", r);
		fprintf(stderr, "fieldctl import: %zu bad row(s); nothing "
		    "imported\n", ctx.refused);
		goto out;
	}
	printf("imported %zu records from %s (%zu already stored)\n",
	    ctx.stored, csv, ctx.duplicates);
	rc = 0;
out:
	free(recs);
	free(fe);
	free(r);
	json_decref(ctx.rows);
	device_close(&d);
	return rc;
}

static int
cmd_counts(const char *dir, int argc, char **argv)
{
	const char *fmt = argc > 1 ? argv[1] : "--table";
	struct device d;
	json_t *counts, *c;
	size_t i;

	cli_operands(argc, argv, 1, 0, 1, "");
	if (strcmp(fmt, "--json") && strcmp(fmt, "--csv") &&
	    strcmp(fmt, "--table"))
		cli_fail("unknown option '%s' for counts", fmt);
	if (open_device(&d, dir) != 0)
		return 1;
	if (store_counts_json(d.st, &counts) != 0) {
		fprintf(stderr, "fieldctl counts: %s\n", store_errmsg(d.st));
		device_close(&d);
		return 1;
	}
	if (strcmp(fmt, "--json") == 0) {
		json_t *o = json_pack("{s:O}", "counts", counts);

		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
	} else {
		int csv = strcmp(fmt, "--csv") == 0;
		printf(csv ? "form,day,place,dim,value,measure,n\n" :
		    "%-20s %-10s %-16s %-14s %-22s %-16s %8s\n", "form", "day",
		    "place", "dim", "value", "measure", "n");
		json_array_foreach(counts, i, c) {
			const char *k[6] = { "form", "day", "place", "dim",
			    "value", "measure" };
			const char *v[6];
			for (int j = 0; j < 6; j++)
				v[j] = json_string_value(json_object_get(c,
				    k[j]));
			printf(csv ? "%s,%s,%s,%s,%s,%s,%lld\n" :
			    "%-20s %-10s %-16s %-14s %-22s %-16s %8lld\n",
			    v[0], v[1], v[2], v[3], v[4], v[5],
			    (long long)json_integer_value(json_object_get(c,
			    "n")));
		}
	}
	json_decref(counts);
	device_close(&d);
	return 0;
}

static const char *
status_str(json_t *o, const char *key, const char *none)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : none;
}

static int
cmd_status(const char *dir, int argc, char **argv)
{
	json_t *o;
	struct store_stats s;
	struct device d;
	uint64_t avail = 0, sealed = 0;
	char last[256] = "";

	cli_operands(argc, argv, 1, 0, 1, "");
	if (argc == 2 && strcmp(argv[1], "--json"))
		cli_fail("unknown option '%s' for status", argv[1]);
	if (open_device(&d, dir) != 0)
		return 1;
	if (store_stats(d.st, &s) != 0 ||
	    store_sealed_bytes(d.st, &sealed) != 0) {
		fprintf(stderr, "fieldctl status: %s\n", store_errmsg(d.st));
		device_close(&d);
		return 1;
	}
	store_free_bytes(d.st, &avail);
	store_meta_get(d.st, "last_error", last, sizeof(last));
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}",
	    "device_id", d.sub.device_id,
	    "records", (json_int_t)s.records,
	    "last_seq", (json_int_t)s.last_seq,
	    "sealed_bytes", (json_int_t)sealed,
	    "db_bytes", (json_int_t)s.db_bytes,
	    "epochs", (json_int_t)s.epochs,
	    "users", (json_int_t)s.users,
	    "free_bytes", (json_int_t)avail,
	    "free_floor_bytes", (json_int_t)(d.cfg.free_space_floor_mb << 20),
	    "last_error", last[0] ? last : NULL);
	if (o == NULL || dsync_status_json(&d, o) != 0) {
		fprintf(stderr, "fieldctl status: %s\n", store_errmsg(d.st));
		json_decref(o);
		device_close(&d);
		return 1;
	}
	if (argc == 2) {
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
	} else {
		printf("device        %s\n", d.sub.device_id);
		printf("records       %llu (last seq %llu)\n",
		    (unsigned long long)s.records,
		    (unsigned long long)s.last_seq);
		printf("sealed bytes  %llu (database %llu)\n",
		    (unsigned long long)sealed, (unsigned long long)s.db_bytes);
		printf("epochs        %llu\n", (unsigned long long)s.epochs);
		printf("enumerators   %llu\n", (unsigned long long)s.users);
		printf("free space    %llu MiB (floor %llu MiB)%s\n",
		    (unsigned long long)(avail >> 20),
		    (unsigned long long)d.cfg.free_space_floor_mb,
		    avail < (d.cfg.free_space_floor_mb << 20) ?
		    " -- new records refused" : "");
		printf("last error    %s\n", last[0] ? last : "none");
		printf("collector     %s%s\n", status_str(o, "collector",
		    "none"), json_is_true(json_object_get(o, "enrolled")) ?
		    " (enrolled)" : " (not enrolled)");
		printf("pending       %lld (acknowledged up to seq %lld)\n",
		    (long long)json_integer_value(json_object_get(o,
		    "pending")), (long long)json_integer_value(
		    json_object_get(o, "acked_seq")));
		printf("last sync     %s (last attempt %s)\n",
		    status_str(o, "last_sync_ok", "never"),
		    status_str(o, "last_sync_attempt", "never"));
		printf("sync error    %s\n", status_str(o, "last_sync_error",
		    "none"));
		if (json_is_integer(json_object_get(o, "clock_offset_ms")))
			printf("clock offset  %lld ms (collector minus board)\n",
			    (long long)json_integer_value(json_object_get(o,
			    "clock_offset_ms")));
		if (json_is_integer(json_object_get(o, "link_batch_bytes")))
			printf("link          batches of %lld bytes, round trip "
			    "%lld ms (learned, kept across restarts)\n",
			    (long long)json_integer_value(json_object_get(o,
			    "link_batch_bytes")), (long long)json_integer_value(
			    json_object_get(o, "link_rtt_ms")));
	}
	json_decref(o);
	device_close(&d);
	return 0;
}

static int
cmd_user(const char *dir, int argc, char **argv)
{
	char token[USERS_TOKEN_LEN + 1], err[512];
	struct device d;
	int rc = 1;

	if (argc < 2)
		cli_fail("user needs add, remove or pin");
	if (strcmp(argv[1], "add") && strcmp(argv[1], "remove") &&
	    strcmp(argv[1], "pin"))
		cli_fail("unknown command 'user %s'", argv[1]);
	if (argc < 3)
		cli_fail("user %s needs NAME", argv[1]);
	cli_operands(argc, argv, 2, 1, 1, "NAME");
	if (open_device(&d, dir) != 0)
		return 1;
	if (strcmp(argv[1], "add") == 0) {
		if (users_add(d.st, argv[2], token, err, sizeof(err)) != 0) {
			fprintf(stderr, "fieldctl user add: %s\n", err);
		} else {
			printf("%s\n", token);
			fprintf(stderr, "token shown once; it is stored "
			    "hashed\n");
			rc = 0;
		}
	} else if (strcmp(argv[1], "pin") == 0) {
		/* on stdin, so it is in no shell history or process list */
		char pin[64] = "";
		if (fgets(pin, sizeof(pin), stdin) != NULL)
			pin[strcspn(pin, "\r\n")] = '\0';
		if (users_set_pin(d.st, argv[2], pin, err, sizeof(err)) != 0)
			fprintf(stderr, "fieldctl user pin: %s\n", err);
		else
			rc = 0;
		mbedtls_platform_zeroize(pin, sizeof(pin));
	} else {
		int r = store_user_remove(d.st, argv[2]);
		if (r == 1)
			rc = 0;
		else
			fprintf(stderr, "fieldctl user remove: %s\n", r == 0 ?
			    "no such user" : store_errmsg(d.st));
	}
	device_close(&d);
	return rc;
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

	log_init("fieldctl", LOG_WARN);
	cli_init(&fieldctl_cli);
	/* sync writes to sockets: a peer gone is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = cli_getopt(argc, argv, "+hd:", lo)) != -1) {
		if (ch == 'd')
			dir = optarg;
		else
			cli_help();
	}
	argc -= optind;
	argv += optind;
	cli_command(argc, argv);
	if (strcmp(argv[0], "update") == 0)
		return update_cmd(argc, argv);	/* a board's releases, no DATADIR */
	if (dir == NULL)
		cli_fail("%s needs -d DATADIR", argv[0]);
	if (strcmp(argv[0], "init") == 0)
		return cmd_init(dir, argc, argv);
	if (strcmp(argv[0], "submit") == 0)
		return cmd_submit(dir, argc, argv);
	if (strcmp(argv[0], "import") == 0)
		return cmd_import(dir, argc, argv);
	if (strcmp(argv[0], "counts") == 0)
		return cmd_counts(dir, argc, argv);
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(dir, argc, argv);
	if (strcmp(argv[0], "user") == 0)
		return cmd_user(dir, argc, argv);
	if (strcmp(argv[0], "enroll") == 0)
		return dsync_cmd_enroll(dir, argc, argv);
	if (strcmp(argv[0], "csr") == 0)
		return dsync_cmd_csr(dir, argc, argv);
	if (strcmp(argv[0], "install-cert") == 0)
		return dsync_cmd_install_cert(dir, argc, argv);
	if (strcmp(argv[0], "config") == 0)
		return dsync_cmd_config(dir, argc, argv);
	if (strcmp(argv[0], "export") == 0)
		return bundle_cmd_export(dir, argc, argv);
	if (strcmp(argv[0], "import-receipt") == 0)
		return bundle_cmd_import_receipt(dir, argc, argv);
	if (strcmp(argv[0], "sync") == 0)
		return dsync_cmd_sync(dir, argc, argv);
	if (strcmp(argv[0], "form") == 0)
		return form_cmd(dir, argc, argv);
	cli_misuse();
}
