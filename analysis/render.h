/*
 * render.h: a counts result (query.h) as text: an aligned table for a
 * terminal, CSV for a spreadsheet, JSON for tools (collectord's /counts
 * contract), and HXL, CSV with a hashtag row under the header so
 * humanitarian data tools read it as it is.
 *
 * Suppressed values read "suppressed" (CSV, HXL, table) or null (JSON),
 * and each row says why in its last column ("_suppressed" in JSON).
 * Table and CSV end with the totals the suppression protects, their
 * summed-out dimensions reading "Total"; JSON has them apart; HXL holds
 * data rows only (the same suppression applies, so it shows no more).
 * Cells that are zero and not suppressed are left out.  JSON says
 * "perturbed": true when counts of people are (query.h); the table ends
 * with a line saying so.  CSV and HXL stay data only.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stddef.h>

#include "analysis/query.h"

enum aformat { AF_TABLE, AF_CSV, AF_JSON, AF_HXL };

/* 0 and *f for "table", "csv", "json", "hxl"; -1 otherwise. */
int arender_format(const char *name, enum aformat *f);
/* The media type of a format, for HTTP. */
const char *arender_type(enum aformat f);
/* The result as text: malloc'd, NUL-terminated, *len bytes; NULL when
   out of memory. */
char *arender(const struct aresult *r, enum aformat f, size_t *len);
/* The HXL hashtag of a dimension or a measure name (static or in buf). */
const char *arender_hxl_dim(const char *name, char *buf, size_t len);
const char *arender_hxl_measure(const char *name, char *buf, size_t len);

#endif
