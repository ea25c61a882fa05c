/*
 * suppress.h: small-cell suppression of one measure's count table, for
 * counts released to anyone who is not an analyst (DOMAIN.md, "Counts and
 * their release").  Used by the collector (collectctl counts, collectord
 * /counts) and by fieldd (/api/counts): one set of rules.
 *
 * A table has ndims dimensions; each entry has one coordinate per
 * dimension, the index of its value in that dimension or SUP_ALL where
 * the entry is a total over that dimension.  Which totals a table shows
 * depends on its shape, and the caller passes exactly those:
 *
 *   ndims 0      the grand total alone
 *   ndims 1      every cell and the grand total
 *   ndims 2      every cell of the grid (zeros included, so that one can
 *                be chosen when nothing else protects a cell), each row
 *                total, each column total and the grand total
 *   ndims >= 3   the non-zero cells and the grand total
 *
 * Primary suppression: an entry whose value is at least 1 and under the
 * threshold.  Secondary suppression: further entries, the smallest that
 * do the job, until no suppressed entry can be computed exactly from the
 * entries shown and the table's sums (a line -- a row, a column, the
 * totals -- never has exactly one suppressed entry, and in two
 * dimensions no suppressed entry is a bridge in the graph of suppressed
 * entries, which is when a chain of lines would give it away).  Totals of
 * a dimension whose values overlap (a select_multiple: one person in
 * several cells) are not sums; they are protected as if they were, which
 * suppresses more, never less.
 *
 * Ownership: the caller owns the entries; sup_apply only sets state.
 */
#ifndef SUPPRESS_H
#define SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#define SUP_ALL UINT32_MAX
#define SUP_DEFAULT_THRESHOLD 5

enum sup_state {
	SUP_SHOWN = 0,
	SUP_PRIMARY,		/* under the threshold */
	SUP_SECONDARY		/* to protect a primary one */
};

struct sup_entry {
	const uint32_t *coord;	/* ndims coordinates, borrowed */
	int64_t value;
	enum sup_state state;	/* set by sup_apply */
};

/*
 * Decides the state of every entry.  threshold <= 1 suppresses nothing.
 * 0, or -1 when out of memory or the entries do not form a table of the
 * shape above (then every entry is left SUP_PRIMARY: nothing is released
 * by mistake).
 */
int sup_apply(struct sup_entry *e, size_t n, size_t ndims, int64_t threshold);

/* Why an entry is suppressed, for the output: "under the threshold",
   "protects a cell under the threshold"; "" for SUP_SHOWN. */
const char *sup_reason(enum sup_state s);

#endif
