/* update.c: see update.h. */
#include "firmware/update.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>

#include "common/util.h"
#include "sync/pki.h"

const char *const UPDATE_NAMES[UPDATE_FILES] = { "fieldd", "fieldctl",
    "VERSION" };

#define UPDATE_KEY_FILE_MAX (64 * 1024)
#define UPDATE_SIG_MIN 8

const char *
update_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
	return "armhf";
#else
	return "unknown";
#endif
}

int
update_arch_ok(const char *arch)
{
	return strcmp(arch, "amd64") == 0 || strcmp(arch, "arm64") == 0 ||
	    strcmp(arch, "armhf") == 0;
}

int
update_version_parse(const char *s, uint32_t v[3])
{
	size_t len = strnlen(s, UPDATE_VERSION_MAX + 1);
	const char *p = s;

	if (len == 0 || len > UPDATE_VERSION_MAX)
		return -1;
	for (int i = 0; i < 3; i++) {
		uint32_t n = 0;
		int digits = 0;

		if (*p == '0' && p[1] >= '0' && p[1] <= '9')
			return -1;	/* a leading zero */
		while (*p >= '0' && *p <= '9') {
			if (++digits > 6)
				return -1;
			n = n * 10 + (uint32_t)(*p++ - '0');
		}
		if (digits == 0)
			return -1;
		v[i] = n;
		if (i < 2 && *p++ != '.')
			return -1;
	}
	return *p == '\0' ? 0 : -1;
}

int
update_version_cmp(const char *a, const char *b)
{
	uint32_t va[3], vb[3];
	int oka = update_version_parse(a, va) == 0;
	int okb = update_version_parse(b, vb) == 0;

	if (!oka || !okb)
		return oka - okb;
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

char *
update_slurp(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	e = errno;
	close(fd);
	errno = e;
	return NULL;
}

static int
update_is_p256(const mbedtls_pk_context *pk)
{
	return mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY &&
	    mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

int
update_key_read_public(mbedtls_pk_context *pub, const char *path, char *err,
    size_t errlen)
{
	unsigned char *buf;
	size_t len;
	int rc;

	mbedtls_pk_init(pub);
	if ((buf = (unsigned char *)update_slurp(path,
	    UPDATE_KEY_FILE_MAX, &len)) == NULL)
		return util_fail(err, errlen, "release key %s: %s", path,
		    errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
	/* PEM is parsed with its terminating NUL, DER without. */
	if (strstr((char *)buf, "-----BEGIN") != NULL)
		len++;
	rc = mbedtls_pk_parse_public_key(pub, buf, len);
	free(buf);
	if (rc != 0) {
		mbedtls_pk_free(pub);
		return util_fail(err, errlen, "release key %s: not a public "
		    "key (mbedtls -0x%04x)", path, (unsigned)-rc);
	}
	if (!update_is_p256(pub)) {
		mbedtls_pk_free(pub);
		return util_fail(err, errlen, "release key %s: not ECDSA "
		    "P-256", path);
	}
	return 0;
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

/*
 * Copies a NUL-padded text field of size bytes at off into out (size + 1
 * bytes): printable ASCII, at least one byte, then only NULs.
 */
static int
get_text(const unsigned char *d, size_t off, size_t size, char *out,
    const char *field, char *err, size_t errlen)
{
	size_t n = 0;

	while (n < size && d[off + n] != 0) {
		if (d[off + n] < 0x21 || d[off + n] > 0x7e)
			return util_fail(err, errlen, "%s: byte %zu (offset "
			    "%zu) is not printable ASCII", field, n, off + n);
		out[n] = (char)d[off + n];
		n++;
	}
	out[n] = '\0';
	if (n == 0)
		return util_fail(err, errlen, "%s (offset %zu): empty",
		    field, off);
	for (size_t i = n; i < size; i++)
		if (d[off + i] != 0)
			return util_fail(err, errlen, "%s: padding byte at "
			    "offset %zu is not zero", field, off + i);
	return 0;
}

static int
name_index(const unsigned char *name, size_t len)
{
	for (int i = 0; i < UPDATE_FILES; i++)
		if (strlen(UPDATE_NAMES[i]) == len &&
		    memcmp(UPDATE_NAMES[i], name, len) == 0)
			return i;
	return -1;
}

static int
mode_ok(int idx, unsigned mode)
{
	return mode == (idx == UPDATE_FILE_VERSION ? 0644u : 0755u);
}

/*
 * Parses the payload (its hash already checked) at data[base..base+len)
 * into b->files.  Offsets in messages are from the start of the bundle.
 */
static int
parse_payload(const unsigned char *d, size_t base, size_t len,
    struct update_bundle *b, char *err, size_t errlen)
{
	size_t off = base, end = base + len;
	unsigned count;

	if (len < 1)
		return util_fail(err, errlen, "payload: empty (offset %zu)",
		    off);
	count = d[off++];
	if (count != UPDATE_FILES)
		return util_fail(err, errlen, "payload: file count %u at "
		    "offset %zu; a release has exactly %d files (fieldd, "
		    "fieldctl, VERSION)", count, base, UPDATE_FILES);
	for (unsigned i = 0; i < count; i++) {
		size_t nlen, fsize, at = off;
		unsigned mode;
		int idx;

		if (end - off < 1)
			return util_fail(err, errlen, "payload: file %u: "
			    "truncated at offset %zu (name length)", i, off);
		nlen = d[off++];
		if (nlen == 0 || nlen > UPDATE_NAME_MAX)
			return util_fail(err, errlen, "payload: file %u: "
			    "name length %zu at offset %zu (1..%d)", i, nlen,
			    at, UPDATE_NAME_MAX);
		if (end - off < nlen)
			return util_fail(err, errlen, "payload: file %u: "
			    "truncated at offset %zu (name)", i, off);
		if ((idx = name_index(d + off, nlen)) < 0)
			return util_fail(err, errlen, "payload: file %u: "
			    "name at offset %zu is not one of fieldd, "
			    "fieldctl, VERSION", i, off);
		if (b->files[idx].name != NULL)
			return util_fail(err, errlen, "payload: file %u: "
			    "%s at offset %zu twice", i, UPDATE_NAMES[idx],
			    off);
		off += nlen;
		if (end - off < 6)
			return util_fail(err, errlen, "payload: %s: "
			    "truncated at offset %zu (mode and size)",
			    UPDATE_NAMES[idx], off);
		mode = (unsigned)get_be(d + off, 2);
		if (!mode_ok(idx, mode))
			return util_fail(err, errlen, "payload: %s: mode "
			    "%04o at offset %zu (must be %s)",
			    UPDATE_NAMES[idx], mode, off,
			    idx == UPDATE_FILE_VERSION ? "0644" : "0755");
		off += 2;
		fsize = (size_t)get_be(d + off, 4);
		if (fsize > UPDATE_FILE_MAX)
			return util_fail(err, errlen, "payload: %s: size "
			    "%zu at offset %zu is over %u", UPDATE_NAMES[idx],
			    fsize, off, UPDATE_FILE_MAX);
		off += 4;
		if (end - off < fsize)
			return util_fail(err, errlen, "payload: %s: size "
			    "%zu runs past the payload's end (%zu bytes left "
			    "at offset %zu)", UPDATE_NAMES[idx], fsize,
			    end - off, off);
		b->files[idx].name = UPDATE_NAMES[idx];
		b->files[idx].mode = mode;
		b->files[idx].data = d + off;
		b->files[idx].len = fsize;
		off += fsize;
	}
	if (off != end)
		return util_fail(err, errlen, "payload: %zu bytes after the "
		    "last file (offset %zu)", end - off, off);
	/* VERSION must say what the signed header says. */
	{
		const struct update_file *v = &b->files[UPDATE_FILE_VERSION];
		size_t vl = strlen(b->version);

		if (v->len != vl + 1 || memcmp(v->data, b->version, vl) != 0 ||
		    v->data[vl] != '\n')
			return util_fail(err, errlen, "payload: VERSION "
			    "file does not hold the header's version %s",
			    b->version);
	}
	return 0;
}

int
update_read(const unsigned char *d, size_t len, mbedtls_pk_context *pub,
    const char *arch, struct update_bundle *b, char *err, size_t errlen)
{
	unsigned char sha[32];
	char sigerr[256];
	uint64_t plen;
	size_t siglen;

	memset(b, 0, sizeof(*b));
	if (len < UPDATE_HEADER_LEN)
		return util_fail(err, errlen, "truncated: %zu bytes, a "
		    "header alone is %d", len, UPDATE_HEADER_LEN);
	if (len > (size_t)UPDATE_HEADER_LEN + UPDATE_PAYLOAD_MAX)
		return util_fail(err, errlen, "%zu bytes: larger than any "
		    "bundle (%u)", len, UPDATE_HEADER_LEN + UPDATE_PAYLOAD_MAX);
	if (memcmp(d, UPDATE_MAGIC, UPDATE_MAGIC_LEN) != 0)
		return util_fail(err, errlen, "magic (offset 0): not an "
		    "update bundle");
	if (get_be(d + UPDATE_OFF_FORMAT, 2) != UPDATE_FORMAT)
		return util_fail(err, errlen, "format version (offset %d): "
		    "%u, this fieldctl reads %d", UPDATE_OFF_FORMAT,
		    (unsigned)get_be(d + UPDATE_OFF_FORMAT, 2), UPDATE_FORMAT);
	siglen = d[UPDATE_OFF_SIG_LEN];
	if (siglen < UPDATE_SIG_MIN || siglen > UPDATE_SIG_FIELD)
		return util_fail(err, errlen, "signature length (offset %d): "
		    "%zu, an ECDSA P-256 signature has %d to %d bytes",
		    UPDATE_OFF_SIG_LEN, siglen, UPDATE_SIG_MIN,
		    UPDATE_SIG_FIELD);
	for (size_t i = siglen; i < UPDATE_SIG_FIELD; i++)
		if (d[UPDATE_OFF_SIG + i] != 0)
			return util_fail(err, errlen, "signature: padding "
			    "byte at offset %zu is not zero",
			    UPDATE_OFF_SIG + i);
	if (pki_verify(pub, d, UPDATE_SIGNED_LEN, d + UPDATE_OFF_SIG, siglen,
	    sigerr, sizeof(sigerr)) != 0)
		return util_fail(err, errlen, "signature (offset %d): not "
		    "signed by the release key: %s", UPDATE_OFF_SIG, sigerr);

	/* Signed: now the fields. */
	if (get_text(d, UPDATE_OFF_VERSION, UPDATE_VERSION_FIELD, b->version,
	    "version", err, errlen) != 0)
		return -1;
	if (update_version_parse(b->version, (uint32_t[3]){ 0 }) != 0)
		return util_fail(err, errlen, "version (offset %d): \"%s\" "
		    "is not X.Y.Z", UPDATE_OFF_VERSION, b->version);
	if (get_text(d, UPDATE_OFF_ARCH, UPDATE_ARCH_FIELD, b->arch,
	    "architecture", err, errlen) != 0)
		return -1;
	if (!update_arch_ok(b->arch))
		return util_fail(err, errlen, "architecture (offset %d): "
		    "\"%s\" is not amd64, arm64 or armhf", UPDATE_OFF_ARCH,
		    b->arch);
	if (strcmp(b->arch, arch) != 0)
		return util_fail(err, errlen, "architecture: the bundle is "
		    "for %s, this board is %s", b->arch, arch);
	plen = get_be(d + UPDATE_OFF_PAYLOAD_LEN, 8);
	if (plen > UPDATE_PAYLOAD_MAX)
		return util_fail(err, errlen, "payload length (offset %d): "
		    "%llu is over %u", UPDATE_OFF_PAYLOAD_LEN,
		    (unsigned long long)plen, UPDATE_PAYLOAD_MAX);
	if (plen != len - UPDATE_HEADER_LEN)
		return util_fail(err, errlen, "payload length (offset %d): "
		    "the header says %llu bytes, the file has %zu after the "
		    "header", UPDATE_OFF_PAYLOAD_LEN, (unsigned long long)plen,
		    len - UPDATE_HEADER_LEN);
	if (mbedtls_sha256_ret(d + UPDATE_HEADER_LEN, (size_t)plen, sha,
	    0) != 0)
		return util_fail(err, errlen, "payload: hashing failed");
	if (memcmp(sha, d + UPDATE_OFF_PAYLOAD_SHA, 32) != 0)
		return util_fail(err, errlen, "payload (offset %d): its "
		    "SHA-256 is not the header's (offset %d): tampered or "
		    "damaged", UPDATE_HEADER_LEN, UPDATE_OFF_PAYLOAD_SHA);
	memcpy(b->payload_sha256, sha, 32);
	if (parse_payload(d, UPDATE_HEADER_LEN, (size_t)plen, b, err,
	    errlen) != 0) {
		memset(b->files, 0, sizeof(b->files));
		return -1;
	}
	return 0;
}

int
update_read_file(const char *path, mbedtls_pk_context *pub, const char *arch,
    struct update_bundle *b, char *err, size_t errlen)
{
	unsigned char *data;
	size_t len;

	memset(b, 0, sizeof(*b));
	data = (unsigned char *)update_slurp(path,
	    UPDATE_HEADER_LEN + UPDATE_PAYLOAD_MAX, &len);
	if (data == NULL)
		return util_fail(err, errlen, "%s: %s", path,
		    errno == EFBIG ? "larger than any bundle" :
		    strerror(errno));
	if (update_read(data, len, pub, arch, b, err, errlen) != 0) {
		free(data);
		memset(b, 0, sizeof(*b));
		return -1;
	}
	b->owned = data;
	b->owned_len = len;
	return 0;
}

void
update_free(struct update_bundle *b)
{
	free(b->owned);
	memset(b, 0, sizeof(*b));
}

int
update_write(mbedtls_pk_context *key, const char *version, const char *arch,
    const struct update_file *files, size_t n, unsigned char **out,
    size_t *len, char *err, size_t errlen)
{
	const struct update_file *byidx[UPDATE_FILES] = { NULL };
	unsigned char *buf, *p;
	size_t plen = 1, siglen;
	uint32_t v[3];

	*out = NULL;
	*len = 0;
	if (update_version_parse(version, v) != 0)
		return util_fail(err, errlen, "version \"%s\" is not X.Y.Z "
		    "(numbers, no leading zeros)", version);
	if (!update_arch_ok(arch))
		return util_fail(err, errlen, "architecture \"%s\" is not "
		    "amd64, arm64 or armhf", arch);
	if (n != UPDATE_FILES)
		return util_fail(err, errlen, "a release has exactly %d "
		    "files", UPDATE_FILES);
	for (size_t i = 0; i < n; i++) {
		int idx = files[i].name ? name_index((const unsigned char *)
		    files[i].name, strlen(files[i].name)) : -1;

		if (idx < 0 || byidx[idx] != NULL)
			return util_fail(err, errlen, "file %zu: name must be "
			    "one of fieldd, fieldctl, VERSION, each once", i);
		if (!mode_ok(idx, files[i].mode))
			return util_fail(err, errlen, "%s: mode %04o",
			    files[i].name, files[i].mode);
		if (files[i].len > UPDATE_FILE_MAX)
			return util_fail(err, errlen, "%s: %zu bytes, over "
			    "%u", files[i].name, files[i].len,
			    UPDATE_FILE_MAX);
		byidx[idx] = &files[i];
		plen += 1 + strlen(files[i].name) + 2 + 4 + files[i].len;
	}
	if (plen > UPDATE_PAYLOAD_MAX)
		return util_fail(err, errlen, "payload of %zu bytes is over "
		    "%u", plen, UPDATE_PAYLOAD_MAX);
	{
		const struct update_file *vf = byidx[UPDATE_FILE_VERSION];
		size_t vl = strlen(version);

		if (vf->len != vl + 1 || memcmp(vf->data, version, vl) != 0 ||
		    vf->data[vl] != '\n')
			return util_fail(err, errlen, "VERSION must hold "
			    "\"%s\" and a newline", version);
	}
	if ((buf = calloc(1, UPDATE_HEADER_LEN + plen)) == NULL)
		return util_fail(err, errlen, "out of memory");
	p = buf + UPDATE_HEADER_LEN;
	*p++ = UPDATE_FILES;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(files[i].name);

		*p++ = (unsigned char)nl;
		memcpy(p, files[i].name, nl);
		p += nl;
		put_be(p, files[i].mode, 2);
		p += 2;
		put_be(p, files[i].len, 4);
		p += 4;
		if (files[i].len)
			memcpy(p, files[i].data, files[i].len);
		p += files[i].len;
	}
	memcpy(buf, UPDATE_MAGIC, UPDATE_MAGIC_LEN);
	put_be(buf + UPDATE_OFF_FORMAT, UPDATE_FORMAT, 2);
	memcpy(buf + UPDATE_OFF_VERSION, version, strlen(version));
	memcpy(buf + UPDATE_OFF_ARCH, arch, strlen(arch));
	put_be(buf + UPDATE_OFF_PAYLOAD_LEN, plen, 8);
	if (mbedtls_sha256_ret(buf + UPDATE_HEADER_LEN, plen,
	    buf + UPDATE_OFF_PAYLOAD_SHA, 0) != 0) {
		free(buf);
		return util_fail(err, errlen, "hashing the payload");
	}
	if (pki_sign(key, buf, UPDATE_SIGNED_LEN, buf + UPDATE_OFF_SIG,
	    UPDATE_SIG_FIELD, &siglen, err, errlen) != 0) {
		free(buf);
		return -1;
	}
	buf[UPDATE_OFF_SIG_LEN] = (unsigned char)siglen;
	*out = buf;
	*len = UPDATE_HEADER_LEN + plen;
	return 0;
}
