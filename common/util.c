/* util.c: see util.h. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *
util_read_file(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
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
			saved = n == 0 ? EIO : errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	if (len)
		*len = got;
	return buf;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

int
util_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
util_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int rc;

	if (copy == NULL)
		return -1;
	rc = util_sync_dir(dirname(copy));
	free(copy);
	return rc;
}

int
util_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4096];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0)
		goto fail_unlink;
	return fsync_dir_of(path);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}

int
util_mkdirs(const char *path, int mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
util_date(int64_t unix_ms, char out[11])
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int
util_is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return s[36] == '\0';
}

void
util_uuid_unpack(const unsigned char in[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *w = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*w++ = '-';
		*w++ = hex[in[i] >> 4];
		*w++ = hex[in[i] & 15];
	}
	*w = '\0';
}

int
util_uuid_pack(const char *s, unsigned char out[16])
{
	char back[37];
	int n = 0;

	if (!util_is_uuid(s))
		return -1;
	for (int i = 0; i < 36; i++) {
		int v = s[i] >= 'a' ? s[i] - 'a' + 10 : s[i] >= 'A' ?
		    s[i] - 'A' + 10 : s[i] - '0';

		if (s[i] == '-')
			continue;
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(v << 4);
		else
			out[n / 2] |= (unsigned char)v;
		n++;
	}
	util_uuid_unpack(out, back);
	return strcmp(back, s) == 0 ? 0 : -1;
}

void
util_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
util_b64_encode(const void *in, size_t len, char *out, size_t outlen)
{
	size_t olen;

	if (mbedtls_base64_encode((unsigned char *)out, outlen, &olen, in,
	    len) != 0)
		return -1;
	return (int)olen;
}

int
util_b64_decode(const char *in, void *out, size_t want)
{
	unsigned char tmp[512];
	size_t olen;

	if (want > sizeof(tmp))
		return -1;
	if (mbedtls_base64_decode(tmp, sizeof(tmp), &olen,
	    (const unsigned char *)in, strlen(in)) != 0 || olen != want)
		return -1;
	memcpy(out, tmp, want);
	mbedtls_platform_zeroize(tmp, sizeof(tmp));
	return 0;
}

void
util_b64url(const void *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = in;
	unsigned int acc = 0;
	size_t o = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

void
util_hex(const void *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int
util_ct_eq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void
util_time_iso(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%lld ms", (long long)ms);
}
