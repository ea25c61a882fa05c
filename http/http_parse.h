/*
 * http_parse.h: one HTTP/1.1 request at a time from a byte stream, with
 * limits, on top of http-parser; no sockets, so it can be fuzzed alone.
 *
 * Ownership and memory: http_parse_init() allocates one buffer of
 * max_header_bytes + 1 for the URL and the header names and values,
 * NUL-separated; it never grows, so the pointers in req stay valid until
 * http_parse_next() or http_parse_free().  The body goes into a buffer
 * grown on demand up to max_body_bytes + 1 (for the NUL).  Nothing else
 * is allocated.
 *
 * Limits, checked before any byte is stored:
 *   - the raw request line and header block (everything up to and
 *     including the empty line) may be at most max_header_bytes, and
 *     there may be at most HTTP_MAX_HEADERS headers: else error 431;
 *   - a Content-Length over max_body_bytes is refused as soon as the
 *     headers end, before any body byte, and a chunked body is refused
 *     when its decoded bytes pass the limit: error 413;
 *   - anything http-parser refuses, a URL that does not start with '/',
 *     a bad or %00 escape in the path: error 400.
 * Trailers of a chunked body are parsed and dropped.
 *
 * When a request is complete the parser stops: bytes after it (a
 * pipelined request) are not consumed until http_parse_next().
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <http_parser.h>
#include <stddef.h>

#include "http/http.h"

struct http_parse {
	http_parser p;
	const struct http_limits *lim;	/* not owned; must outlive hp */
	char *hb;			/* url, header names and values */
	size_t hb_len, hb_cap;
	int last;			/* what hb's last string is: HP_* */
	size_t url_off;
	size_t name_off[HTTP_MAX_HEADERS], value_off[HTTP_MAX_HEADERS];
	size_t n_headers;
	char *body;
	size_t body_len, body_cap;
	struct http_request req;
	size_t seen;			/* bytes of this request so far */
	size_t head_bytes;		/* raw bytes before the body */
	int headers_done;
	int complete;			/* a whole request is ready in req */
	int error;			/* an HTTP status to answer, then close */
};

/* 0, or -1 when out of memory.  peer is kept as req.peer (not copied). */
int http_parse_init(struct http_parse *hp, const struct http_limits *lim,
    const char *peer);

/* Frees the buffers; hp may be zeroed or half-initialised. */
void http_parse_free(struct http_parse *hp);

/*
 * Feeds bytes; returns how many were consumed.  Afterwards exactly one
 * of: hp->complete (req is filled; the rest of data was not consumed),
 * hp->error (a status to answer; stop feeding), or neither (all bytes
 * consumed, more needed).  Once complete or in error it consumes
 * nothing.
 */
size_t http_parse_feed(struct http_parse *hp, const char *data, size_t len);

/* Forgets the request; ready for the next one on the same connection. */
void http_parse_next(struct http_parse *hp);

/* After a complete request: 1 when the connection may stay open. */
int http_parse_keep_alive(const struct http_parse *hp);

/*
 * Percent-decodes the NUL-terminated path s in place.  0, or -1 for an
 * escape that is not %XX with two hex digits, or that decodes to NUL.
 */
int http_parse_decode_path(char *s);

#endif
