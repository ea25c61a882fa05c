/* log.c: see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "field";
static enum log_level log_min = LOG_INFO;

void
log_init(const char *progname, enum log_level min)
{
	log_prog = progname;
	log_min = min;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

/* Longer lines are cut, ending "...": no caller logs anything that long. */
#define LOG_LINE_MAX 2048

/*
 * The line is made whole and written with one write: stderr is unbuffered,
 * so three stdio calls were three writes (5% of fieldd's loop with
 * eight phones), and the loop's and the writer's lines could interleave.
 */
static void __attribute__((format(printf, 2, 0)))
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[LOG_LINE_MAX];
	time_t now;
	struct tm tm;
	size_t n;
	int k;

	if (lvl < log_min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	k = snprintf(line + n, sizeof(line) - n, "%s %s: ", log_prog,
	    names[lvl]);
	n += k > 0 ? (size_t)k : 0;
	if (n < sizeof(line) - 1) {
		k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n >= sizeof(line) - 1) {	/* cut: room for "...\n" */
		n = sizeof(line) - 4;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
