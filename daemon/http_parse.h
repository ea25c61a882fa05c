/*
 * http_parse.h: one HTTP/1.1 request from a byte stream, with limits, on
 * top of http-parser; no sockets, so it can be fuzzed on its own.
 *
 * The request line and headers are copied into one buffer allocated at
 * init of max_header_bytes (so pointers into it stay valid); the body
 * into a buffer grown up to max_body_bytes.  When a request is complete
 * the parser pauses: bytes after it (a pipelined request) are not
 * consumed until http_parse_next().
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <http_parser.h>
#include <stddef.h>

#include "daemon/http.h"

struct http_parse {
	http_parser p;
	const struct http_limits *lim;
	char *hb;			/* url and headers, NUL-separated */
	size_t hb_len, hb_cap;
	int last;			/* 0, 1 url, 2 header name, 3 value */
	size_t url_off;
	size_t name_off[HTTP_MAX_HEADERS], value_off[HTTP_MAX_HEADERS];
	size_t n_headers;
	char *body;
	size_t body_len, body_cap;
	char path[1024];		/* percent-decoded path */
	struct http_request req;
	size_t seen;			/* bytes of this request so far */
	int complete;			/* a whole request is ready in req */
	int error;			/* an HTTP status to answer, then close */
};

/* 0, or -1 when out of memory. */
int http_parse_init(struct http_parse *hp, const struct http_limits *lim,
    const char *peer);
void http_parse_free(struct http_parse *hp);

/*
 * Feeds bytes; returns how many were consumed.  Afterwards either
 * hp->complete (req is filled), hp->error (a status), or neither (more
 * bytes needed; all were consumed).
 */
size_t http_parse_feed(struct http_parse *hp, const char *data, size_t len);

/* Ready for the next request on the same connection. */
void http_parse_next(struct http_parse *hp);

/* 1 when the connection may stay open after this request. */
int http_parse_keep_alive(const struct http_parse *hp);

#endif
