/* api.c: see api.h. */
#include "daemon/api.h"
#include "daemon/boardmon.h"
#include "daemon/commit.h"

#include "daemon/counts_view.h"
#include "daemon/openrosa.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mbedtls/platform_util.h>

#include "common/embedded.h"
#include "common/jarena.h"
#include "common/log.h"
#include "common/version.h"
#include "common/util.h"
#include "http/http_static.h"
#include "daemon/users.h"
#include "daemon/dsync_cmd.h"
#include "form/form.h"

#define API_RECENT_MAX 200	/* today's submissions listed */

static void
api_json(struct http_response *res, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL) {
		http_respond(res, 500, "application/json",
		    "{\"error\":\"out of memory\"}", 25);
		return;
	}
	res->status = status;
	res->content_type = "application/json";
	res->body = text;
	res->body_len = strlen(text);
}

static void
api_error(struct http_response *res, int status, const char *msg)
{
	api_json(res, status, json_pack("{s:s}", "error", msg));
}

/* The value of ?name= in a query, percent-decoding not needed for the
   ids and versions we accept (checked by the catalogue anyway). */
static int
api_query(const char *query, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ?
	    p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "&");
			if (len == 0 || len >= outlen)
				return -1;
			memcpy(out, p + n + 1, len);
			out[len] = '\0';
			return 1;
		}
	}
	return 0;
}

static int
api_authorised(struct api *a, const struct http_request *req,
    struct http_response *res, char *who, size_t wholen)
{
	const char *h = http_header_get(req, "Authorization");
	int64_t now = util_now_ms();
	int ok;

	if (users_lockout(a->dev->st, NULL, req->peer, 0, now)) {
		api_error(res, 429, "too many failed logins from this address; "
		    "wait a few minutes");
		return 0;
	}
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		http_add_header(res, "WWW-Authenticate", "Bearer");
		api_error(res, 401, "missing bearer token");
		return 0;
	}
	ok = users_who(a->dev->st, h + 7, who, wholen);
	if (ok == 1)
		return 1;
	if (ok == 0)
		users_lockout(a->dev->st, NULL, req->peer, 1, now);
	http_add_header(res, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	api_error(res, ok < 0 ? 500 : 401, ok < 0 ? "store failure" :
	    "invalid token");
	return 0;
}

/* POST /api/login {"user", "pin"}: a session token for the web app. */
static void
api_login(struct api *a, const struct http_request *req,
    struct http_response *res)
{
	char token[USERS_TOKEN_LEN + 1];
	const char *user, *pin;
	json_t *body;
	int rc;

	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    NULL);
	user = json_string_value(json_object_get(body, "user"));
	pin = json_string_value(json_object_get(body, "pin"));
	if (user == NULL || pin == NULL || strlen(user) > USERS_NAME_MAX ||
	    strlen(pin) > USERS_PIN_MAX) {
		json_decref(body);
		api_error(res, 400, "send {\"user\": NAME, \"pin\": PIN}");
		return;
	}
	rc = users_login(a->dev->st, user, pin, req->peer, util_now_ms(),
	    token);
	if (rc == 1) {
		log_info("fieldd: %s logged in from %s", user, req->peer);
		api_json(res, 200, json_pack("{s:s, s:s, s:i}", "token", token,
		    "user", user, "expires_s", USERS_SESSION_S));
	} else if (rc == 2) {
		api_error(res, 429, "too many wrong PINs: wait a few minutes");
	} else if (rc == 0) {
		log_warn("fieldd: a failed login from %s", req->peer);
		api_error(res, 401, "wrong name or PIN");
	} else {
		api_error(res, 500, "store failure");
	}
	mbedtls_platform_zeroize(token, sizeof(token));
	json_decref(body);
}

static int
api_recent(void *arg, const char *id, const char *form, const char *version,
    int64_t created_ms)
{
	char when[32];
	time_t t = (time_t)(created_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s}",
	    "id", id, "form", form, "version", version, "created", when));
}

/* GET /api/submissions: today's records (ids, forms, times: never their
   values) and what waits to sync. */
static void
api_submissions(struct api *a, struct http_response *res)
{
	int64_t now = util_now_ms();
	json_t *o = json_object(), *today = json_array();

	if (store_recent(a->dev->st, now - now % 86400000LL,
	    API_RECENT_MAX, api_recent, today) != 0 ||
	    dsync_status_json(a->dev, o) != 0) {
		json_decref(o);
		json_decref(today);
		api_error(res, 500, "store failure");
		return;
	}
	api_json(res, 200, json_pack("{s:o, s:O, s:O}", "today", today,
	    "pending", json_object_get(o, "pending"), "last_sync",
	    json_object_get(o, "last_sync_ok")));
	json_decref(o);
}

static void
api_forms(struct api *a, struct http_response *res)
{
	json_t *arr = json_array();
	const struct form *f;

	for (size_t i = 0; (f = form_catalog_nth(a->dev->cat, i)); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}",
		    "form_id", form_id(f), "version", form_version(f),
		    "title", form_title(f)));
	api_json(res, 200, json_pack("{s:o}", "forms", arr));
}

static void
api_form(struct api *a, const struct http_request *req, const char *id,
    struct http_response *res)
{
	char version[FORM_VERSION_MAX + 1];
	const struct form *f;
	int hv = api_query(req->query, "version", version, sizeof(version));

	f = form_catalog_get(a->dev->cat, id, hv == 1 ? version : NULL);
	if (f == NULL || hv < 0) {
		api_error(res, 404, "unknown form or version");
		return;
	}
	/* the text as kept: no tree of a large definition on the way */
	if ((res->body = form_definition_text(f, &res->body_len)) == NULL) {
		api_error(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->content_type = "application/json";
}

static json_t *
api_errors_json(const struct submit_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->errs.n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "path",
		    r->errs.e[i].path, "reason", r->errs.e[i].reason));
	return json_pack("{s:s, s:s, s:s, s:o, s:I}", "error",
	    "validation failed", "form", r->form_id, "version", r->version,
	    "errors", arr, "more_errors", (json_int_t)r->errs.dropped);
}

/* A record waiting for the commit that covers it. */
struct api_pending {
	struct commit_req cr;		/* first: done gets &cr */
	struct http_deferred *d;
	api_answer_fn answer;
	json_t *rec;
	char who[USERS_NAME_MAX + 1];
	char headers[sizeof(((struct http_response *)0)->headers)];
	struct submit_result res;	/* last: not cleared (20 KiB) */
};

static void
api_pending_free(struct api_pending *p)
{
	submit_job_free(&p->cr.job);
	json_decref(p->rec);
	free(p);
}

/* On the loop, once the writer's commit has returned. */
static void
api_submit_done(struct commit_req *cr)
{
	struct api_pending *p = (struct api_pending *)cr;
	struct http_response res;

	memset(&res, 0, sizeof(res));
	memcpy(res.headers, p->headers, sizeof(res.headers));
	p->answer(&res, p->cr.job.res, p->who);
	http_deferred_answer(p->d, &res);
	api_pending_free(p);
}

void
api_submit_record(struct api *a, struct http_response *res,
    const char *form_id, const char *version, json_t *rec,
    api_answer_fn answer, const char *who)
{
	struct submitter *s = &a->dev->sub;
	struct api_pending *p;
	struct submit_job *j;

	if ((p = malloc(sizeof(*p))) == NULL) {
		static const struct submit_result oom = { .status =
		    SUBMIT_ERROR, .msg = "out of memory" };

		json_decref(rec);
		answer(res, &oom, who);
		return;
	}
	memset(p, 0, offsetof(struct api_pending, res));
	p->rec = rec;
	p->answer = answer;
	snprintf(p->who, sizeof(p->who), "%s", who ? who : "");
	j = &p->cr.job;
	j->form_id = form_id;	/* read by the check only */
	j->version = version;
	j->recs = &p->rec;
	j->n = 1;
	j->res = &p->res;
	if (submit_job_check(s, j, NULL, NULL) != SUBMIT_OK) {
		answer(res, j->res, p->who);
		api_pending_free(p);
		return;
	}
	if (a->commit == NULL || (p->d = http_defer(res)) == NULL) {
		/* no writer thread: commit here, on the loop */
		struct submit_job *one[1] = { j };

		submit_jobs_store(s, s->st, one, 1);
		if (j->worst == SUBMIT_OK && s->stored)
			s->stored(s->stored_arg);
		answer(res, j->res, p->who);
		api_pending_free(p);
		return;
	}
	memcpy(p->headers, res->headers, sizeof(p->headers));
	p->cr.done = api_submit_done;
	committer_queue(a->commit, &p->cr);
}

static void
api_submit_answer(struct http_response *res, const struct submit_result *r,
    const char *who)
{
	(void)who;
	switch (r->status) {
	case SUBMIT_OK:
	case SUBMIT_DUPLICATE:
		/* at info, one line per commit says what was stored
		   (commit.c) */
		log_debug("api: stored %s seq %llu form %s version %s%s", r->id,
		    (unsigned long long)r->seq, r->form_id, r->version,
		    r->status == SUBMIT_DUPLICATE ? " (duplicate)" : "");
		api_json(res, r->status == SUBMIT_OK ? 201 : 200,
		    json_pack("{s:s, s:I, s:s, s:s, s:b}", "_id", r->id, "seq",
		    (json_int_t)r->seq, "form", r->form_id, "version",
		    r->version, "duplicate", r->status == SUBMIT_DUPLICATE));
		break;
	case SUBMIT_INVALID:
		log_info("api: refused a %s record: %s", r->form_id, r->msg);
		api_json(res, 422, api_errors_json(r));
		break;
	case SUBMIT_NO_FORM:
		api_error(res, 404, r->msg);
		break;
	case SUBMIT_NO_SPACE:
		api_error(res, 507, r->msg);
		break;
	case SUBMIT_REFUSED:
		http_add_header(res, "Retry-After", "600");
		api_error(res, 503, r->msg);
		break;
	default:
		api_error(res, 500, r->msg);
		break;
	}
}

static void
api_submit(struct api *a, const struct http_request *req, const char *form,
    struct http_response *res)
{
	const char *ct = http_header_get(req, "Content-Type");
	char version[FORM_VERSION_MAX + 1], msg[160];
	json_error_t jerr;
	json_t *rec;
	int hv;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';')) {
		api_error(res, 415, "Content-Type must be application/json");
		return;
	}
	if ((hv = api_query(req->query, "version", version,
	    sizeof(version))) < 0) {
		api_error(res, 404, "unknown form or version");
		return;
	}
	rec = jarena_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (rec == NULL) {
		/* Position only: jansson's text may quote the input. */
		snprintf(msg, sizeof(msg), "malformed JSON at line %d, column "
		    "%d", jerr.line, jerr.column);
		api_error(res, 400, msg);
		return;
	}
	if (!json_is_object(rec)) {
		json_decref(rec);
		api_error(res, 400, "a record must be a JSON object");
		return;
	}
	api_submit_record(a, res, form, hv == 1 ? version : NULL, rec,
	    api_submit_answer, NULL);
}

/* The value of a "?from=YYYY-MM-DD" style parameter into out ("" when
   absent); -1 when it is there and not a date. */
static int
api_date_param(const char *query, const char *name, char out[11])
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = query; *p; p += strcspn(p, "&"), p += *p == '&') {
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		size_t len = strcspn(p + n + 1, "&");
		if (len != 10)
			return -1;
		memcpy(out, p + n + 1, 10);
		out[10] = '\0';
		return form_date_ok(out) ? 0 : -1;
	}
	return 0;
}

static void
api_counts(struct api *a, const struct http_request *req,
    struct http_response *res)
{
	char from[11], to[11];
	json_t *c, *v;

	if (api_date_param(req->query, "from", from) != 0 ||
	    api_date_param(req->query, "to", to) != 0) {
		api_error(res, 400, "from and to are dates YYYY-MM-DD");
		return;
	}
	if (store_counts_json(a->dev->st, &c) != 0) {
		api_error(res, 500, "store failure");
		return;
	}
	v = counts_view(c, from[0] ? from : NULL, to[0] ? to : NULL,
	    a->dev->cfg.suppress_threshold);
	json_decref(c);
	if (v == NULL) {
		api_error(res, 500, "out of memory");
		return;
	}
	api_json(res, 200, v);
}

static void
api_status(struct api *a, struct http_response *res)
{
	struct store_stats s;
	uint64_t avail = 0;
	char last[256] = "";

	if (store_stats(a->dev->st, &s) != 0) {
		api_error(res, 500, "store failure");
		return;
	}
	store_free_bytes(a->dev->st, &avail);
	store_meta_get(a->dev->st, "last_error", last, sizeof(last));
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:s?}", "device_id", a->dev->sub.device_id,
	    "records", (json_int_t)s.records,
	    "last_seq", (json_int_t)s.last_seq,
	    "db_bytes", (json_int_t)s.db_bytes,
	    "epochs", (json_int_t)s.epochs,
	    "free_bytes", (json_int_t)avail,
	    "free_floor_bytes", (json_int_t)(a->dev->cfg.free_space_floor_mb
	    << 20),
	    "last_error", last[0] ? last : NULL);

	if (o && a->board)
		boardmon_status(a->board, o);
	api_json(res, 200, o);
}

static void
api_health(struct api *a, struct http_response *res)
{
	struct store_stats s;
	int ok = store_stats(a->dev->st, &s) == 0;

	api_json(res, ok ? 200 : 503, json_pack("{s:s, s:s}", "status",
	    ok ? "ok" : "store failure", "version", FIELD_VERSION));
}

/* The web app's policy: its own files, nothing from elsewhere; its rules
   are a WebAssembly module of its own (wasm-unsafe-eval lets a page
   compile WebAssembly, and nothing else: no eval of JavaScript). */
static const char api_csp[] = "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

int
api_admit(void *ctx, const struct http_request *req)
{
	struct api *a = ctx;
	const char *h = http_header_get(req, "Authorization");

	return h != NULL && strncasecmp(h, "Bearer ", 7) == 0 &&
	    users_check(a->dev->st, h + 7) == 1;
}

void
api_handle(void *ctx, const struct http_request *req,
    struct http_response *res)
{
	struct api *a = ctx;
	const char *p = req->path;
	int get = strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0;
	int post = strcmp(req->method, "POST") == 0;
	char who[USERS_NAME_MAX + 1];

	if (!ratelimit_allow(&a->rate, req->peer, util_mono_ms())) {
		http_add_header(res, "Retry-After", "1");
		api_error(res, 429, "too many requests from this address");
		return;
	}
	if (strcmp(p, "/formList") == 0 || strncmp(p, "/forms/", 7) == 0 ||
	    strcmp(p, "/submission") == 0) {
		openrosa_handle(a, req, res);
		return;
	}
	if (strncmp(p, "/api/", 5) != 0) {
		/* the web app */
		if (get && http_static(embedded_field, api_csp, req, res))
			return;
		http_static_headers(res, api_csp);
		api_error(res, 404, "not found");
		return;
	}
	http_add_header(res, "Cache-Control", "no-store");
	http_add_header(res, "X-Content-Type-Options", "nosniff");
	if (strcmp(p, "/api/health") == 0 && get) {
		/* For supervisors and the update's health check: no login,
		   nothing about records or people. */
		api_health(a, res);
		return;
	}
	if (strcmp(p, "/api/login") == 0) {
		if (post)
			api_login(a, req, res);
		else {
			http_add_header(res, "Allow", "POST");
			api_error(res, 405, "method not allowed");
		}
		return;
	}
	if (!api_authorised(a, req, res, who, sizeof(who)))
		return;
	if (strcmp(p, "/api/forms") == 0 && get)
		api_forms(a, res);
	else if (strncmp(p, "/api/forms/", 11) == 0 && p[11] && get &&
	    strchr(p + 11, '/') == NULL)
		api_form(a, req, p + 11, res);
	else if (strncmp(p, "/api/records/", 13) == 0 && p[13] && post &&
	    strchr(p + 13, '/') == NULL)
		api_submit(a, req, p + 13, res);
	else if (strcmp(p, "/api/counts") == 0 && get)
		api_counts(a, req, res);
	else if (strcmp(p, "/api/status") == 0 && get)
		api_status(a, res);
	else if (strcmp(p, "/api/me") == 0 && get)
		api_json(res, 200, json_pack("{s:s}", "user", who));
	else if (strcmp(p, "/api/submissions") == 0 && get)
		api_submissions(a, res);
	else if (strcmp(p, "/api/forms") == 0 ||
	    strncmp(p, "/api/forms/", 11) == 0 ||
	    strcmp(p, "/api/counts") == 0 || strcmp(p, "/api/status") == 0 ||
	    strcmp(p, "/api/me") == 0 || strcmp(p, "/api/submissions") == 0) {
		http_add_header(res, "Allow", "GET, HEAD");
		api_error(res, 405, "method not allowed");
	} else if (strncmp(p, "/api/records/", 13) == 0) {
		http_add_header(res, "Allow", "POST");
		api_error(res, 405, "method not allowed");
	} else
		api_error(res, 404, "not found");
}
