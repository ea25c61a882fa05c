/* multipart.c: see multipart.h. */
#include "daemon/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void mp_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mp_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
mp_space(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 tchar: the characters of a header name or a token. */
static int
mp_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* RFC 2046 bchars (the space only inside). */
static int
mp_bchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("'()+_,-./:=? ",
	    c) != NULL);
}

/*
 * Reads one parameter value at *pp (a token or a quoted string with
 * backslash escapes) into out (outlen bytes, NUL-terminated).  Stops at
 * end.  0, -1 when malformed, -2 when too long.
 */
static int
mp_value(const char **pp, const char *end, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n + 1 >= outlen)
				return -2;
			out[n++] = *p;
		}
		if (p == end)
			return -1;
		p++;
	} else {
		for (; p < end && mp_tchar((unsigned char)*p); p++) {
			if (n + 1 >= outlen)
				return -2;
			out[n++] = *p;
		}
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

/*
 * Walks "; name=value" parameters in [p, end), calling fn for each.  0,
 * or -1 with err.  what names the header for messages.
 */
typedef int (*mp_param_fn)(void *arg, const char *name, const char *value,
    char *err, size_t errlen);

static int
mp_params(const char *p, const char *end, const char *what, mp_param_fn fn,
    void *arg, char *err, size_t errlen)
{
	char name[64], value[MULTIPART_NAME_MAX + 1];
	size_t n;
	int rc;

	for (;;) {
		while (p < end && mp_space((unsigned char)*p))
			p++;
		if (p == end)
			return 0;
		if (*p != ';') {
			mp_fail(err, errlen, "%s: expected ';' between "
			    "parameters", what);
			return -1;
		}
		p++;
		while (p < end && mp_space((unsigned char)*p))
			p++;
		if (p == end)
			return 0;	/* a trailing ';' is harmless */
		for (n = 0; p + n < end && mp_tchar((unsigned char)p[n]); n++)
			;
		if (n == 0 || n >= sizeof(name) || p + n == end ||
		    p[n] != '=') {
			mp_fail(err, errlen, "%s: a parameter must be "
			    "name=value", what);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + 1;
		if ((rc = mp_value(&p, end, value, sizeof(value))) != 0) {
			mp_fail(err, errlen, "%s: parameter %s: %s", what, name,
			    rc == -2 ? "longer than 128 bytes" :
			    "malformed value");
			return -1;
		}
		if (fn(arg, name, value, err, errlen) != 0)
			return -1;
	}
}

struct mp_ct {
	char *boundary;
	int seen;
};

static int
mp_ct_param(void *arg, const char *name, const char *value, char *err,
    size_t errlen)
{
	struct mp_ct *c = arg;
	size_t n = strlen(value);

	if (strcasecmp(name, "boundary") != 0)
		return 0;
	if (c->seen++) {
		mp_fail(err, errlen, "Content-Type: two boundary parameters");
		return -1;
	}
	if (n == 0 || n > MULTIPART_BOUNDARY_MAX || value[n - 1] == ' ') {
		mp_fail(err, errlen, "Content-Type: the boundary must be 1 to "
		    "%d characters, not ending in a space",
		    MULTIPART_BOUNDARY_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!mp_bchar((unsigned char)value[i])) {
			mp_fail(err, errlen, "Content-Type: the boundary holds "
			    "a character RFC 2046 does not allow (at %zu)", i);
			return -1;
		}
	memcpy(c->boundary, value, n + 1);
	return 0;
}

int
multipart_boundary(const char *content_type,
    char out[MULTIPART_BOUNDARY_MAX + 1], char *err, size_t errlen)
{
	static const char mt[] = "multipart/form-data";
	struct mp_ct c = { out, 0 };
	const char *p = content_type, *end;
	size_t n;

	if (p == NULL) {
		mp_fail(err, errlen, "Content-Type must be multipart/form-data");
		return -1;
	}
	end = p + strlen(p);
	while (p < end && mp_space((unsigned char)*p))
		p++;
	for (n = 0; p + n < end && p[n] != ';' && !mp_space((unsigned
	    char)p[n]); n++)
		;
	if (n != sizeof(mt) - 1 || strncasecmp(p, mt, n) != 0) {
		mp_fail(err, errlen, "Content-Type must be multipart/form-data");
		return -1;
	}
	out[0] = '\0';
	if (mp_params(p + n, end, "Content-Type", mp_ct_param, &c, err,
	    errlen) != 0)
		return -1;
	if (!c.seen) {
		mp_fail(err, errlen, "Content-Type: no boundary parameter");
		return -1;
	}
	return 0;
}

struct mp_cd {
	struct multipart_part *part;
	int name, filename;
};

static int
mp_cd_param(void *arg, const char *name, const char *value, char *err,
    size_t errlen)
{
	struct mp_cd *c = arg;

	if (strcasecmp(name, "name") == 0) {
		if (c->name++ || value[0] == '\0') {
			mp_fail(err, errlen, "Content-Disposition: one "
			    "non-empty name parameter");
			return -1;
		}
		snprintf(c->part->name, sizeof(c->part->name), "%s", value);
	} else if (strcasecmp(name, "filename") == 0) {
		if (c->filename++) {
			mp_fail(err, errlen, "Content-Disposition: two "
			    "filename parameters");
			return -1;
		}
		snprintf(c->part->filename, sizeof(c->part->filename), "%s",
		    value);
	}
	/* others (filename*, RFC 7578 section 4.2) are ignored */
	return 0;
}

/* One header line [p, end) of a part; *have counts what was seen. */
static int
mp_header(struct multipart_part *part, const char *p, const char *end,
    int have[3], char *err, size_t errlen)
{
	static const char *const enc[] = { "7bit", "8bit", "binary" };
	const char *v;
	size_t n;

	for (n = 0; p + n < end && mp_tchar((unsigned char)p[n]); n++)
		;
	if (n == 0 || p + n == end || p[n] != ':') {
		mp_fail(err, errlen, "a part's header line must be "
		    "Name: value");
		return -1;
	}
	v = p + n + 1;
	while (v < end && mp_space((unsigned char)*v))
		v++;
	while (end > v && mp_space((unsigned char)end[-1]))
		end--;
	if (n == 19 && strncasecmp(p, "Content-Disposition", n) == 0) {
		static const char fd[] = "form-data";
		struct mp_cd c = { part, 0, 0 };
		size_t k;

		if (have[0]++) {
			mp_fail(err, errlen, "a part has two "
			    "Content-Disposition headers");
			return -1;
		}
		for (k = 0; v + k < end && mp_tchar((unsigned char)v[k]); k++)
			;
		if (k != sizeof(fd) - 1 || strncasecmp(v, fd, k) != 0) {
			mp_fail(err, errlen, "Content-Disposition must be "
			    "form-data");
			return -1;
		}
		if (mp_params(v + k, end, "Content-Disposition", mp_cd_param,
		    &c, err, errlen) != 0)
			return -1;
		if (!c.name) {
			mp_fail(err, errlen, "Content-Disposition: no name "
			    "parameter");
			return -1;
		}
	} else if (n == 12 && strncasecmp(p, "Content-Type", n) == 0) {
		if (have[1]++) {
			mp_fail(err, errlen, "a part has two Content-Type "
			    "headers");
			return -1;
		}
		if ((size_t)(end - v) >= sizeof(part->content_type)) {
			mp_fail(err, errlen, "a part's Content-Type is longer "
			    "than %zu bytes", sizeof(part->content_type) - 1);
			return -1;
		}
		memcpy(part->content_type, v, (size_t)(end - v));
		part->content_type[end - v] = '\0';
	} else if (n == 25 && strncasecmp(p, "Content-Transfer-Encoding",
	    n) == 0) {
		int ok = 0;

		if (have[2]++) {
			mp_fail(err, errlen, "a part has two "
			    "Content-Transfer-Encoding headers");
			return -1;
		}
		for (size_t i = 0; i < 3; i++)
			if ((size_t)(end - v) == strlen(enc[i]) &&
			    strncasecmp(v, enc[i], strlen(enc[i])) == 0)
				ok = 1;
		if (!ok) {
			mp_fail(err, errlen, "Content-Transfer-Encoding may "
			    "only be 7bit, 8bit or binary");
			return -1;
		}
	}
	return 0;
}

/*
 * The header block of a part from pos: on success *pos is the first
 * byte of its data.
 */
static int
mp_headers(const char *body, size_t len, size_t *pos,
    struct multipart_part *part, char *err, size_t errlen)
{
	size_t start = *pos, p = *pos, i;
	int have[3] = { 0, 0, 0 };
	char why[160];

	for (;;) {
		for (i = p; ; i++) {
			unsigned char c;

			if (i - start >= MULTIPART_MAX_HEADER) {
				mp_fail(err, errlen, "byte %zu: a part's "
				    "headers are longer than %d bytes", start,
				    MULTIPART_MAX_HEADER);
				return -1;
			}
			if (i == len) {
				mp_fail(err, errlen, "byte %zu: the body ends "
				    "inside a part's headers", i);
				return -1;
			}
			c = (unsigned char)body[i];
			if (c == '\r') {
				if (i + 1 < len && body[i + 1] == '\n')
					break;
				mp_fail(err, errlen, "byte %zu: a CR not "
				    "followed by LF in a part's headers", i);
				return -1;
			}
			if (c == '\n') {
				mp_fail(err, errlen, "byte %zu: a bare LF in a "
				    "part's headers (lines end in CRLF)", i);
				return -1;
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				mp_fail(err, errlen, "byte %zu: a control "
				    "character in a part's headers", i);
				return -1;
			}
		}
		if (i == p)
			break;		/* the empty line */
		if (mp_space((unsigned char)body[p])) {
			mp_fail(err, errlen, "byte %zu: folded header lines "
			    "are not accepted", p);
			return -1;
		}
		if (mp_header(part, body + p, body + i, have, why,
		    sizeof(why)) != 0) {
			mp_fail(err, errlen, "byte %zu: %s", p, why);
			return -1;
		}
		p = i + 2;
	}
	if (!have[0]) {
		mp_fail(err, errlen, "byte %zu: a part without "
		    "Content-Disposition", start);
		return -1;
	}
	*pos = i + 2;
	return 0;
}

int
multipart_parse(const char *body, size_t len, const char *boundary,
    struct multipart *mp, char *err, size_t errlen)
{
	char delim[MULTIPART_BOUNDARY_MAX + 5];
	size_t blen = strlen(boundary), dlen, pos;
	const char *hit;

	memset(mp, 0, sizeof(*mp));
	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX) {
		mp_fail(err, errlen, "bad boundary");
		return -1;
	}
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (len < blen + 2 || memcmp(body, delim + 2, blen + 2) != 0) {
		mp_fail(err, errlen, "byte 0: the body must begin with '--' "
		    "and the boundary (no preamble)");
		return -1;
	}
	pos = blen + 2;
	for (;;) {
		struct multipart_part *part;

		/* just after a boundary */
		if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-') {
			pos += 2;
			if (mp->n == 0) {
				mp_fail(err, errlen, "byte %zu: the body has "
				    "no parts", pos - 2);
				return -1;
			}
			if (pos == len || (len - pos == 2 && body[pos] == '\r' &&
			    body[pos + 1] == '\n'))
				return 0;
			mp_fail(err, errlen, "byte %zu: only CRLF may follow "
			    "the closing boundary", pos);
			return -1;
		}
		if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
			mp_fail(err, errlen, "byte %zu: expected CRLF or '--' "
			    "right after the boundary", pos);
			return -1;
		}
		pos += 2;
		if (mp->n == MULTIPART_MAX_PARTS) {
			mp_fail(err, errlen, "byte %zu: more than %d parts", pos,
			    MULTIPART_MAX_PARTS);
			return -1;
		}
		part = &mp->part[mp->n++];
		if (mp_headers(body, len, &pos, part, err, errlen) != 0)
			return -1;
		hit = memmem(body + pos, len - pos, delim, dlen);
		if (hit == NULL) {
			mp_fail(err, errlen, "byte %zu: no boundary after the "
			    "part's data (a truncated body?)", pos);
			return -1;
		}
		part->data = body + pos;
		part->len = (size_t)(hit - (body + pos));
		part->offset = pos;
		pos += part->len + dlen;
	}
}

const struct multipart_part *
multipart_find(const struct multipart *mp, const char *name)
{
	for (size_t i = 0; i < mp->n; i++)
		if (strcmp(mp->part[i].name, name) == 0)
			return &mp->part[i];
	return NULL;
}
