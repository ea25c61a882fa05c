/*
 * http.c: see http.h.
 *
 * A connection is a uv_tcp_t and a uv_timer_t in one struct http_conn,
 * on the server's list from accept until both handles have closed; it
 * is freed in the second close callback, never before.  The write and
 * shutdown requests live in the struct too: libuv calls their callbacks
 * (with UV_ECANCELED if need be) before the close callbacks.
 *
 * The state machine of a connection:
 *
 *   IDLE     reading; no byte of a request yet.  Timer: idle_ms (a new
 *            connection: the smaller of it and header_ms, from the
 *            accept), then the connection is closed without an answer.
 *   READING  reading; a request has begun.  Timer: header_ms until the
 *            headers are in (a new connection's keeps running from the
 *            accept; a later request's is armed at its first byte),
 *            then request_ms for the body; neither is pushed back by
 *            bytes (a client that trickles them is still cut off), then
 *            408.
 *   WRITING  reads stopped; the handler has run (synchronously) and its
 *            response is being written.  Timer: the larger of idle_ms
 *            and request_ms, then closed.  Bytes of a pipelined request
 *            that came in the same read are kept in c->left.
 *   LINGER   the answer was the last one (an error, or no keep-alive):
 *            the write side is shut down and whatever the client still
 *            sends is read and dropped until its EOF or HTTP_LINGER_MS,
 *            so that closing does not reset the connection under an
 *            answer the client has not read yet.
 *   CLOSING  uv_close() called on both handles.
 *
 *   IDLE --byte--> READING --request complete--> WRITING
 *   WRITING --written, keep-alive--> IDLE (c->left fed first)
 *   WRITING --written, last--> LINGER --EOF or timer--> CLOSING
 *   READING --parse error or timer--> WRITING (error answer, last)
 *   any --read error, stop--> CLOSING
 *
 * Who gets a connection (server_room): the board itself (127.0.0.1,
 * ::1) up to max_conns of its own; any other client (an IPv4 address or
 * IPv6 /64) up to per_peer, of which per_peer_headers in IDLE before
 * its first request or in READING before the headers end, else closed
 * unanswered; when the other clients hold max_conns - reserve, only
 * into the reserve, where the first request must pass the admit
 * callback (else 503) and its headers come within a second.
 *
 * Memory per connection: the struct, the parser's header buffer
 * (max_header_bytes) and body (at most max_body_bytes), at most one read
 * buffer's worth of pipelined bytes, and the response being written.
 * Reads go into one buffer of the server's: libuv calls the read
 * callback right after filling it, and every byte is parsed or copied
 * before the callback returns.
 */
#include "http/http.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/peer.h"
#include "http/http_parse.h"

#define HTTP_READ_BUF	65536
#define HTTP_LINGER_MS	2000
#define HTTP_RESERVED_HEADER_MS 1000

enum conn_state {
	CONN_IDLE,
	CONN_READING,
	CONN_WRITING,
	CONN_LINGER,
	CONN_CLOSING,
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	struct http_server *srv;
	struct http_conn *next, *prev;
	enum conn_state state;
	int handles;			/* open handles: 2, then 1, then freed */
	int last;			/* close after the write in flight */
	int have_hp;
	struct http_parse hp;
	char *whead, *wbody;		/* the response in flight */
	char *left;			/* pipelined bytes not yet parsed */
	size_t left_len;
	char peer[64];
	char key[PEER_KEY_MAX];		/* the client (common/peer.h) */
	int local;			/* the board itself */
	int served;			/* a request answered on it */
	int reserved;			/* let into the reserve: must be admitted */
};

struct http_server {
	uv_tcp_t listener;
	uv_loop_t *loop;
	struct http_limits lim;
	http_handler_fn fn;
	void *ctx;
	int (*admit)(void *ctx, const struct http_request *req);
	struct http_conn *conns;
	unsigned n_conns;
	int port;
	int stopping, listener_open;
	void (*done)(void *);
	void *done_arg;
	char rbuf[HTTP_READ_BUF];
};

static void conn_feed(struct http_conn *, const char *, size_t);
static void conn_error(struct http_conn *, int);

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

const char *
http_header_get(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

int
http_respond(struct http_response *res, int status, const char *ctype,
    const void *body, size_t len)
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	res->status = status;
	res->content_type = ctype;
	if (len == 0)
		return 0;
	if ((res->body = malloc(len)) == NULL)
		return -1;
	memcpy(res->body, body, len);
	res->body_len = len;
	return 0;
}

int
http_add_header(struct http_response *res, const char *name,
    const char *value)
{
	size_t used = strnlen(res->headers, sizeof(res->headers));
	int n;

	/* no header splitting, whatever the caller passes */
	if (used == sizeof(res->headers) || strpbrk(name, "\r\n:") != NULL ||
	    strpbrk(value, "\r\n") != NULL)
		return -1;
	n = snprintf(res->headers + used, sizeof(res->headers) - used,
	    "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(res->headers) - used) {
		res->headers[used] = '\0';
		return -1;
	}
	return 0;
}

void
http_server_set_admit(struct http_server *s,
    int (*fn)(void *ctx, const struct http_request *req))
{
	s->admit = fn;
}

int
http_server_port(const struct http_server *s)
{
	return s->port;
}

/* Closing. */

static void
server_maybe_done(struct http_server *s)
{
	void (*done)(void *);
	void *arg;

	if (!s->stopping || s->listener_open || s->conns != NULL)
		return;
	done = s->done;
	arg = s->done_arg;
	free(s);
	if (done)
		done(arg);
}

static void
conn_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	struct http_server *s = c->srv;

	if (--c->handles > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	if (c->have_hp)
		http_parse_free(&c->hp);
	free(c->whead);
	free(c->wbody);
	free(c->left);
	free(c);
	server_maybe_done(s);
}

static void
conn_close(struct http_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Timers: one per connection, its meaning given by the state. */

static void
conn_timeout(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	switch (c->state) {
	case CONN_READING:
		conn_error(c, 408);
		break;
	case CONN_IDLE:
	case CONN_WRITING:
	case CONN_LINGER:
		log_debug("http: %s: timed out", c->peer);
		conn_close(c);
		break;
	case CONN_CLOSING:
		break;
	}
}

static void
conn_arm(struct http_conn *c, unsigned ms)
{
	uv_timer_start(&c->timer, conn_timeout, ms, 0);
}

/* Reading. */

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;

	*buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void
conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = st->data;

	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("http: %s: %s", c->peer,
			    uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	if (c->state == CONN_IDLE || c->state == CONN_READING)
		conn_feed(c, buf->base, (size_t)nread);
	/* LINGER: dropped */
}

static void
conn_read_start(struct http_conn *c)
{
	int rc;

	rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
	if (rc != 0 && rc != UV_EALREADY) {
		log_debug("http: %s: read: %s", c->peer, uv_strerror(rc));
		conn_close(c);
	}
}

/* Writing. */

static void
conn_shut(uv_shutdown_t *req, int status)
{
	struct http_conn *c = req->data;

	if (status < 0 && c->state == CONN_LINGER)
		conn_close(c);
}

/* The last answer is out: half-close and drain until the client's EOF. */
static void
conn_linger(struct http_conn *c)
{
	unsigned ms = c->srv->lim.request_ms < HTTP_LINGER_MS ?
	    c->srv->lim.request_ms : HTTP_LINGER_MS;

	c->state = CONN_LINGER;
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, conn_shut) != 0) {
		conn_close(c);
		return;
	}
	conn_arm(c, ms);
	conn_read_start(c);
}

static void
conn_written(uv_write_t *req, int status)
{
	struct http_conn *c = req->data;
	char *left;
	size_t n;

	free(c->whead);
	free(c->wbody);
	c->whead = c->wbody = NULL;
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		log_debug("http: %s: write: %s", c->peer, uv_strerror(status));
		conn_close(c);
		return;
	}
	if (c->last || c->srv->stopping) {
		conn_linger(c);
		return;
	}
	/* The next request: first the bytes left over from the last read. */
	http_parse_next(&c->hp);
	c->state = CONN_IDLE;
	left = c->left;
	n = c->left_len;
	c->left = NULL;
	c->left_len = 0;
	if (n > 0)
		conn_feed(c, left, n);
	free(left);
	if (c->state == CONN_IDLE)
		conn_arm(c, c->srv->lim.idle_ms);
	if (c->state == CONN_IDLE || c->state == CONN_READING)
		conn_read_start(c);
}

/* The status line and headers, as snprintf() counts them. */
static int
conn_head(char *out, size_t size, const struct http_response *res,
    const char *clen, int last)
{
	const char *ct = res->content_type;

	return snprintf(out, size, "HTTP/1.1 %d %s\r\n%s%s%s%s"
	    "Connection: %s\r\n%.*s\r\n", res->status,
	    http_reason(res->status), clen, ct ? "Content-Type: " : "",
	    ct ? ct : "", ct ? "\r\n" : "", last ? "close" : "keep-alive",
	    (int)strnlen(res->headers, sizeof(res->headers)), res->headers);
}

/*
 * Queues res (taking its body) and enters WRITING.  head: send the
 * headers only.  last: close after it.
 */
static void
conn_send(struct http_conn *c, struct http_response *res, int head,
    int last)
{
	unsigned ms = c->srv->lim.idle_ms > c->srv->lim.request_ms ?
	    c->srv->lim.idle_ms : c->srv->lim.request_ms;
	int no_body = res->status == 204 || res->status == 304 || head;
	char clen[48] = "";
	uv_buf_t b[2];
	int hl, rc;

	assert(c->whead == NULL && c->wbody == NULL);
	if (res->status != 204)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n",
		    res->body_len);
	hl = conn_head(NULL, 0, res, clen, last);
	if (hl < 0 || (c->whead = malloc((size_t)hl + 1)) == NULL) {
		conn_close(c);
		return;
	}
	conn_head(c->whead, (size_t)hl + 1, res, clen, last);
	b[0] = uv_buf_init(c->whead, (unsigned)hl);
	if (!no_body && res->body_len > 0) {
		c->wbody = res->body;
		res->body = NULL;
		b[1] = uv_buf_init(c->wbody, (unsigned)res->body_len);
	}
	c->state = CONN_WRITING;
	c->last = last;
	c->wreq.data = c;
	conn_arm(c, ms);
	rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, c->wbody ? 2 : 1,
	    conn_written);
	if (rc != 0) {
		log_debug("http: %s: write: %s", c->peer, uv_strerror(rc));
		free(c->whead);
		free(c->wbody);
		c->whead = c->wbody = NULL;
		conn_close(c);
	}
}

/* Answers status with a small JSON body and closes after it. */
static void
conn_error(struct http_conn *c, int status)
{
	struct http_response res;
	char body[96];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n",
	    http_reason(status));
	memset(&res, 0, sizeof(res));
	log_debug("http: %s: answered %d", c->peer, status);
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (http_respond(&res, status, "application/json", body,
	    (size_t)n) != 0) {
		conn_close(c);
		return;
	}
	conn_send(c, &res, 0, 1);
	free(res.body);
}

static void
conn_dispatch(struct http_conn *c)
{
	struct http_response res;
	const struct http_request *req = &c->hp.req;
	int head = strcmp(req->method, "HEAD") == 0;

	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	if (c->reserved) {
		/* in a slot kept for the board and for known clients */
		if (c->srv->admit == NULL ||
		    c->srv->admit(c->srv->ctx, req) != 1) {
			log_debug("http: %s: no room but for known clients",
			    c->peer);
			conn_error(c, 503);
			return;
		}
		c->reserved = 0;
	}
	c->served = 1;
	c->state = CONN_WRITING;
	memset(&res, 0, sizeof(res));
	c->srv->fn(c->srv->ctx, req, &res);
	if (c->state == CONN_CLOSING) {
		/* the handler stopped the server */
		free(res.body);
		return;
	}
	if (res.status < 100 || res.status > 999)
		res.status = 500;
	log_debug("http: %s %s %s -> %d", c->peer, req->method, req->path,
	    res.status);
	conn_send(c, &res, head,
	    !http_parse_keep_alive(&c->hp) || c->srv->stopping);
	free(res.body);
}

/* Parses bytes; data may be c->srv->rbuf, or c->left taken out. */
static void
conn_feed(struct http_conn *c, const char *data, size_t len)
{
	size_t began = c->hp.seen, n;
	int had_headers = c->hp.headers_done;

	n = http_parse_feed(&c->hp, data, len);
	if (c->hp.error) {
		conn_error(c, c->hp.error);
		return;
	}
	if (!c->hp.complete) {
		if (began == 0 && c->hp.seen > 0) {
			c->state = CONN_READING;
			/* the first request's header deadline runs from the
			   accept; a later one's from its first byte */
			if (c->served)
				conn_arm(c, c->srv->lim.header_ms);
		}
		if (!had_headers && c->hp.headers_done)
			conn_arm(c, c->srv->lim.request_ms);
		return;
	}
	if (n < len) {
		/* a pipelined request, for after this one */
		assert(c->left == NULL);
		if ((c->left = malloc(len - n)) == NULL) {
			conn_close(c);
			return;
		}
		memcpy(c->left, data + n, len - n);
		c->left_len = len - n;
	}
	conn_dispatch(c);
}

/* Accepting. */

static void
conn_peer(struct http_conn *c)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&ss, c->peer,
		    sizeof(c->peer));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer,
		    sizeof(c->peer));
}

/* Still reading a request's headers (or, new, not one byte yet). */
static int
conn_in_headers(const struct http_conn *c)
{
	return (c->state == CONN_IDLE && !c->served) ||
	    (c->state == CONN_READING && !c->hp.headers_done);
}

/*
 * Whether c (accepted, its peer known) may stay: 0 yes, 1 into the
 * reserve (c->reserved), 2 no room (503), 3 over its client's caps
 * (closed unanswered).
 */
static int
server_room(struct http_server *s, struct http_conn *c)
{
	unsigned local = 0, remote = 0, mine = 0, mine_hdr = 0;

	for (struct http_conn *o = s->conns; o; o = o->next) {
		if (o == c || o->state == CONN_CLOSING ||
		    o->state == CONN_LINGER || !o->have_hp)
			continue;
		if (o->local) {
			local++;
			continue;
		}
		remote++;
		if (strcmp(o->key, c->key) == 0) {
			mine++;
			mine_hdr += conn_in_headers(o);
		}
	}
	if (c->local)
		return local >= s->lim.max_conns ? 2 : 0;
	if (mine >= s->lim.per_peer || mine_hdr >= s->lim.per_peer_headers)
		return 3;
	if (remote >= s->lim.max_conns)
		return 2;
	return remote >= s->lim.max_conns - s->lim.reserve ? 1 : 0;
}

static void
server_accept(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	struct http_conn *c;
	unsigned others = s->n_conns;
	int room;

	if (status < 0) {
		log_warn("http: accept: %s", uv_strerror(status));
		return;
	}
	if (s->stopping)
		return;
	/*
	 * On failure here the pending connection stays in the backlog and
	 * libuv stops watching the listener until it is taken; there is
	 * nothing better to do without memory.
	 */
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("http: accept: out of memory");
		return;
	}
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	c->state = CONN_IDLE;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	conn_peer(c);
	c->local = peer_is_local(c->peer);
	peer_key(c->peer, c->key);
	room = server_room(s, c);
	if (room == 3) {
		log_debug("http: %s: over its client's connections", c->peer);
		conn_close(c);
		return;
	}
	if (room == 2) {
		/*
		 * Past the limit: a short 503 and close.  Past twice the
		 * limit even that is not spent, so a flood cannot keep an
		 * unbounded number of lingering answers alive.
		 */
		log_debug("http: %s: over %u connections", c->peer,
		    s->lim.max_conns);
		if (others >= 2 * (size_t)s->lim.max_conns)
			conn_close(c);
		else
			conn_error(c, 503);
		return;
	}
	c->reserved = room == 1;
	if (http_parse_init(&c->hp, &s->lim, c->peer) != 0) {
		log_warn("http: %s: out of memory", c->peer);
		conn_close(c);
		return;
	}
	c->have_hp = 1;
	/* the first request's headers: within header_ms of the accept
	   (and a connection that sends nothing goes after idle_ms) */
	{
		unsigned ms = s->lim.header_ms < s->lim.idle_ms ?
		    s->lim.header_ms : s->lim.idle_ms;

		/* a kept slot: a known client asks at once */
		if (c->reserved && ms > HTTP_RESERVED_HEADER_MS)
			ms = HTTP_RESERVED_HEADER_MS;
		conn_arm(c, ms);
	}
	conn_read_start(c);
}

static void
server_failed(uv_handle_t *h)
{
	free(h->data);
}

int
http_server_start(uv_loop_t *loop, const char *addr, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	int rc, sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (port < 0 || port > 65535 ||
	    (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) != 0))
		return UV_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return UV_ENOMEM;
	s->loop = loop;
	s->lim = *lim;
	if (s->lim.header_ms == 0)
		s->lim.header_ms = HTTP_HEADER_MS;
	if (s->lim.request_ms && s->lim.header_ms > s->lim.request_ms)
		s->lim.header_ms = s->lim.request_ms;
	if (s->lim.per_peer == 0)
		s->lim.per_peer = s->lim.max_conns / 4 < 4 ? 4 :
		    s->lim.max_conns / 4;
	if (s->lim.per_peer_headers == 0)
		s->lim.per_peer_headers = HTTP_PEER_HEADERS;
	if (s->lim.reserve == 0)
		s->lim.reserve = s->lim.max_conns / 4;
	if (s->lim.reserve >= s->lim.max_conns)
		s->lim.reserve = s->lim.max_conns - 1;
	s->fn = fn;
	s->ctx = ctx;
	if ((rc = uv_tcp_init(loop, &s->listener)) != 0) {
		free(s);
		return rc;
	}
	s->listener.data = s;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, 128,
	    server_accept)) != 0 ||
	    (rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss,
	    &sl)) != 0) {
		/* freed in the close callback, on the loop's next turn */
		uv_close((uv_handle_t *)&s->listener, server_failed);
		return rc;
	}
	s->listener_open = 1;
	s->port = ntohs(ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	*out = s;
	return 0;
}

static void
server_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;

	s->listener_open = 0;
	server_maybe_done(s);
}

void
http_server_stop(struct http_server *s, void (*done)(void *), void *arg)
{
	struct http_conn *c, *next;

	if (s->stopping)
		return;
	s->stopping = 1;
	s->done = done;
	s->done_arg = arg;
	/* a write in flight is cancelled: its callback runs first */
	for (c = s->conns; c; c = next) {
		next = c->next;
		conn_close(c);
	}
	uv_close((uv_handle_t *)&s->listener, server_listener_closed);
}
