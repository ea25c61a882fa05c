/* test_update.c: update bundles (firmware/update.h) -- a good bundle reads
   back; every header byte and every payload byte tampered, every
   truncation, a wrong key, a wrong architecture, bad names, modes, sizes
   and versions are refused with the field or offset named; versions
   compare as numbers; health URLs stay on this host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "common/util.h"
#include "firmware/update.h"
#include "firmware/update_cmd.h"
#include "sync/pki.h"

#define ARCH "arm64"
#define VER "1.2.3"

struct fx {
	char dir[64];
	mbedtls_pk_context key, other, pub;
	unsigned char *good;
	size_t len;
};

static const unsigned char fieldd_bytes[] = "\177ELF a daemon";
static const unsigned char fieldctl_bytes[] = "\177ELF a command line";

static void
files_for(struct update_file f[3], const char *version, char *verbuf)
{
	sprintf(verbuf, "%s\n", version);
	f[0] = (struct update_file){ "fieldd", 0755, fieldd_bytes,
	    sizeof(fieldd_bytes) };
	f[1] = (struct update_file){ "fieldctl", 0755, fieldctl_bytes,
	    sizeof(fieldctl_bytes) };
	f[2] = (struct update_file){ "VERSION", 0644,
	    (const unsigned char *)verbuf, strlen(verbuf) };
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct update_file files[3];
	char err[256], verbuf[40], path[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_update.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	files_for(files, VER, verbuf);
	snprintf(path, sizeof(path), "%s/release.pub", f->dir);
	if (pki_key_generate(&f->key, err, sizeof(err)) != 0 ||
	    pki_key_generate(&f->other, err, sizeof(err)) != 0 ||
	    update_write(&f->key, VER, ARCH, files, 3, &f->good, &f->len, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	{
		unsigned char pem[512];

		if (mbedtls_pk_write_pubkey_pem(&f->key, pem, sizeof(pem)) ||
		    util_write_file(path, pem, strlen((char *)pem), 0644) ||
		    update_key_read_public(&f->pub, path, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "setup: public key: %s\n", err);
			return -1;
		}
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	mbedtls_pk_free(&f->key);
	mbedtls_pk_free(&f->other);
	mbedtls_pk_free(&f->pub);
	free(f->good);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Reads data with the fixture's key; 0 or -1 with err. */
static int
rd(struct fx *f, const unsigned char *d, size_t len, char *err, size_t n)
{
	struct update_bundle b;
	int rc = update_read(d, len, &f->pub, ARCH, &b, err, n);

	update_free(&b);
	return rc;
}

/*
 * A bundle around any payload and header fields, signed with key: what
 * update_write would never make, to reach the checks after the signature.
 * plen_field is the payload length written (normally plen).
 */
static unsigned char *
craft(mbedtls_pk_context *key, const char *version, const char *arch,
    const unsigned char *payload, size_t plen, uint64_t plen_field,
    size_t *len)
{
	unsigned char *b = calloc(1, UPDATE_HEADER_LEN + plen + 1);
	size_t siglen;
	char err[256];

	memcpy(b, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
	b[UPDATE_OFF_FORMAT + 1] = UPDATE_FORMAT;
	memcpy(b + UPDATE_OFF_VERSION, version, strlen(version));
	memcpy(b + UPDATE_OFF_ARCH, arch, strlen(arch));
	for (int i = 0; i < 8; i++)
		b[UPDATE_OFF_PAYLOAD_LEN + i] =
		    (unsigned char)(plen_field >> (56 - 8 * i));
	mbedtls_sha256_ret(payload, plen, b + UPDATE_OFF_PAYLOAD_SHA, 0);
	assert_int_equal(pki_sign(key, b, UPDATE_SIGNED_LEN,
	    b + UPDATE_OFF_SIG, UPDATE_SIG_FIELD, &siglen, err,
	    sizeof(err)), 0);
	b[UPDATE_OFF_SIG_LEN] = (unsigned char)siglen;
	memcpy(b + UPDATE_HEADER_LEN, payload, plen);
	*len = UPDATE_HEADER_LEN + plen;
	return b;
}

/* A payload builder: entries appended by add(). */
struct pl {
	unsigned char b[512];
	size_t n;
};

static void
add(struct pl *p, const char *name, unsigned mode, const void *data,
    uint32_t size, uint32_t size_field)
{
	size_t nl = strlen(name);

	p->b[p->n++] = (unsigned char)nl;
	memcpy(p->b + p->n, name, nl);
	p->n += nl;
	p->b[p->n++] = (unsigned char)(mode >> 8);
	p->b[p->n++] = (unsigned char)mode;
	for (int i = 0; i < 4; i++)
		p->b[p->n++] = (unsigned char)(size_field >> (24 - 8 * i));
	memcpy(p->b + p->n, data, size);
	p->n += size;
}

/* The standard three files, with one replaced by (name, mode). */
static void
payload_with(struct pl *p, int which, const char *name, unsigned mode)
{
	static const char *names[3] = { "fieldd", "fieldctl", "VERSION" };
	static const unsigned modes[3] = { 0755, 0755, 0644 };

	memset(p, 0, sizeof(*p));
	p->b[p->n++] = 3;
	for (int i = 0; i < 3; i++) {
		const char *d = i == 2 ? VER "\n" : "x";
		uint32_t sz = (uint32_t)strlen(d);

		add(p, i == which ? name : names[i], i == which ? mode :
		    modes[i], d, sz, sz);
	}
}

static void
expect_refused(struct fx *f, const struct pl *p, const char *want)
{
	unsigned char *b;
	size_t len;
	char err[512] = "";

	b = craft(&f->key, VER, ARCH, p->b, p->n, p->n, &len);
	assert_int_equal(rd(f, b, len, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("wanted \"%s\", got \"%s\"", want, err);
	free(b);
}

static void
test_good_bundle(void **state)
{
	struct fx *f = *state;
	struct update_bundle b;
	char err[256], path[128];

	assert_int_equal(update_read(f->good, f->len, &f->pub, ARCH, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.version, VER);
	assert_string_equal(b.arch, ARCH);
	assert_string_equal(b.files[UPDATE_FILE_FIELDD].name, "fieldd");
	assert_int_equal(b.files[UPDATE_FILE_FIELDD].mode, 0755);
	assert_int_equal(b.files[UPDATE_FILE_FIELDD].len,
	    sizeof(fieldd_bytes));
	assert_memory_equal(b.files[UPDATE_FILE_FIELDD].data, fieldd_bytes,
	    sizeof(fieldd_bytes));
	assert_memory_equal(b.files[UPDATE_FILE_FIELDCTL].data,
	    fieldctl_bytes, sizeof(fieldctl_bytes));
	assert_int_equal(b.files[UPDATE_FILE_VERSION].mode, 0644);
	assert_memory_equal(b.files[UPDATE_FILE_VERSION].data, VER "\n", 6);
	update_free(&b);

	/* From a file; a symlink to it is not followed. */
	snprintf(path, sizeof(path), "%s/b.fup", f->dir);
	assert_int_equal(util_write_file(path, f->good, f->len, 0644), 0);
	assert_int_equal(update_read_file(path, &f->pub, ARCH, &b, err,
	    sizeof(err)), 0);
	assert_string_equal(b.version, VER);
	update_free(&b);
	{
		char link[128];

		snprintf(link, sizeof(link), "%s/link.fup", f->dir);
		assert_int_equal(symlink(path, link), 0);
		assert_int_equal(update_read_file(link, &f->pub, ARCH, &b, err,
		    sizeof(err)), -1);
		update_free(&b);
		snprintf(link, sizeof(link), "%s/none.fup", f->dir);
		assert_int_equal(update_read_file(link, &f->pub, ARCH, &b, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "none.fup"));
		update_free(&b);
	}
}

/* Every byte of the header, tampered, is refused. */
static void
test_every_header_byte_tampered(void **state)
{
	struct fx *f = *state;
	unsigned char *c = malloc(f->len);
	char err[512];

	/* The lowest and highest bit of every byte (all eight cost a
	   minute and a half under valgrind, for no more coverage). */
	for (size_t off = 0; off < UPDATE_HEADER_LEN; off++)
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(c, f->good, f->len);
			c[off] ^= (unsigned char)(1u << bit);
			if (rd(f, c, f->len, err, sizeof(err)) == 0)
				fail_msg("header byte %zu bit %d flipped: "
				    "accepted", off, bit);
		}
	/* What the messages name. */
	memcpy(c, f->good, f->len);
	c[0] ^= 1;
	assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "magic"));
	memcpy(c, f->good, f->len);
	c[UPDATE_OFF_FORMAT + 1] = 2;
	assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "format version"));
	memcpy(c, f->good, f->len);
	c[UPDATE_OFF_VERSION] ^= 1;
	assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not signed by the release key"));
	memcpy(c, f->good, f->len);
	c[UPDATE_OFF_SIG_LEN] = 200;
	assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "signature length (offset 90)"));
	memcpy(c, f->good, f->len);
	c[UPDATE_HEADER_LEN - 1] = 1;	/* padding, when the sig is short */
	if (f->good[UPDATE_OFF_SIG_LEN] < UPDATE_SIG_FIELD) {
		assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "padding byte at offset 162"));
	}
	free(c);
}

static void
test_every_payload_byte_tampered(void **state)
{
	struct fx *f = *state;
	unsigned char *c = malloc(f->len);
	char err[512];

	for (size_t off = UPDATE_HEADER_LEN; off < f->len; off++) {
		memcpy(c, f->good, f->len);
		c[off] ^= 0x20;
		assert_int_equal(rd(f, c, f->len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "SHA-256"));
	}
	free(c);
}

static void
test_truncated_and_extended(void **state)
{
	struct fx *f = *state;
	unsigned char *c = malloc(f->len + 1);
	char err[512];

	for (size_t n = 0; n < f->len; n++) {
		memcpy(c, f->good, n);
		assert_int_equal(rd(f, c, n, err, sizeof(err)), -1);
		if (n < UPDATE_HEADER_LEN)
			assert_non_null(strstr(err, "truncated"));
		else
			assert_non_null(strstr(err, "payload length"));
	}
	memcpy(c, f->good, f->len);
	c[f->len] = 0;
	assert_int_equal(rd(f, c, f->len + 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "payload length (offset 50)"));
	free(c);
}

static void
test_wrong_key_and_arch(void **state)
{
	struct fx *f = *state;
	struct update_file files[3];
	struct update_bundle b;
	unsigned char *other;
	char err[512], verbuf[40];
	size_t len;

	files_for(files, VER, verbuf);
	assert_int_equal(update_write(&f->other, VER, ARCH, files, 3, &other,
	    &len, err, sizeof(err)), 0);
	assert_int_equal(rd(f, other, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not signed by the release key"));
	free(other);

	assert_int_equal(update_read(f->good, f->len, &f->pub, "amd64", &b,
	    err, sizeof(err)), -1);
	update_free(&b);
	assert_string_equal(err, "architecture: the bundle is for arm64, "
	    "this board is amd64");
	/* Signed, but not an architecture at all. */
	{
		struct pl p;
		unsigned char *c;

		payload_with(&p, -1, NULL, 0);
		c = craft(&f->key, VER, "mips", p.b, p.n, p.n, &len);
		assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "architecture (offset 42)"));
		free(c);
		c = craft(&f->key, VER, "", p.b, p.n, p.n, &len);
		assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "architecture (offset 42): empty"));
		free(c);
	}
	assert_string_not_equal(update_arch(), "");
}

static void
test_signed_but_bad_fields(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = { "1.2", "01.2.3", "1.2.3.4", "1.2.3 ",
	    "1.2.x", "v1.2.3", "1..3", "1000000.0.0", "-1.2.3" };
	unsigned char *c;
	struct pl p;
	char err[512];
	size_t len;

	payload_with(&p, -1, NULL, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = craft(&f->key, bad[i], ARCH, p.b, p.n, p.n, &len);
		assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
		if (strstr(err, "version") == NULL)
			fail_msg("%s: %s", bad[i], err);
		free(c);
	}
	/* A version field with a byte after its NUL. */
	c = craft(&f->key, VER, ARCH, p.b, p.n, p.n, &len);
	c[UPDATE_OFF_VERSION + 20] = 'x';
	{
		size_t siglen;

		memset(c + UPDATE_OFF_SIG, 0, UPDATE_SIG_FIELD);
		assert_int_equal(pki_sign(&f->key, c, UPDATE_SIGNED_LEN,
		    c + UPDATE_OFF_SIG, UPDATE_SIG_FIELD, &siglen, err,
		    sizeof(err)), 0);
		c[UPDATE_OFF_SIG_LEN] = (unsigned char)siglen;
	}
	assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version: padding byte at offset 30"));
	free(c);
	/* Oversized payload lengths, signed. */
	c = craft(&f->key, VER, ARCH, p.b, p.n, UPDATE_PAYLOAD_MAX + 1ull,
	    &len);
	assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "payload length (offset 50)"));
	assert_non_null(strstr(err, "is over"));
	free(c);
	c = craft(&f->key, VER, ARCH, p.b, p.n, UINT64_MAX, &len);
	assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "payload length"));
	free(c);
	c = craft(&f->key, VER, ARCH, p.b, p.n, p.n + 1, &len);
	assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the header says"));
	free(c);
}

static void
test_payload_names_modes_sizes(void **state)
{
	struct fx *f = *state;
	struct pl p;

	/* Names: only the allow-list, no paths. */
	payload_with(&p, 0, "../fieldd", 0755);
	expect_refused(f, &p, "is not one of fieldd, fieldctl, VERSION");
	payload_with(&p, 0, "bin/fieldd", 0755);
	expect_refused(f, &p, "is not one of");
	payload_with(&p, 0, "fieldd/", 0755);
	expect_refused(f, &p, "is not one of");
	payload_with(&p, 0, "..", 0755);
	expect_refused(f, &p, "is not one of");
	payload_with(&p, 0, "/fieldd", 0755);
	expect_refused(f, &p, "is not one of");
	payload_with(&p, 2, "version", 0644);
	expect_refused(f, &p, "is not one of");
	payload_with(&p, 0, "fieldctl", 0755);
	expect_refused(f, &p, "fieldctl at offset");
	payload_with(&p, 0, "0123456789abcdefg", 0755);	/* 17 bytes */
	expect_refused(f, &p, "name length 17");
	payload_with(&p, 0, "", 0755);
	expect_refused(f, &p, "name length 0");

	/* Modes. */
	payload_with(&p, 0, "fieldd", 04755);
	expect_refused(f, &p, "fieldd: mode 4755");
	payload_with(&p, 0, "fieldd", 0777);
	expect_refused(f, &p, "must be 0755");
	payload_with(&p, 2, "VERSION", 0755);
	expect_refused(f, &p, "must be 0644");

	/* Counts. */
	payload_with(&p, -1, NULL, 0);
	p.b[0] = 2;
	expect_refused(f, &p, "file count 2");
	p.b[0] = 255;
	expect_refused(f, &p, "file count 255");
	p.n = 0;
	expect_refused(f, &p, "payload: empty");

	/* Sizes over the bound, past the end, bytes left over. */
	memset(&p, 0, sizeof(p));
	p.b[p.n++] = 3;
	add(&p, "fieldd", 0755, "x", 1, 0xffffffffu);
	expect_refused(f, &p, "fieldd: size 4294967295");
	memset(&p, 0, sizeof(p));
	p.b[p.n++] = 3;
	add(&p, "fieldd", 0755, "x", 1, 1000);
	expect_refused(f, &p, "runs past the payload's end");
	payload_with(&p, -1, NULL, 0);
	p.b[p.n++] = 0;
	expect_refused(f, &p, "1 bytes after the last file");

	/* Every truncation of a good payload, signed: a named field. */
	{
		struct pl full;

		payload_with(&full, -1, NULL, 0);
		for (size_t n = 1; n < full.n; n++) {
			unsigned char *c;
			size_t len;
			char err[512];

			c = craft(&f->key, VER, ARCH, full.b, n, n, &len);
			assert_int_equal(rd(f, c, len, err, sizeof(err)), -1);
			if (strstr(err, "payload") == NULL)
				fail_msg("payload cut at %zu: %s", n, err);
			free(c);
		}
	}

	/* VERSION must agree with the header. */
	memset(&p, 0, sizeof(p));
	p.b[p.n++] = 3;
	add(&p, "fieldd", 0755, "x", 1, 1);
	add(&p, "fieldctl", 0755, "x", 1, 1);
	add(&p, "VERSION", 0644, "9.9.9\n", 6, 6);
	expect_refused(f, &p, "VERSION file does not hold the header's "
	    "version 1.2.3");
	memset(&p, 0, sizeof(p));
	p.b[p.n++] = 3;
	add(&p, "VERSION", 0644, VER, 5, 5);	/* no newline */
	add(&p, "fieldd", 0755, "x", 1, 1);
	add(&p, "fieldctl", 0755, "x", 1, 1);
	expect_refused(f, &p, "VERSION file");
	/* In another order, with the newline: fine. */
	memset(&p, 0, sizeof(p));
	p.b[p.n++] = 3;
	add(&p, "VERSION", 0644, VER "\n", 6, 6);
	add(&p, "fieldctl", 0755, "y", 1, 1);
	add(&p, "fieldd", 0755, "", 0, 0);
	{
		unsigned char *c;
		size_t len;
		char err[512];
		struct update_bundle b;

		c = craft(&f->key, VER, ARCH, p.b, p.n, p.n, &len);
		assert_int_equal(update_read(c, len, &f->pub, ARCH, &b, err,
		    sizeof(err)), 0);
		assert_int_equal(b.files[UPDATE_FILE_FIELDD].len, 0);
		assert_int_equal(b.files[UPDATE_FILE_FIELDCTL].data[0], 'y');
		update_free(&b);
		free(c);
	}
}

static void
test_versions(void **state)
{
	uint32_t v[3];

	(void)state;
	assert_int_equal(update_version_parse("0.6.0", v), 0);
	assert_int_equal(v[1], 6);
	assert_int_equal(update_version_parse("999999.999999.999999", v), 0);
	assert_int_equal(v[0], 999999);
	assert_int_equal(update_version_parse("1.2", v), -1);
	assert_int_equal(update_version_parse("1.2.3.", v), -1);
	assert_int_equal(update_version_parse("1.02.3", v), -1);
	assert_int_equal(update_version_parse("1.2.3-rc1", v), -1);
	assert_int_equal(update_version_parse("", v), -1);
	assert_int_equal(update_version_parse(".1.2", v), -1);
	assert_int_equal(update_version_parse("1.2.+3", v), -1);
	/* Downgrades and equal versions compare as numbers, not text. */
	assert_true(update_version_cmp("0.5.0", "0.6.0") < 0);
	assert_true(update_version_cmp("0.6.0", "0.6.0") == 0);
	assert_true(update_version_cmp("0.10.0", "0.9.9") > 0);
	assert_true(update_version_cmp("1.0.0", "0.99.99") > 0);
	assert_true(update_version_cmp("0.6.1", "0.6.10") < 0);
	assert_true(update_version_cmp("junk", "0.0.0") < 0);
	assert_true(update_version_cmp("0.0.0", "junk") > 0);
}

static void
test_write_refusals(void **state)
{
	struct fx *f = *state;
	struct update_file files[3], dup[3];
	unsigned char *out;
	char err[512], verbuf[40];
	size_t len;

	files_for(files, VER, verbuf);
	assert_int_equal(update_write(&f->key, "1.2", ARCH, files, 3, &out,
	    &len, err, sizeof(err)), -1);
	assert_null(out);
	assert_int_equal(update_write(&f->key, VER, "i386", files, 3, &out,
	    &len, err, sizeof(err)), -1);
	assert_int_equal(update_write(&f->key, VER, ARCH, files, 2, &out,
	    &len, err, sizeof(err)), -1);
	memcpy(dup, files, sizeof(dup));
	dup[1].name = "fieldd";
	assert_int_equal(update_write(&f->key, VER, ARCH, dup, 3, &out,
	    &len, err, sizeof(err)), -1);
	memcpy(dup, files, sizeof(dup));
	dup[0].name = "../fieldd";
	assert_int_equal(update_write(&f->key, VER, ARCH, dup, 3, &out,
	    &len, err, sizeof(err)), -1);
	memcpy(dup, files, sizeof(dup));
	dup[0].mode = 06755;
	assert_int_equal(update_write(&f->key, VER, ARCH, dup, 3, &out,
	    &len, err, sizeof(err)), -1);
	/* VERSION disagreeing with --version. */
	assert_int_equal(update_write(&f->key, "1.2.4", ARCH, files, 3, &out,
	    &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VERSION must hold"));
}

static void
test_public_key_file(void **state)
{
	struct fx *f = *state;
	mbedtls_pk_context pk;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/none.pub", f->dir);
	assert_int_equal(update_key_read_public(&pk, path, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "none.pub"));
	snprintf(path, sizeof(path), "%s/junk.pub", f->dir);
	{
		static const char junk[] = "-----BEGIN PUBLIC KEY-----\n"
		    "AAAA\n-----END PUBLIC KEY-----\n";

		assert_int_equal(util_write_file(path, junk, strlen(junk),
		    0644), 0);
	}
	assert_int_equal(update_key_read_public(&pk, path, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not a public key"));
}

static void
test_health_urls(void **state)
{
	struct update_url u;
	char err[256];

	(void)state;
	assert_int_equal(update_url_parse("http://127.0.0.1:8080/api/health",
	    &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.path, "/api/health");
	assert_int_equal(update_url_parse("http://[::1]:9/x", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "[::1]");
	assert_int_equal(update_url_parse("http://localhost", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.path, "/");
	assert_int_equal(update_url_parse("http://127.1.2.3:80/", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(update_url_parse("http://192.0.2.1/api/health", &u,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a loopback address"));
	assert_int_equal(update_url_parse("http://example.org/", &u, err,
	    sizeof(err)), -1);
	assert_int_equal(update_url_parse("https://127.0.0.1/", &u, err,
	    sizeof(err)), -1);
	assert_int_equal(update_url_parse("http://127.0.0.1:0/", &u, err,
	    sizeof(err)), -1);
	assert_int_equal(update_url_parse("http://127.0.0.1:99999/", &u, err,
	    sizeof(err)), -1);
	assert_int_equal(update_url_parse("http://127.0.0.1/a b", &u, err,
	    sizeof(err)), -1);
	assert_int_equal(update_url_parse("http://127.0.0.1/a\r\nX: y", &u,
	    err, sizeof(err)), -1);
	assert_int_equal(update_url_parse("http://[::1/", &u, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bundle),
		cmocka_unit_test(test_every_header_byte_tampered),
		cmocka_unit_test(test_every_payload_byte_tampered),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_wrong_key_and_arch),
		cmocka_unit_test(test_signed_but_bad_fields),
		cmocka_unit_test(test_payload_names_modes_sizes),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_write_refusals),
		cmocka_unit_test(test_public_key_file),
		cmocka_unit_test(test_health_urls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
