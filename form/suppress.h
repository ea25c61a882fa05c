/*
 * suppress.h: small-cell suppression of one measure's count table, for
 * counts released to anyone who is not an analyst (docs/security.md,
 * the curious coordinator).  Used by the collector (collectctl counts, collectord
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
 * The entries may come in any order.  In two dimensions the rows and
 * columns are 0 up to the largest coordinate passed, and every one of
 * the (rows + 1) x (columns + 1) entries must be there once.
 *
 * Primary suppression: an entry whose value is at least 1 and under the
 * threshold.  Secondary suppression: further entries, chosen greedily to
 * cost least (the smallest values; see suppress.c), until no suppressed
 * entry can be computed exactly from the entries shown and the table's
 * sums (a line -- a row, a column, the totals -- never has exactly one
 * suppressed entry, and in two dimensions no suppressed entry is a
 * bridge in the graph of suppressed entries, which is when a chain of
 * lines would give it away).  In one line a zero cell is taken only when
 * nothing else is left; in two dimensions a zero cell is the cheapest
 * choice.  A two-dimensional table with no cells (a dimension without
 * values) cannot hide one of its totals among others: once one is
 * suppressed, all are.  Totals of a dimension whose values overlap (a
 * select_multiple: one person in several cells) are not sums; they are
 * protected as if they were, which suppresses more, never less.
 *
 * Protection is against exact recomputation only: the shown entries
 * still bound a suppressed one (a 2 hidden with a 0 in its row is known
 * to be at most 2).
 *
 * Ownership: the caller owns the entries; sup_apply only sets state.
 * No global state: calls may run in parallel on different tables.
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
 * Decides the state of every entry.  threshold <= 1 suppresses nothing
 * (the shape is checked all the same).  0, or -1 when out of memory or
 * the entries do not form a table of the shape above (then every entry
 * is left SUP_PRIMARY: nothing is released by mistake); sup_apply logs
 * nothing, the caller knows which table it was.  Time: O(rows x columns)
 * per round of Tarjan, a few rounds; a 200 x 400 grid takes milliseconds.
 */
int sup_apply(struct sup_entry *e, size_t n, size_t ndims, int64_t threshold);

/* Why an entry is suppressed, for the output: "under the threshold",
   "protects a cell under the threshold"; "" for SUP_SHOWN. */
const char *sup_reason(enum sup_state s);

#endif
