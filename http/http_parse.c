/*
 * http_parse.c: see http_parse.h.
 *
 * http-parser hands over the URL, header names and header values in
 * pieces (a piece ends where a read ended).  They are appended to hb as
 * NUL-terminated strings; hp->last says which kind of string hb ends
 * with, so that a piece of the same kind continues it and a piece of
 * another kind starts a new one.  The invariant: when hp->last is not
 * HP_NONE, hb[hb_len - 1] is the NUL of the string being built.
 */
#include "http/http_parse.h"

#include <stdlib.h>
#include <string.h>

enum { HP_NONE, HP_URL, HP_NAME, HP_VALUE };

/* A large body buffer is not kept from one request to the next. */
#define HP_KEEP_BODY_CAP (64 * 1024)

static int
hp_fail(struct http_parse *hp, int status)
{
	if (hp->error == 0)
		hp->error = status;
	return -1;
}

static int
hp_append(struct http_parse *hp, int kind, const char *at, size_t len,
    size_t *off)
{
	if (hp->last != kind) {
		if (hp->hb_len + 1 > hp->hb_cap)
			return hp_fail(hp, 431);
		*off = hp->hb_len;
		hp->hb[hp->hb_len++] = '\0';
		hp->last = kind;
	}
	if (len > hp->hb_cap - hp->hb_len)
		return hp_fail(hp, 431);
	/* over the NUL, then the NUL after */
	memcpy(hp->hb + hp->hb_len - 1, at, len);
	hp->hb_len += len;
	hp->hb[hp->hb_len - 1] = '\0';
	return 0;
}

static int
on_message_begin(http_parser *p)
{
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;

	if (hp->last != HP_NONE && hp->last != HP_URL)
		return hp_fail(hp, 400);
	return hp_append(hp, HP_URL, at, len, &hp->url_off);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;

	if (hp->headers_done)
		return 0;		/* a trailer: dropped */
	if (hp->last != HP_NAME) {
		if (hp->n_headers == HTTP_MAX_HEADERS)
			return hp_fail(hp, 431);
		hp->value_off[hp->n_headers] = (size_t)-1;
		hp->n_headers++;
	}
	return hp_append(hp, HP_NAME, at, len,
	    &hp->name_off[hp->n_headers - 1]);
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;

	if (hp->headers_done)
		return 0;
	if (hp->n_headers == 0)
		return hp_fail(hp, 400);
	return hp_append(hp, HP_VALUE, at, len,
	    &hp->value_off[hp->n_headers - 1]);
}

static int
hp_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_parse_decode_path(char *s)
{
	char *o = s;

	/* o never passes s: an escape is three bytes decoded into one */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '%') {
			/* s[2] is read only when s[1] is a digit, not NUL */
			int h = hp_hex((unsigned char)s[1]);
			int l = h < 0 ? -1 : hp_hex((unsigned char)s[2]);
			if (l < 0 || (h == 0 && l == 0))
				return -1;
			c = (unsigned char)(h * 16 + l);
			s += 2;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return 0;
}

/* Splits the URL into the decoded path and the raw query. */
static int
hp_url(struct http_parse *hp)
{
	char *url, *q;

	if (hp->url_off >= hp->hb_len)
		return -1;
	url = hp->hb + hp->url_off;
	if (url[0] != '/')
		return -1;
	if ((q = strchr(url, '?')) != NULL)
		*q++ = '\0';
	if (http_parse_decode_path(url) != 0)
		return -1;
	hp->req.path = url;
	hp->req.query = q ? q : "";
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_parse *hp = p->data;

	hp->headers_done = 1;
	if ((p->flags & F_CONTENTLENGTH) &&
	    p->content_length > hp->lim->max_body_bytes)
		return hp_fail(hp, 413);
	if (hp_url(hp) != 0)
		return hp_fail(hp, 400);
	hp->req.method = http_method_str((enum http_method)p->method);
	hp->req.n_headers = hp->n_headers;
	for (size_t i = 0; i < hp->n_headers; i++) {
		hp->req.headers[i].name = hp->hb + hp->name_off[i];
		hp->req.headers[i].value = hp->value_off[i] == (size_t)-1 ?
		    "" : hp->hb + hp->value_off[i];
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;
	size_t need;

	if (len > hp->lim->max_body_bytes - hp->body_len)
		return hp_fail(hp, 413);
	need = hp->body_len + len + 1;
	if (need > hp->body_cap) {
		size_t cap = hp->body_cap ? hp->body_cap : 4096;
		char *nb;

		while (cap < need)
			cap *= 2;
		if (cap > hp->lim->max_body_bytes + 1)
			cap = hp->lim->max_body_bytes + 1;
		if ((nb = realloc(hp->body, cap)) == NULL)
			return hp_fail(hp, 500);
		hp->body = nb;
		hp->body_cap = cap;
	}
	memcpy(hp->body + hp->body_len, at, len);
	hp->body_len += len;
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct http_parse *hp = p->data;

	if (hp->body) {
		hp->body[hp->body_len] = '\0';
		hp->req.body = hp->body;
	} else
		hp->req.body = "";
	hp->req.body_len = hp->body_len;
	hp->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings hp_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void
hp_reset(struct http_parse *hp)
{
	const char *peer = hp->req.peer;

	http_parser_init(&hp->p, HTTP_REQUEST);
	hp->p.data = hp;
	hp->hb_len = 0;
	hp->last = HP_NONE;
	hp->url_off = 0;
	hp->n_headers = 0;
	hp->body_len = 0;
	memset(&hp->req, 0, sizeof(hp->req));
	hp->req.peer = peer;
	hp->seen = 0;
	hp->head_bytes = 0;
	hp->headers_done = 0;
	hp->complete = 0;
	hp->error = 0;
}

int
http_parse_init(struct http_parse *hp, const struct http_limits *lim,
    const char *peer)
{
	memset(hp, 0, sizeof(*hp));
	hp->lim = lim;
	hp->hb_cap = lim->max_header_bytes + 1;
	if ((hp->hb = malloc(hp->hb_cap)) == NULL)
		return -1;
	hp->req.peer = peer;
	hp_reset(hp);
	return 0;
}

void
http_parse_free(struct http_parse *hp)
{
	free(hp->hb);
	free(hp->body);
	hp->hb = hp->body = NULL;
	hp->hb_cap = hp->body_cap = 0;
}

void
http_parse_next(struct http_parse *hp)
{
	if (hp->body_cap > HP_KEEP_BODY_CAP) {
		free(hp->body);
		hp->body = NULL;
		hp->body_cap = 0;
	}
	hp_reset(hp);
}

/*
 * While the headers are not complete, http-parser is given no more bytes
 * than are left of max_header_bytes, so the raw header block is bounded
 * exactly, whitespace and all.
 */
size_t
http_parse_feed(struct http_parse *hp, const char *data, size_t len)
{
	size_t used = 0;

	if (hp->complete || hp->error || hp->hb == NULL)
		return 0;
	while (used < len) {
		size_t chunk = len - used, n;
		int was_done = hp->headers_done;
		enum http_errno e;

		if (!was_done) {
			size_t room = hp->lim->max_header_bytes - hp->head_bytes;
			if (room == 0) {
				hp->error = 431;
				break;
			}
			if (chunk > room)
				chunk = room;
		}
		n = http_parser_execute(&hp->p, &hp_settings, data + used,
		    chunk);
		if (!was_done && !hp->headers_done)
			hp->head_bytes += n;
		used += n;
		hp->seen += n;
		if (hp->complete || hp->error)
			break;
		e = HTTP_PARSER_ERRNO(&hp->p);
		if (e != HPE_OK) {
			hp->error = e == HPE_HEADER_OVERFLOW ? 431 : 400;
			break;
		}
		if (n != chunk) {
			/* an upgrade or CONNECT tunnel: not served here */
			hp->error = 400;
			break;
		}
	}
	if (!hp->complete && !hp->error && !hp->headers_done &&
	    hp->head_bytes >= hp->lim->max_header_bytes)
		hp->error = 431;
	return used;
}

int
http_parse_keep_alive(const struct http_parse *hp)
{
	return http_should_keep_alive(&hp->p);
}
