/* http_parse.c: see http_parse.h. */
#include "daemon/http_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static struct http_parse *
hp_of(http_parser *p)
{
	return p->data;
}

/* Appends to the current string (continuing it when the parser gives a
   field in pieces), keeping a NUL after it. */
static int
hp_append(struct http_parse *hp, int kind, const char *at, size_t len,
    size_t *off)
{
	if (hp->last != kind) {
		if (hp->hb_len + 1 > hp->hb_cap)
			goto full;
		*off = hp->hb_len;
		hp->hb[hp->hb_len] = '\0';
		hp->hb_len++;		/* room for the NUL */
		hp->last = kind;
	}
	if (hp->hb_len + len > hp->hb_cap)
		goto full;
	/* overwrite the NUL, write the piece, put the NUL back */
	memcpy(hp->hb + hp->hb_len - 1, at, len);
	hp->hb_len += len;
	hp->hb[hp->hb_len - 1] = '\0';
	return 0;
full:
	hp->error = 431;
	return -1;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = hp_of(p);

	return hp_append(hp, 1, at, len, &hp->url_off);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = hp_of(p);

	if (hp->last != 2) {
		if (hp->n_headers == HTTP_MAX_HEADERS) {
			hp->error = 431;
			return -1;
		}
		hp->n_headers++;
	}
	return hp_append(hp, 2, at, len, &hp->name_off[hp->n_headers - 1]);
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = hp_of(p);

	if (hp->n_headers == 0) {
		hp->error = 400;
		return -1;
	}
	return hp_append(hp, 3, at, len, &hp->value_off[hp->n_headers - 1]);
}

static int
hp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Splits the URL into a decoded path and the raw query. */
static int
hp_url(struct http_parse *hp)
{
	char *url = hp->hb + hp->url_off;
	char *q = strchr(url, '?');
	size_t o = 0;

	if (hp->last == 0 || url[0] != '/')
		return -1;
	if (q)
		*q++ = '\0';
	for (const char *s = url; *s; s++) {
		int c = (unsigned char)*s;
		if (c == '%') {
			int h = hp_hex(s[1]), l = h < 0 ? -1 : hp_hex(s[2]);
			if (l < 0 || (h == 0 && l == 0))
				return -1;
			c = h * 16 + l;
			s += 2;
		}
		if (o + 1 >= sizeof(hp->path))
			return -1;
		hp->path[o++] = (char)c;
	}
	hp->path[o] = '\0';
	hp->req.path = hp->path;
	hp->req.query = q ? q : "";
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_parse *hp = hp_of(p);

	if ((p->flags & F_CONTENTLENGTH) &&
	    p->content_length > hp->lim->max_body_bytes) {
		hp->error = 413;
		return -1;
	}
	if (hp_url(hp) != 0) {
		hp->error = 400;
		return -1;
	}
	hp->req.method = http_method_str((enum http_method)p->method);
	hp->req.n_headers = hp->n_headers;
	for (size_t i = 0; i < hp->n_headers; i++) {
		hp->req.headers[i].name = hp->hb + hp->name_off[i];
		hp->req.headers[i].value = hp->hb + hp->value_off[i];
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = hp_of(p);

	if (hp->body_len + len > hp->lim->max_body_bytes) {
		hp->error = 413;
		return -1;
	}
	if (hp->body_len + len + 1 > hp->body_cap) {
		size_t cap = hp->body_cap ? hp->body_cap : 4096;
		char *nb;
		while (cap < hp->body_len + len + 1)
			cap *= 2;
		if (cap > hp->lim->max_body_bytes + 1)
			cap = hp->lim->max_body_bytes + 1;
		if ((nb = realloc(hp->body, cap)) == NULL) {
			hp->error = 500;
			return -1;
		}
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
	struct http_parse *hp = hp_of(p);

	hp->req.body = hp->body ? hp->body : "";
	if (hp->body)
		hp->body[hp->body_len] = '\0';
	hp->req.body_len = hp->body_len;
	hp->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings hp_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

int
http_parse_init(struct http_parse *hp, const struct http_limits *lim,
    const char *peer)
{
	memset(hp, 0, sizeof(*hp));
	hp->lim = lim;
	hp->hb_cap = lim->max_header_bytes;
	if ((hp->hb = malloc(hp->hb_cap)) == NULL)
		return -1;
	http_parser_init(&hp->p, HTTP_REQUEST);
	hp->p.data = hp;
	hp->req.peer = peer;
	return 0;
}

void
http_parse_free(struct http_parse *hp)
{
	free(hp->hb);
	free(hp->body);
	hp->hb = hp->body = NULL;
}

void
http_parse_next(struct http_parse *hp)
{
	const char *peer = hp->req.peer;

	http_parser_pause(&hp->p, 0);
	hp->hb_len = 0;
	hp->last = 0;
	hp->n_headers = 0;
	hp->url_off = 0;
	hp->body_len = 0;
	/* A large body buffer is not kept for the next request. */
	if (hp->body_cap > 64 * 1024) {
		free(hp->body);
		hp->body = NULL;
		hp->body_cap = 0;
	}
	memset(&hp->req, 0, sizeof(hp->req));
	hp->req.peer = peer;
	hp->seen = 0;
	hp->complete = 0;
	hp->error = 0;
}

size_t
http_parse_feed(struct http_parse *hp, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	if (hp->complete || hp->error || len == 0)
		return 0;
	n = http_parser_execute(&hp->p, &hp_settings, data, len);
	hp->seen += n;
	e = HTTP_PARSER_ERRNO(&hp->p);
	if (hp->complete)
		return n;
	if (e != HPE_OK && !hp->error)
		hp->error = e == HPE_HEADER_OVERFLOW ? 431 : 400;
	else if (e == HPE_OK && n != len && !hp->error)
		hp->error = 400;
	/* The request line and headers together are bounded too. */
	if (!hp->error && hp->hb_len >= hp->hb_cap)
		hp->error = 431;
	return n;
}

int
http_parse_keep_alive(const struct http_parse *hp)
{
	return http_should_keep_alive(&hp->p);
}
