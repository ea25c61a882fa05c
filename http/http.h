/*
 * http.h: a small HTTP/1.1 server on libuv with http-parser, for fieldd's
 * local API (and later the web app and OpenRosa).  It owns its listening
 * handle and its connections; handlers are called synchronously on the
 * loop with a complete request (headers and body read in full, within the
 * limits) and fill in a response that the server sends and then frees.
 *
 * Limits (struct http_limits) are checked before any growth: a header
 * block over max_header_bytes gets 431, a body over max_body_bytes gets
 * 413 (as soon as Content-Length or the bytes received say so), a request
 * not complete within request_ms gets 408, a connection idle for idle_ms
 * is closed, and a connection past max_conns is answered 503 and closed.
 * A request the parser refuses gets 400.  After an error answer the
 * connection is closed.  Keep-alive otherwise.
 *
 * Hoarding (issue 16): a client is an IPv4 address or an IPv6 /64
 * (common/peer.h).  One client may hold per_peer connections, of which
 * per_peer_headers still reading a request's headers; past either, a new
 * connection of its is closed at once, unanswered.  Headers must be in
 * within header_ms: of the accept for a connection's first request, of
 * the first byte for later ones (then request_ms for the body).  Of the
 * max_conns slots, `reserve` are kept: when the other clients hold the
 * rest, a newcomer is let in only if its first request passes the
 * admit callback (fieldd: a valid token or session), else 503, and its
 * headers must be in within a second (a known client asks at once).  The
 * board itself (127.0.0.1, ::1) has max_conns slots of its own and no
 * per-client caps.  A zero field takes its default (below).
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <uv.h>

struct http_limits {
	size_t max_header_bytes;	/* request line + headers, e.g. 8192 */
	size_t max_body_bytes;		/* e.g. 256 KiB */
	unsigned max_conns;		/* e.g. 64 */
	unsigned idle_ms;		/* between requests, e.g. 15000 */
	unsigned request_ms;		/* one whole request, e.g. 10000 */
	unsigned header_ms;		/* headers in; 0: HTTP_HEADER_MS or
					   request_ms if shorter */
	unsigned per_peer;		/* 0: max_conns / 4, at least 4 */
	unsigned per_peer_headers;	/* 0: HTTP_PEER_HEADERS */
	unsigned reserve;		/* 0: max_conns / 4 */
};

#define HTTP_HEADER_MS 5000
#define HTTP_PEER_HEADERS 8

#define HTTP_MAX_HEADERS 32

struct http_header {
	const char *name;		/* as received */
	const char *value;
};

struct http_request {
	const char *method;		/* "GET", "POST", "HEAD", ... */
	const char *path;		/* percent-decoded path, no query */
	const char *query;		/* raw query string without '?', or "" */
	size_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
	const char *body;		/* NUL-terminated, body_len bytes */
	size_t body_len;
	const char *peer;		/* peer address, e.g. "127.0.0.1" */
};

struct http_response {
	int status;
	const char *content_type;	/* static string, or NULL for none */
	char *body;			/* malloc'd, owned by the server after
					   the handler returns */
	size_t body_len;
	char headers[512];		/* extra header lines, each ending
					   "\r\n"; may be empty */
};

/* Handler: fills res (status defaults to 500 if left 0). */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
    struct http_response *res);

struct http_server;

/*
 * Binds addr:port (IPv4 or IPv6 literal) and starts serving on loop.
 * 0 and *out, or a negative UV_E* code (UV_EINVAL for a bad address or
 * port).  lim is copied.  On a bind or listen failure the half-made
 * listener is closed and freed on the loop's next turn, so run the loop
 * (or let the process exit) before uv_loop_close().
 */
int http_server_start(uv_loop_t *loop, const char *addr, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out);

/*
 * Stops accepting, closes every connection, and calls done(arg) once all
 * handles are closed; the server is freed then.  A response still being
 * written is cut off.  A second call is a no-op; done may be NULL.  May
 * be called from inside a handler: that request gets no answer.
 */
void http_server_stop(struct http_server *s, void (*done)(void *),
    void *arg);

/*
 * For the reserved slots: fn(ctx, req) is 1 when req comes from a client
 * the server should keep room for (fieldd: a valid bearer token).  Called
 * only for a connection let into the reserve, at its first request.
 * Without one the reserve is the board's only.
 */
void http_server_set_admit(struct http_server *s,
    int (*fn)(void *ctx, const struct http_request *req));

/* The port actually bound (useful after asking for port 0). */
int http_server_port(const struct http_server *s);

/* Case-insensitive header lookup: value or NULL. */
const char *http_header_get(const struct http_request *req, const char *name);

/* Sets res's status, content type and a copy of body.  0 or -1 (memory). */
int http_respond(struct http_response *res, int status, const char *ctype,
    const void *body, size_t len);

/*
 * Adds one extra header line to res.  0, or -1 when it does not fit or
 * the name or value holds CR or LF (or the name a colon).
 */
int http_add_header(struct http_response *res, const char *name,
    const char *value);

/* The standard reason phrase for a status code ("Not Found"). */
const char *http_reason(int status);

#endif
