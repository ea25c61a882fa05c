/*
 * fuzz_update.c: the update bundle reader (firmware/update.h) over
 * arbitrary bytes.  The first byte picks what the rest is:
 *
 *   0  a whole bundle file, read against the release key made at start
 *      (random bytes stop at the signature: the checks before it)
 *   1  the 90 signed header bytes then a payload: the target signs the
 *      header as given, so the field checks after the signature and, when
 *      they pass, the hash and the payload parser see any bytes
 *   2  a payload: the target wraps it in a valid signed header (version
 *      1.2.3, this program's architecture, its length and hash), so the
 *      payload parser sees any bytes at all
 *
 * Key material is made at start, in memory.  With FUZZ_UPDATE_SEEDS=DIR
 * in the environment the target writes a seed corpus into DIR and exits
 * (tests/fuzz/corpus/fuzz_update was made so; its mode 0 seeds are signed
 * by a key long gone, so they stop at the signature).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "firmware/update.h"
#include "sync/pki.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX (1 << 20)

static mbedtls_pk_context key;

static void
check(const unsigned char *d, size_t len)
{
	struct update_bundle b;
	char err[512];

	if (update_read(d, len, &key, update_arch(), &b, err,
	    sizeof(err)) == 0) {
		/* A bundle that passes must be whole and consistent. */
		for (int i = 0; i < UPDATE_FILES; i++)
			if (b.files[i].name == NULL ||
			    b.files[i].data + b.files[i].len > d + len)
				abort();
		if (update_version_parse(b.version, (uint32_t[3]){ 0 }) != 0)
			abort();
	}
	update_free(&b);
}

/* header[0..90) signed, then payload: caller frees. */
static unsigned char *
signed_around(const unsigned char *hdr, const unsigned char *pl, size_t plen,
    size_t *len)
{
	unsigned char *b = calloc(1, UPDATE_HEADER_LEN + plen + 1);
	size_t siglen;
	char err[256];

	memcpy(b, hdr, UPDATE_SIGNED_LEN);
	if (pki_sign(&key, b, UPDATE_SIGNED_LEN, b + UPDATE_OFF_SIG,
	    UPDATE_SIG_FIELD, &siglen, err, sizeof(err)) != 0)
		abort();
	b[UPDATE_OFF_SIG_LEN] = (unsigned char)siglen;
	if (plen)
		memcpy(b + UPDATE_HEADER_LEN, pl, plen);
	*len = UPDATE_HEADER_LEN + plen;
	return b;
}

/* The header update_write would make for a payload. */
static void
header_for(unsigned char hdr[UPDATE_SIGNED_LEN], const unsigned char *pl,
    size_t plen)
{
	memset(hdr, 0, UPDATE_SIGNED_LEN);
	memcpy(hdr, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
	hdr[UPDATE_OFF_FORMAT + 1] = UPDATE_FORMAT;
	memcpy(hdr + UPDATE_OFF_VERSION, "1.2.3", 5);
	memcpy(hdr + UPDATE_OFF_ARCH, update_arch(), strlen(update_arch()));
	for (int i = 0; i < 8; i++)
		hdr[UPDATE_OFF_PAYLOAD_LEN + i] =
		    (unsigned char)((uint64_t)plen >> (56 - 8 * i));
	mbedtls_sha256_ret(pl, plen, hdr + UPDATE_OFF_PAYLOAD_SHA, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char hdr[UPDATE_SIGNED_LEN], *b;
	size_t len;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check(data + 1, size - 1);
		break;
	case 1:
		if (size < 1 + UPDATE_SIGNED_LEN)
			return 0;
		b = signed_around(data + 1, data + 1 + UPDATE_SIGNED_LEN,
		    size - 1 - UPDATE_SIGNED_LEN, &len);
		check(b, len);
		free(b);
		break;
	default:
		header_for(hdr, data + 1, size - 1);
		b = signed_around(hdr, data + 1, size - 1, &len);
		check(b, len);
		free(b);
		break;
	}
	return 0;
}

static void
seed(const char *dir, int n, unsigned char mode, const unsigned char *d,
    size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%02d", dir, n);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		exit(1);
	}
	fputc(mode, f);
	fwrite(d, 1, len, f);
	fclose(f);
}

static void
write_seeds(const char *dir)
{
	static const unsigned char fd[] = "\177ELF fieldd";
	static const unsigned char fc[] = "\177ELF fieldctl";
	struct update_file files[3] = {
		{ "fieldd", 0755, fd, sizeof(fd) },
		{ "fieldctl", 0755, fc, sizeof(fc) },
		{ "VERSION", 0644, (const unsigned char *)"1.2.3\n", 6 },
	};
	unsigned char *b;
	char err[256];
	size_t len;
	int n = 0;

	if (update_write(&key, "1.2.3", update_arch(), files, 3, &b, &len,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_update: %s\n", err);
		exit(1);
	}
	seed(dir, n++, 0, b, len);			/* whole */
	seed(dir, n++, 0, b, UPDATE_HEADER_LEN);	/* header only */
	seed(dir, n++, 1, b, UPDATE_SIGNED_LEN);	/* fields, no payload */
	{
		/* mode 1: the signed fields then the payload */
		unsigned char *m = malloc(len);

		memcpy(m, b, UPDATE_SIGNED_LEN);
		memcpy(m + UPDATE_SIGNED_LEN, b + UPDATE_HEADER_LEN,
		    len - UPDATE_HEADER_LEN);
		seed(dir, n++, 1, m, UPDATE_SIGNED_LEN + len -
		    UPDATE_HEADER_LEN);
		free(m);
	}
	seed(dir, n++, 2, b + UPDATE_HEADER_LEN, len - UPDATE_HEADER_LEN);
	seed(dir, n++, 2, b + UPDATE_HEADER_LEN, 20);	/* cut */
	free(b);
	printf("fuzz_update: %d seeds in %s\n", n, dir);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	const char *seeds = getenv("FUZZ_UPDATE_SEEDS");

	(void)argc;
	(void)argv;
	if (pki_key_generate(&key, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_update: %s\n", err);
		exit(1);
	}
	if (seeds)
		write_seeds(seeds);
	return 0;
}
