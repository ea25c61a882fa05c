/*
 * config_file.h: the "key = value" format of both daemons' configuration
 * files (fieldd.conf: daemon/config.h; collectord.conf: collector/csrv.h).
 * One key a line, "#" starts a comment, blank lines are skipped; each
 * program says which keys it knows and what their values may be, and every
 * bad line is reported, not only the first.
 */
#ifndef CONFIG_FILE_H
#define CONFIG_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The line reader: set is called for each key = value with
 * the file name and line for messages, and reports a bad value with
 * config_fail.  0, or -1 with every error in err, one a line.
 */
struct config_err {
	char *buf;
	size_t len, used;
	int n;
};
typedef void (*config_set_fn)(void *arg, const char *name, int line,
    const char *key, const char *val, struct config_err *e);
int config_lines(const char *name, const char *text, config_set_fn set,
    void *arg, char *err, size_t errlen);
/* Records "NAME:LINE: KEY: WHAT" as an error. */
void config_fail(struct config_err *e, const char *name, int line,
    const char *key, const char *what);
/* A whole number from lo to hi: 0, or -1. */
int config_number(const char *v, uint64_t lo, uint64_t hi, uint64_t *out);

/* Parses "ADDR:PORT" ("[v6]:PORT" for IPv6).  0 or -1. */
int config_parse_listen(const char *s, char *addr, size_t addrlen,
    int *port);

/* Records a formatted error line. */
void config_error(struct config_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
