/*
 * chttp.h: collectord's HTTP for coordinators (on http/http.h), on the
 * same loop as the devices' TLS.
 *
 *   GET /                the coordinator page (web/coord, compiled in)
 *   GET /coord.js, /coord.css
 *   GET /forms           the forms with counts: dimensions, measures
 *   GET /counts?form=F&by=D1,D2&from=DATE&to=DATE&where=DIM:VALUE
 *       &format=json|csv|hxl     counts (analysis/query.h), suppressed
 *
 * /forms and /counts need "Authorization: Bearer TOKEN", a coordinator's
 * (collectctl coordinator add); a missing or wrong token gets 401 and no
 * data, and an address that keeps failing is locked out for a while (429).
 * Coordinators always get suppressed counts: there is no parameter that
 * lowers the threshold.  Answers carry an ETag made of the analysis
 * tables' generation and the query, so a coordinator on a slow link
 * revalidates (If-None-Match, 304) and fetches again only what changed;
 * recent answers are kept in memory, so a page reloaded by many people
 * costs one query.  Every answer carries a content security policy and
 * nosniff.  No answer holds a record, only counts.
 *
 * Plain HTTP: bind it to loopback and put a TLS proxy in front of it to
 * serve coordinators elsewhere (collectord.conf, http_listen).
 *
 * Ownership: struct chttp is the caller's; chttp_start fills it and owns
 * the HTTP server and the form catalogue until chttp_stop.
 */
#ifndef CHTTP_H
#define CHTTP_H

#include <uv.h>

#include "analysis/query.h"
#include "analysis/render.h"
#include "common/lockout.h"
#include "http/http.h"
#include "collector/csrv.h"

#define CHTTP_CACHE 16
/* Wrong tokens: CHTTP_LOCK_FAILS from one client (an IPv4 address or an
   IPv6 /64) within CHTTP_LOCK_MS lock it until then (common/lockout.h);
   CHTTP_LOCK_SLOTS clients, a live one never forgotten, the table full:
   429 for a new client.  Each count is kept in the store too
   (cstore_token_fails_put), so a restart does not reset a lock. */
#define CHTTP_LOCK_FAILS 10
#define CHTTP_LOCK_MS (60 * 1000)
#define CHTTP_LOCK_SLOTS 512

struct chttp_cached {
	char key[1200];			/* format, threshold, query */
	int64_t generation;
	char *body;
	size_t len;
	const char *ctype;
	uint64_t used;
};

struct chttp {
	struct csrv *srv;		/* its store holds the tokens */
	struct form_catalog *cat;
	struct http_server *http;
	unsigned threshold;
	struct chttp_cached cache[CHTTP_CACHE];
	uint64_t tick;
	struct lockout_table lock;
};

/* Loads the forms and serves on listen (ADDR:PORT).  0 and the bound
   port in *port, or -1 with err. */
int chttp_start(struct chttp *h, struct csrv *srv, uv_loop_t *loop,
    const char *listen, unsigned threshold, int *port, char *err,
    size_t errlen);
/* Reloads the forms (SIGHUP).  0 or -1 with err (the old ones stay). */
int chttp_reload(struct chttp *h, char *err, size_t errlen);
/* Stops serving and frees what it holds; done(arg) once closed. */
void chttp_stop(struct chttp *h, void (*done)(void *), void *arg);

/* A /counts query string (raw, after '?') into q and *fmt (json when not
   given): percent-decoded, each value bounded.  0, or -1 with err naming
   the parameter at fault.  q's threshold is left for the caller. */
int chttp_query_parse(const char *qs, struct aquery *q, enum aformat *fmt,
    char *err, size_t errlen);

#endif
