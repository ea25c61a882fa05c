/* counts_cmd.c: see counts_cmd.h. */
#include "collector/open/counts_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/open/analyse.h"
#include "analysis/astore.h"
#include "analysis/query.h"
#include "analysis/render.h"
#include "common/rng.h"
#include "common/cli.h"
#include "common/util.h"
#include "collector/collector.h"
#include "collector/csrv.h"
#include "collector/cstore.h"
#include "collector/open/ropen.h"
#include "sync/seal.h"

#define COORD_NAME_MAX 64

static int
cmd_usage(const char *what)
{
	fprintf(stderr, "usage: collectctl -d CDIR %s\n", what);
	return 2;
}

int
counts_cmd_analyse(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct analyse_stats st;
	const char *key = NULL;
	char err[1024];
	int ch;

	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch != 'k')
			return cmd_usage("analyse --key FILE");
		key = optarg;
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (dir == NULL || key == NULL)
		cli_fail("analyse needs --key FILE");
	if (analyse_run(dir, key, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl analyse: %s\n", err);
		return 1;
	}
	printf("analysed %" PRIu64 " records (%" PRIu64 " set aside) in "
	    "%.2f s, %.0f records/s\n", st.opened, st.failed, st.seconds,
	    st.seconds > 0 ? (double)(st.opened + st.failed) / st.seconds :
	    0.0);
	if (st.retried)
		printf("%" PRIu64 " records set aside before are counted now\n",
		    st.retried);
	if (st.failed)
		printf("records set aside are listed in %s/analysis.db, table "
		    "failed, with the reason\n", dir);
	return 0;
}

/* An analyst proves it with the key that opens the records. */
static int
counts_analyst(const char *dir, const char *key, char *err, size_t errlen)
{
	unsigned char pub[SEAL_KEY_LEN];
	struct ropen *ro;
	char path[4096];
	int ok;

	if (collector_path(path, sizeof(path), dir, "seal.pub") != 0 ||
	    seal_pub_read(path, pub, err, errlen) != 0)
		return -1;
	if (ropen_new(key, &ro, err, errlen) != 0)
		return -1;
	ok = ropen_key_is(ro, pub);
	ropen_free(ro);
	if (!ok)
		snprintf(err, errlen, "%s: not this collector's key", key);
	return ok ? 0 : -1;
}

int
counts_cmd_counts(const char *dir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "form", required_argument, NULL, 'f' },
		{ "by", required_argument, NULL, 'b' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "where", required_argument, NULL, 'w' },
		{ "format", required_argument, NULL, 'o' },
		{ "threshold", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	static const char use[] = "counts --form F [--by DIM[,DIM...]] "
	    "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--where DIM=VALUE]... "
	    "[--format table|csv|json|hxl] [--threshold N] [--key FILE]";
	struct aquery q;
	struct csrv_limits lim;
	struct form_catalog *cat = NULL;
	struct astore *as = NULL;
	struct aresult *res = NULL;
	enum aformat fmt = AF_TABLE;
	const char *key = NULL;
	char err[1024], listen[64] = "";
	long threshold = -1;
	char *out, *end;
	size_t len;
	int ch, rc = 1;

	memset(&q, 0, sizeof(q));
	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		switch (ch) {
		case 'f':
			if (strlen(optarg) > FORM_ID_MAX) {
				fprintf(stderr, "collectctl counts: form: too "
				    "long\n");
				return 2;
			}
			snprintf(q.form, sizeof(q.form), "%s", optarg);
			break;
		case 'b':
			if (aquery_set_by(&q, optarg, err, sizeof(err)) != 0)
				goto bad;
			break;
		case 'F':
		case 'T':
			if (astore_day(optarg) < 0) {
				snprintf(err, sizeof(err), "%s: not a date "
				    "YYYY-MM-DD", ch == 'F' ? "from" : "to");
				goto bad;
			}
			snprintf(ch == 'F' ? q.from : q.to, sizeof(q.from),
			    "%s", optarg);
			break;
		case 'w':
			if (aquery_add_where(&q, optarg, err, sizeof(err)) != 0)
				goto bad;
			break;
		case 'o':
			if (arender_format(optarg, &fmt) != 0) {
				snprintf(err, sizeof(err), "format: one of "
				    "table, csv, json, hxl");
				goto bad;
			}
			break;
		case 't':
			errno = 0;
			threshold = strtol(optarg, &end, 10);
			if (errno || *end || threshold < 2 || threshold > 1000) {
				snprintf(err, sizeof(err), "threshold: 2 to "
				    "1000");
				goto bad;
			}
			break;
		case 'k':
			key = optarg;
			break;
		default:
			return cmd_usage(use);
		}
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (dir == NULL || q.form[0] == '\0')
		cli_fail("counts needs --form F");
	csrv_limits_default(&lim);
	if (csrv_config_load(dir, &lim, listen, sizeof(listen), err,
	    sizeof(err)) != 0)
		goto bad;
	q.threshold = threshold > 0 ? threshold : (long)lim.threshold;
	if (key) {
		if (counts_analyst(dir, key, err, sizeof(err)) != 0)
			goto bad;
		q.threshold = 0;	/* an analyst's: unsuppressed */
	}
	if ((cat = form_catalog_new()) == NULL ||
	    csrv_forms_load(dir, cat, err, sizeof(err)) != 0 ||
	    astore_open(dir, 0, &as, err, sizeof(err)) != 0) {
		as = NULL;
		goto bad;
	}
	if (aquery_run(as, cat, &q, &res, err, sizeof(err)) != 0)
		goto bad;
	if ((out = arender(res, fmt, &len)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto bad;
	}
	fwrite(out, 1, len, stdout);
	if (fmt == AF_JSON)
		putchar('\n');
	free(out);
	rc = fflush(stdout) == 0 ? 0 : 1;
	goto done;
bad:
	fprintf(stderr, "collectctl counts: %s\n", err);
done:
	aresult_free(res);
	astore_close(as);
	form_catalog_free(cat);
	return rc;
}

static int
coord_print(void *arg, const char *name, int64_t added_ms)
{
	char when[11];

	(void)arg;
	util_date(added_ms, when);
	printf("%s\tadded %s\n", name, when);
	return 0;
}

/* Names: what a person would type, nothing to escape anywhere. */
static int
coord_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > COORD_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

int
counts_cmd_coordinator(const char *dir, int argc, char **argv)
{
	static const char use[] = "coordinator add NAME | remove NAME | list";
	unsigned char secret[32], hash[32];
	char token[80], err[1024];
	struct cstore *cs;
	int rc = 1, r;

	if (argc < 2)
		cli_fail("coordinator needs add, remove or list");
	if (strcmp(argv[1], "add") && strcmp(argv[1], "remove") &&
	    strcmp(argv[1], "list"))
		cli_fail("unknown command 'coordinator %s'", argv[1]);
	if (strcmp(argv[1], "list") == 0)
		cli_operands(argc, argv, 2, 0, 0, "");
	else if (argc < 3)
		cli_fail("coordinator %s needs NAME", argv[1]);
	else
		cli_operands(argc, argv, 2, 1, 1, "NAME");
	if (dir == NULL)
		return cmd_usage(use);
	if (argc == 3 && !coord_name_ok(argv[2])) {
		fprintf(stderr, "collectctl coordinator: name: 1 to %d of "
		    "A-Z a-z 0-9 - _ .\n", COORD_NAME_MAX);
		return 2;
	}
	if (csrv_store_open(dir, &cs, err, sizeof(err)) != 0) {
		fprintf(stderr, "collectctl coordinator: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "list") == 0) {
		rc = cstore_coordinators(cs, coord_print, NULL) == 0 ? 0 : 1;
	} else if (strcmp(argv[1], "add") == 0) {
		if (rng_bytes(secret, sizeof(secret)) != 0) {
			fprintf(stderr, "collectctl coordinator: no entropy\n");
			goto out;
		}
		memcpy(token, "fct_", 4);
		util_b64url(secret, sizeof(secret), token + 4);
		mbedtls_sha256_ret((const unsigned char *)token, strlen(token),
		    hash, 0);
		r = cstore_coordinator_add(cs, argv[2], hash, util_now_ms());
		if (r == 1)
			fprintf(stderr, "collectctl coordinator: %s exists; "
			    "remove it first to give a new token\n", argv[2]);
		else if (r != 0)
			fprintf(stderr, "collectctl coordinator: %s\n",
			    cstore_errmsg(cs));
		else {
			fprintf(stderr, "coordinator %s added; the token is "
			    "shown once (send it as Authorization: Bearer "
			    "TOKEN):\n", argv[2]);
			printf("%s\n", token);
			rc = 0;
		}
	} else if (strcmp(argv[1], "remove") == 0) {
		r = cstore_coordinator_remove(cs, argv[2]);
		if (r == 0)
			fprintf(stderr, "collectctl coordinator: no coordinator "
			    "%s\n", argv[2]);
		else if (r < 0)
			fprintf(stderr, "collectctl coordinator: %s\n",
			    cstore_errmsg(cs));
		else {
			printf("coordinator %s removed\n", argv[2]);
			rc = 0;
		}
	} else {
		rc = cmd_usage(use);
	}
out:
	mbedtls_platform_zeroize(secret, sizeof(secret));
	mbedtls_platform_zeroize(token, sizeof(token));
	cstore_close(cs);
	return rc;
}
