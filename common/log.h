/*
 * log.h: one line per event on standard error, with level and the name of
 * the program.  Callers log where the error is understood, once.
 *
 * Privacy rule: no caller passes record values, names, phone numbers or
 * tokens to these functions.  Log ids, seqs, form ids, counts and errno.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

void log_init(const char *progname, enum log_level min);
void log_set_level(enum log_level min);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

/* Logs at LOG_ERR and exits 1.  Only where going on would be wrong. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
