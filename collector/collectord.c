/*
 * collectord: the central collector.  One libuv loop: TLS connections
 * from devices (csrv.h), each record batch stored durably before its ack.
 * It never holds the private sealing key: records stay sealed.
 *
 *   collectord -d CDIR [--listen ADDR:PORT] [--http ADDR:PORT]
 *              [--max-conns N] [--idle-timeout S] [--old-welcome] [-v]
 *
 * With --http (or http_listen in collectord.conf) it also serves
 * coordinators their counts and page (chttp.h).
 *
 * Settings come from CDIR/collectord.conf (csrv.h) when it is there;
 * the options win over it.
 *
 * SIGTERM and SIGINT stop it: no new connections, sessions closed (a
 * batch being stored has committed, as handlers run to completion), the
 * store closed.  The form catalogue follows CDIR/forms: a form `collectctl
 * form add` wrote is loaded at the next device's hello, or within two
 * seconds (a poll of the folder, which also updates the coordinators'
 * forms), and SIGHUP reloads it at once.  Under systemd it
 * says READY=1 once listening, and WATCHDOG=1 at half of WatchdogSec.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/config_file.h"
#include "common/version.h"
#include "collector/chttp.h"
#include "collector/csrv.h"

static struct csrv srv;
static struct chttp web;
static uv_tcp_t listener;
static uv_signal_t sigs[3];
static uv_timer_t watchdog;	/* systemd's WatchdogSec, kicked from the loop */
static uv_fs_poll_t forms_poll;	/* CDIR/forms, for the coordinators' forms */
static int web_on;

static const struct cli collectord_cli = {
	.prog = "collectord",
	.version = FIELD_VERSION,
	.synopsis = "-d CDIR [--listen ADDR:PORT] [--http ADDR:PORT] "
	    "[--max-conns N] [--idle-timeout S] [--old-welcome] [-v]",
	.more =
	    "  -d CDIR             the collector, made by collectctl init; "
	    "settings from\n"
	    "                      CDIR/collectord.conf, which the options "
	    "override\n"
	    "  --listen ADDR:PORT  devices' TLS (default 127.0.0.1:7443)\n"
	    "  --http ADDR:PORT    coordinators' counts and page (plain "
	    "HTTP)\n"
	    "  --max-conns N       device connections at once (1 to 65536)\n"
	    "  --idle-timeout S    closes a silent device after S seconds "
	    "(1 to 86400)\n"
	    "  --old-welcome       as the version before: no batch carry nor "
	    "held seqs\n"
	    "                      in the welcome (compatibility tests)\n"
	    "  -v                  debug logging\n"
	    "SIGTERM, SIGINT: stop; SIGHUP: reload CDIR/forms.\n"
	    "See collectord(8), collectord.conf(5).\n",
};

static void
on_connection(uv_stream_t *l, int status)
{
	if (status < 0) {
		log_warn("collectord: accept: %s", uv_strerror(status));
		return;
	}
	csrv_accept(&srv, l);
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

/* The catalogue changed: the coordinators' /forms and page follow. */
static void
on_forms_changed(void *arg)
{
	char err[512];

	(void)arg;
	if (web_on && chttp_reload(&web, err, sizeof(err)) != 0)
		log_err("collectord: http: forms not reloaded: %s", err);
}

static void
on_forms_poll(uv_fs_poll_t *h, int status, const uv_stat_t *prev,
    const uv_stat_t *cur)
{
	(void)h, (void)status, (void)prev, (void)cur;
	csrv_forms_refresh(&srv, 0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGHUP) {
		csrv_forms_refresh(&srv, 1);
		return;
	}
	(void)h;
	log_info("collectord: signal %d, stopping", signum);
	sd_notify(0, "STOPPING=1");
	uv_close((uv_handle_t *)&watchdog, NULL);
	uv_close((uv_handle_t *)&forms_poll, NULL);
	for (int i = 0; i < 3; i++)
		uv_close((uv_handle_t *)&sigs[i], NULL);
	uv_close((uv_handle_t *)&listener, NULL);
	chttp_stop(&web, NULL, NULL);
	csrv_close_all(&srv);
}

static unsigned
number(const char *s, const char *what, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end || v < lo || v > hi) {
		fprintf(stderr, "collectord: %s: expected %u to %u\n", what, lo,
		    hi);
		exit(2);
	}
	return (unsigned)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "http", required_argument, NULL, 'H' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "old-welcome", no_argument, NULL, 'C' },
		CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *listen_opt = NULL, *http_opt = NULL;
	static char forms_dir[4200];
	char listen[80] = "127.0.0.1:7443";
	unsigned max_conns = 0, idle_s = 0;
	int old_welcome = 0;
	struct csrv_limits lim;
	struct sockaddr_storage sa;
	struct rlimit rl = { 0, 0 };
	uv_loop_t *loop = uv_default_loop();
	char addr[64], err[1024];
	int ch, port, rc, namelen = sizeof(sa), verbose = 0;
	uint64_t wd_usec = 0;

	log_init("collectord", LOG_INFO);
	csrv_limits_default(&lim);
	cli_init(&collectord_cli);
	while ((ch = cli_getopt(argc, argv, "hd:v", longopts)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'l': listen_opt = optarg; break;
		case 'H': http_opt = optarg; break;
		case 'm': max_conns = number(optarg, "--max-conns", 1,
		    65536); break;
		case 'i': idle_s = number(optarg, "--idle-timeout", 1, 86400);
		    break;
		case 'C': old_welcome = 1; break;
		case 'v': verbose = 1; break;
		case 'h': cli_help();
		}
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (dir == NULL)
		cli_fail("missing -d CDIR");
	if (verbose)
		log_set_level(LOG_DEBUG);
	if (csrv_config_load(dir, &lim, listen, sizeof(listen), err,
	    sizeof(err)) != 0) {
		while (strlen(err) && err[strlen(err) - 1] == '\n')
			err[strlen(err) - 1] = '\0';
		log_err("collectord: %s", err);
		return 2;
	}
	if (listen_opt)
		snprintf(listen, sizeof(listen), "%s", listen_opt);
	if (http_opt)
		snprintf(lim.http_listen, sizeof(lim.http_listen), "%s",
		    http_opt);
	if (max_conns)
		lim.max_conns = max_conns;
	if (idle_s)
		lim.idle_ms = idle_s * 1000;
	lim.old_welcome = old_welcome;
	/* A dump could hold the CA key. */
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (config_parse_listen(listen, addr, sizeof(addr), &port) != 0) {
		fprintf(stderr, "collectord: --listen: expected ADDR:PORT\n");
		return 2;
	}
	if (csrv_open(&srv, loop, dir, &lim, err, sizeof(err)) != 0) {
		log_err("collectord: %s", err);
		return 1;
	}
	uv_tcp_init(loop, &listener);
	if ((rc = uv_ip4_addr(addr, port, (struct sockaddr_in *)&sa)) != 0 &&
	    (rc = uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&sa)) != 0)
		goto listen_fail;
	if ((rc = uv_tcp_bind(&listener, (struct sockaddr *)&sa, 0)) != 0)
		goto listen_fail;
	tls_listener_fast_open(&listener);
	if ((rc = uv_listen((uv_stream_t *)&listener, 128,
	    on_connection)) != 0)
		goto listen_fail;
	uv_tcp_getsockname(&listener, (struct sockaddr *)&sa, &namelen);
	port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
	for (int i = 0; i < 3; i++) {
		static const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
		uv_signal_init(loop, &sigs[i]);
		uv_signal_start(&sigs[i], on_signal, signums[i]);
	}
	if (lim.http_listen[0]) {
		char haddr[64];
		int hport;

		if (chttp_start(&web, &srv, loop, lim.http_listen,
		    lim.threshold, &hport, err, sizeof(err)) != 0) {
			log_err("collectord: %s", err);
			uv_close((uv_handle_t *)&listener, NULL);
			for (int i = 0; i < 3; i++)
				uv_close((uv_handle_t *)&sigs[i], NULL);
			csrv_close_all(&srv);
			uv_run(loop, UV_RUN_DEFAULT);
			csrv_close(&srv);
			return 1;
		}
		config_parse_listen(lim.http_listen, haddr, sizeof(haddr),
		    &rc);
		log_info("collectord: http listening on %s:%d", haddr, hport);
		web_on = 1;
	}
	srv.forms_changed = on_forms_changed;
	snprintf(forms_dir, sizeof(forms_dir), "%s/forms", dir);
	uv_fs_poll_init(loop, &forms_poll);
	uv_fs_poll_start(&forms_poll, on_forms_poll, forms_dir, 2000);
	/* Everything is open: from here on, the system calls serving needs
	   only (common/sandbox.h). */
	if ((rc = sandbox_enter(err, sizeof(err))) < 0) {
		log_err("collectord: %s", err);
		return 1;
	}
	if (rc == 1)
		log_warn("collectord: FIELD_SANDBOX=off: no system call "
		    "allow-list (for debugging only)");
	log_info("collectord: %s: catalogue %s; listening on %s:%d", dir,
	    srv.catalogue.version, addr, port);
	uv_timer_init(loop, &watchdog);
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		uv_timer_start(&watchdog, on_watchdog, wd_usec / 2000,
		    wd_usec / 2000);
	sd_notify(0, "READY=1");
	uv_run(loop, UV_RUN_DEFAULT);
	csrv_close(&srv);
	uv_loop_close(loop);
	log_info("collectord: stopped, %llu records in %llu batches, "
	    "%llu transactions (%llu groups stored again batch by batch)",
	    (unsigned long long)srv.records_in,
	    (unsigned long long)srv.batches_in,
	    (unsigned long long)srv.groups_in,
	    (unsigned long long)srv.group_retries);
	return 0;
listen_fail:
	log_err("collectord: listen on %s:%d: %s", addr, port,
	    uv_strerror(rc));
	csrv_close(&srv);
	return 1;
}
