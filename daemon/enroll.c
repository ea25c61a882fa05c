/* enroll.c: see enroll.h. */
#include "daemon/enroll.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/util.h"
#include "sync/token.h"
#include "daemon/dsync.h"
#include "sync/frame.h"
#include "sync/pki.h"
#include "sync/tls.h"
#include "sync/wire.h"

#define ENROLL_FILE_MAX (64 * 1024)

static void
enroll_path(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* The device's key: read, or made and kept when there is none. */
static int
enroll_key(const char *dir, mbedtls_pk_context *key, char *err,
    size_t errlen)
{
	char path[PATH_MAX + 32];

	enroll_path(path, sizeof(path), dir, DSYNC_TLS_DIR);
	if (util_mkdirs(path, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	enroll_path(path, sizeof(path), dir, DSYNC_KEY_FILE);
	if (access(path, F_OK) == 0)
		return pki_key_read(key, path, err, errlen);
	if (pki_key_generate(key, err, errlen) != 0)
		return -1;
	return pki_key_write(key, path, err, errlen);
}

/*
 * Checks what the collector signed -- the certificate is for our key and
 * our id and chains to the CA, whose fingerprint is pin when pin is not
 * NULL -- then writes both.
 */
static int
enroll_keep(const char *dir, const char *device_id, mbedtls_pk_context *key,
    const unsigned char *crt_der, size_t crt_len,
    const unsigned char *ca_der, size_t ca_len, const unsigned char *pin,
    char *err, size_t errlen)
{
	mbedtls_x509_crt crt, ca;
	unsigned char fpr[PKI_FPR_LEN];
	char cn[PKI_CN_MAX + 1], path[PATH_MAX + 32];
	int rc = -1;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	pki_fingerprint(ca_der, ca_len, fpr);
	if (pin && memcmp(fpr, pin, PKI_FPR_LEN) != 0)
		snprintf(err, errlen, "the CA sent is not the one the token "
		    "pins");
	else if (pki_cert_parse(&crt, crt_der, crt_len, err, errlen) != 0 ||
	    pki_cert_parse(&ca, ca_der, ca_len, err, errlen) != 0)
		;
	else if (mbedtls_pk_check_pair(&crt.pk, key) != 0)
		snprintf(err, errlen, "the certificate is not for this "
		    "device's key");
	else if (pki_cert_cn(&crt, cn, sizeof(cn)) != 0 ||
	    strcmp(cn, device_id) != 0)
		snprintf(err, errlen, "the certificate names another device");
	else if (pki_cert_verify(&crt, &ca, err, errlen) != 0)
		;
	else {
		enroll_path(path, sizeof(path), dir, DSYNC_CA_FILE);
		if (pki_cert_write(path, ca_der, ca_len, err, errlen) == 0) {
			enroll_path(path, sizeof(path), dir, DSYNC_CERT_FILE);
			rc = pki_cert_write(path, crt_der, crt_len, err, errlen);
		}
	}
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return rc;
}

struct enroll_ctx {
	const char *dir, *device_id, *token;
	mbedtls_pk_context *key;
	unsigned char *csr;
	size_t csr_len;
	unsigned char pin[PKI_FPR_LEN];
	struct frame_reader fr;
	uv_timer_t timer;
	struct tls_conn *c;
	int done, ok;
	char err[512];
};

static void
enroll_on_ready(struct tls_conn *c, void *arg)
{
	struct enroll_ctx *e = arg;
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__EnrollRequest r = FIELD__SYNC__ENROLL_REQUEST__INIT;

	r.token = (char *)e->token;
	r.device_id = (char *)e->device_id;
	r.csr_der.data = e->csr;
	r.csr_der.len = e->csr_len;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_ENROLL_REQUEST;
	env.enroll_request = &r;
	if (wire_send(c, &env) < 0) {
		snprintf(e->err, sizeof(e->err), "cannot send the request");
		tls_conn_close(c, e->err);
	}
}

static int
enroll_envelope(void *arg, Field__Sync__Envelope *env)
{
	struct enroll_ctx *e = arg;

	e->done = 1;
	if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND_ENROLL_RESPONSE) {
		Field__Sync__EnrollResponse *r = env->enroll_response;

		e->ok = enroll_keep(e->dir, e->device_id, e->key,
		    r->certificate_der.data, r->certificate_der.len,
		    r->ca_der.data, r->ca_der.len, e->pin, e->err,
		    sizeof(e->err)) == 0;
	} else if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND_ERROR) {
		snprintf(e->err, sizeof(e->err), "collector refused: %.200s",
		    env->error->message);
	} else
		snprintf(e->err, sizeof(e->err), "unexpected %s from the "
		    "collector", wire_kind_name(env->kind_case));
	field__sync__envelope__free_unpacked(env, NULL);
	tls_conn_close(e->c, e->ok ? "enrolled" : e->err);
	return 1;
}

static void
enroll_on_data(struct tls_conn *c, const unsigned char *data, size_t len,
    void *arg)
{
	struct enroll_ctx *e = arg;

	if (e->done)
		return;
	if (frame_reader_feed(&e->fr, data, len, enroll_envelope, e, e->err,
	    sizeof(e->err)) < 0) {
		e->done = 1;
		tls_conn_close(c, e->err);
	}
}

static void
enroll_on_close(struct tls_conn *c, const char *reason, void *arg)
{
	struct enroll_ctx *e = arg;

	(void)c;
	e->c = NULL;
	if (!e->ok && e->err[0] == '\0')
		snprintf(e->err, sizeof(e->err), "%s", reason);
	uv_timer_stop(&e->timer);
	uv_close((uv_handle_t *)&e->timer, NULL);
}

static void
enroll_on_timer(uv_timer_t *t)
{
	struct enroll_ctx *e = t->data;

	snprintf(e->err, sizeof(e->err), "no answer from the collector in "
	    "time");
	if (e->c)
		tls_conn_close(e->c, e->err);
}

static const struct tls_callbacks enroll_cb = {
	.on_ready = enroll_on_ready,
	.on_data = enroll_on_data,
	.on_close = enroll_on_close,
};

int
enroll_run(const char *dir, const char *device_id, const char *host,
    const char *port, const char *token, unsigned timeout_ms, char *err,
    size_t errlen)
{
	struct enroll_ctx e = { .dir = dir, .device_id = device_id,
	    .token = token };
	struct tls_config tc = { 0 };
	struct tls_ctx *ctx = NULL;
	mbedtls_pk_context key;
	unsigned char hash[32];
	uv_loop_t loop;

	if (token_parse(token, hash, e.pin) != 0) {
		snprintf(err, errlen, "--token: not an enrolment token (expected"
		    " fld1.SECRET.CAHASH as collectctl enroll-token prints)");
		return -1;
	}
	mbedtls_pk_init(&key);
	if (enroll_key(dir, &key, err, errlen) != 0 ||
	    pki_csr_create(&key, device_id, &e.csr, &e.csr_len, err,
	    errlen) != 0) {
		mbedtls_pk_free(&key);
		return -1;
	}
	e.key = &key;
	tc.role = TLS_CLIENT;
	tc.ca_pin = e.pin;
	tc.peer_auth = TLS_PEER_REQUIRED;
	tc.handshake_timeout_ms = timeout_ms;
	uv_loop_init(&loop);
	frame_reader_init(&e.fr, WIRE_MAX_FRAME);
	if ((ctx = tls_ctx_new(&tc, err, errlen)) == NULL)
		goto out;
	uv_timer_init(&loop, &e.timer);
	e.timer.data = &e;
	e.c = tls_connect(&loop, ctx, host, port, timeout_ms, &enroll_cb, &e,
	    err, errlen);
	if (e.c == NULL) {
		uv_close((uv_handle_t *)&e.timer, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out;
	}
	uv_timer_start(&e.timer, enroll_on_timer, timeout_ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (!e.ok)
		snprintf(err, errlen, "enrolment with %s:%s: %s", host, port,
		    e.err);
out:
	tls_ctx_free(ctx);
	uv_loop_close(&loop);
	frame_reader_free(&e.fr);
	free(e.csr);
	mbedtls_pk_free(&key);
	return e.ok ? 0 : -1;
}

int
enroll_csr_write(const char *dir, const char *device_id, const char *out,
    char *err, size_t errlen)
{
	mbedtls_pk_context key;
	unsigned char *csr = NULL;
	size_t len;
	int rc = -1;

	mbedtls_pk_init(&key);
	if (enroll_key(dir, &key, err, errlen) == 0 &&
	    pki_csr_create(&key, device_id, &csr, &len, err, errlen) == 0) {
		if (util_write_file(out, csr, len, 0644) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "%s: %s", out, strerror(errno));
	}
	free(csr);
	mbedtls_pk_free(&key);
	return rc;
}

int
enroll_install(const char *dir, const char *device_id,
    const char *cert_path, const char *ca_path, char *err, size_t errlen)
{
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	char path[PATH_MAX + 32];
	int rc = -1;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	enroll_path(path, sizeof(path), dir, DSYNC_KEY_FILE);
	if (access(path, F_OK) != 0)
		snprintf(err, errlen, "no device key: make the request with "
		    "fieldctl csr first");
	else if (pki_key_read(&key, path, err, errlen) == 0 &&
	    pki_cert_read(&crt, cert_path, err, errlen) == 0 &&
	    pki_cert_read(&ca, ca_path, err, errlen) == 0)
		/* The operator carried the CA by hand: no pin to check. */
		rc = enroll_keep(dir, device_id, &key, crt.raw.p, crt.raw.len,
		    ca.raw.p, ca.raw.len, NULL, err, errlen);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	return rc;
}
