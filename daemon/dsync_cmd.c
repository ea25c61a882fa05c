/* dsync_cmd.c: see dsync_cmd.h. */
#include "daemon/dsync_cmd.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cli.h"
#include "common/util.h"
#include "daemon/dsync.h"
#include "daemon/enroll.h"
#include "daemon/outbox.h"

#define DSYNC_CMD_ENROLL_TIMEOUT_MS 30000

static int
open_dev(struct device *d, const char *dir, const char *cmd)
{
	char err[1024];

	if (device_open(d, dir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

static int
conf_path(char *out, size_t len, const char *dir)
{
	return snprintf(out, len, "%s/fieldd.conf", dir) < (int)len ? 0 : -1;
}

int
dsync_cmd_enroll(const char *dir, int argc, char **argv)
{
	const char *collector = NULL, *token = NULL;
	char host[256], port[8], err[1024], conf[PATH_MAX];
	struct device d;
	int p, rc;

	static const struct option lo[] = {
		{ "collector", required_argument, NULL, 'c' },
		{ "token", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch == 'c')
			collector = optarg;
		else
			token = optarg;
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (collector == NULL || token == NULL)
		cli_fail("enroll needs --collector HOST:PORT and --token TOKEN");
	if (config_parse_listen(collector, host, sizeof(host), &p) != 0 ||
	    p == 0) {
		fprintf(stderr, "fieldctl enroll: --collector: expected "
		    "HOST:PORT\n");
		return 2;
	}
	snprintf(port, sizeof(port), "%d", p);
	if (open_dev(&d, dir, "enroll") != 0)
		return 1;
	rc = enroll_run(dir, d.sub.device_id, host, port, token,
	    DSYNC_CMD_ENROLL_TIMEOUT_MS, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fieldctl enroll: %s\n", err);
	else if (conf_path(conf, sizeof(conf), dir) != 0 ||
	    config_file_set(conf, "collector", collector, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl enroll: enrolled, but the address "
		    "was not kept: %s\n", err);
		rc = -1;
	} else
		printf("device %s enrolled with %s; its key stays in %s/%s\n",
		    d.sub.device_id, collector, dir, DSYNC_KEY_FILE);
	device_close(&d);
	return rc ? 1 : 0;
}

int
dsync_cmd_csr(const char *dir, int argc, char **argv)
{
	struct device d;
	char err[1024];
	int rc;

	cli_operands(argc, argv, 1, 1, 1, "OUT");
	if (open_dev(&d, dir, "csr") != 0)
		return 1;
	rc = enroll_csr_write(dir, d.sub.device_id, argv[1], err,
	    sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fieldctl csr: %s\n", err);
	else
		printf("certificate request for device %s in %s: have it "
		    "signed with collectctl sign-csr, then fieldctl "
		    "install-cert\n", d.sub.device_id, argv[1]);
	device_close(&d);
	return rc ? 1 : 0;
}

int
dsync_cmd_install_cert(const char *dir, int argc, char **argv)
{
	struct device d;
	char err[1024];
	int rc;

	cli_operands(argc, argv, 1, 2, 2, "CERT and CA");
	if (open_dev(&d, dir, "install-cert") != 0)
		return 1;
	rc = enroll_install(dir, d.sub.device_id, argv[1], argv[2], err,
	    sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fieldctl install-cert: %s\n", err);
	else
		printf("device %s: certificate installed\n", d.sub.device_id);
	device_close(&d);
	return rc ? 1 : 0;
}

int
dsync_cmd_config(const char *dir, int argc, char **argv)
{
	char conf[PATH_MAX], err[1024];

	if (argc >= 2 && strcmp(argv[1], "set") != 0)
		cli_fail("unknown command 'config %s'", argv[1]);
	cli_operands(argc, argv, 1, 3, 3, "set KEY VALUE");
	if (conf_path(conf, sizeof(conf), dir) != 0 ||
	    config_file_set(conf, argv[2], argv[3], err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl config set: %s\n", err);
		return 1;
	}
	printf("%s = %s in %s; fieldd reads it when it starts\n", argv[2],
	    argv[3], conf);
	return 0;
}

struct cmd_sync {
	enum dsync_result r;
	char reason[256];
};

static void
cmd_sync_done(void *arg, enum dsync_result r, const char *reason)
{
	struct cmd_sync *cs = arg;

	cs->r = r;
	snprintf(cs->reason, sizeof(cs->reason), "%s", reason);
}

static void
cmd_sync_waited(uv_timer_t *t)
{
	(void)t;
}

static void
cmd_sync_wait(uv_loop_t *loop, uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, cmd_sync_waited, ms, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}

int
dsync_cmd_sync(const char *dir, int argc, char **argv)
{
	struct dsync_state state = { 0 };
	struct cmd_sync cs = { DSYNC_FAILED, "" };
	struct store_stats st;
	struct device d;
	uv_loop_t loop;
	uint64_t acked = 0;
	long attempts = 1;
	static const struct option lo[] = {
		{ "attempts", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};

	optind = 0;	/* GNU getopt: start afresh for the command */
	while (cli_getopt(argc, argv, "", lo) != -1) {
		attempts = strtol(optarg, NULL, 10);
		if (attempts < 1 || attempts > 100000)
			cli_fail("sync: --attempts: expected 1 to 100000");
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (open_dev(&d, dir, "sync") != 0)
		return 1;
	uv_loop_init(&loop);
	for (long i = 0; i < attempts; i++) {
		if (i > 0)
			cmd_sync_wait(&loop, dsync_retry_ms(&state,
			    d.cfg.sync_retry_max_s < 30 ?
			    d.cfg.sync_retry_max_s : 30));
		if (dsync_start(&loop, &d, &state, cmd_sync_done, &cs) ==
		    NULL) {
			snprintf(cs.reason, sizeof(cs.reason), "out of memory");
			break;
		}
		uv_run(&loop, UV_RUN_DEFAULT);
		if (cs.r != DSYNC_FAILED)
			break;
		fprintf(stderr, "fieldctl sync: attempt %ld: %s\n", i + 1,
		    cs.reason);
	}
	uv_loop_close(&loop);
	dsync_state_fini(&state);
	if (cs.r == DSYNC_DONE && dsync_purge(&d) < 0)
		fprintf(stderr, "fieldctl sync: purge: %s\n",
		    store_errmsg(d.st));
	store_stats(d.st, &st);
	outbox_acked(d.st, &acked);
	printf("acknowledged up to seq %" PRIu64 " of %" PRIu64 "%s\n", acked,
	    st.last_seq, cs.r == DSYNC_BUDGET ? " (the day's byte budget is "
	    "spent)" : "");
	device_close(&d);
	return cs.r == DSYNC_DONE && acked >= st.last_seq ? 0 : 1;
}

static json_t *
time_or_null(struct store *st, const char *key)
{
	char v[32], out[32];
	time_t t;

	if (store_meta_get(st, key, v, sizeof(v)) != 1)
		return json_null();
	t = (time_t)(strtoll(v, NULL, 10) / 1000);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return json_string(out);
}

int
dsync_status_json(struct device *d, json_t *o)
{
	struct store_stats st;
	uint64_t acked;
	char v[256], collector[300] = "";

	if (store_stats(d->st, &st) != 0 || outbox_acked(d->st, &acked) != 0)
		return -1;
	if (d->cfg.collector_host[0])
		snprintf(collector, sizeof(collector), "%s:%d",
		    d->cfg.collector_host, d->cfg.collector_port);
	json_object_set_new(o, "collector", collector[0] ?
	    json_string(collector) : json_null());
	json_object_set_new(o, "enrolled", json_boolean(dsync_enrolled(d->dir)));
	json_object_set_new(o, "pending", json_integer((json_int_t)(
	    st.last_seq > acked ? st.last_seq - acked : 0)));
	json_object_set_new(o, "acked_seq", json_integer((json_int_t)acked));
	json_object_set_new(o, "last_sync_ok", time_or_null(d->st,
	    DSYNC_META_LAST_OK));
	json_object_set_new(o, "last_sync_attempt", time_or_null(d->st,
	    DSYNC_META_LAST_TRY));
	json_object_set_new(o, "last_sync_error", store_meta_get(d->st,
	    DSYNC_META_LAST_ERROR, v, sizeof(v)) == 1 && v[0] ?
	    json_string(v) : json_null());
	json_object_set_new(o, "clock_offset_ms", store_meta_get(d->st,
	    DSYNC_META_OFFSET, v, sizeof(v)) == 1 ?
	    json_integer(strtoll(v, NULL, 10)) : json_null());
	/* What sync learned about the link, which the next process
	   starts from: null until an attempt has ended. */
	json_object_set_new(o, "link_batch_bytes", store_meta_get(d->st,
	    DSYNC_META_LINK_BATCH, v, sizeof(v)) == 1 ?
	    json_integer(strtoll(v, NULL, 10)) : json_null());
	json_object_set_new(o, "link_rtt_ms", store_meta_get(d->st,
	    DSYNC_META_LINK_RTT, v, sizeof(v)) == 1 ?
	    json_integer(strtoll(v, NULL, 10)) : json_null());
	return 0;
}
