/*
 * test_suppress.c: small-cell suppression.  Hand-made tables with known
 * answers (a small cell in a line takes a second entry with it, a bridge
 * between two suppressed rectangles is put on a cycle, totals under the
 * threshold go too), every malformed shape refused with all entries left
 * suppressed, and a property test over random tables: every small entry
 * is suppressed, none of the suppressed ones can be computed from the
 * shown ones and the table's sums (checked by Gaussian elimination
 * modulo a prime, not by the module's own graph argument), and the
 * secondary suppressions stay few.  Prints the time of a 200 x 400 grid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "form/suppress.h"

#define ALL SUP_ALL
#define NO SIZE_MAX

/*
 * A table under test: its entries (coordinates owned here), and its
 * lines as the module must understand them, each a list of entries with
 * coefficient +1 for a cell and -1 for the total the cells sum to.
 */
struct tab {
	size_t ndims, n, cap;
	struct sup_entry *e;
	uint32_t *co;
	size_t rows, cols;	/* 2-D: cells' grid */
	size_t *pos;		/* 2-D: entry of extended slot (i, j) */
	size_t nl, nt;
	size_t *lbeg;		/* nl + 1 */
	size_t *lent;
	int *lcoef;
};

static struct tab *
tab_new(size_t ndims, size_t cap, size_t maxlines, size_t maxterms)
{
	struct tab *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->ndims = ndims;
	t->cap = cap;
	t->e = calloc(cap ? cap : 1, sizeof(*t->e));
	t->co = calloc((cap ? cap : 1) * (ndims ? ndims : 1), sizeof(*t->co));
	t->lbeg = calloc(maxlines + 1, sizeof(*t->lbeg));
	t->lent = calloc(maxterms ? maxterms : 1, sizeof(*t->lent));
	t->lcoef = calloc(maxterms ? maxterms : 1, sizeof(*t->lcoef));
	assert_true(t->e && t->co && t->lbeg && t->lent && t->lcoef);
	return t;
}

static void
tab_free(struct tab *t)
{
	free(t->e);
	free(t->co);
	free(t->pos);
	free(t->lbeg);
	free(t->lent);
	free(t->lcoef);
	free(t);
}

/* Puts an entry at position k (< cap) with the given coordinates. */
static void
tab_set(struct tab *t, size_t k, const uint32_t *c, int64_t v)
{
	assert_true(k < t->cap);
	if (t->ndims)
		memcpy(&t->co[k * t->ndims], c, t->ndims * sizeof(*c));
	t->e[k].coord = t->ndims ? &t->co[k * t->ndims] : NULL;
	t->e[k].value = v;
	t->e[k].state = SUP_SHOWN;
	if (k + 1 > t->n)
		t->n = k + 1;
}

static void
line_begin(struct tab *t)
{
	t->lbeg[t->nl] = t->nt;
}

static void
line_term(struct tab *t, size_t entry, int coef)
{
	t->lent[t->nt] = entry;
	t->lcoef[t->nt] = coef;
	t->nt++;
}

static void
line_end(struct tab *t)
{
	t->nl++;
	t->lbeg[t->nl] = t->nt;
}

/* One line: cells v[0 .. k - 1] and their total, or an explicit total
   when total >= 0 (a select_multiple's totals are not sums). */
static struct tab *
tab1_total(const int64_t *v, size_t k, int64_t total)
{
	struct tab *t = tab_new(1, k + 1, 1, k + 1);
	int64_t sum = 0;

	line_begin(t);
	for (size_t i = 0; i < k; i++) {
		uint32_t c = (uint32_t)i;

		tab_set(t, i, &c, v[i]);
		line_term(t, i, 1);
		sum += v[i];
	}
	tab_set(t, k, (const uint32_t[]){ ALL }, total >= 0 ? total : sum);
	line_term(t, k, -1);
	line_end(t);
	return t;
}

static struct tab *
tab1(const int64_t *v, size_t k)
{
	return tab1_total(v, k, -1);
}

/*
 * A rows x cols grid of cells v (row-major) with its row, column and
 * grand totals; perm, when given, scatters the extended grid's slots
 * over the entry array so the module cannot rely on their order.
 */
static struct tab *
tab2(const int64_t *v, size_t rows, size_t cols, const size_t *perm)
{
	size_t nr = rows + 1, nc = cols + 1, n = nr * nc;
	struct tab *t = tab_new(2, n, nr + nc, 2 * n);

	t->rows = rows;
	t->cols = cols;
	t->pos = calloc(n, sizeof(*t->pos));
	assert_non_null(t->pos);
	for (size_t s = 0; s < n; s++)
		t->pos[s] = perm ? perm[s] : s;
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < nc; j++) {
			uint32_t c[2] = { i < rows ? (uint32_t)i : ALL,
			    j < cols ? (uint32_t)j : ALL };
			int64_t x = 0;

			if (i < rows && j < cols)
				x = v[i * cols + j];
			else if (i < rows)
				for (size_t b = 0; b < cols; b++)
					x += v[i * cols + b];
			else if (j < cols)
				for (size_t a = 0; a < rows; a++)
					x += v[a * cols + j];
			else
				for (size_t a = 0; a < rows * cols; a++)
					x += v[a];
			tab_set(t, t->pos[i * nc + j], c, x);
		}
	for (size_t i = 0; i < nr; i++) {
		line_begin(t);
		for (size_t j = 0; j < nc; j++)
			line_term(t, t->pos[i * nc + j], j < cols ? 1 : -1);
		line_end(t);
	}
	for (size_t j = 0; j < nc; j++) {
		line_begin(t);
		for (size_t i = 0; i < nr; i++)
			line_term(t, t->pos[i * nc + j], i < rows ? 1 : -1);
		line_end(t);
	}
	return t;
}

static struct sup_entry *
at(struct tab *t, size_t i, size_t j)
{
	return &t->e[t->pos[i * (t->cols + 1) + j]];
}

/* ---- the independent check: linear algebra modulo a prime ---- */

#define PR 2147483647ULL

static uint64_t
mod_pow(uint64_t a, uint64_t x)
{
	uint64_t r = 1;

	a %= PR;
	while (x) {
		if (x & 1)
			r = r * a % PR;
		a = a * a % PR;
		x >>= 1;
	}
	return r;
}

/*
 * Fails when a suppressed entry is determined by the lines: the shown
 * entries are known, so each line is an equation over the suppressed
 * ones; bring that system to reduced row echelon form; an unknown is
 * determined iff it is a pivot and its row has no other non-zero
 * coefficient (every solution of the homogeneous system is 0 there).
 */
static void
assert_undetermined(const struct tab *t)
{
	size_t nu = 0, *col, *piv, r = 0;
	uint64_t *m;

	col = malloc(t->n * sizeof(*col));
	assert_non_null(col);
	for (size_t i = 0; i < t->n; i++)
		col[i] = t->e[i].state != SUP_SHOWN ? nu++ : NO;
	if (nu == 0) {
		free(col);
		return;
	}
	m = calloc(t->nl * nu, sizeof(*m));
	piv = malloc(nu * sizeof(*piv));
	assert_true(m && piv);
	for (size_t l = 0; l < t->nl; l++)
		for (size_t k = t->lbeg[l]; k < t->lbeg[l + 1]; k++)
			if (col[t->lent[k]] != NO)
				m[l * nu + col[t->lent[k]]] =
				    t->lcoef[k] > 0 ? 1 : PR - 1;

	for (size_t c = 0; c < nu; c++) {
		size_t p = r;
		uint64_t inv;

		piv[c] = NO;
		while (p < t->nl && m[p * nu + c] == 0)
			p++;
		if (p == t->nl)
			continue;
		for (size_t k = 0; k < nu; k++) {
			uint64_t x = m[p * nu + k];

			m[p * nu + k] = m[r * nu + k];
			m[r * nu + k] = x;
		}
		inv = mod_pow(m[r * nu + c], PR - 2);
		for (size_t k = 0; k < nu; k++)
			m[r * nu + k] = m[r * nu + k] * inv % PR;
		for (size_t q = 0; q < t->nl; q++) {
			uint64_t f = m[q * nu + c];

			if (q == r || f == 0)
				continue;
			for (size_t k = 0; k < nu; k++)
				m[q * nu + k] = (m[q * nu + k] +
				    (PR - f) * m[r * nu + k]) % PR;
		}
		piv[c] = r++;
	}

	for (size_t i = 0; i < t->n; i++) {
		size_t c = col[i], others = 0;

		if (c == NO || piv[c] == NO)
			continue;
		for (size_t k = 0; k < nu; k++)
			if (k != c && m[piv[c] * nu + k] != 0)
				others++;
		if (others == 0)
			fail_msg("entry %zu (value %lld, state %d) can be "
			    "computed from the shown ones", i,
			    (long long)t->e[i].value, t->e[i].state);
	}
	free(m);
	free(piv);
	free(col);
}

/* Every entry under the threshold, and only those, is primary; returns
   the numbers of primary and secondary entries. */
static void
assert_primary(const struct tab *t, int64_t threshold, size_t *np,
    size_t *ns)
{
	*np = *ns = 0;
	for (size_t i = 0; i < t->n; i++) {
		int64_t v = t->e[i].value;
		int small = v >= 1 && v < threshold;

		if (small != (t->e[i].state == SUP_PRIMARY))
			fail_msg("entry %zu value %lld threshold %lld: state %d",
			    i, (long long)v, (long long)threshold,
			    t->e[i].state);
		if (t->e[i].state == SUP_PRIMARY)
			(*np)++;
		if (t->e[i].state == SUP_SECONDARY)
			(*ns)++;
	}
}

static void
apply_ok(struct tab *t, int64_t threshold)
{
	assert_int_equal(sup_apply(t->e, t->n, t->ndims, threshold), 0);
}

/* ---- one line ---- */

static void
test_line_one_small(void **state)
{
	struct tab *t = tab1((const int64_t[]){ 10, 3, 7, 20 }, 4);

	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_SHOWN);
	assert_int_equal(t->e[1].state, SUP_PRIMARY);
	assert_int_equal(t->e[2].state, SUP_SECONDARY);
	assert_int_equal(t->e[3].state, SUP_SHOWN);
	assert_int_equal(t->e[4].state, SUP_SHOWN);
	assert_undetermined(t);
	tab_free(t);
}

/* A zero cell hides nothing in one line: the smallest non-zero goes. */
static void
test_line_skips_zero(void **state)
{
	struct tab *t = tab1((const int64_t[]){ 0, 3, 12, 8 }, 4);

	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_SHOWN);
	assert_int_equal(t->e[1].state, SUP_PRIMARY);
	assert_int_equal(t->e[2].state, SUP_SHOWN);
	assert_int_equal(t->e[3].state, SUP_SECONDARY);
	assert_int_equal(t->e[4].state, SUP_SHOWN);
	tab_free(t);
}

/* Two small cells protect each other; a small total is suppressed. */
static void
test_line_small_total(void **state)
{
	struct tab *t = tab1((const int64_t[]){ 1, 0, 2 }, 3);

	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	assert_int_equal(t->e[1].state, SUP_SHOWN);
	assert_int_equal(t->e[2].state, SUP_PRIMARY);
	assert_int_equal(t->e[3].state, SUP_PRIMARY);
	assert_undetermined(t);
	tab_free(t);

	/* A single cell is its total. */
	t = tab1((const int64_t[]){ 4 }, 1);
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	assert_int_equal(t->e[1].state, SUP_PRIMARY);
	tab_free(t);
}

/* When no non-zero cell is left the total goes (here an overlapping
   dimension's total, not a sum). */
static void
test_line_takes_total(void **state)
{
	struct tab *t = tab1_total((const int64_t[]){ 3, 0 }, 2, 7);

	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	assert_int_equal(t->e[1].state, SUP_SHOWN);
	assert_int_equal(t->e[2].state, SUP_SECONDARY);
	tab_free(t);

	/* Only zero cells and a small total: a zero cell is the last
	   resort. */
	t = tab1_total((const int64_t[]){ 0, 0 }, 2, 2);
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_SECONDARY);
	assert_int_equal(t->e[1].state, SUP_SHOWN);
	assert_int_equal(t->e[2].state, SUP_PRIMARY);
	tab_free(t);
}

/* ---- two dimensions ---- */

/*
 *   20 30 25 |  75
 *   15  2 40 |  57
 *   30 35 50 | 115
 *   ---------+----
 *   65 67 115| 247
 *
 * The 2 needs a second cell in its row and its column, and those need a
 * fourth: the cheapest rectangle is 15, 30, 20 (65; the others cost 80,
 * 95, 125 or more).
 */
static void
test_grid_rectangle(void **state)
{
	const int64_t v[] = { 20, 30, 25, 15, 2, 40, 30, 35, 50 };
	struct tab *t = tab2(v, 3, 3, NULL);
	size_t np, ns;

	apply_ok(t, 5);
	assert_int_equal(at(t, 1, 1)->state, SUP_PRIMARY);
	assert_int_equal(at(t, 1, 0)->state, SUP_SECONDARY);
	assert_int_equal(at(t, 0, 1)->state, SUP_SECONDARY);
	assert_int_equal(at(t, 0, 0)->state, SUP_SECONDARY);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(np, 1);
	assert_int_equal(ns, 3);
	assert_undetermined(t);
	tab_free(t);
}

/*
 * Two suppressed rectangles, rows 0-1 x columns 0-1 and rows 2-3 x
 * columns 2-3, joined by the small cell (1, 2).  Every line has none or
 * at least two suppressed entries, so the line rule sees nothing, yet
 * (1, 2) is the row sum of the first rectangle's rows less the column
 * sums: it is a bridge.  One more corner closes a cycle through it:
 * (2|3, 0|1), the cheapest of which is (3, 0) = 6.
 */
static void
test_grid_bridge(void **state)
{
	const int64_t v[] = {
		2, 3, 20, 21, 22,
		1, 4, 2, 23, 24,
		9, 8, 3, 1, 25,
		6, 7, 2, 4, 26,
		27, 28, 29, 30, 31,
	};
	struct tab *t = tab2(v, 5, 5, NULL);
	size_t np, ns;

	apply_ok(t, 5);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(np, 9);
	assert_int_equal(ns, 1);
	assert_int_equal(at(t, 3, 0)->state, SUP_SECONDARY);
	assert_undetermined(t);
	tab_free(t);
}

/*
 * A chain of three small cells, (0, 0) - (0, 1) - (1, 1): all three are
 * bridges, and one corner, (1, 0) = 6, closes the cycle through them
 * all; the bridges fixed by it are not fixed again.
 */
static void
test_grid_chain(void **state)
{
	const int64_t v[] = {
		2, 3, 10, 11,
		6, 1, 12, 13,
		14, 15, 16, 17,
		18, 19, 20, 21,
	};
	struct tab *t = tab2(v, 4, 4, NULL);
	size_t np, ns;

	apply_ok(t, 5);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(np, 3);
	assert_int_equal(ns, 1);
	assert_int_equal(at(t, 1, 0)->state, SUP_SECONDARY);
	assert_undetermined(t);
	tab_free(t);
}

/* Zero cells are suppressed before any count: the 2 is hidden by the
   three zeros around it. */
static void
test_grid_zeros(void **state)
{
	const int64_t v[] = { 2, 0, 20, 0, 0, 30, 40, 50, 60 };
	struct tab *t = tab2(v, 3, 3, NULL);
	size_t np, ns;

	apply_ok(t, 5);
	assert_int_equal(at(t, 0, 0)->state, SUP_PRIMARY);
	assert_int_equal(at(t, 0, 1)->state, SUP_SECONDARY);
	assert_int_equal(at(t, 1, 0)->state, SUP_SECONDARY);
	assert_int_equal(at(t, 1, 1)->state, SUP_SECONDARY);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(ns, 3);
	assert_undetermined(t);
	tab_free(t);
}

/* A row total under the threshold is suppressed, and protected. */
static void
test_grid_small_total(void **state)
{
	const int64_t v[] = {
		10, 12, 14, 16,
		1, 2, 0, 0,
		11, 13, 15, 17,
	};
	struct tab *t = tab2(v, 3, 4, NULL);
	size_t np, ns;

	apply_ok(t, 5);
	assert_int_equal(at(t, 1, 4)->state, SUP_PRIMARY);
	assert_int_equal(at(t, 1, 0)->state, SUP_PRIMARY);
	assert_int_equal(at(t, 1, 1)->state, SUP_PRIMARY);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(np, 3);
	assert_true(ns >= 1 && ns <= 9);
	assert_undetermined(t);
	tab_free(t);
}

/* One small cell in a big table costs exactly one rectangle. */
static void
test_grid_one_small(void **state)
{
	int64_t v[36];
	struct tab *t;
	size_t np, ns;

	for (size_t i = 0; i < 36; i++)
		v[i] = 10 + (int64_t)((i * 7) % 13);
	v[14] = 3;
	t = tab2(v, 6, 6, NULL);
	apply_ok(t, 5);
	assert_primary(t, 5, &np, &ns);
	assert_int_equal(np, 1);
	assert_int_equal(ns, 3);
	assert_undetermined(t);
	tab_free(t);
}

/* Only totals (no cell in one dimension): no cycle exists, so all go. */
static void
test_grid_degenerate(void **state)
{
	struct tab *t = tab_new(2, 3, 0, 0);

	tab_set(t, 0, (const uint32_t[]){ ALL, 0 }, 3);
	tab_set(t, 1, (const uint32_t[]){ ALL, 1 }, 9);
	tab_set(t, 2, (const uint32_t[]){ ALL, ALL }, 12);
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	assert_int_equal(t->e[1].state, SUP_SECONDARY);
	assert_int_equal(t->e[2].state, SUP_SECONDARY);
	tab_free(t);

	/* The grand total alone is a 0 x 0 grid. */
	t = tab_new(2, 1, 0, 0);
	tab_set(t, 0, (const uint32_t[]){ ALL, ALL }, 3);
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	tab_free(t);
}

static void
test_no_threshold(void **state)
{
	const int64_t v[] = { 1, 2, 3, 4 };
	struct tab *t = tab2(v, 2, 2, NULL);

	for (int64_t th = -3; th <= 1; th++) {
		apply_ok(t, th);
		for (size_t i = 0; i < t->n; i++)
			assert_int_equal(t->e[i].state, SUP_SHOWN);
	}
	apply_ok(t, 2);
	assert_int_equal(at(t, 0, 0)->state, SUP_PRIMARY);
	tab_free(t);
}

static void
test_zero_dims(void **state)
{
	struct tab *t = tab_new(0, 2, 0, 0);

	tab_set(t, 0, NULL, 3);
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_PRIMARY);
	t->e[0].value = 5;
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_SHOWN);
	t->e[0].value = 0;
	apply_ok(t, 5);
	assert_int_equal(t->e[0].state, SUP_SHOWN);
	tab_free(t);
}

static void
test_reason(void **state)
{
	assert_string_equal(sup_reason(SUP_PRIMARY), "under the threshold");
	assert_string_equal(sup_reason(SUP_SECONDARY),
	    "protects a cell under the threshold");
	assert_string_equal(sup_reason(SUP_SHOWN), "");
}

/* ---- malformed shapes ---- */

static void
assert_refused(struct sup_entry *e, size_t n, size_t ndims)
{
	for (size_t i = 0; i < n; i++)
		e[i].state = SUP_SHOWN;
	assert_int_equal(sup_apply(e, n, ndims, 5), -1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].state, SUP_PRIMARY);
	/* Even when nothing would be suppressed. */
	for (size_t i = 0; i < n; i++)
		e[i].state = SUP_SHOWN;
	assert_int_equal(sup_apply(e, n, ndims, 0), -1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].state, SUP_PRIMARY);
}

static void
test_malformed_1(void **state)
{
	struct tab *t = tab1((const int64_t[]){ 10, 20, 30 }, 3);

	t->co[1] = 0;			/* duplicate cell 0 */
	assert_refused(t->e, t->n, 1);
	t->co[1] = 3;			/* out of range: cells are 0 .. 2 */
	assert_refused(t->e, t->n, 1);
	t->co[1] = ALL;			/* two totals, cell 1 missing */
	assert_refused(t->e, t->n, 1);
	t->co[1] = 1;
	t->co[3] = 3;			/* no total */
	assert_refused(t->e, t->n, 1);
	t->co[3] = ALL;
	assert_refused(t->e, 3, 1);	/* total and two cells: cell 2 */
	t->e[2].coord = NULL;
	assert_refused(t->e, t->n, 1);
	t->e[2].coord = &t->co[2];
	apply_ok(t, 5);			/* repaired, it is accepted */
	assert_int_equal(sup_apply(NULL, 0, 1, 5), -1);
	tab_free(t);
}

static void
test_malformed_2(void **state)
{
	const int64_t v[] = { 10, 20, 30, 40, 50, 60 };
	struct tab *t = tab2(v, 2, 3, NULL);
	size_t n = t->n;	/* 12 */
	uint32_t save[2];

	assert_refused(t->e, n - 1, 2);		/* grand total missing */
	assert_refused(t->e + 1, n - 1, 2);	/* cell (0, 0) missing */

	memcpy(save, t->e[5].coord, sizeof(save));
	memcpy(&t->co[5 * 2], t->e[0].coord, sizeof(save));
	assert_refused(t->e, n, 2);		/* duplicate (0, 0) */
	t->co[5 * 2] = 7;
	assert_refused(t->e, n, 2);		/* row 7 of 2 */
	t->co[5 * 2] = 0;
	t->co[5 * 2 + 1] = 3;			/* (0, 3): a 4th column */
	assert_refused(t->e, n, 2);
	t->co[5 * 2] = ALL - 1;
	assert_refused(t->e, n, 2);
	memcpy(&t->co[5 * 2], save, sizeof(save));
	apply_ok(t, 5);
	tab_free(t);
}

static void
test_malformed_n(void **state)
{
	struct tab *t = tab_new(3, 4, 0, 0);

	tab_set(t, 0, (const uint32_t[]){ 0, 1, 2 }, 10);
	tab_set(t, 1, (const uint32_t[]){ 1, 1, 0 }, 3);
	tab_set(t, 2, (const uint32_t[]){ 4, 0, 9 }, 20);
	tab_set(t, 3, (const uint32_t[]){ ALL, ALL, ALL }, 33);
	apply_ok(t, 5);
	assert_int_equal(t->e[1].state, SUP_PRIMARY);
	assert_int_equal(t->e[0].state, SUP_SECONDARY);

	t->co[1 * 3 + 2] = ALL;			/* a partial total */
	assert_refused(t->e, t->n, 3);
	t->co[1 * 3 + 0] = 0;			/* duplicate of cell 0 */
	t->co[1 * 3 + 2] = 2;
	assert_refused(t->e, t->n, 3);
	t->co[1 * 3 + 0] = 1;
	assert_refused(t->e, 3, 3);		/* no grand total */
	t->co[0] = t->co[1] = t->co[2] = ALL;	/* two grand totals */
	assert_refused(t->e, t->n, 3);
	tab_free(t);

	t = tab_new(0, 2, 0, 0);
	tab_set(t, 0, NULL, 3);
	tab_set(t, 1, NULL, 3);
	assert_refused(t->e, 2, 0);		/* two grand totals */
	tab_free(t);
}

/* ---- random tables ---- */

static uint64_t rs;

static uint64_t
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* Counts as tables have them: many zeros, many small ones. */
static int64_t
rnd_value(unsigned small_pct, unsigned zero_pct)
{
	unsigned r = (unsigned)(rnd() % 100);

	if (r < zero_pct)
		return 0;
	if (r < zero_pct + small_pct)
		return 1 + (int64_t)(rnd() % 4);
	return 5 + (int64_t)(rnd() % 40);
}

static void
shuffle(size_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i, x = p[i - 1];

		p[i - 1] = p[j];
		p[j] = x;
	}
}

static void
check(struct tab *t, int64_t threshold, size_t per_primary)
{
	size_t np, ns;

	apply_ok(t, threshold);
	assert_primary(t, threshold, &np, &ns);
	assert_undetermined(t);
	if (ns > per_primary * np)
		fail_msg("%zu secondary for %zu primary", ns, np);
}

static void
test_random_1(void **state)
{
	rs = 0x9e3779b97f4a7c15ULL;
	for (int k = 0; k < 200; k++) {
		size_t m = 1 + rnd() % 8;
		int64_t v[8];
		struct tab *t;

		for (size_t i = 0; i < m; i++)
			v[i] = rnd_value(30, 25);
		t = tab1(v, m);
		check(t, k % 7 == 0 ? 10 : 5, 1);
		tab_free(t);
	}
}

static void
test_random_2(void **state)
{
	rs = 0x243f6a8885a308d3ULL;
	for (int k = 0; k < 400; k++) {
		size_t rows = 1 + rnd() % 6, cols = 1 + rnd() % 6;
		size_t perm[49];
		int64_t v[36];
		unsigned small = (unsigned)(rnd() % 50);
		unsigned zero = (unsigned)(rnd() % 40);
		struct tab *t;

		for (size_t i = 0; i < rows * cols; i++)
			v[i] = rnd_value(small, zero);
		shuffle(perm, (rows + 1) * (cols + 1));
		t = tab2(v, rows, cols, k % 2 ? perm : NULL);
		check(t, k % 5 == 0 ? 3 : 5, 3);
		tab_free(t);
	}
}

/* Bigger and sparser: many separate patterns, several rounds. */
static void
test_random_2_large(void **state)
{
	rs = 0x13198a2e03707344ULL;
	for (int k = 0; k < 30; k++) {
		size_t rows = 8 + rnd() % 10, cols = 8 + rnd() % 16;
		int64_t *v = malloc(rows * cols * sizeof(*v));
		struct tab *t;

		assert_non_null(v);
		for (size_t i = 0; i < rows * cols; i++)
			v[i] = rnd_value(2 + (unsigned)(rnd() % 6),
			    (unsigned)(rnd() % 30));
		t = tab2(v, rows, cols, NULL);
		check(t, 5, 3);
		tab_free(t);
		free(v);
	}
}

static void
test_random_n(void **state)
{
	rs = 0xa4093822299f31d0ULL;
	for (int k = 0; k < 200; k++) {
		size_t d[3] = { 2 + rnd() % 3, 2 + rnd() % 3, 2 + rnd() % 3 };
		size_t cap = d[0] * d[1] * d[2] + 1, m = 0;
		struct tab *t = tab_new(3, cap, 1, cap);
		int64_t sum = 0;

		line_begin(t);
		for (size_t a = 0; a < d[0]; a++)
			for (size_t b = 0; b < d[1]; b++)
				for (size_t c = 0; c < d[2]; c++) {
					uint32_t co[3] = { (uint32_t)a,
					    (uint32_t)b, (uint32_t)c };
					int64_t x;

					if (rnd() % 10 >= 3)
						continue;
					x = rnd_value(40, 0);
					tab_set(t, m, co, x);
					line_term(t, m++, 1);
					sum += x;
				}
		tab_set(t, m, (const uint32_t[]){ ALL, ALL, ALL }, sum);
		line_term(t, m, -1);
		line_end(t);
		check(t, 5, 1);
		tab_free(t);
	}
}

/* ---- time ---- */

static double
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* No line with exactly one suppressed entry: a cheap necessary check at
   a size the elimination cannot take. */
static void
assert_no_lonely_line(const struct tab *t)
{
	for (size_t l = 0; l < t->nl; l++) {
		size_t k = 0;

		for (size_t x = t->lbeg[l]; x < t->lbeg[l + 1]; x++)
			if (t->e[t->lent[x]].state != SUP_SHOWN)
				k++;
		assert_int_not_equal(k, 1);
	}
}

static void
test_time_200x400(void **state)
{
	static const struct {
		const char *name;
		unsigned small, zero;
	} mix[] = {
		{ "many small", 40, 20 },
		{ "some small", 10, 30 },
		{ "few small", 1, 10 },
		{ "sparse, zeros", 3, 70 },
		{ "staircase", 0, 0 },
	};
	const size_t rows = 200, cols = 400;
	int64_t *v = malloc(rows * cols * sizeof(*v));

	assert_non_null(v);
	rs = 0x082efa98ec4e6c89ULL;
	for (size_t k = 0; k < sizeof(mix) / sizeof(mix[0]); k++) {
		struct tab *t;
		struct timespec t0;
		size_t np, ns;
		double ms;

		for (size_t i = 0; i < rows * cols; i++)
			v[i] = rnd_value(mix[k].small, mix[k].zero);
		if (mix[k].small == 0)	/* a staircase: one long chain */
			for (size_t i = 0; i < rows * cols; i++)
				v[i] = i % cols == i / cols ||
				    i % cols == i / cols + 1 ? 2 : 50;
		t = tab2(v, rows, cols, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		apply_ok(t, 5);
		ms = ms_since(&t0);
		assert_primary(t, 5, &np, &ns);
		assert_no_lonely_line(t);
		assert_true(ns <= 3 * np);
		printf("suppress 200x400 %-14s %8.2f ms: %zu primary, "
		    "%zu secondary\n", mix[k].name, ms, np, ns);
		tab_free(t);
	}
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_one_small),
		cmocka_unit_test(test_line_skips_zero),
		cmocka_unit_test(test_line_small_total),
		cmocka_unit_test(test_line_takes_total),
		cmocka_unit_test(test_grid_rectangle),
		cmocka_unit_test(test_grid_bridge),
		cmocka_unit_test(test_grid_chain),
		cmocka_unit_test(test_grid_zeros),
		cmocka_unit_test(test_grid_small_total),
		cmocka_unit_test(test_grid_one_small),
		cmocka_unit_test(test_grid_degenerate),
		cmocka_unit_test(test_no_threshold),
		cmocka_unit_test(test_zero_dims),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_malformed_1),
		cmocka_unit_test(test_malformed_2),
		cmocka_unit_test(test_malformed_n),
		cmocka_unit_test(test_random_1),
		cmocka_unit_test(test_random_2),
		cmocka_unit_test(test_random_2_large),
		cmocka_unit_test(test_random_n),
		cmocka_unit_test(test_time_200x400),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
