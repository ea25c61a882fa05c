/* test_tls.c: a collector and a device on one libuv loop over real
   sockets on 127.0.0.1.  Mutual authentication works and moves a MiB
   each way with pauses and backpressure; foreign, expired and missing
   client certificates are refused (or flagged, in optional mode);
   garbage, silence, a wrong CA pin and a wrong server name all end the
   connection with a reason and without a leak. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <uv.h>

#include "sync/pki.h"
#include "sync/tls.h"

#define MIB (1024 * 1024)

/* ---- key material, made once for the group in a temporary folder ---- */

struct pki_fx {
	char dir[64];
	unsigned char ca_pin[PKI_FPR_LEN], other_pin[PKI_FPR_LEN];
};

static struct pki_fx fx;

static const char *const fx_files[] = {
	"ca.crt", "srv.crt", "srv.key", "wrong.crt", "cli.crt", "cli.key",
	"old.crt", "evil.crt", "evil.key", NULL
};

static void
fx_path(const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", fx.dir, name);
}

static int
fx_key(mbedtls_pk_context *k, const char *name)
{
	char p[128], err[256];

	fx_path(name, p, sizeof(p));
	if (pki_key_generate(k, err, sizeof(err)) != 0 ||
	    pki_key_write(k, p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
fx_cert(const char *name, unsigned char *der, size_t len)
{
	char p[128], err[256];
	int rc;

	fx_path(name, p, sizeof(p));
	rc = pki_cert_write(p, der, len, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	free(der);
	return rc;
}

static int
fx_device(mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    mbedtls_pk_context *key, const char *id, const char *name,
    const struct pki_sign_opts *o)
{
	unsigned char *csr, *der;
	size_t csr_len, len;
	char err[256];
	int rc;

	if (pki_csr_create(key, id, &csr, &csr_len, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	rc = pki_csr_sign(ca, ca_key, csr, csr_len, o, &der, &len, NULL, err,
	    sizeof(err));
	free(csr);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return fx_cert(name, der, len);
}

static int
group_setup(void **state)
{
	mbedtls_pk_context ca_key, other_key, srv_key, cli_key, evil_key;
	mbedtls_x509_crt ca, other;
	struct pki_sign_opts good = { 42, 30, 0 }, old = { 43, 1, 0 };
	unsigned char *der;
	size_t len;
	char err[256];
	int rc = -1;

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_tls.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&other);
	mbedtls_pk_init(&ca_key);
	mbedtls_pk_init(&other_key);
	mbedtls_pk_init(&srv_key);
	mbedtls_pk_init(&cli_key);
	mbedtls_pk_init(&evil_key);
	if (pki_key_generate(&ca_key, err, sizeof(err)) != 0 ||
	    pki_key_generate(&other_key, err, sizeof(err)) != 0)
		goto out;
	if (pki_ca_create(&ca_key, "Test CA", 1, &der, &len, err,
	    sizeof(err)) != 0)
		goto out;
	pki_fingerprint(der, len, fx.ca_pin);
	if (pki_cert_parse(&ca, der, len, err, sizeof(err)) != 0 ||
	    fx_cert("ca.crt", der, len) != 0)
		goto out;
	if (pki_ca_create(&other_key, "Other CA", 1, &der, &len, err,
	    sizeof(err)) != 0)
		goto out;
	pki_fingerprint(der, len, fx.other_pin);
	if (pki_cert_parse(&other, der, len, err, sizeof(err)) != 0)
		goto out;
	free(der);

	if (fx_key(&srv_key, "srv.key") != 0 ||
	    pki_server_cert_create(&ca, &ca_key, &srv_key, "127.0.0.1", 30,
	    &der, &len, err, sizeof(err)) != 0 || fx_cert("srv.crt", der,
	    len) != 0 ||
	    pki_server_cert_create(&ca, &ca_key, &srv_key, "wrong.example",
	    30, &der, &len, err, sizeof(err)) != 0 || fx_cert("wrong.crt",
	    der, len) != 0)
		goto out;
	old.not_before = (int64_t)time(NULL) - 10 * 86400;
	if (fx_key(&cli_key, "cli.key") != 0 ||
	    fx_device(&ca, &ca_key, &cli_key, "dev-1", "cli.crt", &good) != 0 ||
	    fx_device(&ca, &ca_key, &cli_key, "dev-1", "old.crt", &old) != 0)
		goto out;
	if (fx_key(&evil_key, "evil.key") != 0 ||
	    fx_device(&other, &other_key, &evil_key, "dev-1", "evil.crt",
	    &good) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && err[0] != '\0')
		fprintf(stderr, "group setup: %s\n", err);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&other);
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&other_key);
	mbedtls_pk_free(&srv_key);
	mbedtls_pk_free(&cli_key);
	mbedtls_pk_free(&evil_key);
	return rc;
}

static int
group_teardown(void **state)
{
	char p[128];
	int i;

	for (i = 0; fx_files[i] != NULL; i++) {
		fx_path(fx_files[i], p, sizeof(p));
		unlink(p);
	}
	rmdir(fx.dir);
	return 0;
}

/* ---- one run: a listener, a client of some kind, both on one loop ---- */

enum client_kind { CLIENT_TLS, CLIENT_RAW_GARBAGE, CLIENT_RAW_SILENT };

struct run;

struct side {
	struct run *run;
	struct tls_conn *conn;
	int ready, closed, is_server;
	int had_peer;
	char peer_cn[PKI_CN_MAX + 1];
	uint64_t peer_serial;
	char reason[TLS_REASON_MAX];
	size_t got, sent, to_send, chunk;
	int bad_data, writable_calls, data_while_paused, paused;
	size_t max_queued_seen;
};

struct run {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_timer_t guard, resume;
	struct tls_ctx *sctx, *cctx;
	struct side srv, cli;
	int port;
	int bulk;		/* 1 MiB each way, the server pausing once */
	int small;		/* tiny socket buffers, made by hand */
	uv_tcp_t *ctcp;
	uv_connect_t creq;
	char cerr[256];
	int closes, want_closes, timed_out;
	/* the raw client */
	uv_tcp_t raw;
	uv_connect_t raw_conn;
	uv_write_t raw_write;
	int raw_closed;
	size_t raw_got;
};

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 31 + (i >> 11));
}

static void
run_maybe_done(struct run *r)
{
	if (++r->closes < r->want_closes)
		return;
	if (!uv_is_closing((uv_handle_t *)&r->listener))
		uv_close((uv_handle_t *)&r->listener, NULL);
	uv_close((uv_handle_t *)&r->guard, NULL);
	uv_close((uv_handle_t *)&r->resume, NULL);
}

static void
pump(struct side *s)
{
	unsigned char buf[20000];

	while (s->sent < s->to_send) {
		size_t i, n = s->to_send - s->sent;

		if (n > s->chunk)
			n = s->chunk;
		for (i = 0; i < n; i++)
			buf[i] = pattern(s->sent + i);
		if (tls_conn_write(s->conn, buf, n) != 0)
			return;		/* on_writable will call again */
		s->sent += n;
		if (tls_conn_queued(s->conn) > s->max_queued_seen)
			s->max_queued_seen = tls_conn_queued(s->conn);
	}
}

static void
on_ready(struct tls_conn *c, void *arg)
{
	struct side *s = arg;
	const mbedtls_x509_crt *peer = tls_conn_peer_cert(c);

	s->ready = 1;
	if (peer != NULL) {
		s->had_peer = 1;
		assert_int_equal(pki_cert_cn(peer, s->peer_cn,
		    sizeof(s->peer_cn)), 0);
		assert_int_equal(pki_cert_serial(peer, &s->peer_serial), 0);
	}
	if (s->is_server)
		return;
	if (!s->run->bulk) {
		tls_conn_close(c, "client done");
		return;
	}
	/* A write larger than the bound is refused outright. */
	{
		static unsigned char big[64 * 1024 + 1];

		assert_int_equal(tls_conn_write(c, big, sizeof(big)), -1);
	}
	s->to_send = MIB;
	s->chunk = 10007;	/* not a record size: records get split */
	pump(s);
}

static void
on_resume_timer(uv_timer_t *t)
{
	struct run *r = t->data;

	r->srv.paused = 0;
	tls_conn_resume(r->srv.conn);
}

static void
on_data(struct tls_conn *c, const unsigned char *data, size_t len,
    void *arg)
{
	struct side *s = arg;
	size_t i;

	if (s->paused)
		s->data_while_paused = 1;
	for (i = 0; i < len; i++)
		if (data[i] != pattern(s->got + i))
			s->bad_data = 1;
	s->got += len;
	if (s->is_server) {
		if (s->got == len) {
			/* Pause once on the first bytes, resume in 50 ms. */
			s->paused = 1;
			tls_conn_pause(c);
			uv_timer_start(&s->run->resume, on_resume_timer,
			    s->run->small ? 300 : 50, 0);
		}
		if (s->got == MIB) {
			s->to_send = MIB;
			s->chunk = 16384;
			pump(s);
		}
		return;
	}
	if (s->got == MIB)
		tls_conn_close(c, "client done");
}

static void
on_writable(struct tls_conn *c, void *arg)
{
	struct side *s = arg;

	s->writable_calls++;
	pump(s);
}

static void
on_close(struct tls_conn *c, const char *reason, void *arg)
{
	struct side *s = arg;

	assert_int_equal(s->closed, 0);
	s->closed = 1;
	s->conn = NULL;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	fprintf(stderr, "    %s closed: %s\n", s->is_server ? "server" :
	    "client", reason);
	run_maybe_done(s->run);
}

static const struct tls_callbacks cbs = {
	on_ready, on_data, on_writable, on_close
};

static void
on_listen(uv_stream_t *l, int status)
{
	struct run *r = l->data;
	char err[256];

	assert_int_equal(status, 0);
	assert_null(r->srv.conn);
	if (r->small) {
		/* By hand, to shrink the buffer: tls_conn_new's path. */
		uv_tcp_t *tcp = malloc(sizeof(*tcp));
		int size = 4096;

		uv_tcp_init(l->loop, tcp);
		assert_int_equal(uv_accept(l, (uv_stream_t *)tcp), 0);
		uv_recv_buffer_size((uv_handle_t *)tcp, &size);
		r->srv.conn = tls_conn_new(r->sctx, tcp, NULL, &cbs, &r->srv,
		    err, sizeof(err));
	} else
		r->srv.conn = tls_conn_accept(r->sctx, l, &cbs, &r->srv, err,
		    sizeof(err));
	assert_non_null(r->srv.conn);
}

static void
on_guard(uv_timer_t *t)
{
	struct run *r = t->data;

	r->timed_out = 1;
	uv_stop(&r->loop);
}

/* The raw client: garbage or silence, then reads until the server ends. */
static void
raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char buf[4096];

	*b = uv_buf_init(buf, sizeof(buf));
}

static void
raw_closed(uv_handle_t *h)
{
	struct run *r = h->data;

	r->raw_closed = 1;
	run_maybe_done(r);
}

static void
raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct run *r = s->data;

	if (n > 0)
		r->raw_got += (size_t)n;
	else if (n < 0)
		uv_close((uv_handle_t *)s, raw_closed);
}

static void
raw_written(uv_write_t *w, int status)
{
}

static void
raw_connected(uv_connect_t *req, int status)
{
	struct run *r = req->data;
	static char junk[] = "GET / HTTP/1.0\r\nHost: collector\r\n\r\n"
	    "\x16\x03\x03\xff\xff and more garbage that is not TLS at all";
	uv_buf_t b = uv_buf_init(junk, sizeof(junk) - 1);

	assert_int_equal(status, 0);
	if (req->data != NULL && r->cli.chunk == CLIENT_RAW_GARBAGE)
		uv_write(&r->raw_write, (uv_stream_t *)&r->raw, &b, 1,
		    raw_written);
	uv_read_start((uv_stream_t *)&r->raw, raw_alloc, raw_read);
}

static void
small_connected(uv_connect_t *req, int status)
{
	struct run *r = req->data;
	int size = 4096;

	assert_int_equal(status, 0);
	uv_send_buffer_size((uv_handle_t *)r->ctcp, &size);
	r->cli.conn = tls_conn_new(r->cctx, r->ctcp, "127.0.0.1", &cbs,
	    &r->cli, r->cerr, sizeof(r->cerr));
	assert_non_null(r->cli.conn);
	tls_ctx_free(r->cctx);
	r->cctx = NULL;
}

struct run_opts {
	enum client_kind client;
	const char *srv_cert;		/* default srv.crt */
	enum tls_peer_auth auth;
	unsigned srv_timeout_ms;
	const char *cli_cert, *cli_key;	/* NULL: no client certificate */
	int cli_no_ca;
	const unsigned char *pin;
	int bulk;
	const char *connect_port;	/* instead of the listener's */
	int small;
};

static struct tls_ctx *
make_ctx(const struct tls_config *cfg)
{
	char err[256];
	struct tls_ctx *ctx = tls_ctx_new(cfg, err, sizeof(err));

	if (ctx == NULL)
		fprintf(stderr, "tls_ctx_new: %s\n", err);
	assert_non_null(ctx);
	return ctx;
}

/* How much slower than native this run is allowed to be (1 native). */
static uint64_t
time_scale(void)
{
	const char *v = getenv("TEST_TIME_SCALE");
	long n = v ? strtol(v, NULL, 10) : 1;

	return n >= 1 && n <= 100 ? (uint64_t)n : 1;
}

static void
run_once(struct run *r, const struct run_opts *o)
{
	struct tls_config scfg, ccfg;
	struct sockaddr_in addr;
	struct sockaddr_storage ss;
	char sc[128], sk[128], ca[128], cc[128], ck[128], port[16], err[256];
	int len = sizeof(ss);

	memset(r, 0, sizeof(*r));
	r->srv.run = r->cli.run = r;
	r->srv.is_server = 1;
	r->bulk = o->bulk;
	r->small = o->small;
	assert_int_equal(uv_loop_init(&r->loop), 0);
	fx_path(o->srv_cert != NULL ? o->srv_cert : "srv.crt", sc, sizeof(sc));
	fx_path("srv.key", sk, sizeof(sk));
	fx_path("ca.crt", ca, sizeof(ca));
	memset(&scfg, 0, sizeof(scfg));
	scfg.role = TLS_SERVER;
	scfg.cert_file = sc;
	scfg.key_file = sk;
	scfg.ca_file = ca;
	scfg.peer_auth = o->auth;
	scfg.handshake_timeout_ms = o->srv_timeout_ms != 0 ?
	    o->srv_timeout_ms : 5000;
	r->sctx = make_ctx(&scfg);

	uv_tcp_init(&r->loop, &r->listener);
	r->listener.data = r;
	uv_ip4_addr("127.0.0.1", 0, &addr);
	assert_int_equal(uv_tcp_bind(&r->listener,
	    (const struct sockaddr *)&addr, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&r->listener, 8, on_listen),
	    0);
	uv_tcp_getsockname(&r->listener, (struct sockaddr *)&ss, &len);
	r->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(port, sizeof(port), "%d", r->port);
	uv_timer_init(&r->loop, &r->guard);
	uv_timer_init(&r->loop, &r->resume);
	r->guard.data = r->resume.data = r;
	/* A safety net, not a timed assertion: emulated runs (qemu-user,
	   tools/cross.sh sets TEST_TIME_SCALE) get longer. */
	uv_timer_start(&r->guard, on_guard, 20000 * time_scale(), 0);
	r->want_closes = 2;

	if (o->client != CLIENT_TLS) {
		r->want_closes = 2;
		r->cli.chunk = o->client;	/* what raw_connected sends */
		uv_tcp_init(&r->loop, &r->raw);
		r->raw.data = r;
		r->raw_conn.data = r;
		uv_ip4_addr("127.0.0.1", r->port, &addr);
		assert_int_equal(uv_tcp_connect(&r->raw_conn, &r->raw,
		    (const struct sockaddr *)&addr, raw_connected), 0);
	} else {
		memset(&ccfg, 0, sizeof(ccfg));
		ccfg.role = TLS_CLIENT;
		if (o->cli_cert != NULL) {
			fx_path(o->cli_cert, cc, sizeof(cc));
			fx_path(o->cli_key, ck, sizeof(ck));
			ccfg.cert_file = cc;
			ccfg.key_file = ck;
		}
		ccfg.ca_file = o->cli_no_ca ? NULL : ca;
		ccfg.ca_pin = o->pin;
		ccfg.max_queued = 64 * 1024;
		r->cctx = make_ctx(&ccfg);
		if (o->small) {
			r->ctcp = malloc(sizeof(*r->ctcp));
			uv_tcp_init(&r->loop, r->ctcp);
			r->creq.data = r;
			uv_ip4_addr("127.0.0.1", r->port, &addr);
			assert_int_equal(uv_tcp_connect(&r->creq, r->ctcp,
			    (const struct sockaddr *)&addr, small_connected), 0);
			goto run;
		}
		r->cli.conn = tls_connect(&r->loop, r->cctx, "127.0.0.1",
		    o->connect_port != NULL ? o->connect_port : port, 2000,
		    &cbs, &r->cli, err, sizeof(err));
		assert_non_null(r->cli.conn);
		/* The conn holds its own reference: drop ours now. */
		tls_ctx_free(r->cctx);
		r->cctx = NULL;
		if (o->connect_port != NULL) {
			uv_close((uv_handle_t *)&r->listener, NULL);
			r->want_closes = 1;
		}
	}
run:
	uv_run(&r->loop, UV_RUN_DEFAULT);
	assert_int_equal(r->timed_out, 0);
	tls_ctx_free(r->sctx);
	assert_int_equal(uv_loop_close(&r->loop), 0);
}

/* ---- the tests ---- */

static void
test_mutual_auth_bulk_both_ways(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    "cli.crt", "cli.key", 0, NULL, 1, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 1);
	assert_int_equal(r.cli.ready, 1);
	assert_int_equal(r.srv.had_peer, 1);
	assert_string_equal(r.srv.peer_cn, "dev-1");
	assert_true(r.srv.peer_serial == 42);
	assert_string_equal(r.cli.peer_cn, "127.0.0.1");
	assert_int_equal(r.srv.got, MIB);
	assert_int_equal(r.cli.got, MIB);
	assert_int_equal(r.srv.bad_data, 0);
	assert_int_equal(r.cli.bad_data, 0);
	assert_int_equal(r.srv.data_while_paused, 0);
	assert_string_equal(r.cli.reason, "client done");
	assert_string_equal(r.srv.reason, "peer closed the connection");
}

static void
test_backpressure(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    "cli.crt", "cli.key", 0, NULL, 1, NULL, 1 };

	/*
	 * 4 KiB socket buffers and a server that pauses for 300 ms: the
	 * client's queue fills, writes are refused, on_writable resumes them,
	 * and the queue never passes its bound (64 KiB plus one record).
	 */
	run_once(&r, &o);
	assert_int_equal(r.srv.got, MIB);
	assert_int_equal(r.cli.got, MIB);
	assert_int_equal(r.srv.bad_data + r.cli.bad_data, 0);
	assert_int_equal(r.srv.data_while_paused, 0);
	assert_true(r.cli.writable_calls > 0);
	assert_true(r.cli.max_queued_seen > 32 * 1024);
	assert_true(r.cli.max_queued_seen <= 64 * 1024 + 16384 + 64);
	assert_string_equal(r.srv.reason, "peer closed the connection");
}

static void
test_client_from_other_ca_refused(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    "evil.crt", "evil.key", 0, NULL, 0, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 0);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.srv.reason, "not correctly signed"));
	assert_non_null(strstr(r.cli.reason, "TLS handshake"));

	/* Optional mode does not let a bad certificate in either. */
	o.auth = TLS_PEER_OPTIONAL;
	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 0);
	assert_int_equal(r.srv.ready, 0);
	assert_non_null(strstr(r.srv.reason, "not correctly signed"));
}

static void
test_expired_client_refused(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    "old.crt", "cli.key", 0, NULL, 0, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 0);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.srv.reason, "expired"));
}

static void
test_no_client_cert(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    NULL, NULL, 0, NULL, 0, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 0);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.srv.reason, "TLS handshake"));

	/* Optional: accepted, and the caller sees no peer certificate. */
	o.auth = TLS_PEER_OPTIONAL;
	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 1);
	assert_int_equal(r.cli.ready, 1);
	assert_int_equal(r.srv.had_peer, 0);
	assert_string_equal(r.cli.peer_cn, "127.0.0.1");
	assert_string_equal(r.srv.reason, "peer closed the connection");
}

static void
test_garbage_client_closed(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_RAW_GARBAGE, NULL, TLS_PEER_REQUIRED, 0,
	    NULL, NULL, 0, NULL, 0, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.srv.ready, 0);
	assert_int_equal(r.srv.closed, 1);
	assert_int_equal(r.raw_closed, 1);
	assert_non_null(strstr(r.srv.reason, "TLS handshake: "));
}

static void
test_handshake_timeout(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_RAW_SILENT, NULL, TLS_PEER_REQUIRED, 200,
	    NULL, NULL, 0, NULL, 0, NULL, 0 };
	uint64_t t0 = uv_hrtime();

	run_once(&r, &o);
	assert_int_equal(r.srv.closed, 1);
	assert_string_equal(r.srv.reason,
	    "TLS handshake: timed out after 200 ms");
	assert_true(uv_hrtime() - t0 >= 190ULL * 1000 * 1000);
	assert_int_equal(r.raw_got, 0);
}

static void
test_pinned_ca(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_OPTIONAL, 0,
	    NULL, NULL, 1, fx.ca_pin, 0, NULL, 0 };

	/* An enrolling device: no certificate, no CA, only the pin. */
	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 1);
	assert_string_equal(r.cli.peer_cn, "127.0.0.1");
	assert_int_equal(r.srv.had_peer, 0);

	/* The wrong pin: the client refuses the server. */
	o.pin = fx.other_pin;
	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.cli.reason, "pinned"));
	assert_int_equal(r.srv.closed, 1);

	/* The right pin, but a certificate for another name. */
	o.pin = fx.ca_pin;
	o.srv_cert = "wrong.crt";
	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.cli.reason, "server certificate refused"));
}

static void
test_server_name_checked(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, "wrong.crt", TLS_PEER_REQUIRED, 0,
	    "cli.crt", "cli.key", 0, NULL, 0, NULL, 0 };

	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.cli.reason, "TLS handshake"));
	assert_non_null(strstr(r.cli.reason, "Common Name"));
}

static void
test_connect_refused(void **state)
{
	struct run r;
	struct run_opts o = { CLIENT_TLS, NULL, TLS_PEER_REQUIRED, 0,
	    "cli.crt", "cli.key", 0, NULL, 0, "1", 0 };

	run_once(&r, &o);
	assert_int_equal(r.cli.ready, 0);
	assert_non_null(strstr(r.cli.reason, "connect to 127.0.0.1:1: "));
}

/* A session kept as bytes: nothing without one; bytes that are not a
   session of this build are refused and leave it empty. */
static void
test_session_bytes(void **state)
{
	struct tls_session *ts = tls_session_new();
	unsigned char buf[TLS_SESSION_MAX], junk[64];

	assert_non_null(ts);
	assert_int_equal(tls_session_save(ts, buf, sizeof(buf)), 0);
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(tls_session_load(ts, junk, sizeof(junk)), -1);
	assert_int_equal(tls_session_save(ts, buf, sizeof(buf)), 0);
	assert_int_equal(tls_session_load(ts, junk, 0), -1);
	tls_session_free(ts);
}

static void
test_ctx_errors(void **state)
{
	struct tls_config c;
	char p[128], err[256];

	memset(&c, 0, sizeof(c));
	c.role = TLS_SERVER;
	assert_null(tls_ctx_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "required"));

	c.role = TLS_CLIENT;
	assert_null(tls_ctx_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "ca_file or ca_pin"));

	fx_path("nothing.crt", p, sizeof(p));
	c.ca_file = p;
	assert_null(tls_ctx_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "nothing.crt"));

	/* A key that is not the certificate's. */
	{
		char cc[128], ck[128];

		fx_path("cli.crt", cc, sizeof(cc));
		fx_path("evil.key", ck, sizeof(ck));
		fx_path("ca.crt", p, sizeof(p));
		c.cert_file = cc;
		c.key_file = ck;
		assert_null(tls_ctx_new(&c, err, sizeof(err)));
		assert_non_null(strstr(err, "does not match"));
	}
}

/* A memory conn fed garbage closes with a reason (the fuzz path). */
static void
mem_close(struct tls_conn *c, const char *reason, void *arg)
{
	snprintf(arg, TLS_REASON_MAX, "%s", reason);
}

static void
test_memory_conn(void **state)
{
	static const struct tls_callbacks mcb = { NULL, NULL, NULL, mem_close };
	static const unsigned char junk[] = "\x16\x03\x01\x00\x05hello";
	struct tls_config c;
	struct tls_ctx *ctx;
	struct tls_conn *conn;
	uv_loop_t loop;
	char sc[128], sk[128], ca[128], err[256], reason[TLS_REASON_MAX] = "";

	fx_path("srv.crt", sc, sizeof(sc));
	fx_path("srv.key", sk, sizeof(sk));
	fx_path("ca.crt", ca, sizeof(ca));
	memset(&c, 0, sizeof(c));
	c.role = TLS_SERVER;
	c.cert_file = sc;
	c.key_file = sk;
	c.ca_file = ca;
	ctx = make_ctx(&c);
	uv_loop_init(&loop);
	conn = tls_conn_new_mem(&loop, ctx, NULL, NULL, &mcb, reason, err,
	    sizeof(err));
	assert_non_null(conn);
	tls_ctx_free(ctx);
	assert_int_equal(tls_conn_feed(conn, junk, sizeof(junk) - 1),
	    sizeof(junk) - 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_non_null(strstr(reason, "TLS handshake: "));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_auth_bulk_both_ways),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_client_from_other_ca_refused),
		cmocka_unit_test(test_expired_client_refused),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_garbage_client_closed),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_pinned_ca),
		cmocka_unit_test(test_server_name_checked),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_session_bytes),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_memory_conn),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
