/*
 * fieldd: the device daemon.  One libuv loop serving the local HTTP API
 * (api.h) and syncing with the collector (dsync.h); every record goes
 * through submit.h into the sealed store.
 *
 *   fieldd -d DATADIR [-c CONFIG] [--listen ADDR:PORT] [-v]
 *
 * Records are stored by a writer thread that commits every submit waiting
 * at once (commit.h); the loop goes on serving meanwhile.
 *
 * SIGTERM and SIGINT stop it cleanly: no new connections, open ones
 * closed, every submit already taken committed and answered (the server
 * waits for deferred answers, then the writer is joined), the store
 * closed, the epoch key wiped.
 * SIGUSR1 starts a sync attempt now (dsync.h); otherwise fieldd syncs
 * by itself whenever records wait and a collector is set.  SIGUSR2 looks
 * at the board (power, storage, clock) now rather than within a minute.
 * SIGHUP takes the forms `fieldctl form add` stored since the start.
 * The board -- LED, button, battery, watchdog -- is boardmon.h's.
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <uv.h>

#include "common/cli.h"
#include "common/jarena.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/version.h"
#include "daemon/api.h"
#include "daemon/boardmon.h"
#include "daemon/commit.h"
#include "daemon/device.h"
#include "http/http.h"
#include "daemon/dsync.h"

static struct http_server *fieldd_http;
static struct dsync_sched *fieldd_sync;
static struct boardmon *fieldd_board;
static struct committer *fieldd_commit;
#define FIELDD_NSIGS 5
static struct device *fieldd_dev;
static uv_signal_t fieldd_sigs[FIELDD_NSIGS];

static const struct cli fieldd_cli = {
	.prog = "fieldd",
	.version = FIELD_VERSION,
	.synopsis = "-d DATADIR [-c CONFIG] [--listen ADDR:PORT] [-v]",
	.more =
	    "  -d DATADIR          the device's store, made by fieldctl init\n"
	    "  -c CONFIG           settings read first (a board's: "
	    "/etc/fieldd/fieldd.conf);\n"
	    "                      DATADIR/fieldd.conf, when there, over them\n"
	    "  --listen ADDR:PORT  the HTTP API's address (default "
	    "127.0.0.1:8080)\n"
	    "  -v                  debug logging\n"
	    "SIGTERM, SIGINT: stop; SIGUSR1: sync now; SIGUSR2: look at the "
	    "board now;\nSIGHUP: take the forms fieldctl form add stored.\n"
	    "See fieldd(8), fieldd.conf(5).\n",
};

static void
fieldd_stopped(void *arg)
{
	(void)arg;
	fieldd_http = NULL;
	/* every deferred answer is out (the server waited for them): the
	   writer's queue is empty */
	committer_stop(fieldd_commit);
	fieldd_commit = NULL;
	for (int i = 0; i < FIELDD_NSIGS; i++)
		uv_close((uv_handle_t *)&fieldd_sigs[i], NULL);
}

static void
fieldd_on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGUSR1) {
		log_info("fieldd: SIGUSR1: sync now");
		if (fieldd_sync)
			dsync_sched_kick(fieldd_sync);
		return;
	}
	if (signum == SIGUSR2) {
		if (fieldd_board)
			boardmon_poll(fieldd_board);
		return;
	}
	if (signum == SIGHUP) {
		char err[512];

		/* Forms `fieldctl form add` stored since the start: the
		   ones already loaded are a no-op to add again. */
		if (store_forms_load(fieldd_dev->st, fieldd_dev->cat, err,
		    sizeof(err)) != 0)
			log_err("fieldd: SIGHUP: forms not reloaded: %s", err);
		else
			log_info("fieldd: SIGHUP: forms reloaded, %zu form "
			    "versions", form_catalog_count(fieldd_dev->cat));
		return;
	}
	log_info("fieldd: signal %d, stopping", signum);
	for (int i = 0; i < FIELDD_NSIGS; i++)
		uv_signal_stop(&fieldd_sigs[i]);
	if (fieldd_board)
		boardmon_stop(fieldd_board);
	fieldd_board = NULL;
	if (fieldd_sync)
		dsync_sched_stop(fieldd_sync);
	fieldd_sync = NULL;
	if (fieldd_http)
		http_server_stop(fieldd_http, fieldd_stopped, NULL);
}

/* No core dumps: a dump of fieldd could hold an epoch key or a record
   being sealed. */
static void
fieldd_no_core(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *conf = NULL, *listen = NULL;
	struct device dev;
	struct api api = { 0 };
	struct board *board;
	struct http_limits lim;
	char err[1024];
	uv_loop_t *loop = uv_default_loop();
	int ch, verbose = 0, rc;

	/* One malloc arena for both threads: a writer thread's own arena
	   would hold its high-water mark of pages apart from the loop's,
	   and a board has little memory to spare.  Where sharing its lock
	   cost most, the loop's parse of each record (a quarter of the
	   loop's time with eight phones), records are parsed into a region
	   of their own instead (common/jarena.h). */
	mallopt(M_ARENA_MAX, 1);
	log_init("fieldd", LOG_INFO);
	if (jarena_init() != 0)
		log_warn("fieldd: no region for parsing records; parsing them "
		    "with malloc");
	cli_init(&fieldd_cli);
	while ((ch = cli_getopt(argc, argv, "hd:c:v", longopts)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'c': conf = optarg; break;
		case 'l': listen = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': cli_help();
		}
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (dir == NULL)
		cli_fail("missing -d DATADIR");
	fieldd_no_core();
	signal(SIGPIPE, SIG_IGN);
	if (device_open(&dev, dir, conf, err, sizeof(err)) != 0)
		fatal("%s", err);
	fieldd_dev = &dev;
	log_set_level(verbose ? LOG_DEBUG : (enum log_level)dev.cfg.log_level);
	if (listen && config_parse_listen(listen, dev.cfg.listen_addr,
	    sizeof(dev.cfg.listen_addr), &dev.cfg.listen_port) != 0)
		fatal("--listen: expected ADDR:PORT, e.g. 127.0.0.1:8080");
	lim.max_header_bytes = dev.cfg.max_header_bytes;
	lim.max_body_bytes = (size_t)dev.cfg.max_body_kb * 1024;
	lim.max_conns = dev.cfg.max_connections;
	lim.idle_ms = dev.cfg.idle_timeout_s * 1000;
	lim.request_ms = dev.cfg.request_timeout_s * 1000;
	api.dev = &dev;
	rc = http_server_start(loop, dev.cfg.listen_addr, dev.cfg.listen_port,
	    &lim, api_handle, &api, &fieldd_http);
	if (rc != 0)
		fatal("listen on %s:%d: %s", dev.cfg.listen_addr,
		    dev.cfg.listen_port, uv_strerror(rc));
	http_server_set_admit(fieldd_http, api_admit);
	for (int i = 0; i < FIELDD_NSIGS; i++) {
		static const int signums[FIELDD_NSIGS] = { SIGTERM, SIGINT,
		    SIGUSR1, SIGUSR2, SIGHUP };
		uv_signal_init(loop, &fieldd_sigs[i]);
		uv_signal_start(&fieldd_sigs[i], fieldd_on_signal, signums[i]);
	}
	if ((fieldd_sync = dsync_sched_start(loop, &dev)) == NULL)
		fatal("out of memory");
	if (board_open(&dev.cfg.board, &board, err, sizeof(err)) != 0)
		fatal("%s", err);
	if ((fieldd_board = boardmon_start(loop, &dev, board,
	    fieldd_sync)) == NULL)
		fatal("out of memory");
	api.board = fieldd_board;
	/* Everything is open: from here on, the system calls serving needs
	   only (common/sandbox.h). */
	if ((rc = sandbox_enter(err, sizeof(err))) < 0)
		fatal("%s", err);
	if (rc == 1)
		log_warn("fieldd: FIELD_SANDBOX=off: no system call allow-list "
		    "(for debugging only)");
	/* The writer thread after the filter, so that it is under it too
	   (a filter binds the thread that loads it and those it starts). */
	if ((fieldd_commit = committer_start(loop, &dev, err,
	    sizeof(err))) == NULL)
		fatal("the writer: %s", err);
	api.commit = fieldd_commit;
	if (dev.cfg.collector_host[0] == '\0')
		log_info("fieldd: no collector set: records wait for fieldctl "
		    "enroll or a bundle export");
	log_info("fieldd: device %s listening on http://%s:%d/api/",
	    dev.sub.device_id, dev.cfg.listen_addr, http_server_port(fieldd_http));
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	device_close(&dev);
	log_info("fieldd: stopped");
	return 0;
}
