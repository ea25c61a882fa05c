/*
 * embedded.h: files compiled into the binaries at build time
 * (tools/embed.sh).  The shipped form definitions live here so a fresh
 * device needs nothing installed beside its binary, and so does the
 * coordinator page collectord serves (the files of web/coord).
 * Read-only, static storage: nothing to free.  Each data is also
 * NUL-terminated.
 */
#ifndef EMBEDDED_H
#define EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;	/* base name, e.g. "dtm_household.json" */
	const char *data;
	size_t len;		/* without the terminating NUL */
};

/* Each terminated by an entry whose name is NULL. */
extern const struct embedded_file embedded_forms[];	/* proto/forms */
extern const struct embedded_file embedded_web[];	/* web/coord */
extern const struct embedded_file embedded_field[];	/* web/field */

#endif
