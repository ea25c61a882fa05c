/* chttp.c: see chttp.h. */
#include "collector/chttp.h"

#include <inttypes.h>
#include <jansson.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/astore.h"
#include "analysis/query.h"
#include "analysis/render.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/util.h"
#include "common/config_file.h"
#include "http/http_static.h"
#include "form/form.h"
#include "collector/cstore.h"

#define CHTTP_TOKEN_MAX 128

/* The page's policy: its own script and style, nothing from elsewhere. */
static const char chttp_csp[] = "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";

static void
ch_headers(struct http_response *res)
{
	http_static_headers(res, chttp_csp);
}

static void
ch_error(struct http_response *res, int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(o);
	if (s == NULL || http_respond(res, status, "application/json", s,
	    strlen(s)) != 0)
		res->status = 500;
	free(s);
	ch_headers(res);
	if (status == 401)
		http_add_header(res, "WWW-Authenticate",
		    "Bearer realm=\"collectord\"");
	http_add_header(res, "Cache-Control", "no-store");
}

static void
ch_static(const struct http_request *req, struct http_response *res)
{
	if (!http_static(embedded_web, chttp_csp, req, res))
		ch_error(res, 404, "no such page");
}

/* The coordinator's name when the token is good; else answers 401/429
   and returns 0. */
static int
ch_auth(struct chttp *h, const struct http_request *req,
    struct http_response *res, char *name, size_t namelen)
{
	const char *a = http_header_get(req, "Authorization");
	char key[PEER_KEY_MAX];
	unsigned char hash[32];
	int r = 0;

	peer_key(req->peer, key);
	if (lockout_table_step(&h->lock, key, 0, util_now_ms())) {
		ch_error(res, 429, "too many wrong tokens from this address; "
		    "wait a minute");
		return 0;
	}
	if (a && strncmp(a, "Bearer ", 7) == 0 &&
	    strlen(a + 7) <= CHTTP_TOKEN_MAX) {
		mbedtls_sha256_ret((const unsigned char *)a + 7, strlen(a + 7),
		    hash, 0);
		r = cstore_coordinator_find(h->srv->cs, hash, name, namelen);
	}
	if (r == 1)
		return 1;
	if (r < 0) {
		ch_error(res, 500, "the collector's store failed");
		return 0;
	}
	if (a && lockout_table_step(&h->lock, key, 1, util_now_ms()) != 2) {
		const struct lockout_entry *e = lockout_table_get(&h->lock,
		    key);

		/* kept in the store too: a restart does not reset it */
		if (e != NULL && cstore_token_fails_put(h->srv->cs, key,
		    e) != 0)
			log_warn("collectord: http: cannot keep a lockout: %s",
			    cstore_errmsg(h->srv->cs));
	}
	log_warn("collectord: http: %s: %s token", req->peer,
	    a ? "wrong" : "no");
	ch_error(res, 401, a ? "wrong token" : "a coordinator token is needed "
	    "(Authorization: Bearer TOKEN)");
	return 0;
}

/* cstore_token_fails_load's callback: a kept lockout into the table. */
static int
ch_lock_load(void *arg, const char *client, const struct lockout_entry *e)
{
	struct chttp *h = arg;

	(void)lockout_table_set(&h->lock, client, e, util_now_ms());
	return 0;
}

/* http_server_set_admit: a coordinator's valid token gets a kept slot. */
static int
ch_admit(void *ctx, const struct http_request *req)
{
	struct chttp *h = ctx;
	const char *a = http_header_get(req, "Authorization");
	unsigned char hash[32];
	char name[128];

	if (a == NULL || strncmp(a, "Bearer ", 7) != 0 ||
	    strlen(a + 7) > CHTTP_TOKEN_MAX)
		return 0;
	mbedtls_sha256_ret((const unsigned char *)a + 7, strlen(a + 7), hash,
	    0);
	return cstore_coordinator_find(h->srv->cs, hash, name,
	    sizeof(name)) == 1;
}

static int
ch_hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes %XX and '+' of a query string value into out. */
static int
ch_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = ch_hexval(s[i + 1]), lo = ch_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
chttp_query_parse(const char *qs, struct aquery *q, enum aformat *fmt,
    char *err, size_t errlen)
{
	char key[32], val[256];

	*fmt = AF_JSON;
	while (*qs) {
		size_t len = strcspn(qs, "&"), k = strcspn(qs, "=");
		if (k > len)
			k = len;
		if (k >= sizeof(key) || ch_unescape(qs, k, key,
		    sizeof(key)) != 0 || (k < len && ch_unescape(qs + k + 1,
		    len - k - 1, val, sizeof(val)) != 0)) {
			snprintf(err, errlen, "a query parameter is malformed "
			    "or too long");
			return -1;
		}
		if (k == len)
			val[0] = '\0';
		if (strcmp(key, "form") == 0) {
			if (strlen(val) > FORM_ID_MAX) {
				snprintf(err, errlen, "form: too long");
				return -1;
			}
			snprintf(q->form, sizeof(q->form), "%.*s", FORM_ID_MAX,
			    val);
		} else if (strcmp(key, "by") == 0) {
			if (aquery_set_by(q, val, err, errlen) != 0)
				return -1;
		} else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
			if (val[0] && astore_day(val) < 0) {
				snprintf(err, errlen, "%s: not a date YYYY-MM-DD",
				    key);
				return -1;
			}
			snprintf(key[0] == 'f' ? q->from : q->to,
			    sizeof(q->from), "%.10s", val);
		} else if (strcmp(key, "where") == 0) {
			if (aquery_add_where(q, val, err, errlen) != 0)
				return -1;
		} else if (strcmp(key, "format") == 0) {
			if (arender_format(val, fmt) != 0 || *fmt == AF_TABLE) {
				snprintf(err, errlen, "format: one of json, csv, "
				    "hxl");
				return -1;
			}
		} else if (key[0]) {
			snprintf(err, errlen, "unknown parameter %.31s", key);
			return -1;
		}
		qs += len;
		if (*qs == '&')
			qs++;
	}
	if (q->form[0] == '\0') {
		snprintf(err, errlen, "form: missing");
		return -1;
	}
	return 0;
}

/* A canonical key of what a /counts answer depends on, but the data. */
static void
ch_key(const struct aquery *q, enum aformat fmt, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%d|%" PRId64 "|%s|%s|%s|",
	    (int)fmt, q->threshold, q->form, q->from, q->to);

	for (size_t i = 0; i < q->n_by && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s,", q->by[i]);
	for (size_t i = 0; i < q->n_where && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "|%s=%s",
		    q->where[i].dim, q->where[i].value);
}

static struct chttp_cached *
ch_cached(struct chttp *h, const char *key, int64_t gen)
{
	for (size_t i = 0; i < CHTTP_CACHE; i++)
		if (h->cache[i].body && h->cache[i].generation == gen &&
		    strcmp(h->cache[i].key, key) == 0) {
			h->cache[i].used = ++h->tick;
			return &h->cache[i];
		}
	return NULL;
}

static void
ch_cache_put(struct chttp *h, const char *key, int64_t gen, char *body,
    size_t len, const char *ctype)
{
	struct chttp_cached *c = &h->cache[0];

	for (size_t i = 1; i < CHTTP_CACHE; i++)
		if (h->cache[i].used < c->used)
			c = &h->cache[i];
	free(c->body);
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->generation = gen;
	c->body = body;
	c->len = len;
	c->ctype = ctype;
	c->used = ++h->tick;
}

static void
ch_counts(struct chttp *h, const struct http_request *req,
    struct http_response *res)
{
	struct aquery q;
	struct astore *as = NULL;
	struct aresult *r = NULL;
	struct chttp_cached *c;
	enum aformat fmt;
	char err[1024], key[1200], etag[24], tag[1300];
	int64_t gen;
	char *body;
	size_t len;

	memset(&q, 0, sizeof(q));
	if (chttp_query_parse(req->query, &q, &fmt, err, sizeof(err)) != 0) {
		ch_error(res, 400, err);
		return;
	}
	q.threshold = h->threshold;	/* coordinators: always suppressed */
	if (astore_open(h->srv->dir, 0, &as, err, sizeof(err)) != 0) {
		/* not analysed yet, or the store (PostgreSQL) is away */
		log_warn("collectord: http: counts: %s", err);
		ch_error(res, 503, "no counts yet: the collector's records have "
		    "not been analysed");
		return;
	}
	gen = astore_meta(as, "generation");
	ch_key(&q, fmt, key, sizeof(key));
	snprintf(tag, sizeof(tag), "%" PRId64 "|%s", gen, key);
	http_etag(tag, strlen(tag), etag);
	http_add_header(res, "ETag", etag);
	http_add_header(res, "Cache-Control", "private, no-cache");
	http_add_header(res, "Vary", "Authorization");
	ch_headers(res);
	if (http_not_modified(req, etag)) {
		res->status = 304;
		goto out;
	}
	if ((c = ch_cached(h, key, gen)) == NULL) {
		if (aquery_run(as, h->cat, &q, &r, err, sizeof(err)) != 0) {
			res->headers[0] = '\0';
			ch_error(res, strncmp(err, "out of", 6) &&
			    strncmp(err, "reading", 7) ? 400 : 500, err);
			goto out;
		}
		if ((body = arender(r, fmt, &len)) == NULL) {
			ch_error(res, 500, "out of memory");
			goto out;
		}
		ch_cache_put(h, key, gen, body, len, arender_type(fmt));
		c = ch_cached(h, key, gen);
	}
	if (http_respond(res, 200, c->ctype, c->body, c->len) != 0)
		res->status = 500;
out:
	aresult_free(r);
	astore_close(as);
}

/* Most choices of one dimension whose labels /forms carries: past it
   the page shows codes (a 20,000-place list would make /forms megabytes). */
#define CHTTP_LABELS_MAX 5000

/*
 * The texts of a row's column in each language: {"English": "Site", ...}.
 * A column with no language ("label") is the form's default language's.
 * Adds every language met to langs.
 */
static json_t *
ch_texts(const json_t *row, const char *col, const char *deflang,
    json_t *langs)
{
	json_t *out = json_object(), *v;
	size_t clen = strlen(col);
	const char *k;

	json_object_foreach((json_t *)row, k, v) {
		const char *lang;
		size_t i;
		json_t *x;
		int known = 0;

		if (!json_is_string(v) || strncmp(k, col, clen) != 0)
			continue;
		if (k[clen] == '\0')
			lang = deflang;
		else if (strncmp(k + clen, "::", 2) == 0 && k[clen + 2])
			lang = k + clen + 2;
		else
			continue;
		json_object_set(out, lang, v);
		json_array_foreach(langs, i, x)
			known |= strcmp(json_string_value(x), lang) == 0;
		if (!known)
			json_array_append_new(langs, json_string(lang));
	}
	return out;
}

/* The list a select row reads ("select_one yes_no" -> "yes_no"), or NULL. */
static const char *
ch_list_of(const json_t *row)
{
	const char *t = json_string_value(json_object_get(row, "type"));
	const char *sp;

	if (t == NULL || strncmp(t, "select", 6) != 0 ||
	    (sp = strrchr(t, ' ')) == NULL)
		return NULL;
	return sp + 1;
}

/*
 * What the page labels a form's counts with, in every language the form
 * has: its title, each dimension's field label, and the labels of each
 * dimension's choices (codes in the counts, labels on the page).
 */
static json_t *
ch_labels(const struct form *f, const struct form_cschema *sch,
    json_t **langs_out)
{
	json_t *def = form_definition(f);
	json_t *langs = json_array(), *fields = json_object(),
	    *choices = json_object(), *title;
	const json_t *survey = json_object_get(def, "survey");
	const json_t *clist = json_object_get(def, "choices");
	const char *deflang = json_string_value(json_object_get(def,
	    "default_language"));
	json_t *row;
	size_t i;

	if (deflang == NULL || !*deflang)
		deflang = "default";
	json_array_append_new(langs, json_string(deflang));
	title = ch_texts(def, "title", deflang, langs);
	for (size_t d = 0; d < sch->n_dims; d++) {
		const char *list = NULL;
		json_t *ch;
		size_t n = 0;

		json_array_foreach(survey, i, row) {
			const char *name = json_string_value(json_object_get(row,
			    "name"));
			if (name == NULL || strcmp(name, sch->dims[d].field))
				continue;
			json_object_set_new(fields, sch->dims[d].name,
			    ch_texts(row, "label", deflang, langs));
			list = ch_list_of(row);
			break;
		}
		if (list == NULL)
			continue;
		ch = json_object();
		json_array_foreach(clist, i, row) {
			const char *ln = json_string_value(json_object_get(row,
			    "list_name"));
			const char *name = json_string_value(json_object_get(row,
			    "name"));
			if (ln == NULL || name == NULL || strcmp(ln, list) != 0 ||
			    json_object_get(ch, name))
				continue;
			if (++n > CHTTP_LABELS_MAX)
				break;
			json_object_set_new(ch, name, ch_texts(row, "label",
			    deflang, langs));
		}
		json_object_set_new(choices, sch->dims[d].name, ch);
	}
	json_decref(def);
	*langs_out = langs;
	return json_pack("{s:o,s:o,s:o}", "title", title, "fields", fields,
	    "choices", choices);
}

static void
ch_forms(struct chttp *h, const struct http_request *req,
    struct http_response *res)
{
	json_t *forms = json_array(), *o;
	struct astore *as;
	char err[512], etag[24];
	int64_t gen = 0;
	char *s;

	if (astore_open(h->srv->dir, 0, &as, err, sizeof(err)) == 0) {
		gen = astore_meta(as, "generation");
		astore_close(as);
	}
	/* Every form of the catalogue, records or not: each is counted
	   (by default when it declares nothing). */
	for (size_t i = 0; forms; i++) {
		const struct form *f = form_catalog_nth(h->cat, i);
		struct form_cschema sch;
		json_t *dims, *items, *ms, *labels, *langs = NULL;

		if (f == NULL)
			break;
		if (form_cschema(f, &sch) != 0)
			continue;
		dims = json_array();
		items = json_array();
		ms = json_array();
		for (size_t d = 0; d < sch.n_dims; d++) {
			json_array_append_new(dims, json_string(
			    sch.dims[d].name));
			if (sch.dims[d].item)
				json_array_append_new(items, json_string(
				    sch.dims[d].name));
		}
		json_array_append_new(dims, json_string("day"));
		json_array_append_new(dims, json_string("week"));
		json_array_append_new(dims, json_string("month"));
		for (size_t m = 0; m < sch.n_measures; m++)
			json_array_append_new(ms, json_pack("{s:s,s:s,s:b}",
			    "name", sch.measures[m].name, "kind",
			    sch.measures[m].kind == FORM_M_RECORDS ? "records" :
			    sch.measures[m].kind == FORM_M_ITEMS ? "items" :
			    "sum", "suppress", sch.measures[m].suppress));
		labels = ch_labels(f, &sch, &langs);
		json_array_append_new(forms, json_pack("{s:s,s:s,s:s,s:o,s:o,"
		    "s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "id", form_id(f), "version",
		    form_version(f), "title", form_title(f), "place", sch.place ?
		    json_string(sch.dims[0].name) : json_null(), "date",
		    sch.date[0] ? json_string(sch.date) : json_null(),
		    "latest_by", sch.latest ? json_string(sch.dims[0].name) :
		    json_null(), "counts", sch.by_default ? "default" :
		    "declared", "dims", dims, "item_dims", items, "measures",
		    ms, "languages", langs ? langs : json_array(), "labels",
		    labels ? labels : json_object()));
	}
	o = json_pack("{s:o,s:I,s:I}", "forms", forms, "threshold",
	    (json_int_t)h->threshold, "generation", (json_int_t)gen);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (s == NULL) {
		ch_error(res, 500, "out of memory");
		return;
	}
	http_etag(s, strlen(s), etag);
	http_add_header(res, "ETag", etag);
	http_add_header(res, "Cache-Control", "private, no-cache");
	http_add_header(res, "Vary", "Authorization");
	ch_headers(res);
	if (http_not_modified(req, etag))
		res->status = 304;
	else if (http_respond(res, 200, "application/json", s, strlen(s)) != 0)
		res->status = 500;
	free(s);
}

static void
ch_handle(void *ctx, const struct http_request *req,
    struct http_response *res)
{
	struct chttp *h = ctx;
	char who[CSTORE_DEVICE_MAX + 1];
	int get = strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0;

	if (!get) {
		ch_error(res, 405, "only GET and HEAD");
		http_add_header(res, "Allow", "GET, HEAD");
		return;
	}
	if (strcmp(req->path, "/counts") != 0 &&
	    strcmp(req->path, "/forms") != 0) {
		ch_static(req, res);
		return;
	}
	if (!ch_auth(h, req, res, who, sizeof(who)))
		return;
	if (strcmp(req->path, "/forms") == 0)
		ch_forms(h, req, res);
	else
		ch_counts(h, req, res);
	log_info("collectord: http: coordinator %s: %s %s -> %d", who,
	    req->method, req->path, res->status);
}

static int
ch_load(struct chttp *h, char *err, size_t errlen)
{
	struct form_catalog *cat = form_catalog_new();

	if (cat == NULL || csrv_forms_load(h->srv->dir, cat, err,
	    errlen) != 0) {
		form_catalog_free(cat);
		return -1;
	}
	form_catalog_free(h->cat);
	h->cat = cat;
	return 0;
}

int
chttp_start(struct chttp *h, struct csrv *srv, uv_loop_t *loop,
    const char *listen, unsigned threshold, int *port, char *err,
    size_t errlen)
{
	static const struct lockout_rule rule = { CHTTP_LOCK_FAILS,
	    CHTTP_LOCK_MS, CHTTP_LOCK_MS };
	struct http_limits lim = { 8192, 0, 64, 30000, 10000, 0, 0, 0, 0 };
	char addr[64];
	int rc;

	memset(h, 0, sizeof(*h));
	h->srv = srv;
	h->threshold = threshold;
	if (lockout_table_init(&h->lock, CHTTP_LOCK_SLOTS, &rule) != 0) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	if (cstore_token_fails_load(srv->cs, util_now_ms() - CHTTP_LOCK_MS,
	    util_now_ms(), ch_lock_load, h) != 0) {
		snprintf(err, errlen, "http: the kept lockouts: %s",
		    cstore_errmsg(srv->cs));
		lockout_table_free(&h->lock);
		return -1;
	}
	if (config_parse_listen(listen, addr, sizeof(addr), port) != 0) {
		snprintf(err, errlen, "http: %s: expected ADDR:PORT", listen);
		return -1;
	}
	if (ch_load(h, err, errlen) != 0) {
		lockout_table_free(&h->lock);
		return -1;
	}
	if ((rc = http_server_start(loop, addr, *port, &lim, ch_handle, h,
	    &h->http)) != 0) {
		snprintf(err, errlen, "http: listen on %s: %s", listen,
		    uv_strerror(rc));
		form_catalog_free(h->cat);
		h->cat = NULL;
		lockout_table_free(&h->lock);
		return -1;
	}
	http_server_set_admit(h->http, ch_admit);
	*port = http_server_port(h->http);
	return 0;
}

int
chttp_reload(struct chttp *h, char *err, size_t errlen)
{
	return h->http ? ch_load(h, err, errlen) : 0;
}

void
chttp_stop(struct chttp *h, void (*done)(void *), void *arg)
{
	if (h->http)
		http_server_stop(h->http, done, arg);
	else if (done)
		done(arg);
	h->http = NULL;
	form_catalog_free(h->cat);
	h->cat = NULL;
	lockout_table_free(&h->lock);
	for (size_t i = 0; i < CHTTP_CACHE; i++) {
		free(h->cache[i].body);
		h->cache[i].body = NULL;
	}
}
