/*
 * fuzz_tls_server.c: arbitrary bytes as a client's records, fed to a
 * server-side conn (mutual authentication required) through the same BIO
 * layer the sockets use, with no socket: tls_conn_new_mem and
 * tls_conn_feed.  The first input byte picks the size of the pieces the
 * rest is fed in, so record reassembly across reads is covered too.
 *
 * Key material is made at start in a temporary folder and removed at
 * exit; nothing is committed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "sync/pki.h"
#include "sync/tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char ca_path[128], crt_path[128], key_path[128];
static struct tls_ctx *ctx;
static uv_loop_t loop;

static void
cleanup(void)
{
	tls_ctx_free(ctx);
	unlink(ca_path);
	unlink(crt_path);
	unlink(key_path);
	rmdir(dir);
	uv_loop_close(&loop);
}

static void __attribute__((noreturn))
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_tls_server: %s: %s\n", what, err);
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mbedtls_pk_context ca_key, key;
	mbedtls_x509_crt ca;
	struct tls_config cfg;
	unsigned char *der;
	size_t len;
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/fuzz_tls.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "failed");
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", dir);
	snprintf(crt_path, sizeof(crt_path), "%s/srv.crt", dir);
	snprintf(key_path, sizeof(key_path), "%s/srv.key", dir);
	if (pki_key_generate(&ca_key, err, sizeof(err)) != 0 ||
	    pki_key_generate(&key, err, sizeof(err)) != 0 ||
	    pki_key_write(&key, key_path, err, sizeof(err)) != 0 ||
	    pki_ca_create(&ca_key, "Fuzz CA", 1, &der, &len, err,
	    sizeof(err)) != 0)
		die("keys", err);
	if (pki_cert_parse(&ca, der, len, err, sizeof(err)) != 0 ||
	    pki_cert_write(ca_path, der, len, err, sizeof(err)) != 0)
		die("CA", err);
	free(der);
	if (pki_server_cert_create(&ca, &ca_key, &key, "collector", 30, &der,
	    &len, err, sizeof(err)) != 0 ||
	    pki_cert_write(crt_path, der, len, err, sizeof(err)) != 0)
		die("server certificate", err);
	free(der);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&key);

	memset(&cfg, 0, sizeof(cfg));
	cfg.role = TLS_SERVER;
	cfg.cert_file = crt_path;
	cfg.key_file = key_path;
	cfg.ca_file = ca_path;
	cfg.peer_auth = TLS_PEER_REQUIRED;
	if ((ctx = tls_ctx_new(&cfg, err, sizeof(err))) == NULL)
		die("tls_ctx_new", err);
	uv_loop_init(&loop);
	atexit(cleanup);
	return 0;
}

static void
on_close(struct tls_conn *c, const char *reason, void *arg)
{
	*(int *)arg = 1;
}

static void
on_data(struct tls_conn *c, const unsigned char *d, size_t len, void *arg)
{
	/* Unreachable without a client certificate; touch it if reached. */
	volatile unsigned char sink = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sink ^= d[i];
	(void)sink;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tls_callbacks cb = { NULL, on_data, NULL,
	    on_close };
	struct tls_conn *conn;
	char err[256];
	size_t piece, off = 0;
	int closed = 0;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] * 64 + 1;
	data++;
	size--;
	conn = tls_conn_new_mem(&loop, ctx, NULL, NULL, &cb, &closed, err,
	    sizeof(err));
	if (conn == NULL)
		die("tls_conn_new_mem", err);
	while (off < size && !closed) {
		size_t n = size - off < piece ? size - off : piece;
		size_t took = tls_conn_feed(conn, data + off, n);

		if (took == 0)
			break;		/* closing, or the buffer is full */
		off += took;
		/* Let close callbacks run between pieces. */
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	if (!closed)
		tls_conn_close(conn, "fuzz input done");
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	return 0;
}
