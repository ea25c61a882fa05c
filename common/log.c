/* log.c: see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

static void __attribute__((format(printf, 2, 0)))
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char when[32];
	time_t now;
	struct tm tm;

	if (lvl < log_min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s: ", when, log_prog, names[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
