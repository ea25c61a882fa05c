/* config_file.c: see config_file.h. */
#include "common/config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
config_error(struct config_err *e, const char *fmt, ...)
{
	va_list ap;
	int w;

	e->n++;
	if (e->used + 1 >= e->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (w > 0)
		e->used += (size_t)w;
	if (e->used + 1 < e->len)
		e->buf[e->used++] = '\n', e->buf[e->used] = '\0';
	else
		e->used = e->len - 1;
}

int
config_number(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static char *
config_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

void
config_fail(struct config_err *e, const char *name, int line,
    const char *key, const char *what)
{
	config_error(e, "%s:%d: %s: %s", name, line, key, what);
}

int
config_lines(const char *name, const char *text, config_set_fn set,
    void *arg, char *err, size_t errlen)
{
	struct config_err e = { err, errlen, 0, 0 };
	char *copy, *line, *next;
	int lineno = 0;

	if (errlen)
		err[0] = '\0';
	if ((copy = strdup(text)) == NULL) {
		config_error(&e, "%s: out of memory", name);
		return -1;
	}
	for (line = copy; line != NULL; line = next) {
		char *eq, *key, *val;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '#')) != NULL)
			*eq = '\0';
		key = config_trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			config_error(&e, "%s:%d: expected key = value", name,
			    lineno);
			continue;
		}
		*eq = '\0';
		val = config_trim(eq + 1);
		key = config_trim(key);
		set(arg, name, lineno, key, val, &e);
	}
	free(copy);
	return e.n ? -1 : 0;
}

int
config_parse_listen(const char *s, char *addr, size_t addrlen, int *port)
{
	const char *colon;
	char *end;
	size_t n;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= addrlen)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	*port = (int)p;
	return 0;
}
