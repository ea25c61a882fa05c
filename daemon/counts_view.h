/*
 * counts_view.h: the board's plaintext counts as a field team lead reads
 * them (fieldd's GET /api/counts): summed over the days asked for, per
 * form, place and measure, the total and one table per dimension, with
 * the collector's small-cell suppression (form/suppress.h) applied to
 * each of those tables.  A total suppressed in one table is suppressed in
 * all of them, as it is one value.
 */
#ifndef COUNTS_VIEW_H
#define COUNTS_VIEW_H

#include <jansson.h>
#include <stdint.h>

/*
 * cells: the store's counts (store_counts_json: form, day, place, dim,
 * value, measure, n).  from/to: YYYY-MM-DD bounds or NULL.  Returns
 * {"threshold", "suppressed", "from", "to", "counts": [{"form", "place",
 * "measure", "total", "dims": {DIM: [{"value", "n"}...]}}]}, with a
 * suppressed n (or total) null and "_suppressed" naming why; NULL when
 * out of memory.
 */
json_t *counts_view(const json_t *cells, const char *from, const char *to,
    int64_t threshold);

#endif
