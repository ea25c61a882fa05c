/*
 * tls.h: TLS 1.2 over a libuv TCP stream, for the collector (server) and
 * the device (client), on mbedtls 2.28.
 *
 * Policy, fixed here and not configurable: TLS 1.2 only; the suites
 * ECDHE-ECDSA-CHACHA20-POLY1305 then ECDHE-ECDSA-AES128-GCM-SHA256;
 * X25519 or P-256 key exchange; certificates ECDSA P-256 with SHA-256
 * (mbedtls's Suite B profile); no renegotiation; session resumption by
 * ticket only (a client that keeps a struct tls_session).
 * A server always asks for a client certificate and always sends its CA
 * certificate after its own, so a pinned client (below) can check it.
 *
 * struct tls_ctx: the shared configuration (own certificate chain and
 * key, the trusted CA, the peer-certificate rule, an optional CA pin).
 * It owns copies of everything it read from files.  It is reference
 * counted: tls_ctx_free drops the creator's reference and every conn
 * holds one, so a daemon may swap in a new ctx on SIGHUP and free the old
 * one at once while its connections finish.
 *
 * struct tls_conn: one connection.  Made from a connected uv_tcp_t whose
 * ownership moves to the conn (it must have been malloc'ed; the conn
 * closes and frees it, even when tls_conn_new fails), or by tls_connect
 * which resolves, connects and then starts TLS.  Life cycle:
 *
 *   handshake --on_ready--> open --tls_conn_close / error / peer close-->
 *   closing (close_notify sent when possible, writes flushed, then the
 *   handles closed) --on_close(reason)--> freed
 *
 * - on_close is called exactly once per conn that was returned to the
 *   caller, with a reason string, after both libuv handles are closed;
 *   the conn is freed when it returns.  Until then the conn pointer stays
 *   valid, whatever the callbacks do (closing from inside on_data is fine).
 * - on_ready means the handshake finished and the peer passed every
 *   check; tls_conn_peer_cert then gives the verified peer certificate.
 * - on_data gets decrypted bytes, borrowed for the call.  Never logged.
 * - Nothing in this module logs; reasons go to on_close for the caller to
 *   log once, with the peer's identity, and mbedtls codes are turned into
 *   text (mbedtls_strerror) in those reasons.
 *
 * Memory per conn is bounded: the mbedtls context (two 16 KiB record
 * buffers), an input buffer of TLS_IN_CAP bytes (reading stops while it is
 * full), and the write queue, which tls_conn_write keeps under max_queued.
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>
#include <mbedtls/x509_crt.h>

#define TLS_IN_CAP (32 * 1024)
#define TLS_PIN_LEN 32
#define TLS_REASON_MAX 256
#define TLS_HANDSHAKE_TIMEOUT_DEFAULT 15000	/* ms */
#define TLS_MAX_QUEUED_DEFAULT (1024 * 1024)	/* bytes */

enum tls_role { TLS_SERVER, TLS_CLIENT };

enum tls_peer_auth {
	TLS_PEER_REQUIRED,	/* no valid peer certificate: refused */
	TLS_PEER_OPTIONAL	/* server only: a client may send none (then
				   tls_conn_peer_cert is NULL); one it sends
				   must still verify */
};

struct tls_config {
	enum tls_role role;
	/* Own certificate (PEM or DER); NULL for an enrolling client. */
	const char *cert_file;
	/* Own private key (PEM or DER, mode 0600); with cert_file. */
	const char *key_file;
	/*
	 * The CA that signs peers.  Required for a server (it is also sent in
	 * the server's chain); for a client, required unless ca_pin is set.
	 */
	const char *ca_file;
	/*
	 * Client only, for enrolment: SHA-256 of the CA certificate's DER
	 * (pki_fingerprint).  The server's chain is accepted only when it
	 * holds a CA certificate with this hash that signed the server's
	 * certificate for the expected name.  NULL when not pinning.
	 */
	const unsigned char *ca_pin;
	enum tls_peer_auth peer_auth;
	unsigned handshake_timeout_ms;	/* 0: the default */
	size_t max_queued;		/* 0: the default */
};

struct tls_ctx;
struct tls_conn;

struct tls_callbacks {
	void (*on_ready)(struct tls_conn *c, void *arg);
	void (*on_data)(struct tls_conn *c, const unsigned char *data,
	    size_t len, void *arg);
	/*
	 * Optional: the write queue fell to max_queued / 2 or below after it
	 * had been above that, or after a write was refused.
	 */
	void (*on_writable)(struct tls_conn *c, void *arg);
	void (*on_close)(struct tls_conn *c, const char *reason, void *arg);
};

/*
 * Reads the files and builds a ctx.  NULL with a message naming the file
 * or the field in err.
 */
struct tls_ctx *tls_ctx_new(const struct tls_config *cfg, char *err,
    size_t errlen);

/* Drops the caller's reference; NULL is fine. */
void tls_ctx_free(struct tls_ctx *ctx);

/*
 * Starts TLS on a connected stream.  tcp (malloc'ed, initialised on its
 * loop, connected) belongs to the conn from now on, on failure too.
 * server_name (client only, may be NULL) is the name the server's
 * certificate must carry, and is sent as SNI.  Returns NULL with err set
 * on failure; on_close is then never called.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, uv_tcp_t *tcp,
    const char *server_name, const struct tls_callbacks *cb, void *arg,
    char *err, size_t errlen);

/*
 * TCP Fast Open on a bound listener, before uv_listen: a client that
 * connected before sends its ClientHello in the SYN (tls_connect asks
 * for it), one round trip less per connection.  Needs the kernel's
 * server side (net.ipv4.tcp_fastopen with bit 2, e.g. 3); without it, or
 * on a kernel without the option, nothing changes.
 */
#define TLS_FAST_OPEN_QUEUE 256
void tls_listener_fast_open(uv_tcp_t *listener);

/*
 * Accepts one connection from a listening stream (call it from the
 * listen callback) and starts TLS on it as a server.  NULL with err set.
 */
struct tls_conn *tls_conn_accept(struct tls_ctx *ctx, uv_stream_t *listener,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen);

/*
 * Client: resolves host, connects to host:port within connect_timeout_ms
 * (0: the handshake timeout), then starts TLS with host as the server
 * name.  Failures after this returns come through on_close ("connect to
 * HOST:PORT: ...").  NULL with err set only when it cannot start.
 */
struct tls_conn *tls_connect(uv_loop_t *loop, struct tls_ctx *ctx,
    const char *host, const char *port, unsigned connect_timeout_ms,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen);

/*
 * Encrypts and queues len bytes.  0, or -1 when the conn is not open
 * (before on_ready, or closing) or when the queue would pass max_queued
 * (nothing was queued; wait for on_writable).  len must not exceed
 * max_queued.
 */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len);

/* Bytes encrypted and not yet handed to the kernel. */
size_t tls_conn_queued(const struct tls_conn *c);

/*
 * Stops delivering on_data (and reading once the input buffer is full);
 * resume delivers what is buffered from the next loop iteration on.
 */
void tls_conn_pause(struct tls_conn *c);
void tls_conn_resume(struct tls_conn *c);

/*
 * Closes: a close_notify when the session is sound, queued writes are
 * flushed (for at most a second), then the handles are closed and
 * on_close(reason) follows.  Calling it again does nothing.
 */
void tls_conn_close(struct tls_conn *c, const char *reason);

/*
 * The peer's verified certificate (the leaf; its chain follows in
 * ->next), or NULL before on_ready and for a server's client that sent
 * none in TLS_PEER_OPTIONAL mode.  Valid until on_close returns.
 */
const mbedtls_x509_crt *tls_conn_peer_cert(const struct tls_conn *c);

/* The peer's address as "IP:PORT" into out; "?" when unknown. */
void tls_conn_peer_addr(const struct tls_conn *c, char *out, size_t outlen);

/*
 * Client session resumption.  A struct tls_session keeps the last
 * session's ticket: give it to each new conn (before its handshake, i.e.
 * right after tls_connect) and the conn resumes from it when the server
 * still takes it, and saves the new one when the handshake is done.  A
 * session belongs to one server; forget it when the server changes.
 */
#define TLS_TICKET_LIFETIME 3600	/* s */
/* Client certificates a server keeps so its tickets need only name them
   (about 500 bytes each): devices that resume at one collector process
   within a ticket's lifetime, beyond which they do a full handshake. */
#define TLS_TICKET_CERTS 4096
struct tls_session;
struct tls_session *tls_session_new(void);
void tls_session_free(struct tls_session *s);
void tls_session_forget(struct tls_session *s);
void tls_conn_use_session(struct tls_conn *c, struct tls_session *s);
/*
 * A session as bytes, to keep it across restarts.  They hold the
 * session's master secret: keep them as private as the private key.
 * save: the length written, 0 without a session, -1 when len is too
 * small (TLS_SESSION_MAX is enough).  load: 0, or -1 (bytes from another
 * build, or damaged: the session is then empty).
 */
#define TLS_SESSION_MAX 4096
long tls_session_save(const struct tls_session *s, unsigned char *buf,
    size_t len);
int tls_session_load(struct tls_session *s, const unsigned char *buf,
    size_t len);

/* The loop the conn runs on. */
uv_loop_t *tls_conn_loop(const struct tls_conn *c);

/*
 * For tests and fuzzing: a server or client conn with no socket.  Bytes
 * from the peer go in with tls_conn_feed (returns how many were taken,
 * at most the free input space); bytes for the peer go to out_fn (may be
 * NULL to drop them).  The conn still needs the loop for its timer and
 * for on_close.
 */
typedef void (*tls_out_fn)(void *arg, const unsigned char *data, size_t len);
struct tls_conn *tls_conn_new_mem(uv_loop_t *loop, struct tls_ctx *ctx,
    const char *server_name, tls_out_fn out_fn,
    const struct tls_callbacks *cb, void *arg, char *err, size_t errlen);
size_t tls_conn_feed(struct tls_conn *c, const unsigned char *data,
    size_t len);

#endif
