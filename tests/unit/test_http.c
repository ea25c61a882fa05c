/*
 * test_http.c: the HTTP server over real sockets on 127.0.0.1, and its
 * parser alone.
 *
 * Each socket test starts a server on its own loop in a second thread
 * (srv_start) and plays the client here with plain blocking sockets, so
 * cmocka's assertions stay in the main thread.  srv_stop wakes the loop
 * with an async handle, stops the server and joins; it checks that the
 * done callback ran once and that the loop closes (no handle left).
 * LeakSanitizer and valgrind check that everything was freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "http/http.h"
#include "http/http_parse.h"

/* The server side: a loop in a thread, and what the handler saw. */

struct seen {
	int calls;
	char method[16];
	char path[256];
	char query[256];
	char xtest[256];
	char body[70000];
	size_t body_len;
	size_t n_headers;
};

static struct {
	uv_loop_t loop;
	uv_async_t async;
	pthread_t th;
	struct http_server *srv;
	struct http_limits lim;
	int port;
	int running;
	int done_calls;
	pthread_mutex_t mu;
	struct seen seen;
	int (*admit)(void *, const struct http_request *);
} T = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
handler(void *ctx, const struct http_request *req, struct http_response *res)
{
	const char *x = http_header_get(req, "x-test");
	char head[1024];
	char *out;
	int n;

	pthread_mutex_lock(&T.mu);
	T.seen.calls++;
	snprintf(T.seen.method, sizeof(T.seen.method), "%s", req->method);
	snprintf(T.seen.path, sizeof(T.seen.path), "%s", req->path);
	snprintf(T.seen.query, sizeof(T.seen.query), "%s", req->query);
	snprintf(T.seen.xtest, sizeof(T.seen.xtest), "%s", x ? x : "-");
	T.seen.n_headers = req->n_headers;
	T.seen.body_len = req->body_len;
	if (req->body_len <= sizeof(T.seen.body))
		memcpy(T.seen.body, req->body, req->body_len);
	pthread_mutex_unlock(&T.mu);
	assert_int_equal(req->body[req->body_len], '\0');
	assert_true(strncmp(req->peer, "127.0.0.", 8) == 0);

	if (strcmp(req->path, "/stop") == 0) {
		/* stopping from inside a handler */
		http_server_stop(T.srv, NULL, NULL);
		res->status = 200;
		return;
	}
	if (strcmp(req->path, "/nostatus") == 0)
		return;			/* 500 */
	if (strcmp(req->path, "/huge") == 0) {
		/* more than the socket buffers hold: the write stays queued */
		res->status = 200;
		res->body_len = 16 << 20;
		res->body = calloc(1, res->body_len);
		assert_non_null(res->body);
		return;
	}
	if (strcmp(req->path, "/empty") == 0) {
		res->status = 204;
		return;
	}
	n = snprintf(head, sizeof(head), "M=%s P=%s Q=%s X=%s B=%zu\n",
	    req->method, req->path, req->query, x ? x : "-", req->body_len);
	out = malloc((size_t)n + req->body_len);
	assert_non_null(out);
	memcpy(out, head, (size_t)n);
	memcpy(out + n, req->body, req->body_len);
	res->status = strcmp(req->path, "/missing") == 0 ? 404 : 200;
	res->content_type = "text/plain";
	res->body = out;
	res->body_len = (size_t)n + req->body_len;
	assert_int_equal(http_add_header(res, "X-Extra", "yes"), 0);
}

static void
srv_done(void *arg)
{
	T.done_calls++;
}

static void
srv_async(uv_async_t *a)
{
	if (T.srv)
		http_server_stop(T.srv, srv_done, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void *
srv_thread(void *arg)
{
	uv_run(&T.loop, UV_RUN_DEFAULT);
	return NULL;
}

static void
srv_start(size_t hdr, size_t body, unsigned conns, unsigned idle_ms,
    unsigned req_ms)
{
	struct http_limits lim = { hdr, body, conns, idle_ms, req_ms, 0, 0, 0,
	    0 };

	memset(&T.seen, 0, sizeof(T.seen));
	T.lim = lim;
	T.done_calls = 0;
	assert_int_equal(uv_loop_init(&T.loop), 0);
	assert_int_equal(http_server_start(&T.loop, "127.0.0.1", 0, &T.lim,
	    handler, NULL, &T.srv), 0);
	T.port = http_server_port(T.srv);
	assert_true(T.port > 0);
	if (T.admit)
		http_server_set_admit(T.srv, T.admit);
	assert_int_equal(uv_async_init(&T.loop, &T.async, srv_async), 0);
	assert_int_equal(pthread_create(&T.th, NULL, srv_thread, NULL), 0);
	T.running = 1;
}

static void
srv_stop(void)
{
	if (!T.running)
		return;
	T.running = 0;
	uv_async_send(&T.async);
	pthread_join(T.th, NULL);
	T.srv = NULL;
	assert_int_equal(uv_loop_close(&T.loop), 0);
}

static int
teardown(void **state)
{
	srv_stop();
	return 0;
}

static void
srv_start_default(void)
{
	srv_start(2048, 65536, 8, 3000, 3000);
}

static int
seen_calls(void)
{
	int n;

	pthread_mutex_lock(&T.mu);
	n = T.seen.calls;
	pthread_mutex_unlock(&T.mu);
	return n;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The client side: blocking sockets with a receive timeout. */

struct cl {
	int fd;
	char buf[140000];
	size_t len;
};

struct resp {
	int status;
	char head[4096];		/* status line and headers */
	char body[140000];
	size_t body_len;
};

/* From src (another loopback address: another client), or NULL. */
static struct cl *
cl_open_from(const char *src)
{
	struct cl *c = calloc(1, sizeof(*c));
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };

	assert_non_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (src != NULL) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &sa.sin_addr), 1);
		assert_int_equal(bind(c->fd, (struct sockaddr *)&sa,
		    sizeof(sa)), 0);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)T.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	return c;
}

static struct cl *
cl_open(void)
{
	return cl_open_from(NULL);
}

static void
cl_close(struct cl *c)
{
	close(c->fd);
	free(c);
}

static void
cl_sendn(struct cl *c, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void
cl_send(struct cl *c, const char *s)
{
	cl_sendn(c, s, strlen(s));
}

/* Reads more into c->buf: bytes read, 0 at EOF, -1 on error/timeout. */
static ssize_t
cl_fill(struct cl *c)
{
	ssize_t r;

	assert_true(c->len < sizeof(c->buf));
	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

static void
cl_consume(struct cl *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads one response; with head, no body is expected.  -1 if none. */
static int
cl_resp(struct cl *c, struct resp *r, int head)
{
	char *end, *cl;
	size_t hl, want = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len] = '\0';
		if (c->len > 0 && memmem(c->buf, c->len, "\r\n\r\n", 4))
			break;
		if (cl_fill(c) <= 0)
			return -1;
	}
	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	hl = (size_t)(end - c->buf) + 4;
	assert_true(hl < sizeof(r->head));
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	if ((cl = strcasestr(r->head, "\r\nContent-Length: ")) != NULL)
		want = strtoul(cl + 18, NULL, 10);
	cl_consume(c, hl);
	if (head || r->status == 204 || r->status == 304)
		want = 0;
	while (c->len < want)
		if (cl_fill(c) <= 0)
			return -1;
	assert_true(want < sizeof(r->body));
	memcpy(r->body, c->buf, want);
	r->body[want] = '\0';
	r->body_len = want;
	cl_consume(c, want);
	return 0;
}

/* 1 when the server closes the connection with nothing more to read. */
static int
cl_eof(struct cl *c)
{
	ssize_t r = cl_fill(c);

	return c->len == 0 && (r == 0 || (r < 0 && errno == ECONNRESET));
}

static const char *
hdr(const struct resp *r, const char *name, char *out, size_t outlen)
{
	char key[128];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	if ((p = strcasestr(r->head, key)) == NULL)
		return NULL;
	p += strlen(key);
	e = strstr(p, "\r\n");
	snprintf(out, outlen, "%.*s", (int)(e - p), p);
	return out;
}

/* One request on a new connection; the response in r. */
static void
one(const char *req, struct resp *r)
{
	struct cl *c = cl_open();

	cl_send(c, req);
	assert_int_equal(cl_resp(c, r, 0), 0);
	cl_close(c);
}

/* Sends req, expects status and then the server's close. */
static void
expect_close(const char *req, size_t len, int status)
{
	struct cl *c = cl_open();
	struct resp r;
	char v[64];

	cl_sendn(c, req, len);
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, status);
	assert_non_null(hdr(&r, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	assert_true(cl_eof(c));
	cl_close(c);
}

/* The tests over sockets. */

static void
test_get_routing(void **state)
{
	struct resp r;
	char v[64];

	srv_start_default();
	one("GET /forms/a?x=1&y=%20 HTTP/1.1\r\nHost: t\r\n"
	    "X-Test: hello there\r\nAccept: */*\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_string_equal(r.body,
	    "M=GET P=/forms/a Q=x=1&y=%20 X=hello there B=0\n");
	assert_string_equal(hdr(&r, "Content-Type", v, sizeof(v)),
	    "text/plain");
	assert_string_equal(hdr(&r, "Content-Length", v, sizeof(v)), "47");
	assert_string_equal(hdr(&r, "Connection", v, sizeof(v)),
	    "keep-alive");
	assert_string_equal(hdr(&r, "X-Extra", v, sizeof(v)), "yes");
	assert_int_equal(T.seen.n_headers, 3);
	assert_string_equal(T.seen.method, "GET");

	one("GET /missing HTTP/1.1\r\n\r\n", &r);
	assert_true(strncmp(r.head, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	one("GET /nostatus HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.body_len, 0);
	one("GET /empty HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 204);
	assert_null(hdr(&r, "Content-Length", v, sizeof(v)));
	srv_stop();
	assert_int_equal(T.done_calls, 1);
}

static void
test_post_body(void **state)
{
	static char body[60000];
	char head[256];
	struct cl *c;
	struct resp r;

	srv_start_default();
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 7 + (i >> 8));	/* NULs included */
	snprintf(head, sizeof(head), "POST /submit HTTP/1.1\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %zu\r\n\r\n", sizeof(body));
	c = cl_open();
	cl_send(c, head);
	/* in pieces, with pauses, so the body arrives over many reads */
	for (size_t off = 0; off < sizeof(body); off += 20000) {
		cl_sendn(c, body + off, 20000);
		usleep(20000);
	}
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.body, "M=POST P=/submit Q= X=- B=60000\n",
	    32) == 0);
	assert_int_equal(r.body_len, 32 + sizeof(body));
	assert_memory_equal(r.body + 32, body, sizeof(body));
	assert_int_equal(T.seen.body_len, sizeof(body));
	assert_memory_equal(T.seen.body, body, sizeof(body));

	/* a chunked body on the same connection, decoded */
	cl_send(c, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "M=POST P=/c Q= X=- B=11\nhello world");
	assert_int_equal(T.seen.n_headers, 1);
	cl_close(c);
	srv_stop();
}

static void
test_413(void **state)
{
	struct cl *c;
	struct resp r;
	uint64_t t0;

	srv_start(2048, 1024, 8, 3000, 3000);
	/* Content-Length too large: answered before any body byte */
	c = cl_open();
	t0 = now_ms();
	cl_send(c, "POST /submit HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_true(strncmp(r.head, "HTTP/1.1 413 Content Too Large\r\n",
	    32) == 0);
	assert_string_equal(r.body, "{\"error\":\"Content Too Large\"}\n");
	assert_true(cl_eof(c));
	cl_close(c);

	/* exactly the limit is fine */
	{
		char req[1200];
		int n = snprintf(req, sizeof(req), "POST /x HTTP/1.1\r\n"
		    "Content-Length: 1024\r\n\r\n");
		memset(req + n, 'a', 1024);
		c = cl_open();
		cl_sendn(c, req, (size_t)n + 1024);
		assert_int_equal(cl_resp(c, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(T.seen.body_len, 1024);
		cl_close(c);
	}

	/* a chunked body that grows past the limit */
	{
		char chunk[700];
		memset(chunk, 'b', sizeof(chunk));
		c = cl_open();
		cl_send(c, "POST /x HTTP/1.1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n2bc\r\n");
		cl_sendn(c, chunk, sizeof(chunk));
		cl_send(c, "\r\n2bc\r\n");
		cl_sendn(c, chunk, sizeof(chunk));
		cl_send(c, "\r\n0\r\n\r\n");
		assert_int_equal(cl_resp(c, &r, 0), 0);
		assert_int_equal(r.status, 413);
		assert_true(cl_eof(c));
		cl_close(c);
	}
	assert_int_equal(seen_calls(), 1);
	srv_stop();
}

static void
test_431(void **state)
{
	char req[8192], *p = req;

	srv_start(1024, 1024, 8, 3000, 3000);
	p += sprintf(p, "GET / HTTP/1.1\r\nX-Big: ");
	memset(p, 'v', 3000);
	p += 3000;
	p += sprintf(p, "\r\n\r\n");
	expect_close(req, (size_t)(p - req), 431);

	/* 33 small headers */
	p = req;
	p += sprintf(p, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		p += sprintf(p, "H%d: v\r\n", i);
	p += sprintf(p, "\r\n");
	expect_close(req, (size_t)(p - req), 431);

	/* a long URL counts too */
	p = req;
	p += sprintf(p, "GET /");
	memset(p, 'u', 1500);
	p += 1500;
	p += sprintf(p, " HTTP/1.1\r\n\r\n");
	expect_close(req, (size_t)(p - req), 431);
	assert_int_equal(seen_calls(), 0);
	srv_stop();
}

static void
test_400(void **state)
{
	static const char *bad[] = {
		"\x01\x02garbage\r\n\r\n",
		"GET\r\n\r\n",
		"GET / HTTP/9.x\r\n\r\n",
		"GET noslash HTTP/1.1\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\n\r\n",
		"GET /a%00b HTTP/1.1\r\n\r\n",
		"GET /a%zzb HTTP/1.1\r\n\r\n",
		"GET /a%4 HTTP/1.1\r\n\r\n",
		"GET /a% HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\nab",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "zz\r\n",
	};

	srv_start_default();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad request %zu\n", i);
		expect_close(bad[i], strlen(bad[i]), 400);
	}
	assert_int_equal(seen_calls(), 0);
	srv_stop();
}

static void
test_percent_decoding(void **state)
{
	struct resp r;

	srv_start_default();
	one("GET /a%20b/%C3%a9/%2F%3f?q=%20%00&r=+ HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(T.seen.path, "/a b/\xc3\xa9//?");
	assert_string_equal(T.seen.query, "q=%20%00&r=+");
	one("GET /?only HTTP/1.1\r\n\r\n", &r);
	assert_string_equal(T.seen.path, "/");
	assert_string_equal(T.seen.query, "only");
	srv_stop();
}

static void
test_408(void **state)
{
	struct cl *c;
	struct resp r;
	uint64_t t0;

	srv_start(2048, 1024, 8, 5000, 300);
	/* half a request, then nothing */
	c = cl_open();
	t0 = now_ms();
	cl_send(c, "GET /slow HTTP/1.1\r\nHost:");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_true(now_ms() - t0 >= 250);
	assert_true(now_ms() - t0 < 2000);
	assert_true(strncmp(r.head, "HTTP/1.1 408 Request Timeout\r\n",
	    30) == 0);
	assert_true(cl_eof(c));
	cl_close(c);

	/* a byte every 100 ms does not push the deadline back */
	c = cl_open();
	t0 = now_ms();
	{
		const char *s = "POST /slow HTTP/1.1\r\nContent-Length: 50\r\n\r\n"
		    "0123456789012345678901234567890123456789";
		for (; *s && now_ms() - t0 < 1500; s++) {
			if (send(c->fd, s, 1, MSG_NOSIGNAL) != 1)
				break;
			usleep(100000);
		}
	}
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 408);
	assert_true(now_ms() - t0 < 1500);
	cl_close(c);
	assert_int_equal(seen_calls(), 0);
	srv_stop();
}

static void
test_idle_close(void **state)
{
	struct cl *c;
	struct resp r;
	uint64_t t0;

	srv_start(2048, 1024, 8, 300, 5000);
	c = cl_open();
	t0 = now_ms();
	assert_true(cl_eof(c));		/* closed, no answer */
	assert_true(now_ms() - t0 >= 250);
	assert_true(now_ms() - t0 < 2000);
	cl_close(c);

	/* and after a keep-alive request */
	c = cl_open();
	cl_send(c, "GET /k HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	t0 = now_ms();
	assert_true(cl_eof(c));
	assert_true(now_ms() - t0 >= 250);
	cl_close(c);
	srv_stop();
}

static void
test_503(void **state)
{
	struct cl *a, *b, *c;
	struct resp r;
	int ok = 0;

	srv_start(2048, 1024, 2, 5000, 5000);
	a = cl_open();
	b = cl_open();
	/* both accepted: each is answered */
	cl_send(a, "GET /a HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(a, &r, 0), 0);
	assert_int_equal(r.status, 200);
	cl_send(b, "GET /b HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(b, &r, 0), 0);
	assert_int_equal(r.status, 200);

	c = cl_open();
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_true(strncmp(r.head, "HTTP/1.1 503 Service Unavailable\r\n",
	    34) == 0);
	assert_true(cl_eof(c));
	cl_close(c);
	assert_int_equal(seen_calls(), 2);

	/* a slot freed is a slot again (once the server saw the close) */
	cl_close(a);
	for (int i = 0; i < 50 && !ok; i++) {
		c = cl_open();
		cl_send(c, "GET /again HTTP/1.1\r\n\r\n");
		if (cl_resp(c, &r, 0) == 0 && r.status == 200)
			ok = 1;
		cl_close(c);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	cl_close(b);
	srv_stop();
}

static void
test_keep_alive(void **state)
{
	struct cl *c;
	struct resp r;
	char v[64];

	srv_start_default();
	c = cl_open();
	cl_send(c, "GET /one HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/one Q= X=- B=0\n");
	cl_send(c, "GET /two HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/two Q= X=- B=0\n");

	/* pipelined: three in one write, answered in order */
	cl_send(c, "GET /p1 HTTP/1.1\r\n\r\nPOST /p2 HTTP/1.1\r\n"
	    "Content-Length: 3\r\n\r\nabcGET /p3 HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/p1 Q= X=- B=0\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=POST P=/p2 Q= X=- B=3\nabc");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/p3 Q= X=- B=0\n");

	/* a pipelined request cut in two, its rest coming later */
	cl_send(c, "GET /q1 HTTP/1.1\r\n\r\nGET /q2 HT");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/q1 Q= X=- B=0\n");
	usleep(50000);
	cl_send(c, "TP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_string_equal(r.body, "M=GET P=/q2 Q= X=- B=0\n");
	assert_string_equal(hdr(&r, "Connection", v, sizeof(v)), "close");
	assert_true(cl_eof(c));
	cl_close(c);
	assert_int_equal(seen_calls(), 7);

	/* HTTP/1.0 without keep-alive is closed after the answer */
	c = cl_open();
	cl_send(c, "GET /old HTTP/1.0\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Connection", v, sizeof(v)), "close");
	assert_true(cl_eof(c));
	cl_close(c);
	srv_stop();
}

static void
test_head(void **state)
{
	struct cl *c;
	struct resp r;
	char v[64];

	srv_start_default();
	c = cl_open();
	cl_send(c, "HEAD /h HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 1), 0);
	assert_int_equal(r.status, 200);
	/* the length of the body a GET would get, but no body */
	assert_string_equal(hdr(&r, "Content-Length", v, sizeof(v)), "23");
	assert_int_equal(c->len, 0);
	cl_send(c, "GET /h HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	/* the next bytes were this answer: no body came after HEAD's */
	assert_string_equal(r.body, "M=GET P=/h Q= X=- B=0\n");
	assert_int_equal(r.body_len, 22);
	cl_close(c);
	srv_stop();
}

static void
test_stop_with_connections(void **state)
{
	struct cl *idle, *half, *big;
	struct resp r;

	srv_start(2048, 65536, 8, 5000, 5000);
	idle = cl_open();
	half = cl_open();
	big = cl_open();
	cl_send(half, "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
	/* a request whose answer (16 MiB) nobody reads */
	cl_send(big, "GET /huge HTTP/1.1\r\n\r\n");
	while (seen_calls() < 1)
		usleep(1000);
	cl_send(idle, "GET /i HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_resp(idle, &r, 0), 0);
	srv_stop();
	assert_int_equal(T.done_calls, 1);
	assert_true(cl_eof(idle));
	assert_true(cl_eof(half));
	cl_close(idle);
	cl_close(half);
	cl_close(big);
}

static void
test_stop_in_handler(void **state)
{
	struct cl *c;
	int ok;

	srv_start_default();
	c = cl_open();
	cl_send(c, "GET /stop HTTP/1.1\r\n\r\n");
	/* the connection is closed without an answer */
	ok = cl_eof(c) || c->len == 0;
	assert_true(ok);
	cl_close(c);
	/* then the listener is gone too */
	{
		struct sockaddr_in sa;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int rc;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)T.port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (int i = 0; i < 50; i++) {
			rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
			if (rc != 0)
				break;
			close(fd);
			fd = socket(AF_INET, SOCK_STREAM, 0);
			usleep(20000);
		}
		assert_int_not_equal(rc, 0);
		close(fd);
	}
	T.srv = NULL;
	T.running = 0;
	uv_async_send(&T.async);	/* closes the async handle */
	pthread_join(T.th, NULL);
	assert_int_equal(uv_loop_close(&T.loop), 0);
}

static void
test_start_errors(void **state)
{
	struct http_limits lim = { 1024, 1024, 4, 1000, 1000, 0, 0, 0, 0 };
	struct http_server *s = NULL, *s2 = NULL;
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(http_server_start(&loop, "not-an-address", 0, &lim,
	    handler, NULL, &s), UV_EINVAL);
	assert_int_equal(http_server_start(&loop, "127.0.0.1", 70000, &lim,
	    handler, NULL, &s), UV_EINVAL);
	assert_int_equal(http_server_start(&loop, "::1", 0, &lim,
	    handler, NULL, &s), 0);
	assert_true(http_server_port(s) > 0);
	/* the same port twice */
	assert_int_not_equal(http_server_start(&loop, "::1",
	    http_server_port(s), &lim, handler, NULL, &s2), 0);
	assert_null(s2);
	http_server_stop(s, NULL, NULL);
	http_server_stop(s, NULL, NULL);	/* a second stop: no-op */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Logs: peer and status at debug level; never a body or a token. */
static void
test_log_privacy(void **state)
{
	char path[] = "/tmp/test_http_logXXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct resp r;
	char buf[8192];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	log_set_level(LOG_DEBUG);
	srv_start_default();
	fflush(stderr);
	dup2(fd, 2);
	one("POST /secret?token=QUERYSECRET HTTP/1.1\r\n"
	    "Authorization: Bearer TOKENSECRET\r\n"
	    "Content-Length: 10\r\n\r\nBODYSECRET", &r);
	assert_int_equal(r.status, 200);
	one("GET /a%zz HTTP/1.1\r\nAuthorization: Bearer TOKENSECRET\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 400);
	srv_stop();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_WARN);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "127.0.0.1 POST /secret -> 200"));
	assert_non_null(strstr(buf, "127.0.0.1: answered 400"));
	assert_null(strstr(buf, "SECRET"));
}

/* The parser alone. */

static const struct http_limits plim = { 256, 64, 1, 1000, 1000, 0, 0,
    0, 0 };

static void
test_parse_bytewise(void **state)
{
	static const char req[] = "PUT /p%41th?a=b HTTP/1.1\r\n"
	    "Host: h\r\nEmpty:\r\nX-Long-Name: v1 v2\r\n"
	    "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
	struct http_parse hp;
	size_t off = 0;

	assert_int_equal(http_parse_init(&hp, &plim, "peer"), 0);
	/* a byte at a time */
	while (!hp.complete && !hp.error && off < sizeof(req) - 1) {
		size_t n = http_parse_feed(&hp, req + off, 1);
		assert_int_equal(n, 1);
		off++;
	}
	assert_int_equal(hp.error, 0);
	assert_true(hp.complete);
	assert_int_equal(http_parse_feed(&hp, req + off, 3), 0);
	assert_string_equal(hp.req.method, "PUT");
	assert_string_equal(hp.req.path, "/pAth");
	assert_string_equal(hp.req.query, "a=b");
	assert_string_equal(hp.req.peer, "peer");
	assert_int_equal(hp.req.n_headers, 4);
	assert_string_equal(http_header_get(&hp.req, "empty"), "");
	assert_string_equal(http_header_get(&hp.req, "X-LONG-NAME"),
	    "v1 v2");
	assert_null(http_header_get(&hp.req, "X-Long"));
	assert_int_equal(hp.req.body_len, 5);
	assert_string_equal(hp.req.body, "hello");
	assert_true(http_parse_keep_alive(&hp));
	http_parse_next(&hp);
	assert_int_equal(http_parse_feed(&hp, req + off, sizeof(req) - 1 -
	    off), sizeof(req) - 1 - off);
	assert_true(hp.complete);
	assert_string_equal(hp.req.path, "/");
	assert_string_equal(hp.req.body, "");
	assert_int_equal(hp.req.body_len, 0);
	http_parse_free(&hp);
	http_parse_free(&hp);		/* twice is harmless */
}

static size_t
feed_str(struct http_parse *hp, const char *s)
{
	return http_parse_feed(hp, s, strlen(s));
}

static void
test_parse_limits(void **state)
{
	struct http_parse hp;
	char req[600];

	/* header block of exactly the limit passes, one more byte not */
	for (int extra = 0; extra <= 1; extra++) {
		int n = 256 - (int)strlen("GET / HTTP/1.1\r\nX: \r\n\r\n") +
		    extra;
		int len = snprintf(req, sizeof(req),
		    "GET / HTTP/1.1\r\nX: %.*s\r\n\r\n", n,
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
		    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
		assert_int_equal(len, 256 + extra);
		assert_int_equal(http_parse_init(&hp, &plim, "p"), 0);
		http_parse_feed(&hp, req, (size_t)len);
		if (extra == 0) {
			assert_true(hp.complete);
			assert_int_equal(hp.error, 0);
		} else {
			assert_false(hp.complete);
			assert_int_equal(hp.error, 431);
		}
		http_parse_free(&hp);
	}
	/* whitespace counts: no endless header block */
	assert_int_equal(http_parse_init(&hp, &plim, "p"), 0);
	http_parse_feed(&hp, "GET / HTTP/1.1\r\nX: a", 20);
	memset(req, ' ', sizeof(req));
	http_parse_feed(&hp, req, sizeof(req));
	assert_int_equal(hp.error, 431);
	http_parse_free(&hp);

	/* body: Content-Length over the limit before any body byte */
	assert_int_equal(http_parse_init(&hp, &plim, "p"), 0);
	http_parse_feed(&hp, "POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n",
	    39);
	assert_int_equal(hp.error, 413);
	http_parse_free(&hp);

	/* chunked: 64 fine, then one more byte is not */
	assert_int_equal(http_parse_init(&hp, &plim, "p"), 0);
	memset(req, 'z', 64);
	feed_str(&hp, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n40\r\n");
	http_parse_feed(&hp, req, 64);
	assert_int_equal(hp.error, 0);
	feed_str(&hp, "\r\n1\r\nz\r\n0\r\n\r\n");
	assert_int_equal(hp.error, 413);
	http_parse_free(&hp);

	/* after an error, nothing more is consumed */
	assert_int_equal(http_parse_init(&hp, &plim, "p"), 0);
	assert_true(http_parse_feed(&hp, "BOGUS\x01 / HTTP/1.1\r\n\r\n", 22) <
	    22);
	assert_int_equal(hp.error, 400);
	assert_int_equal(http_parse_feed(&hp, "GET / HTTP/1.1\r\n\r\n", 18),
	    0);
	http_parse_free(&hp);
}

static void
test_decode_path(void **state)
{
	char a[] = "/a%2fb%7E%7e", b[] = "/%", c[] = "/%0", d[] = "/%00",
	    e[] = "/%g0", f[] = "/%0g", g[] = "/plain", h[] = "/%ff";

	assert_int_equal(http_parse_decode_path(a), 0);
	assert_string_equal(a, "/a/b~~");
	assert_int_equal(http_parse_decode_path(b), -1);
	assert_int_equal(http_parse_decode_path(c), -1);
	assert_int_equal(http_parse_decode_path(d), -1);
	assert_int_equal(http_parse_decode_path(e), -1);
	assert_int_equal(http_parse_decode_path(f), -1);
	assert_int_equal(http_parse_decode_path(g), 0);
	assert_string_equal(g, "/plain");
	assert_int_equal(http_parse_decode_path(h), 0);
	assert_string_equal(h, "/\xff");
}

static void
test_helpers(void **state)
{
	struct http_response res;
	char v[600];

	memset(&res, 0, sizeof(res));
	assert_int_equal(http_respond(&res, 201, "text/plain", "abc", 3), 0);
	assert_int_equal(res.status, 201);
	assert_int_equal(res.body_len, 3);
	assert_memory_equal(res.body, "abc", 3);
	assert_int_equal(http_respond(&res, 204, NULL, NULL, 0), 0);
	assert_null(res.body);
	assert_int_equal(http_add_header(&res, "A", "1"), 0);
	assert_int_equal(http_add_header(&res, "B", "x\r\nInjected: 1"), -1);
	assert_int_equal(http_add_header(&res, "C\r\nD", "1"), -1);
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(http_add_header(&res, "Big", v), -1);
	assert_string_equal(res.headers, "A: 1\r\n");
	v[400] = '\0';
	assert_int_equal(http_add_header(&res, "Big", v), 0);
	assert_int_equal(http_add_header(&res, "Big2", v), -1);
	assert_int_equal(strncmp(res.headers, "A: 1\r\nBig: vvv", 14), 0);
	assert_int_equal(strlen(res.headers), 6 + 5 + 400 + 2);
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(431),
	    "Request Header Fields Too Large");
	assert_string_equal(http_reason(799), "Unknown");
}

/* Issue 16, slowloris: one client holds at most per_peer connections,
   others get in; the reserve is for the board and admitted clients. */
static int
admit_known(void *ctx, const struct http_request *req)
{
	const char *v = http_header_get(req, "X-Known");

	return v != NULL && strcmp(v, "yes") == 0;
}

static void
test_hoarding(void **state)
{
	struct cl *hog[6], *other[2], *c;
	struct resp r;
	int closed = 0;

	T.admit = admit_known;
	/* 8 slots: 4 per client, 2 kept */
	srv_start(2048, 65536, 8, 3000, 3000);
	T.admit = NULL;
	for (int i = 0; i < 6; i++) {
		hog[i] = cl_open_from("127.0.0.5");
		cl_send(hog[i], "G");
	}
	for (int i = 0; i < 6; i++) {
		struct timeval tv = { 0, 300000 };
		setsockopt(hog[i]->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv));
		closed += cl_eof(hog[i]);
	}
	assert_int_equal(closed, 2);
	/* another client: served (6 of 8 slots held, 2 kept) ... */
	for (int i = 0; i < 2; i++) {
		other[i] = cl_open_from("127.0.0.6");
		cl_send(other[i], "G");
	}
	/* ... and then the third client finds only the kept slots: a
	   stranger is refused there, a known client served */
	c = cl_open_from("127.0.0.7");
	cl_send(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 503);
	cl_close(c);
	c = cl_open_from("127.0.0.8");
	cl_send(c, "GET /a HTTP/1.1\r\nHost: x\r\nX-Known: yes\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	cl_close(c);
	/* the board itself has its own slots */
	c = cl_open();
	cl_send(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(cl_resp(c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	cl_close(c);
	for (int i = 0; i < 6; i++)
		cl_close(hog[i]);
	for (int i = 0; i < 2; i++)
		cl_close(other[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bytewise),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_decode_path),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test_teardown(test_get_routing, teardown),
		cmocka_unit_test_teardown(test_post_body, teardown),
		cmocka_unit_test_teardown(test_413, teardown),
		cmocka_unit_test_teardown(test_431, teardown),
		cmocka_unit_test_teardown(test_400, teardown),
		cmocka_unit_test_teardown(test_percent_decoding, teardown),
		cmocka_unit_test_teardown(test_408, teardown),
		cmocka_unit_test_teardown(test_idle_close, teardown),
		cmocka_unit_test_teardown(test_503, teardown),
		cmocka_unit_test_teardown(test_keep_alive, teardown),
		cmocka_unit_test_teardown(test_head, teardown),
		cmocka_unit_test_teardown(test_stop_with_connections,
		    teardown),
		cmocka_unit_test_teardown(test_stop_in_handler, teardown),
		cmocka_unit_test_teardown(test_log_privacy, teardown),
		cmocka_unit_test_teardown(test_hoarding, teardown),
	};

	log_init("test_http", LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
