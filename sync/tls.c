/* tls.c: see tls.h. */
#include "sync/tls.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>

#include "common/rng.h"
#include "sync/pki.h"

#define TLS_CLOSE_GRACE_MS 1000	/* flushing writes after tls_conn_close */
#define TLS_READ_CHUNK 16384	/* one record's worth of plaintext */
#define TLS_REFUSED 1		/* conn_handshake closed the conn */
#define TLS_MSG_MAX 512		/* reasons are cut to TLS_REASON_MAX later */

static const int tls_suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	0
};

static const mbedtls_ecp_group_id tls_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519,
	MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_NONE
};

static const int tls_sig_hashes[] = {
	MBEDTLS_MD_SHA256,
	MBEDTLS_MD_NONE
};

struct tls_ctx {
	int refs;
	enum tls_role role;
	enum tls_peer_auth peer_auth;
	int have_own, have_ca, have_pin;
	unsigned char pin[TLS_PIN_LEN];
	unsigned timeout_ms;
	size_t max_queued;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt chain;		/* own certificate, then (server) CA */
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_ssl_ticket_context ticket;	/* server: resumption */
	int have_ticket;
	/* Server: the client certificates its tickets name (see
	   tls_ticket_write), TLS_TICKET_CERTS at most, the least recently
	   used replaced first. */
	struct tls_ticket_cert {
		unsigned char hash[32];	/* SHA-256 of der */
		unsigned char *der;
		size_t len;
		uint64_t used;
	} *certs;
	size_t ncerts;
	uint64_t cert_clock;
};

struct tls_session {
	mbedtls_ssl_session s;
	int valid;
};

/*
 * The BIO design.  mbedtls never touches the socket: it reads and writes
 * through tls_bio_recv and tls_bio_send, which work on memory.
 *
 * Input: libuv reads ciphertext straight into conn->in (on_alloc hands
 * out the free tail of that one fixed buffer, compacting it first).  Then
 * conn_drive runs mbedtls (handshake, then ssl_read in a loop) until it
 * wants more; tls_bio_recv copies out of conn->in and answers WANT_READ
 * when it is empty (or 0, end of stream, after the peer's FIN).  So the
 * buffer is empty again after every drive unless the caller paused
 * on_data; while it is full, reading stops.  Nothing grows: a peer that
 * floods us meets TCP flow control.
 *
 * Output: tls_bio_send accepts every record mbedtls produces (it never
 * answers WANT_WRITE, so mbedtls keeps no half-sent state).  It tries
 * uv_try_write first and queues what the kernel did not take as one
 * uv_write request owning a copy of the bytes; conn->queued counts those
 * bytes until their write callbacks run.  The bound is applied before
 * encryption, in tls_conn_write, where the caller can wait.
 *
 * Life: the conn owns the TCP handle and a timer (connect and handshake
 * timeouts, the close grace period, and the resume kick), plus at most
 * one getaddrinfo request.  `pending` counts those that must call back
 * before the conn may be freed; at zero, after closing, on_close runs
 * and the conn is freed.
 */
struct tls_wreq {
	uv_write_t req;
	struct tls_conn *conn;
	size_t len;
	unsigned char data[];
};

enum tls_state {
	ST_RESOLVING,
	ST_CONNECTING,
	ST_HANDSHAKE,
	ST_OPEN
};

struct tls_conn {
	struct tls_ctx *ctx;
	uv_loop_t *loop;
	uv_tcp_t *tcp;			/* NULL for a memory conn */
	uv_timer_t timer;
	uv_getaddrinfo_t gai;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	mbedtls_ssl_context ssl;
	struct tls_callbacks cb;
	void *arg;
	tls_out_fn out_fn;
	enum tls_state state;
	int pending;			/* handles and requests to call back */
	unsigned ssl_ready : 1;		/* ssl was set up (free it) */
	unsigned closing : 1;
	unsigned handles_closing : 1;
	unsigned silent : 1;		/* failed in _new: no on_close */
	unsigned notify_ok : 1;		/* a close_notify may be sent */
	unsigned write_failed : 1;
	unsigned eof : 1;
	unsigned paused : 1;
	unsigned reading : 1;
	unsigned want_writable : 1;
	unsigned peer_ok : 1;
	unsigned gai_pending : 1;
	unsigned early_checked : 1;
	unsigned fast_open : 1;		/* client: TCP Fast Open asked for */
	unsigned heard : 1;		/* a byte came from the peer */
	struct tls_session *session;	/* client: resume from, save to */
	int write_err;			/* the uv error behind write_failed */
	size_t queued;
	size_t in_off, in_len;
	char reason[TLS_REASON_MAX];
	char host[128], port[16];
	unsigned char in[TLS_IN_CAP];
};

static void conn_drive(struct tls_conn *);
static void conn_update_reading(struct tls_conn *);
static void on_timer(uv_timer_t *);

/*
 * With TCP Fast Open the connect ends at once and the SYN leaves with the
 * first bytes, so a refused or unreachable peer shows as a read or write
 * error: until the peer has sent something, such errors are the
 * connect's, and say so.
 */
static const char *
conn_where(struct tls_conn *c, char *buf, size_t len)
{
	if (!c->fast_open || c->heard)
		return "";
	snprintf(buf, len, "connect to %s:%s: ", c->host, c->port);
	return buf;
}

static void __attribute__((format(printf, 3, 4)))
tls_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
tls_ctx_release(struct tls_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ncerts; i++)
		free(ctx->certs[i].der);
	free(ctx->certs);
	mbedtls_ssl_config_free(&ctx->conf);
	if (ctx->have_ticket)
		mbedtls_ssl_ticket_free(&ctx->ticket);
	mbedtls_x509_crt_free(&ctx->chain);
	mbedtls_x509_crt_free(&ctx->ca);
	mbedtls_pk_free(&ctx->key);
	mbedtls_platform_zeroize(ctx, sizeof(*ctx));
	free(ctx);
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx != NULL && --ctx->refs == 0)
		tls_ctx_release(ctx);
}

static int
tls_ctx_check(const struct tls_config *cfg, char *err, size_t errlen)
{
	if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
		tls_seterr(err, errlen, "TLS: cert_file and key_file go "
		    "together");
		return -1;
	}
	if (cfg->role == TLS_SERVER) {
		if (cfg->cert_file == NULL || cfg->ca_file == NULL) {
			tls_seterr(err, errlen, "TLS server: cert_file, "
			    "key_file and ca_file are required");
			return -1;
		}
		if (cfg->ca_pin != NULL) {
			tls_seterr(err, errlen, "TLS server: ca_pin is for "
			    "clients");
			return -1;
		}
	} else {
		if (cfg->ca_file == NULL && cfg->ca_pin == NULL) {
			tls_seterr(err, errlen, "TLS client: ca_file or "
			    "ca_pin is required");
			return -1;
		}
		if (cfg->peer_auth != TLS_PEER_REQUIRED) {
			tls_seterr(err, errlen, "TLS client: the server's "
			    "certificate is always required");
			return -1;
		}
	}
	return 0;
}

/*
 * Tickets that name the client's certificate instead of carrying it.
 * mbedtls puts the whole session in a ticket, the client certificate
 * too: about 460 of a ticket's 600 bytes, which the device sends in
 * every resuming ClientHello, on links where what goes before the first
 * batch decides whether any record gets through.  A ticket is good only
 * at the process that sealed it (its key lives in memory), so this
 * process keeps the certificates it has seen and the ticket carries the
 * SHA-256 of one, in the session id field (a ticket's session id is
 * otherwise unused: the server takes the client's), sealed with the
 * rest.  A ticket whose certificate was forgotten (more than
 * TLS_TICKET_CERTS devices since) is refused like an expired one: the
 * handshake is a full one.  Devices are unchanged: a ticket is opaque
 * to them.
 */
static struct tls_ticket_cert *
ticket_cert_find(struct tls_ctx *ctx, const unsigned char hash[32])
{
	for (size_t i = 0; i < ctx->ncerts; i++)
		if (memcmp(ctx->certs[i].hash, hash, 32) == 0) {
			ctx->certs[i].used = ++ctx->cert_clock;
			return &ctx->certs[i];
		}
	return NULL;
}

/* 0, or -1 (out of memory: the ticket then carries the certificate). */
static int
ticket_cert_keep(struct tls_ctx *ctx, const unsigned char hash[32],
    const unsigned char *der, size_t len)
{
	struct tls_ticket_cert *t;
	unsigned char *copy;

	if (ticket_cert_find(ctx, hash) != NULL)
		return 0;
	if (ctx->certs == NULL && (ctx->certs = calloc(TLS_TICKET_CERTS,
	    sizeof(*ctx->certs))) == NULL)
		return -1;
	if ((copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, der, len);
	if (ctx->ncerts < TLS_TICKET_CERTS)
		t = &ctx->certs[ctx->ncerts++];
	else {
		t = &ctx->certs[0];
		for (size_t i = 1; i < ctx->ncerts; i++)
			if (ctx->certs[i].used < t->used)
				t = &ctx->certs[i];
		free(t->der);
	}
	memcpy(t->hash, hash, 32);
	t->der = copy;
	t->len = len;
	t->used = ++ctx->cert_clock;
	return 0;
}

static int
tls_ticket_write(void *p, const mbedtls_ssl_session *session,
    unsigned char *start, const unsigned char *end, size_t *tlen,
    uint32_t *lifetime)
{
	struct tls_ctx *ctx = p;
	const mbedtls_x509_crt *crt = session->peer_cert;
	mbedtls_ssl_session named;
	unsigned char hash[32];
	int rc;

	/* A chain, or no memory to keep the certificate: carried as it is. */
	if (crt != NULL && (crt->next != NULL ||
	    mbedtls_sha256_ret(crt->raw.p, crt->raw.len, hash, 0) != 0 ||
	    ticket_cert_keep(ctx, hash, crt->raw.p, crt->raw.len) != 0))
		return mbedtls_ssl_ticket_write(&ctx->ticket, session, start,
		    end, tlen, lifetime);
	/* A shallow copy that mbedtls only reads; never freed. */
	memcpy(&named, session, sizeof(named));
	if (crt == NULL) {
		/*
		 * No certificate (an enrolling peer).  A session's id can be
		 * the one its client chose (a resumed session's is); sealed
		 * in a ticket without a certificate, a client that chose
		 * the hash of a device's certificate would come back as that
		 * device (tls_ticket_parse).  So such a ticket names none.
		 */
		named.id_len = 0;
		memset(named.id, 0, sizeof(named.id));
	} else {
		named.peer_cert = NULL;
		named.id_len = sizeof(hash);
		memcpy(named.id, hash, sizeof(hash));
	}
	rc = mbedtls_ssl_ticket_write(&ctx->ticket, &named, start, end, tlen,
	    lifetime);
	mbedtls_platform_zeroize(&named, sizeof(named));
	return rc;
}

static int
tls_ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf,
    size_t len)
{
	struct tls_ctx *ctx = p;
	struct tls_ticket_cert *t;
	mbedtls_x509_crt *crt;
	int rc;

	if ((rc = mbedtls_ssl_ticket_parse(&ctx->ticket, session, buf,
	    len)) != 0)
		return rc;
	/* A ticket that carries its certificate, or had none. */
	if (session->peer_cert != NULL || session->id_len != 32)
		return 0;
	/* mbedtls frees the session on an error here. */
	if ((t = ticket_cert_find(ctx, session->id)) == NULL)
		return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
	if ((crt = calloc(1, sizeof(*crt))) == NULL)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	mbedtls_x509_crt_init(crt);
	if ((rc = mbedtls_x509_crt_parse_der(crt, t->der, t->len)) != 0) {
		mbedtls_x509_crt_free(crt);
		free(crt);
		return rc;
	}
	session->peer_cert = crt;
	/* mbedtls puts the client's session id here next. */
	session->id_len = 0;
	memset(session->id, 0, sizeof(session->id));
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct tls_config *cfg, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	char ebuf[128];
	int rc, authmode;

	if (tls_ctx_check(cfg, err, errlen) != 0)
		return NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		tls_seterr(err, errlen, "TLS: out of memory");
		return NULL;
	}
	ctx->refs = 1;
	ctx->role = cfg->role;
	ctx->peer_auth = cfg->peer_auth;
	ctx->timeout_ms = cfg->handshake_timeout_ms != 0 ?
	    cfg->handshake_timeout_ms : TLS_HANDSHAKE_TIMEOUT_DEFAULT;
	ctx->max_queued = cfg->max_queued != 0 ? cfg->max_queued :
	    TLS_MAX_QUEUED_DEFAULT;
	mbedtls_ssl_config_init(&ctx->conf);
	mbedtls_x509_crt_init(&ctx->chain);
	mbedtls_x509_crt_init(&ctx->ca);
	mbedtls_pk_init(&ctx->key);

	if (cfg->cert_file != NULL) {
		if (pki_cert_read(&ctx->chain, cfg->cert_file, err,
		    errlen) != 0 || pki_key_read(&ctx->key, cfg->key_file, err,
		    errlen) != 0)
			goto fail;
		if (mbedtls_pk_check_pair(&ctx->chain.pk, &ctx->key) != 0) {
			tls_seterr(err, errlen, "%s: key does not match the "
			    "certificate in %s", cfg->key_file,
			    cfg->cert_file);
			goto fail;
		}
		ctx->have_own = 1;
	}
	if (cfg->ca_file != NULL) {
		if (pki_cert_read(&ctx->ca, cfg->ca_file, err, errlen) != 0)
			goto fail;
		if (!ctx->ca.ca_istrue) {
			tls_seterr(err, errlen, "%s: not a CA certificate",
			    cfg->ca_file);
			goto fail;
		}
		ctx->have_ca = 1;
		/* A server sends its CA too, for pinned (enrolling) clients. */
		if (cfg->role == TLS_SERVER && mbedtls_x509_crt_parse_der(
		    &ctx->chain, ctx->ca.raw.p, ctx->ca.raw.len) != 0) {
			tls_seterr(err, errlen, "%s: cannot chain the CA",
			    cfg->ca_file);
			goto fail;
		}
	}
	if (cfg->ca_pin != NULL) {
		memcpy(ctx->pin, cfg->ca_pin, TLS_PIN_LEN);
		ctx->have_pin = 1;
	}

	rc = mbedtls_ssl_config_defaults(&ctx->conf, cfg->role == TLS_SERVER ?
	    MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		mbedtls_strerror(rc, ebuf, sizeof(ebuf));
		tls_seterr(err, errlen, "TLS configuration: %s", ebuf);
		goto fail;
	}
	mbedtls_ssl_conf_min_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&ctx->conf, tls_suites);
	mbedtls_ssl_conf_curves(&ctx->conf, tls_curves);
	mbedtls_ssl_conf_sig_hashes(&ctx->conf, tls_sig_hashes);
	mbedtls_ssl_conf_cert_profile(&ctx->conf,
	    &mbedtls_x509_crt_profile_suiteb);
	mbedtls_ssl_conf_rng(&ctx->conf, rng_mbedtls, rng_ctx());
#ifdef MBEDTLS_SSL_RENEGOTIATION
	mbedtls_ssl_conf_renegotiation(&ctx->conf,
	    MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#endif
	/* Resumption by session ticket (RFC 5077): a device on a link that
	   keeps dropping reconnects in one round trip less and without
	   sending certificates again.  The ticket is sealed with a key only
	   this process holds (rotated by mbedtls every lifetime), and it
	   carries the client certificate, which the caller checks against
	   revocation on every connection as before. */
	mbedtls_ssl_conf_session_tickets(&ctx->conf,
	    MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	if (cfg->role == TLS_SERVER) {
		mbedtls_ssl_ticket_init(&ctx->ticket);
		ctx->have_ticket = 1;
		if ((rc = mbedtls_ssl_ticket_setup(&ctx->ticket, rng_mbedtls,
		    rng_ctx(), MBEDTLS_CIPHER_AES_256_GCM,
		    TLS_TICKET_LIFETIME)) != 0) {
			mbedtls_strerror(rc, ebuf, sizeof(ebuf));
			tls_seterr(err, errlen, "TLS tickets: %s", ebuf);
			goto fail;
		}
		mbedtls_ssl_conf_session_tickets_cb(&ctx->conf,
		    tls_ticket_write, tls_ticket_parse, ctx);
	}
	if (cfg->role == TLS_SERVER)
		authmode = cfg->peer_auth == TLS_PEER_OPTIONAL ?
		    MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED;
	else
		/* A pinned client checks the chain itself after the handshake. */
		authmode = ctx->have_pin ? MBEDTLS_SSL_VERIFY_OPTIONAL :
		    MBEDTLS_SSL_VERIFY_REQUIRED;
	mbedtls_ssl_conf_authmode(&ctx->conf, authmode);
	if (ctx->have_ca)
		mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
	if (ctx->have_own && (rc = mbedtls_ssl_conf_own_cert(&ctx->conf,
	    &ctx->chain, &ctx->key)) != 0) {
		mbedtls_strerror(rc, ebuf, sizeof(ebuf));
		tls_seterr(err, errlen, "TLS own certificate: %s", ebuf);
		goto fail;
	}
	return ctx;
fail:
	tls_ctx_release(ctx);
	return NULL;
}

/* ---- closing ---- */

static void
conn_finish(struct tls_conn *c)
{
	if (!c->silent && c->cb.on_close != NULL)
		c->cb.on_close(c, c->reason[0] != '\0' ? c->reason : "closed",
		    c->arg);
	if (c->ssl_ready)
		mbedtls_ssl_free(&c->ssl);
	tls_ctx_free(c->ctx);
	free(c);
}

static void
conn_unref(struct tls_conn *c)
{
	if (--c->pending == 0 && c->handles_closing)
		conn_finish(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct tls_conn *c = h->data;

	if (h == (uv_handle_t *)c->tcp) {
		free(c->tcp);
		c->tcp = NULL;
	}
	conn_unref(c);
}

static void
conn_close_handles(struct tls_conn *c)
{
	if (c->handles_closing)
		return;
	c->handles_closing = 1;
	c->closing = 1;
	c->reading = 0;
	/* Each close callback drops one reference; see struct tls_conn. */
	c->pending++;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	if (c->tcp != NULL) {
		c->pending++;
		uv_close((uv_handle_t *)c->tcp, on_handle_closed);
	}
	/* The reference that kept the conn alive while it was open. */
	conn_unref(c);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	conn_close_handles(req->data);
}

void
tls_conn_close(struct tls_conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	snprintf(c->reason, sizeof(c->reason), "%s",
	    reason != NULL ? reason : "closed");
	conn_update_reading(c);
	uv_timer_stop(&c->timer);
	if (c->gai_pending) {
		/* The getaddrinfo callback still holds a reference. */
		uv_cancel((uv_req_t *)&c->gai);
		conn_close_handles(c);
		return;
	}
	if (c->state == ST_OPEN && c->notify_ok && !c->write_failed)
		(void)mbedtls_ssl_close_notify(&c->ssl);
	/*
	 * Shut the write side down first so queued records (an alert, the
	 * close_notify, the last replies) reach the peer; closing with
	 * unread input would send a reset that can destroy them.
	 */
	if (c->tcp != NULL && c->state >= ST_HANDSHAKE && !c->write_failed) {
		c->sreq.data = c;
		if (uv_shutdown(&c->sreq, (uv_stream_t *)c->tcp,
		    on_shutdown) == 0) {
			uv_timer_start(&c->timer, on_timer, TLS_CLOSE_GRACE_MS,
			    0);
			return;
		}
	}
	conn_close_handles(c);
}

/*
 * Closes with "what: mbedtls's text", plus the certificate verification
 * details when that is what failed.  mbedtls has sent any alert due.
 */
static void
conn_fail(struct tls_conn *c, const char *what, int rc)
{
	char msg[TLS_MSG_MAX], ebuf[128], info[160];
	uint32_t flags;

	c->notify_ok = 0;
	if (rc == MBEDTLS_ERR_NET_SEND_FAILED && c->write_err != 0) {
		char where[sizeof(c->host) + sizeof(c->port) + 16];

		snprintf(msg, sizeof(msg), "%s%s: write: %s", conn_where(c,
		    where, sizeof(where)), what, uv_strerror(c->write_err));
		tls_conn_close(c, msg);
		return;
	}
	mbedtls_strerror(rc, ebuf, sizeof(ebuf));
	info[0] = '\0';
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && c->ssl_ready &&
	    (flags = mbedtls_ssl_get_verify_result(&c->ssl)) != 0 &&
	    flags != (uint32_t)-1)
		pki_verify_text(flags, info, sizeof(info));
	snprintf(msg, sizeof(msg), "%s: %s%s%s%s", what, ebuf,
	    info[0] != '\0' ? " (" : "", info, info[0] != '\0' ? ")" : "");
	tls_conn_close(c, msg);
}

/* ---- the BIO callbacks ---- */

static int
tls_bio_recv(void *p, unsigned char *buf, size_t len)
{
	struct tls_conn *c = p;
	size_t n;

	if (c->in_len == 0)
		return c->eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
	n = len < c->in_len ? len : c->in_len;
	memcpy(buf, c->in + c->in_off, n);
	c->in_off += n;
	c->in_len -= n;
	if (c->in_len == 0)
		c->in_off = 0;
	return (int)n;
}

static void
on_write(uv_write_t *req, int status)
{
	struct tls_wreq *w = (struct tls_wreq *)req;
	struct tls_conn *c = w->conn;

	c->queued -= w->len;
	free(w);
	if (status < 0) {
		c->write_failed = 1;
		if (c->write_err == 0)
			c->write_err = status;
		c->notify_ok = 0;
		if (!c->closing) {
			char msg[TLS_MSG_MAX];
			char where[sizeof(c->host) + sizeof(c->port) + 16];

			snprintf(msg, sizeof(msg), "%swrite: %s", conn_where(c,
			    where, sizeof(where)), uv_strerror(status));
			tls_conn_close(c, msg);
		}
		return;
	}
	if (!c->closing && c->want_writable &&
	    c->queued <= c->ctx->max_queued / 2) {
		c->want_writable = 0;
		if (c->cb.on_writable != NULL)
			c->cb.on_writable(c, c->arg);
	}
}

static int
tls_bio_send(void *p, const unsigned char *buf, size_t len)
{
	struct tls_conn *c = p;
	struct tls_wreq *w;
	uv_buf_t b;
	size_t off = 0;
	int n;

	if (c->write_failed)
		return MBEDTLS_ERR_NET_SEND_FAILED;
	if (c->tcp == NULL) {
		if (c->out_fn != NULL)
			c->out_fn(c->arg, buf, len);
		return (int)len;
	}
	/* UV_EAGAIN also when earlier writes are still queued: order kept. */
	b = uv_buf_init((char *)buf, (unsigned)len);
	n = uv_try_write((uv_stream_t *)c->tcp, &b, 1);
	if (n >= 0)
		off = (size_t)n;
	else if (n != UV_EAGAIN) {
		c->write_failed = 1;
		c->write_err = n;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
	if (off == len)
		return (int)len;
	if ((w = malloc(sizeof(*w) + len - off)) == NULL) {
		c->write_failed = 1;
		c->write_err = UV_ENOMEM;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
	w->conn = c;
	w->len = len - off;
	memcpy(w->data, buf + off, w->len);
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	if ((n = uv_write(&w->req, (uv_stream_t *)c->tcp, &b, 1,
	    on_write)) != 0) {
		free(w);
		c->write_failed = 1;
		c->write_err = n;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
	c->queued += w->len;
	if (c->queued > c->ctx->max_queued / 2)
		c->want_writable = 1;
	return (int)len;
}

/* ---- reading ---- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct tls_conn *c = h->data;

	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	/* Length 0 when full: libuv then reports UV_ENOBUFS. */
	*b = uv_buf_init((char *)c->in + c->in_len,
	    (unsigned)(TLS_IN_CAP - c->in_len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct tls_conn *c = s->data;
	char msg[TLS_MSG_MAX];

	if (n == 0 || n == UV_ENOBUFS || c->closing)
		goto out;
	if (n == UV_EOF)
		c->eof = 1;
	else if (n < 0) {
		c->notify_ok = 0;
		char where[sizeof(c->host) + sizeof(c->port) + 16];

		c->write_failed = 1;	/* the socket is broken both ways */
		snprintf(msg, sizeof(msg), "%sread: %s", conn_where(c, where,
		    sizeof(where)), uv_strerror((int)n));
		tls_conn_close(c, msg);
		return;
	} else {
		c->heard = 1;
		c->in_len += (size_t)n;
	}
	conn_drive(c);
out:
	conn_update_reading(c);
}

/*
 * Reads while there is room, the peer has not ended the stream, and the
 * conn is past connecting and not closing.
 */
static void
conn_update_reading(struct tls_conn *c)
{
	int want;

	if (c->tcp == NULL)
		return;
	want = !c->closing && !c->eof && c->state >= ST_HANDSHAKE &&
	    c->in_len < TLS_IN_CAP;
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read) == 0)
			c->reading = 1;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)c->tcp);
		c->reading = 0;
	}
}

/* ---- the handshake and the peer checks ---- */

/* Refuses the peer: a fatal bad_certificate alert, then close. */
static int __attribute__((format(printf, 2, 3)))
conn_refuse(struct tls_conn *c, const char *fmt, ...)
{
	char msg[TLS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)mbedtls_ssl_send_alert_message(&c->ssl,
	    MBEDTLS_SSL_ALERT_LEVEL_FATAL, MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
	c->notify_ok = 0;
	tls_conn_close(c, msg);
	return -1;
}

/*
 * A pinned client: the server's chain must hold a CA certificate whose
 * SHA-256 is the pin, and the server's certificate must verify against
 * that certificate alone, for the name we asked for.
 */
static int
conn_check_pin(struct tls_conn *c, const mbedtls_x509_crt *peer)
{
	const mbedtls_x509_crt *x;
	mbedtls_x509_crt trust;
	unsigned char h[32];
	char info[160];
	uint32_t flags = 0;
	int rc;

	for (x = peer->next; x != NULL; x = x->next) {
		if (!x->ca_istrue)
			continue;
		mbedtls_sha256_ret(x->raw.p, x->raw.len, h, 0);
		if (memcmp(h, c->ctx->pin, sizeof(h)) == 0)
			break;
	}
	if (x == NULL)
		return conn_refuse(c, "server certificate refused: its chain "
		    "has no CA matching the pinned fingerprint");
	mbedtls_x509_crt_init(&trust);
	if (mbedtls_x509_crt_parse_der(&trust, x->raw.p, x->raw.len) != 0) {
		mbedtls_x509_crt_free(&trust);
		return conn_refuse(c, "server certificate refused: pinned CA "
		    "does not parse");
	}
	rc = mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)peer,
	    &trust, NULL, &mbedtls_x509_crt_profile_suiteb,
	    c->host[0] != '\0' ? c->host : NULL, &flags, NULL, NULL);
	mbedtls_x509_crt_free(&trust);
	if (rc != 0) {
		pki_verify_text(flags, info, sizeof(info));
		return conn_refuse(c, "server certificate refused: %s", info);
	}
	return 0;
}

/*
 * A pinned client's check of the server's chain.  mbedtls ran in optional
 * mode: "not trusted" is expected when we have no CA; anything else it
 * found (name, key usage, dates) is fatal.  Then the pin decides.
 */
static int
conn_check_pinned_server(struct tls_conn *c, const mbedtls_x509_crt *peer,
    uint32_t flags)
{
	char info[160];

	if (peer == NULL)
		return conn_refuse(c, "server sent no certificate");
	if (!c->ctx->have_ca)
		flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	if (flags != 0) {
		pki_verify_text(flags, info, sizeof(info));
		return conn_refuse(c, "server certificate refused: %s", info);
	}
	return conn_check_pin(c, peer);
}

/* Checks the peer once the handshake is done; -1 when it closed. */
static int
conn_check_peer(struct tls_conn *c)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
	uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
	char info[160];

	if (c->ctx->role == TLS_SERVER) {
		if (peer == NULL) {
			if (c->ctx->peer_auth == TLS_PEER_REQUIRED)
				return conn_refuse(c, "client sent no "
				    "certificate");
			return 0;	/* optional: the caller sees NULL */
		}
		if (flags != 0) {
			pki_verify_text(flags, info, sizeof(info));
			return conn_refuse(c, "client certificate refused: %s",
			    info);
		}
		c->peer_ok = 1;
		return 0;
	}
	if (peer == NULL)
		return conn_refuse(c, "server sent no certificate");
	if (c->ctx->have_pin) {
		/* conn_handshake checked it as soon as it arrived. */
		if (!c->early_checked)
			return conn_refuse(c, "server certificate not checked");
	} else if (flags != 0) {
		pki_verify_text(flags, info, sizeof(info));
		return conn_refuse(c, "server certificate refused: %s", info);
	}
	c->peer_ok = 1;
	return 0;
}

/*
 * mbedtls_ssl_handshake, one step at a time, so that a server in optional
 * mode can refuse a client certificate that failed verification as soon
 * as it is parsed -- before the server's Finished, so the client never
 * believes it is connected.  (In optional mode mbedtls itself goes on.)
 * Returns what the step returned, or TLS_REFUSED when it closed.
 */
static int
conn_handshake(struct tls_conn *c)
{
	const mbedtls_ssl_session *s;
	char info[160];
	int rc;

	while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
		if ((rc = mbedtls_ssl_handshake_step(&c->ssl)) != 0)
			return rc;
		if (c->early_checked)
			continue;
		s = c->ssl.session_negotiate;
		if (c->ctx->role == TLS_SERVER &&
		    c->ssl.state > MBEDTLS_SSL_CLIENT_CERTIFICATE) {
			c->early_checked = 1;
			if (s != NULL && s->peer_cert != NULL &&
			    s->verify_result != 0) {
				pki_verify_text(s->verify_result, info,
				    sizeof(info));
				conn_refuse(c, "client certificate refused: %s",
				    info);
				return TLS_REFUSED;
			}
		} else if (c->ctx->role == TLS_CLIENT && c->ctx->have_pin &&
		    c->ssl.state > MBEDTLS_SSL_SERVER_CERTIFICATE) {
			/* Before we send our certificate or our Finished. */
			c->early_checked = 1;
			if (conn_check_pinned_server(c, s != NULL ?
			    s->peer_cert : NULL, s != NULL ?
			    s->verify_result : (uint32_t)-1) != 0)
				return TLS_REFUSED;
		}
	}
	return 0;
}

/*
 * Runs mbedtls on what is buffered: the handshake until done, then
 * ssl_read until it wants more input, handing plaintext to on_data.
 * Callbacks may close, pause or write; the conn stays valid until the
 * loop runs its close callbacks, so the flags are simply re-checked.
 */
static void
conn_drive(struct tls_conn *c)
{
	unsigned char buf[TLS_READ_CHUNK];
	int rc;

	if (c->closing || c->state < ST_HANDSHAKE)
		return;
	if (c->state == ST_HANDSHAKE) {
		rc = conn_handshake(c);
		if (rc == TLS_REFUSED)
			return;
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (rc != 0) {
			conn_fail(c, "TLS handshake", rc);
			return;
		}
		uv_timer_stop(&c->timer);
		c->state = ST_OPEN;
		c->notify_ok = 1;
		if (conn_check_peer(c) != 0)
			return;
		if (c->session != NULL) {
			/* The ticket for the next connection. */
			mbedtls_ssl_session_free(&c->session->s);
			mbedtls_ssl_session_init(&c->session->s);
			c->session->valid = mbedtls_ssl_get_session(&c->ssl,
			    &c->session->s) == 0;
		}
		if (c->cb.on_ready != NULL)
			c->cb.on_ready(c, c->arg);
	}
	while (!c->closing && !c->paused) {
		rc = mbedtls_ssl_read(&c->ssl, buf, sizeof(buf));
		if (rc > 0) {
			if (c->cb.on_data != NULL)
				c->cb.on_data(c, buf, (size_t)rc, c->arg);
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			tls_conn_close(c, "peer closed the connection");
			break;
		}
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
			/* 0 is also an empty record; each call eats input. */
			if (c->eof && c->in_len == 0) {
				c->notify_ok = 0;
				tls_conn_close(c, "peer closed the connection "
				    "without close_notify");
				break;
			}
			continue;
		}
		conn_fail(c, "TLS read", rc);
		break;
	}
}

/* ---- making conns ---- */

static void
on_timer(uv_timer_t *t)
{
	struct tls_conn *c = t->data;
	char msg[TLS_MSG_MAX];

	if (c->closing) {
		/* The close grace period is over: stop flushing. */
		conn_close_handles(c);
		return;
	}
	switch (c->state) {
	case ST_RESOLVING:
	case ST_CONNECTING:
		snprintf(msg, sizeof(msg), "connect to %s:%s: timed out",
		    c->host, c->port);
		tls_conn_close(c, msg);
		break;
	case ST_HANDSHAKE:
		snprintf(msg, sizeof(msg), "TLS handshake: timed out after "
		    "%u ms", c->ctx->timeout_ms);
		c->notify_ok = 0;
		tls_conn_close(c, msg);
		break;
	case ST_OPEN:
		/* The resume kick: deliver what was buffered while paused. */
		conn_drive(c);
		conn_update_reading(c);
		break;
	}
}

static struct tls_conn *
conn_alloc(uv_loop_t *loop, struct tls_ctx *ctx,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen)
{
	struct tls_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		tls_seterr(err, errlen, "TLS: out of memory");
		return NULL;
	}
	c->ctx = ctx;
	ctx->refs++;
	c->loop = loop;
	c->cb = *cb;
	c->arg = arg;
	c->pending = 1;		/* dropped by conn_close_handles */
	c->state = ST_CONNECTING;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	return c;
}

/* Sets up mbedtls and starts the handshake; -1 with err (conn unchanged). */
static int
conn_start_tls(struct tls_conn *c, const char *server_name, char *err,
    size_t errlen)
{
	char ebuf[128];
	int rc;

	mbedtls_ssl_init(&c->ssl);
	c->ssl_ready = 1;
	if ((rc = mbedtls_ssl_setup(&c->ssl, &c->ctx->conf)) == 0 &&
	    c->ctx->role == TLS_CLIENT && server_name != NULL) {
		if (server_name != c->host)
			snprintf(c->host, sizeof(c->host), "%s", server_name);
		rc = mbedtls_ssl_set_hostname(&c->ssl, server_name);
	}
	if (rc != 0) {
		mbedtls_strerror(rc, ebuf, sizeof(ebuf));
		tls_seterr(err, errlen, "TLS setup: %s", ebuf);
		return -1;
	}
	if (c->session != NULL && c->session->valid &&
	    mbedtls_ssl_set_session(&c->ssl, &c->session->s) != 0)
		c->session->valid = 0;	/* a full handshake, then */
	mbedtls_ssl_set_bio(&c->ssl, c, tls_bio_send, tls_bio_recv, NULL);
	if (c->tcp != NULL)
		(void)uv_tcp_nodelay(c->tcp, 1);
	c->state = ST_HANDSHAKE;
	uv_timer_start(&c->timer, on_timer, c->ctx->timeout_ms, 0);
	conn_update_reading(c);
	conn_drive(c);		/* a client sends its hello now */
	return 0;
}

/* Close callback for a TCP handle that never got a conn. */
static void
free_handle(uv_handle_t *h)
{
	free(h);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, uv_tcp_t *tcp, const char *server_name,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen)
{
	struct tls_conn *c;

	if ((c = conn_alloc(tcp->loop, ctx, cb, arg, err, errlen)) == NULL) {
		uv_close((uv_handle_t *)tcp, free_handle);
		return NULL;
	}
	c->tcp = tcp;
	tcp->data = c;
	if (conn_start_tls(c, server_name, err, errlen) != 0) {
		c->silent = 1;
		conn_close_handles(c);
		return NULL;
	}
	return c;
}

void
tls_listener_fast_open(uv_tcp_t *listener)
{
#ifdef TCP_FASTOPEN
	uv_os_fd_t fd;
	int qlen = TLS_FAST_OPEN_QUEUE;

	/* Best effort: without the kernel's server side (net.ipv4.
	   tcp_fastopen bit 2) clients just connect the usual way. */
	if (uv_fileno((uv_handle_t *)listener, &fd) == 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen,
		    sizeof(qlen));
#else
	(void)listener;
#endif
}

struct tls_conn *
tls_conn_accept(struct tls_ctx *ctx, uv_stream_t *listener,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen)
{
	uv_tcp_t *tcp;
	int rc;

	if ((tcp = malloc(sizeof(*tcp))) == NULL) {
		tls_seterr(err, errlen, "accept: out of memory");
		return NULL;
	}
	if ((rc = uv_tcp_init(listener->loop, tcp)) != 0) {
		free(tcp);
		tls_seterr(err, errlen, "accept: %s", uv_strerror(rc));
		return NULL;
	}
	if ((rc = uv_accept(listener, (uv_stream_t *)tcp)) != 0) {
		uv_close((uv_handle_t *)tcp, free_handle);
		tls_seterr(err, errlen, "accept: %s", uv_strerror(rc));
		return NULL;
	}
	return tls_conn_new(ctx, tcp, NULL, cb, arg, err, errlen);
}

static void
on_connected(uv_connect_t *req, int status)
{
	struct tls_conn *c = req->data;
	char msg[TLS_MSG_MAX], err[TLS_REASON_MAX];

	if (c->closing)
		return;		/* ECANCELED from closing the handle */
	if (status < 0) {
		snprintf(msg, sizeof(msg), "connect to %s:%s: %s", c->host,
		    c->port, uv_strerror(status));
		tls_conn_close(c, msg);
		return;
	}
	uv_timer_stop(&c->timer);
	if (conn_start_tls(c, c->host, err, sizeof(err)) != 0)
		tls_conn_close(c, err);
}

/*
 * TCP Fast Open: the ClientHello rides in the SYN once the kernel holds
 * the server's cookie (from an earlier connection), which saves a round
 * trip on every reconnect over a slow link.  The kernel falls back to a
 * plain handshake by itself (no cookie yet, a server or path without
 * it); a kernel without TCP_FASTOPEN_CONNECT just connects as before.
 */
static void
conn_fast_open(struct tls_conn *c, int family)
{
#ifdef TCP_FASTOPEN_CONNECT
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
	    sizeof(one)) != 0 || uv_tcp_open(c->tcp, fd) != 0) {
		close(fd);
		return;
	}
	c->fast_open = 1;
#else
	(void)c;
	(void)family;
#endif
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct tls_conn *c = req->data;
	char msg[TLS_MSG_MAX];
	int rc;

	c->gai_pending = 0;
	if (c->closing) {
		uv_freeaddrinfo(res);
		conn_unref(c);
		return;
	}
	conn_unref(c);		/* still held by the open reference */
	if (status < 0) {
		snprintf(msg, sizeof(msg), "connect to %s:%s: resolving: %s",
		    c->host, c->port, uv_strerror(status));
		tls_conn_close(c, msg);
		return;
	}
	c->state = ST_CONNECTING;
	c->creq.data = c;
	conn_fast_open(c, res->ai_family);
	rc = uv_tcp_connect(&c->creq, c->tcp, res->ai_addr, on_connected);
	uv_freeaddrinfo(res);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "connect to %s:%s: %s", c->host,
		    c->port, uv_strerror(rc));
		tls_conn_close(c, msg);
	}
}

struct tls_conn *
tls_connect(uv_loop_t *loop, struct tls_ctx *ctx, const char *host,
    const char *port, unsigned connect_timeout_ms,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen)
{
	struct addrinfo hints;
	struct tls_conn *c;
	int rc;

	if (ctx->role != TLS_CLIENT) {
		tls_seterr(err, errlen, "tls_connect: not a client context");
		return NULL;
	}
	if (strlen(host) >= sizeof(c->host) || strlen(port) >= sizeof(c->port)) {
		tls_seterr(err, errlen, "connect: host or port too long");
		return NULL;
	}
	if ((c = conn_alloc(loop, ctx, cb, arg, err, errlen)) == NULL)
		return NULL;
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%s", port);
	c->state = ST_RESOLVING;
	if ((c->tcp = malloc(sizeof(*c->tcp))) == NULL ||
	    (rc = uv_tcp_init(loop, c->tcp)) != 0) {
		free(c->tcp);
		c->tcp = NULL;
		c->silent = 1;
		tls_seterr(err, errlen, "connect: cannot make a socket");
		conn_close_handles(c);
		return NULL;
	}
	c->tcp->data = c;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	c->gai.data = c;
	if ((rc = uv_getaddrinfo(loop, &c->gai, on_resolved, host, port,
	    &hints)) != 0) {
		c->silent = 1;
		tls_seterr(err, errlen, "connect to %s:%s: %s", host, port,
		    uv_strerror(rc));
		conn_close_handles(c);
		return NULL;
	}
	c->pending++;		/* the getaddrinfo callback */
	c->gai_pending = 1;
	uv_timer_start(&c->timer, on_timer, connect_timeout_ms != 0 ?
	    connect_timeout_ms : ctx->timeout_ms, 0);
	return c;
}

struct tls_conn *
tls_conn_new_mem(uv_loop_t *loop, struct tls_ctx *ctx,
    const char *server_name, tls_out_fn out_fn,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen)
{
	struct tls_conn *c;

	if ((c = conn_alloc(loop, ctx, cb, arg, err, errlen)) == NULL)
		return NULL;
	c->out_fn = out_fn;
	if (conn_start_tls(c, server_name, err, errlen) != 0) {
		c->silent = 1;
		conn_close_handles(c);
		return NULL;
	}
	return c;
}

size_t
tls_conn_feed(struct tls_conn *c, const unsigned char *data, size_t len)
{
	size_t room;

	if (c->closing || c->tcp != NULL)
		return 0;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	room = TLS_IN_CAP - c->in_len;
	if (len > room)
		len = room;
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	conn_drive(c);
	return len;
}

/* ---- the open connection ---- */

int
tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	int rc;

	if (c->state != ST_OPEN || c->closing)
		return -1;
	if (len > c->ctx->max_queued || c->queued + len > c->ctx->max_queued) {
		c->want_writable = 1;
		return -1;
	}
	while (len > 0) {
		rc = mbedtls_ssl_write(&c->ssl, p, len);
		if (rc <= 0) {
			conn_fail(c, "TLS write", rc);
			return -1;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

size_t
tls_conn_queued(const struct tls_conn *c)
{
	return c->queued;
}

void
tls_conn_pause(struct tls_conn *c)
{
	c->paused = 1;
}

void
tls_conn_resume(struct tls_conn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	if (c->closing)
		return;
	conn_update_reading(c);
	/* Not from here: the caller may be inside one of our callbacks. */
	if (c->state == ST_OPEN)
		uv_timer_start(&c->timer, on_timer, 0, 0);
}

const mbedtls_x509_crt *
tls_conn_peer_cert(const struct tls_conn *c)
{
	if (!c->peer_ok || !c->ssl_ready)
		return NULL;
	return mbedtls_ssl_get_peer_cert(&c->ssl);
}

void
tls_conn_peer_addr(const struct tls_conn *c, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	char ip[64];
	int len = sizeof(ss);

	snprintf(out, outlen, "?");
	if (c->tcp == NULL || uv_tcp_getpeername(c->tcp,
	    (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

uv_loop_t *
tls_conn_loop(const struct tls_conn *c)
{
	return c->loop;
}

struct tls_session *
tls_session_new(void)
{
	struct tls_session *s = calloc(1, sizeof(*s));

	if (s != NULL)
		mbedtls_ssl_session_init(&s->s);
	return s;
}

void
tls_session_free(struct tls_session *s)
{
	if (s == NULL)
		return;
	mbedtls_ssl_session_free(&s->s);
	free(s);
}

void
tls_session_forget(struct tls_session *s)
{
	if (s == NULL)
		return;
	mbedtls_ssl_session_free(&s->s);
	mbedtls_ssl_session_init(&s->s);
	s->valid = 0;
}

long
tls_session_save(const struct tls_session *s, unsigned char *buf, size_t len)
{
	size_t n = 0;

	if (s == NULL || !s->valid)
		return 0;
	if (mbedtls_ssl_session_save(&s->s, buf, len, &n) != 0)
		return -1;
	return (long)n;
}

int
tls_session_load(struct tls_session *s, const unsigned char *buf, size_t len)
{
	tls_session_forget(s);
	/* mbedtls checks the bytes came from this build and configuration;
	   anything else is refused, and the next handshake is a full one. */
	if (mbedtls_ssl_session_load(&s->s, buf, len) != 0) {
		tls_session_forget(s);
		return -1;
	}
	s->valid = 1;
	return 0;
}

void
tls_conn_use_session(struct tls_conn *c, struct tls_session *s)
{
	c->session = s;
}
