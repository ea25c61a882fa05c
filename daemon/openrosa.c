/* openrosa.c: see openrosa.h. */
#include "daemon/openrosa.h"

#include <ctype.h>
#include <errno.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/platform_util.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/rng.h"
#include "common/util.h"
#include "daemon/multipart.h"
#include "daemon/users.h"
#include "daemon/xform.h"
#include "daemon/xmlinst.h"

#define OR_XML "text/xml; charset=utf-8"
#define OR_NONCE_LEN 48		/* hex: 8 bytes of time, 16 of HMAC */

/* Responses. */

static void
or_headers(struct http_response *res)
{
	char date[64];
	time_t t = (time_t)(util_now_ms() / 1000);
	struct tm tm;

	http_add_header(res, "X-OpenRosa-Version", "1.0");
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	http_add_header(res, "Date", date);
	http_add_header(res, "Cache-Control", "no-store");
	http_add_header(res, "X-Content-Type-Options", "nosniff");
}

static void
or_body(struct http_response *res, int status, struct xform_buf *b)
{
	size_t len;
	char *s = xform_buf_take(b, &len);

	free(res->body);
	if (s == NULL) {
		http_respond(res, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	res->status = status;
	res->content_type = OR_XML;
	res->body = s;
	res->body_len = len;
}

/* An OpenRosaResponse holding text (escaped here). */
static void
or_message(struct http_response *res, int status, const char *text)
{
	struct xform_buf b = { 0 };

	xform_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n"
	    "  <message nature=\"%s\">", status < 300 ? "submit_success" :
	    "error");
	xform_buf_esc(&b, text);
	xform_buf_str(&b, "</message>\n</OpenRosaResponse>\n");
	or_body(res, status, &b);
}

/* Digest authentication. */

static unsigned char or_key[32];
static int or_have_key;

static struct or_seen {
	char nonce[OR_NONCE_LEN + 1];
	uint64_t ts;
	uint32_t nc;
} or_seen[OPENROSA_NONCE_SLOTS];
static uint64_t or_floor;	/* nonces made at or before: forgotten */

static int
or_nonce_mac(uint64_t ts, unsigned char mac[32])
{
	unsigned char t[8];

	if (!or_have_key) {
		if (rng_bytes(or_key, sizeof(or_key)) != 0)
			return -1;
		or_have_key = 1;
	}
	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)(ts >> (56 - 8 * i));
	return mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	    or_key, sizeof(or_key), t, sizeof(t), mac) == 0 ? 0 : -1;
}

static int
or_nonce_make(char out[OR_NONCE_LEN + 1])
{
	uint64_t ts = util_mono_ms();
	unsigned char mac[32];

	if (or_nonce_mac(ts, mac) != 0)
		return -1;
	snprintf(out, 17, "%016llx", (unsigned long long)ts);
	util_hex(mac, 16, out + 16);
	return 0;
}

/* 1 fresh, 0 stale, -1 not ours.  *ts is when it was made. */
static int
or_nonce_check(const char *nonce, uint64_t *ts)
{
	unsigned char mac[32];
	char want[33];
	uint64_t now = util_mono_ms();

	if (strlen(nonce) != OR_NONCE_LEN)
		return -1;
	*ts = 0;
	for (int i = 0; i < 16; i++) {
		int c = nonce[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		*ts = *ts << 4 | (uint64_t)v;
	}
	if (or_nonce_mac(*ts, mac) != 0)
		return -1;
	util_hex(mac, 16, want);
	if (!util_ct_eq(want, nonce + 16, 32) || *ts > now)
		return -1;
	return now - *ts <= OPENROSA_NONCE_MS && *ts > or_floor ? 1 : 0;
}

/* 1 when nc is new for this nonce (and notes it), 0 for a replay. */
static int
or_nonce_count(const char *nonce, uint64_t ts, uint32_t nc)
{
	struct or_seen *s, *old = &or_seen[0];

	for (size_t i = 0; i < OPENROSA_NONCE_SLOTS; i++) {
		s = &or_seen[i];
		if (strcmp(s->nonce, nonce) == 0) {
			if (nc <= s->nc)
				return 0;
			s->nc = nc;
			return 1;
		}
		if (s->ts < old->ts)
			old = s;
	}
	/* a slot's nonce forgotten: every nonce as old is stale now */
	if (old->nonce[0] && old->ts > or_floor)
		or_floor = old->ts;
	if (ts <= or_floor)
		return 0;
	snprintf(old->nonce, sizeof(old->nonce), "%s", nonce);
	old->ts = ts;
	old->nc = nc;
	return 1;
}

static void
or_challenge(struct http_response *res, int stale, const char *text)
{
	char nonce[OR_NONCE_LEN + 1], h[200];

	if (or_nonce_make(nonce) != 0) {
		or_message(res, 500, "no entropy for a nonce");
		return;
	}
	snprintf(h, sizeof(h), "Digest realm=\"%s\", qop=\"auth\", "
	    "algorithm=MD5, nonce=\"%s\"%s", USERS_REALM, nonce,
	    stale ? ", stale=true" : "");
	http_add_header(res, "WWW-Authenticate", h);
	or_message(res, 401, text);
}

struct or_digest {
	char username[USERS_NAME_MAX + 1];
	char realm[64];
	char nonce[OR_NONCE_LEN + 1];
	char uri[1024];
	char response[33];
	char qop[16];
	char nc[9];
	char cnonce[65];
	char algorithm[16];
	unsigned seen;			/* bit per field, for duplicates */
};

/* Parses the parameters after "Digest ".  0, or -1 when malformed. */
static int
or_digest_parse(const char *p, struct or_digest *d)
{
	static const struct {
		const char *name;
		size_t off, size;
	} keys[] = {
#define K(n) { #n, offsetof(struct or_digest, n), \
	sizeof(((struct or_digest *)0)->n) }
		K(username), K(realm), K(nonce), K(uri), K(response), K(qop),
		K(nc), K(cnonce), K(algorithm),
#undef K
	};

	memset(d, 0, sizeof(*d));
	for (;;) {
		char name[32], *out = NULL;
		size_t n, size = 0, k = 0, i;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		for (n = 0; isalnum((unsigned char)p[n]) || p[n] == '-' ||
		    p[n] == '_' || p[n] == '*'; n++)
			;
		if (n == 0 || n >= sizeof(name) || p[n] != '=')
			return -1;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + 1;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcasecmp(name, keys[i].name) == 0) {
				if (d->seen & (1u << i))
					return -1;
				d->seen |= 1u << i;
				out = (char *)d + keys[i].off;
				size = keys[i].size;
			}
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (out && k + 1 >= size)
					return -1;
				if (out)
					out[k++] = *p;
			}
			if (*p != '"')
				return -1;
			p++;
		} else {
			for (; *p && *p != ',' && *p != ' ' && *p != '\t'; p++) {
				if (out && k + 1 >= size)
					return -1;
				if (out)
					out[k++] = *p;
			}
		}
		if (out)
			out[k] = '\0';
	}
}

static void
or_md5_hex(const char *const *parts, size_t n, char out[33])
{
	mbedtls_md5_context c;
	unsigned char h[16];

	mbedtls_md5_init(&c);
	mbedtls_md5_starts_ret(&c);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			mbedtls_md5_update_ret(&c, (const unsigned char *)":", 1);
		mbedtls_md5_update_ret(&c, (const unsigned char *)parts[i],
		    strlen(parts[i]));
	}
	mbedtls_md5_finish_ret(&c, h);
	mbedtls_md5_free(&c);
	util_hex(h, sizeof(h), out);
	mbedtls_platform_zeroize(h, sizeof(h));
}

/* 1 when the digest's uri is this request's target. */
static int
or_uri_matches(const struct http_request *req, const char *uri)
{
	const char *q;
	size_t plen;

	if (strncasecmp(uri, "http://", 7) == 0 ||
	    strncasecmp(uri, "https://", 8) == 0) {
		uri = strchr(uri + (uri[4] == ':' ? 7 : 8), '/');
		if (uri == NULL)
			return 0;
	}
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	return strlen(req->path) == plen && strncmp(req->path, uri, plen) == 0
	    && strcmp(q ? q + 1 : "", req->query ? req->query : "") == 0;
}

static int
or_hexn(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Checks a Digest Authorization.  1 with who filled, or 0 when res has
 * been answered.
 */
static int
or_digest(struct api *a, const struct http_request *req, const char *h,
    struct http_response *res, char *who, size_t wholen)
{
	struct or_digest d;
	char ha1[33], ha2[33], want[33], got[33];
	const char *parts[6];
	int64_t now = util_now_ms();
	uint64_t ts;
	int named, rc, ok, fresh;

	if (or_digest_parse(h, &d) != 0 || !(d.seen & 1) ||
	    d.nonce[0] == '\0' || d.uri[0] == '\0' || !or_hexn(d.response, 32)
	    || strcmp(d.qop, "auth") != 0 || !or_hexn(d.nc, 8) ||
	    d.cnonce[0] == '\0' || (d.algorithm[0] && strcasecmp(d.algorithm,
	    "MD5") != 0)) {
		or_challenge(res, 0, "Authorization: Digest needs username, "
		    "realm, nonce, uri, response, qop=auth, nc and cnonce "
		    "(algorithm MD5)");
		return 0;
	}
	if (strcmp(d.realm, USERS_REALM) != 0) {
		or_challenge(res, 0, "Authorization: wrong realm");
		return 0;
	}
	if (!or_uri_matches(req, d.uri)) {
		or_message(res, 400, "Authorization: the digest uri is not "
		    "this request's");
		return 0;
	}
	if ((fresh = or_nonce_check(d.nonce, &ts)) <= 0) {
		or_challenge(res, fresh == 0, fresh == 0 ? "stale nonce" :
		    "unknown nonce");
		return 0;
	}
	named = users_name_ok(d.username);
	rc = named ? users_digest_ha1(a->dev->st, d.username, ha1) : 0;
	if (rc < 0) {
		or_message(res, 500, "store failure");
		return 0;
	}
	if (rc == 0) {	/* the same work either way */
		memset(ha1, '0', 32);
		ha1[32] = '\0';
	}
	parts[0] = req->method;
	parts[1] = d.uri;
	or_md5_hex(parts, 2, ha2);
	parts[0] = ha1;
	parts[1] = d.nonce;
	parts[2] = d.nc;
	parts[3] = d.cnonce;
	parts[4] = d.qop;
	parts[5] = ha2;
	or_md5_hex(parts, 6, want);
	for (size_t i = 0; i < 32; i++)
		got[i] = (char)tolower((unsigned char)d.response[i]);
	got[32] = '\0';
	ok = util_ct_eq(want, got, 32) && rc == 1;
	mbedtls_platform_zeroize(ha1, sizeof(ha1));
	mbedtls_platform_zeroize(want, sizeof(want));
	if (users_lockout(a->dev->st, named ? d.username : NULL, req->peer,
	    !ok, now)) {
		log_warn("openrosa: %s locked out (%s)", req->peer, ok ?
		    "a right PIN" : "a wrong PIN");
		or_message(res, 429, "too many wrong PINs: wait a few minutes");
		return 0;
	}
	if (!ok) {
		log_warn("openrosa: a wrong name or PIN from %s", req->peer);
		or_challenge(res, 0, "wrong name or PIN");
		return 0;
	}
	if (!or_nonce_count(d.nonce, ts, (uint32_t)strtoul(d.nc, NULL, 16))) {
		or_challenge(res, 1, "nonce count used before");
		return 0;
	}
	snprintf(who, wholen, "%s", d.username);
	return 1;
}

/* 1 when req is authenticated (who: the user), 0 when res is answered. */
static int
or_auth(struct api *a, const struct http_request *req,
    struct http_response *res, char *who, size_t wholen)
{
	const char *h = http_header_get(req, "Authorization");
	int ok;

	if (users_lockout(a->dev->st, NULL, req->peer, 0, util_now_ms())) {
		or_message(res, 429, "too many failed logins from this "
		    "address: wait a few minutes");
		return 0;
	}
	if (h != NULL && strncasecmp(h, "Digest ", 7) == 0)
		return or_digest(a, req, h + 7, res, who, wholen);
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		ok = users_who(a->dev->st, h + 7, who, wholen);
		if (ok == 1)
			return 1;
		if (ok < 0) {
			or_message(res, 500, "store failure");
			return 0;
		}
		if (users_lockout(a->dev->st, NULL, req->peer, 1,
		    util_now_ms())) {
			or_message(res, 429, "too many failed logins from "
			    "this address: wait a few minutes");
			return 0;
		}
		or_challenge(res, 0, "invalid token");
		return 0;
	}
	or_challenge(res, 0, "log in with your user name and PIN");
	return 0;
}

/* Forms. */

/* "http://HOST" when the Host header is a plain host[:port], else "". */
static void
or_base_url(const struct http_request *req, char *out, size_t outlen)
{
	const char *h = http_header_get(req, "Host");
	size_t n;

	out[0] = '\0';
	if (h == NULL || (n = strlen(h)) == 0 || n > 255 ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") != n)
		return;
	snprintf(out, outlen, "http://%s", h);
}

static void
or_form_list(struct api *a, const struct http_request *req,
    struct http_response *res)
{
	char base[300], only[FORM_ID_MAX + 1];
	const char *q = req->query ? req->query : "";
	int have_only = 0;
	size_t len;
	char *xml;

	/* ?formID=ID: that form only (ids need no percent-decoding) */
	for (const char *p = q; *p; p += strcspn(p, "&"), p += *p == '&')
		if (strncmp(p, "formID=", 7) == 0) {
			size_t n = strcspn(p + 7, "&");
			snprintf(only, sizeof(only), "%.*s", (int)(n <
			    sizeof(only) ? n : 0), p + 7);
			have_only = 1;
		}
	or_base_url(req, base, sizeof(base));
	xml = xform_list(a->dev->cat, base, have_only ? only : NULL, &len);
	if (xml == NULL) {
		or_message(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->content_type = OR_XML;
	res->body = xml;
	res->body_len = len;
}

static void
or_form(struct api *a, const char *name, struct http_response *res)
{
	char id[FORM_ID_MAX + 1];
	size_t n = strlen(name), len;
	const struct form *f = NULL;
	char *xml, why[160];

	if (n > 4 && n - 4 <= FORM_ID_MAX && strcmp(name + n - 4, ".xml") == 0) {
		memcpy(id, name, n - 4);
		id[n - 4] = '\0';
		f = form_catalog_get(a->dev->cat, id, NULL);
	}
	if (f == NULL) {
		or_message(res, 404, "no such form");
		return;
	}
	if ((xml = xform_build_why(f, &len, why, sizeof(why))) == NULL) {
		if (errno == ENOTSUP) {
			char msg[256];

			snprintf(msg, sizeof(msg), "this form cannot be given to "
			    "ODK clients: %s", why);
			or_message(res, 404, msg);
		} else
			or_message(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->content_type = OR_XML;
	res->body = xml;
	res->body_len = len;
}

/* Submissions. */

/* "path: reason; ..." of errs, for a message (no values in them). */
static void
or_errors(struct xform_buf *b, const struct form_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		xform_buf_printf(b, "%s%s%s%s", i ? "; " : "",
		    errs->e[i].path, errs->e[i].path[0] ? ": " : "",
		    errs->e[i].reason);
	if (errs->dropped)
		xform_buf_printf(b, "; and %zu more", errs->dropped);
}

static void
or_invalid(struct http_response *res, const char *form_id,
    const char *version, const struct form_errors *errs)
{
	struct xform_buf b = { 0 };
	char *s;

	xform_buf_printf(&b, "form %s version %s: ", form_id, version);
	or_errors(&b, errs);
	if ((s = xform_buf_take(&b, NULL)) == NULL) {
		or_message(res, 500, "out of memory");
		return;
	}
	or_message(res, 400, s);
	free(s);
}

static void
or_submit(struct api *a, const struct http_request *req, const char *who,
    struct http_response *res)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1], err[256];
	const struct multipart_part *xml = NULL;
	struct xmlinst_result *xr = NULL;
	struct submit_result *sr = NULL;
	struct multipart *mp = NULL;
	const char *ct = http_header_get(req, "Content-Type");

	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0) {
		or_message(res, 415, "send multipart/form-data with the "
		    "instance in the part xml_submission_file");
		return;
	}
	if (multipart_boundary(ct, boundary, err, sizeof(err)) != 0) {
		or_message(res, 400, err);
		return;
	}
	if ((mp = malloc(sizeof(*mp))) == NULL ||
	    (xr = calloc(1, sizeof(*xr))) == NULL ||
	    (sr = malloc(sizeof(*sr))) == NULL) {
		or_message(res, 500, "out of memory");
		goto out;
	}
	if (multipart_parse(req->body, req->body_len, boundary, mp, err,
	    sizeof(err)) != 0) {
		char m[300];
		snprintf(m, sizeof(m), "multipart body: %s", err);
		or_message(res, 400, m);
		goto out;
	}
	for (size_t i = 0; i < mp->n; i++) {
		if (strcmp(mp->part[i].name, "xml_submission_file") != 0) {
			snprintf(err, sizeof(err), "multipart body: part %zu "
			    "(byte %zu) is not xml_submission_file: this "
			    "server takes no attachments (its forms have no "
			    "media questions)", i + 1, mp->part[i].offset);
			or_message(res, 400, err);
			goto out;
		}
		if (xml != NULL) {
			snprintf(err, sizeof(err), "multipart body: part %zu "
			    "(byte %zu) is a second xml_submission_file", i + 1,
			    mp->part[i].offset);
			or_message(res, 400, err);
			goto out;
		}
		xml = &mp->part[i];
	}
	switch (xmlinst_parse(xml->data, xml->len, a->dev->cat, xr)) {
	case XMLINST_OK:
		break;
	case XMLINST_MALFORMED:
		log_info("openrosa: refused an instance from %s: %s", who,
		    xr->msg);
		or_message(res, 400, xr->msg);
		goto out;
	case XMLINST_NO_FORM:
		or_message(res, 404, xr->msg);
		goto out;
	case XMLINST_INVALID:
		log_info("openrosa: refused a %s instance from %s: %s",
		    form_id(xr->form), who, xr->msg);
		or_invalid(res, form_id(xr->form), form_version(xr->form),
		    &xr->errs);
		goto out;
	default:
		or_message(res, 500, "out of memory");
		goto out;
	}
	switch (submit_record(&a->dev->sub, form_id(xr->form),
	    form_version(xr->form), xr->rec, sr)) {
	case SUBMIT_OK:
	case SUBMIT_DUPLICATE:
		log_info("openrosa: stored %s seq %llu form %s version %s from "
		    "%s%s", sr->id, (unsigned long long)sr->seq, sr->form_id,
		    sr->version, who, sr->status == SUBMIT_DUPLICATE ?
		    " (duplicate)" : "");
		or_message(res, sr->status == SUBMIT_OK ? 201 : 202,
		    sr->status == SUBMIT_OK ? "Form received and stored." :
		    "Form received before: already stored.");
		break;
	case SUBMIT_INVALID:
		log_info("openrosa: refused a %s record from %s: %s",
		    sr->form_id, who, sr->msg);
		or_invalid(res, sr->form_id, sr->version, &sr->errs);
		break;
	case SUBMIT_NO_FORM:
		or_message(res, 404, sr->msg);
		break;
	case SUBMIT_NO_SPACE:
		or_message(res, 507, sr->msg);
		break;
	case SUBMIT_REFUSED:
		http_add_header(res, "Retry-After", "600");
		or_message(res, 503, sr->msg);
		break;
	default:
		or_message(res, 500, sr->msg);
		break;
	}
out:
	if (xr)
		json_decref(xr->rec);
	free(mp);
	free(xr);
	free(sr);
}

void
openrosa_handle(struct api *a, const struct http_request *req,
    struct http_response *res)
{
	const char *p = req->path;
	int get = strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0;
	int sub = strcmp(p, "/submission") == 0;
	char who[USERS_NAME_MAX + 1], len[32];

	or_headers(res);
	if (sub) {
		snprintf(len, sizeof(len), "%llu", (unsigned long long)
		    a->dev->cfg.max_body_kb * 1024);
		http_add_header(res, "X-OpenRosa-Accept-Content-Length", len);
	}
	if (sub ? strcmp(req->method, "HEAD") != 0 &&
	    strcmp(req->method, "POST") != 0 : !get) {
		http_add_header(res, "Allow", sub ? "HEAD, POST" : "GET, HEAD");
		or_message(res, 405, "method not allowed");
		return;
	}
	if (!or_auth(a, req, res, who, sizeof(who)))
		return;
	if (strcmp(p, "/formList") == 0)
		or_form_list(a, req, res);
	else if (strncmp(p, "/forms/", 7) == 0)
		or_form(a, p + 7, res);
	else if (strcmp(req->method, "HEAD") == 0)
		http_respond(res, 204, NULL, NULL, 0);
	else
		or_submit(a, req, who, res);
}
