/*
 * http.c: see http.h.
 *
 * Each connection is a uv_tcp_t and a uv_timer_t in one struct http_conn,
 * freed when both handles have closed.  Its life:
 *
 *   reading --(request complete)--> handling (reads stopped, handler runs
 *   synchronously, response queued) --(written)--> reading again with any
 *   bytes left over from the last read fed first; or closing, after an
 *   error answer or a request that does not keep the connection alive.
 *
 * The timer is the idle timeout while no request has begun and the
 * request timeout once one has.
 */
#include "daemon/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "daemon/http_parse.h"

#define HTTP_READ_BUF 16384

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct http_server *srv;
	struct http_conn *next, *prev;
	struct http_parse hp;
	char peer[64];
	char rbuf[HTTP_READ_BUF];
	char *left;			/* bytes after a complete request */
	size_t left_len;
	int closing, handles, close_after_write, writing;
};

struct http_server {
	uv_tcp_t listener;
	uv_loop_t *loop;
	struct http_limits lim;
	http_handler_fn fn;
	void *ctx;
	struct http_conn *conns;
	unsigned n_conns;
	int port;
	int stopping, handles;
	void (*done)(void *);
	void *done_arg;
};

struct http_write {
	uv_write_t req;
	struct http_conn *c;
	char *buf;
};

static void conn_read_start(struct http_conn *c);
static void conn_process(struct http_conn *c, const char *data, size_t len);

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
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
	size_t used = strlen(res->headers);
	int n = snprintf(res->headers + used, sizeof(res->headers) - used,
	    "%s: %s\r\n", name, value);

	if (n < 0 || (size_t)n >= sizeof(res->headers) - used) {
		res->headers[used] = '\0';
		return -1;
	}
	return 0;
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
	if (s->stopping && s->handles == 0 && s->conns == NULL) {
		void (*done)(void *) = s->done;
		void *arg = s->done_arg;
		free(s);
		if (done)
			done(arg);
	}
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
	http_parse_free(&c->hp);
	free(c->left);
	free(c);
	server_maybe_done(s);
}

static void
conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Writing. */

static void
conn_written(uv_write_t *req, int status)
{
	struct http_write *w = (struct http_write *)req;
	struct http_conn *c = w->c;
	char *left;
	size_t n;

	free(w->buf);
	free(w);
	c->writing = 0;
	if (c->closing)
		return;
	if (status < 0 || c->close_after_write || c->srv->stopping) {
		conn_close(c);
		return;
	}
	/* Next request: first whatever was left over from the last read. */
	http_parse_next(&c->hp);
	left = c->left;
	n = c->left_len;
	c->left = NULL;
	c->left_len = 0;
	if (n > 0)
		conn_process(c, left, n);
	free(left);
	if (!c->closing && !c->writing)
		conn_read_start(c);
}

static void
conn_send(struct http_conn *c, const struct http_response *res, int head,
    int keep)
{
	struct http_write *w;
	char hdr[1024];
	size_t blen = head ? 0 : res->body_len;
	int hl;

	hl = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Content-Length: %zu\r\n%s%s%s"
	    "Connection: %s\r\n%s\r\n", res->status, http_reason(res->status),
	    res->body_len, res->content_type ? "Content-Type: " : "",
	    res->content_type ? res->content_type : "",
	    res->content_type ? "\r\n" : "", keep ? "keep-alive" : "close",
	    res->headers);
	if (hl < 0 || (size_t)hl >= sizeof(hdr) ||
	    (w = malloc(sizeof(*w))) == NULL) {
		conn_close(c);
		return;
	}
	if ((w->buf = malloc((size_t)hl + blen)) == NULL) {
		free(w);
		conn_close(c);
		return;
	}
	memcpy(w->buf, hdr, (size_t)hl);
	if (blen)
		memcpy(w->buf + hl, res->body, blen);
	w->c = c;
	c->writing = 1;
	c->close_after_write = !keep;
	uv_buf_t b = uv_buf_init(w->buf, (unsigned)((size_t)hl + blen));
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
	    conn_written) != 0) {
		free(w->buf);
		free(w);
		c->writing = 0;
		conn_close(c);
	}
}

static void
conn_error(struct http_conn *c, int status)
{
	struct http_response res;
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}",
	    http_reason(status));

	memset(&res, 0, sizeof(res));
	res.status = status;
	res.content_type = "application/json";
	res.body = body;
	res.body_len = (size_t)n;
	log_debug("http: %s: answered %d", c->peer, status);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	conn_send(c, &res, 0, 0);
}

/* Reading. */

static void
conn_timeout(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	if (c->writing || c->closing)
		return;
	if (c->hp.seen > 0 || c->left_len > 0)
		conn_error(c, 408);
	else
		conn_close(c);
}

static void
conn_arm(struct http_conn *c)
{
	unsigned ms = c->hp.seen > 0 ? c->srv->lim.request_ms :
	    c->srv->lim.idle_ms;

	uv_timer_start(&c->timer, conn_timeout, ms, 0);
}

static void
conn_dispatch(struct http_conn *c)
{
	struct http_response res;
	int head = strcmp(c->hp.req.method, "HEAD") == 0;
	int keep = http_parse_keep_alive(&c->hp) && !c->srv->stopping;

	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	memset(&res, 0, sizeof(res));
	c->srv->fn(c->srv->ctx, &c->hp.req, &res);
	if (res.status == 0)
		res.status = 500;
	log_debug("http: %s %s %s -> %d", c->peer, c->hp.req.method,
	    c->hp.req.path, res.status);
	conn_send(c, &res, head, keep);
	free(res.body);
}

static void
conn_process(struct http_conn *c, const char *data, size_t len)
{
	size_t n = http_parse_feed(&c->hp, data, len);

	if (c->hp.error) {
		conn_error(c, c->hp.error);
		return;
	}
	if (!c->hp.complete) {
		conn_arm(c);
		return;
	}
	if (n < len) {
		/* a pipelined request: kept for after this one */
		char *nl = realloc(c->left, c->left_len + len - n);
		if (nl == NULL) {
			conn_close(c);
			return;
		}
		memcpy(nl + c->left_len, data + n, len - n);
		c->left = nl;
		c->left_len += len - n;
	}
	conn_dispatch(c);
}

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;

	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void
conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = st->data;

	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0 || c->writing || c->closing)
		return;
	conn_process(c, buf->base, (size_t)nread);
}

static void
conn_read_start(struct http_conn *c)
{
	conn_arm(c);
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

static void
server_accept(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	struct http_conn *c;
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	if (status < 0 || s->stopping)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 ||
	    http_parse_init(&c->hp, &s->lim, c->peer) != 0) {
		conn_close(c);
		return;
	}
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, c->peer,
			    sizeof(c->peer));
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer,
			    sizeof(c->peer));
	}
	if (s->n_conns > s->lim.max_conns) {
		log_warn("http: %s: over %u connections, refused", c->peer,
		    s->lim.max_conns);
		conn_error(c, 503);
		return;
	}
	conn_read_start(c);
}

int
http_server_start(uv_loop_t *loop, const char *addr, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	int rc, sl = sizeof(ss);

	if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss) != 0)
		return UV_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return UV_ENOMEM;
	s->loop = loop;
	s->lim = *lim;
	s->fn = fn;
	s->ctx = ctx;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	s->handles = 1;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, 128,
	    server_accept)) != 0) {
		s->stopping = 1;
		uv_close((uv_handle_t *)&s->listener, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
		free(s);
		return rc;
	}
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &sl);
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

	s->handles--;
	server_maybe_done(s);
}

void
http_server_stop(struct http_server *s, void (*done)(void *), void *arg)
{
	s->stopping = 1;
	s->done = done;
	s->done_arg = arg;
	for (struct http_conn *c = s->conns; c; c = c->next)
		if (!c->writing)
			conn_close(c);	/* a pending write closes after */
	uv_close((uv_handle_t *)&s->listener, server_listener_closed);
}
