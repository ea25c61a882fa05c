/*
 * suppress.c: see suppress.h.
 *
 * A table with one dimension, or with three and more (the non-zero cells
 * and the grand total), is one line: the cells sum to the total.  A line
 * gives a suppressed entry away exactly when it is the only one
 * suppressed on it, so the line rule is enough there: with exactly one,
 * the smallest shown non-zero cell joins it, or the total when no such
 * cell is left, or a zero cell as a last resort.
 *
 * A table with two dimensions is the extended (rows + 1) x (columns + 1)
 * grid: the last row holds the column totals, the last column the row
 * totals, their corner the grand total.  With the totals negated every
 * row and every column of that grid sums to zero, so up to signs the
 * equations are the incidence matrix of a bipartite graph: a vertex per
 * row and per column (the totals' row and column included), an edge per
 * entry.  The suppressed entries' unknowns are exactly determined by the
 * shown ones iff their edge is a bridge of the graph of suppressed
 * entries (the unit vector of an edge is in the cut space iff no cycle
 * passes through it).  So:
 *
 *   1. primary suppression;
 *   2. find the bridges (Tarjan's low-link, iterative: a 200 x 400 table
 *      has 80 000 edges and a path through them all is possible);
 *   3. put each bridge (r, c) on a cycle: the rectangle (r, c), (r, c'),
 *      (r', c'), (r', c) whose corners not yet suppressed cost least;
 *   4. again from 2 until Tarjan finds no bridge.
 *
 * The cost of suppressing an entry is its value, then whether it is a
 * total, then whether it is zero, compared in that order over the sum
 * of a rectangle's new corners (one integer: 16 v + 4 total + zero, the
 * corners being at most three).  An already suppressed corner costs
 * nothing, so rectangles through the existing pattern come first; a
 * zero cell costs next to nothing, so a zero cell is chosen before any
 * non-zero one: it hides a count at no loss to the reader.  On equal
 * value a cell is taken before a total, a non-zero entry before a zero
 * one (an equal sum with fewer zeros), and then the first in row order.
 *
 * Within a round the bridges found may be fixed by an earlier bridge's
 * rectangle; fixing them again would suppress more than needed.  So
 * each round also keeps the tree of 2-edge-connected components Tarjan
 * found, and a union-find over it: an edge added inside one connected
 * component merges the components on its tree path (a bridge whose ends
 * end up in one set is no longer a bridge); an edge to a vertex that
 * had no suppressed entry hangs that vertex under the other end.  An
 * edge that joins two connected components (the tree would have to be
 * re-rooted) marks both stale, and their bridges wait for the next
 * round's Tarjan.  Only Tarjan decides when to stop, so the union-find
 * only saves work and suppressions, never decides what is safe.
 *
 * Each fix turns one bridge into a non-bridge and adds no bridge, so
 * there are at most as many fixes as bridges after primary suppression
 * and at most three secondary entries per primary one.
 */
#include "form/suppress.h"

#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

/* Values above this cost as much as it: the sums of three costs stay
   below 2^63. */
#define COST_CAP ((uint64_t)1 << 56)

static int
is_primary(int64_t v, int64_t threshold)
{
	return v >= 1 && v < threshold;
}

/*
 * The one-line tables: every entry is on the line, total is the index of
 * the grand total.  A line with exactly one suppressed entry gets a
 * second: the smallest shown non-zero cell, else the total, else a shown
 * zero cell.  Nothing when nothing is shown.
 */
static void
line_fix(const struct sup_entry *e, size_t n, size_t total,
    enum sup_state *st)
{
	size_t nsup = 0, best = NONE, zero = NONE;

	for (size_t i = 0; i < n; i++)
		if (st[i] != SUP_SHOWN)
			nsup++;
	if (nsup != 1)
		return;
	for (size_t i = 0; i < n; i++) {
		if (st[i] != SUP_SHOWN || i == total)
			continue;
		if (e[i].value < 1) {
			if (zero == NONE)
				zero = i;
		} else if (best == NONE || e[i].value < e[best].value)
			best = i;
	}
	if (best == NONE && st[total] == SUP_SHOWN)
		best = total;
	if (best == NONE)
		best = zero;
	if (best != NONE)
		st[best] = SUP_SECONDARY;
}

/* One dimension: cells 0 .. n - 2, each once, and the grand total. */
static int
shape_1(const struct sup_entry *e, size_t n, size_t *total)
{
	unsigned char *seen;

	if ((seen = calloc(n, 1)) == NULL)
		return -1;
	*total = NONE;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = e[i].coord[0];

		if (c == SUP_ALL ? *total != NONE : c >= n - 1 || seen[c]) {
			*total = NONE;
			break;
		}
		if (c == SUP_ALL)
			*total = i;
		else
			seen[c] = 1;
	}
	free(seen);
	return *total == NONE ? -1 : 0;
}

/* Three and more: the grand total once and cells with no SUP_ALL, each
   once (found by sorting the cells' coordinates). */
struct cellkey {
	const uint32_t *c;
	size_t nd;
};

static int
cellkey_cmp(const void *a, const void *b)
{
	const struct cellkey *x = a, *y = b;

	for (size_t d = 0; d < x->nd; d++)
		if (x->c[d] != y->c[d])
			return x->c[d] < y->c[d] ? -1 : 1;
	return 0;
}

static int
shape_n(const struct sup_entry *e, size_t n, size_t ndims, size_t *total)
{
	struct cellkey *k;
	size_t nk = 0;
	int rc = 0;

	if ((k = malloc(n * sizeof(*k))) == NULL)
		return -1;
	*total = NONE;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t nall = 0;

		for (size_t d = 0; d < ndims; d++)
			if (e[i].coord[d] == SUP_ALL)
				nall++;
		if (nall == ndims && *total == NONE)
			*total = i;
		else if (nall == 0)
			k[nk++] = (struct cellkey){ e[i].coord, ndims };
		else
			rc = -1;	/* a partial total, or a second grand */
	}
	if (rc == 0 && *total == NONE)
		rc = -1;
	if (rc == 0 && nk > 1) {
		qsort(k, nk, sizeof(*k), cellkey_cmp);
		for (size_t i = 1; i < nk && rc == 0; i++)
			if (cellkey_cmp(&k[i - 1], &k[i]) == 0)
				rc = -1;
	}
	free(k);
	return rc;
}

/*
 * Two dimensions.  Vertices 0 .. nr - 1 are the rows of the extended
 * grid (nr - 1 the totals' row), nr .. nr + nc - 1 its columns; the edge
 * of entry (i, j) is slot i * nc + j.  Components ("comps") are the
 * 2-edge-connected components of the suppressed graph, numbered by
 * Tarjan in preorder; cpar is a comp's parent in the bridge tree, cdsu
 * the union-find of comps merged since (a set's representative is its
 * top comp, whose cpar and cdepth stay right), ccc the connected
 * component, named by its root comp.
 */
struct grid {
	size_t nr, nc, nv;
	unsigned char *sup;	/* by slot: 0 shown, else suppressed */
	uint64_t *w;		/* by slot: cost of suppressing it */

	size_t *disc, *low, *it, *pedge, *parent, *stack, *order;
	size_t *comp;		/* by vertex */
	unsigned char *iso;	/* by vertex: had no suppressed entry */
	size_t *cpar, *cdepth, *cdsu, *ccc;	/* by comp */
	unsigned char *stale;	/* by connected component */
	size_t *bridges;	/* slots */

	struct kv { uint64_t k; size_t i; } *rows, *cols;
};

static void
grid_free(struct grid *g)
{
	free(g->sup);
	free(g->w);
	free(g->disc);
	free(g->low);
	free(g->it);
	free(g->pedge);
	free(g->parent);
	free(g->stack);
	free(g->order);
	free(g->comp);
	free(g->iso);
	free(g->cpar);
	free(g->cdepth);
	free(g->cdsu);
	free(g->ccc);
	free(g->stale);
	free(g->bridges);
	free(g->rows);
	free(g->cols);
}

static int
grid_alloc(struct grid *g, size_t nr, size_t nc)
{
	size_t nv = nr + nc, ns = nr * nc;

	memset(g, 0, sizeof(*g));
	g->nr = nr;
	g->nc = nc;
	g->nv = nv;
#define A(p, k) ((p) = calloc((k), sizeof(*(p)))) == NULL
	if (A(g->sup, ns) || A(g->w, ns) || A(g->disc, nv) || A(g->low, nv) ||
	    A(g->it, nv) || A(g->pedge, nv) || A(g->parent, nv) ||
	    A(g->stack, nv) || A(g->order, nv) || A(g->comp, nv) ||
	    A(g->iso, nv) || A(g->cpar, nv) || A(g->cdepth, nv) ||
	    A(g->cdsu, nv) || A(g->ccc, nv) || A(g->stale, nv) ||
	    A(g->bridges, nv) || A(g->rows, nr) || A(g->cols, nc)) {
		grid_free(g);
		return -1;
	}
#undef A
	return 0;
}

/* The next suppressed edge of v from where its scan stands: its slot in
   *ed, the other end in *w.  0 when v has no more. */
static int
grid_next(struct grid *g, size_t v, size_t *ed, size_t *w)
{
	if (v < g->nr) {
		for (size_t j = g->it[v]; j < g->nc; j++)
			if (g->sup[v * g->nc + j]) {
				g->it[v] = j + 1;
				*ed = v * g->nc + j;
				*w = g->nr + j;
				return 1;
			}
		g->it[v] = g->nc;
	} else {
		size_t j = v - g->nr;

		for (size_t i = g->it[v]; i < g->nr; i++)
			if (g->sup[i * g->nc + j]) {
				g->it[v] = i + 1;
				*ed = i * g->nc + j;
				*w = i;
				return 1;
			}
		g->it[v] = g->nr;
	}
	return 0;
}

/*
 * Tarjan's bridges, with an explicit stack.  Fills g->bridges and the
 * bridge forest (comps, their parents, depths and connected components)
 * and resets the round's union-find.  Returns the number of bridges.
 */
static size_t
grid_bridges(struct grid *g)
{
	size_t t = 0, no = 0, nb = 0, ncomp = 0;

	for (size_t v = 0; v < g->nv; v++) {
		g->disc[v] = 0;
		g->it[v] = 0;
		g->iso[v] = 1;
	}
	for (size_t s = 0; s < g->nv; s++) {
		size_t sp = 0;

		if (g->disc[s])
			continue;
		g->disc[s] = g->low[s] = ++t;
		g->pedge[s] = g->parent[s] = NONE;
		g->stack[sp++] = s;
		g->order[no++] = s;
		while (sp > 0) {
			size_t v = g->stack[sp - 1], ed, w, p;

			if (grid_next(g, v, &ed, &w)) {
				g->iso[v] = 0;
				if (ed == g->pedge[v])
					continue;
				if (g->disc[w] == 0) {
					g->disc[w] = g->low[w] = ++t;
					g->pedge[w] = ed;
					g->parent[w] = v;
					g->stack[sp++] = w;
					g->order[no++] = w;
				} else if (g->disc[w] < g->low[v])
					g->low[v] = g->disc[w];
				continue;
			}
			sp--;
			if ((p = g->parent[v]) != NONE && g->low[v] < g->low[p])
				g->low[p] = g->low[v];
		}
	}

	/* In preorder a vertex's parent has its comp already. */
	for (size_t k = 0; k < no; k++) {
		size_t v = g->order[k], p = g->parent[v], c;

		if (p != NONE && g->low[v] <= g->disc[p]) {
			g->comp[v] = g->comp[p];
			continue;
		}
		c = ncomp++;
		g->comp[v] = c;
		g->cdsu[c] = c;
		g->stale[c] = 0;
		if (p == NONE) {
			g->cpar[c] = NONE;
			g->cdepth[c] = 0;
			g->ccc[c] = c;
		} else {
			g->cpar[c] = g->comp[p];
			g->cdepth[c] = g->cdepth[g->comp[p]] + 1;
			g->ccc[c] = g->ccc[g->comp[p]];
			g->bridges[nb++] = g->pedge[v];
		}
	}
	return nb;
}

static size_t
comp_find(struct grid *g, size_t c)
{
	while (g->cdsu[c] != c) {
		g->cdsu[c] = g->cdsu[g->cdsu[c]];
		c = g->cdsu[c];
	}
	return c;
}

/* An edge between two comps of one tree: every comp on the tree path
   between them is now one. */
static void
comp_merge(struct grid *g, size_t a, size_t b)
{
	a = comp_find(g, a);
	b = comp_find(g, b);
	while (a != b) {
		size_t p;

		if (g->cdepth[a] < g->cdepth[b]) {
			size_t t = a;
			a = b;
			b = t;
		}
		/* Distinct sets of one tree: the deeper is not its root. */
		p = comp_find(g, g->cpar[a]);
		g->cdsu[a] = p;
		a = p;
	}
}

/* Hangs y, which had no suppressed entry, under x. */
static void
comp_attach(struct grid *g, size_t y, size_t x)
{
	size_t r = comp_find(g, g->comp[x]), cy = g->comp[y];

	g->cpar[cy] = r;
	g->cdepth[cy] = g->cdepth[r] + 1;
	g->ccc[cy] = g->ccc[r];
	g->iso[y] = 0;
}

/* Suppresses the entry between vertices x and y and keeps the round's
   forest up to date, or marks it stale. */
static void
grid_link(struct grid *g, size_t x, size_t y, enum sup_state *st,
    const size_t *slot)
{
	size_t s = x * g->nc + (y - g->nr);
	size_t kx, ky;

	if (g->sup[s])
		return;
	g->sup[s] = 1;
	st[slot[s]] = SUP_SECONDARY;

	kx = g->ccc[g->comp[x]];
	ky = g->ccc[g->comp[y]];
	if (g->stale[kx] || g->stale[ky])
		g->stale[kx] = g->stale[ky] = 1;
	else if (kx == ky)
		comp_merge(g, g->comp[x], g->comp[y]);
	else if (g->iso[y])
		comp_attach(g, y, x);
	else if (g->iso[x])
		comp_attach(g, x, y);
	else
		g->stale[kx] = g->stale[ky] = 1;
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static uint64_t
grid_cost(const struct grid *g, size_t s)
{
	return g->sup[s] ? 0 : g->w[s];
}

/*
 * Puts the bridge in slot s on a cycle with the cheapest rectangle, or
 * leaves it to the next round when its component went stale or an
 * earlier fix of this round took care of it.  Needs nr, nc >= 2.
 *
 * The rectangle (i, j), (i, j'), (i', j'), (i', j) costs
 * a(j') + b(i') + w(i', j'); rows are tried by b and columns by a, both
 * ascending, so the search stops as soon as a + b alone reaches the
 * best found.  It is usually found among the first few: the pattern's
 * own entries cost nothing.
 */
static void
grid_fix(struct grid *g, size_t s, enum sup_state *st, const size_t *slot)
{
	size_t i = s / g->nc, j = s % g->nc, nr = 0, nc = 0;
	size_t bi = NONE, bj = NONE;
	uint64_t best = UINT64_MAX;

	if (g->stale[g->ccc[g->comp[i]]] ||
	    comp_find(g, g->comp[i]) == comp_find(g, g->comp[g->nr + j]))
		return;

	for (size_t r = 0; r < g->nr; r++)
		if (r != i)
			g->rows[nr++] = (struct kv){ grid_cost(g, r * g->nc + j),
			    r };
	for (size_t c = 0; c < g->nc; c++)
		if (c != j)
			g->cols[nc++] = (struct kv){ grid_cost(g, i * g->nc + c),
			    c };
	qsort(g->rows, nr, sizeof(*g->rows), kv_cmp);
	qsort(g->cols, nc, sizeof(*g->cols), kv_cmp);

	for (size_t a = 0; a < nr; a++) {
		size_t r = g->rows[a].i;

		if (g->rows[a].k + g->cols[0].k >= best)
			break;
		for (size_t b = 0; b < nc; b++) {
			uint64_t sum = g->rows[a].k + g->cols[b].k;

			if (sum >= best)
				break;
			sum += grid_cost(g, r * g->nc + g->cols[b].i);
			if (sum < best) {
				best = sum;
				bi = r;
				bj = g->cols[b].i;
			}
		}
	}

	/* Around the cycle, so each edge after the first closes on a vertex
	   the previous ones reached. */
	grid_link(g, i, g->nr + bj, st, slot);
	grid_link(g, bi, g->nr + bj, st, slot);
	grid_link(g, bi, g->nr + j, st, slot);
}

/*
 * Two dimensions: the rows and columns are those the cells' coordinates
 * reach; every slot of the extended grid must hold exactly one entry.
 */
static int
apply_2(const struct sup_entry *e, size_t n, int64_t threshold,
    enum sup_state *st)
{
	struct grid g;
	size_t nr = 0, nc = 0, *slot;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		uint32_t r = e[i].coord[0], c = e[i].coord[1];

		if ((r != SUP_ALL && r >= n) || (c != SUP_ALL && c >= n))
			return -1;
		if (r != SUP_ALL && r + (size_t)1 > nr)
			nr = r + (size_t)1;
		if (c != SUP_ALL && c + (size_t)1 > nc)
			nc = c + (size_t)1;
	}
	nr++;			/* the totals' row and column */
	nc++;
	if (nr > n || nc > n || nr > n / nc || nr * nc != n)
		return -1;

	if ((slot = malloc(n * sizeof(*slot))) == NULL)
		return -1;
	for (size_t s = 0; s < n; s++)
		slot[s] = NONE;
	for (size_t i = 0; i < n; i++) {
		uint32_t r = e[i].coord[0], c = e[i].coord[1];
		size_t s = (r == SUP_ALL ? nr - 1 : r) * nc +
		    (c == SUP_ALL ? nc - 1 : c);

		if (slot[s] != NONE)
			goto out;	/* a duplicate: then one is missing */
		slot[s] = i;
	}

	if (grid_alloc(&g, nr, nc) == -1)
		goto out;
	for (size_t s = 0; s < n; s++) {
		const struct sup_entry *x = &e[slot[s]];
		uint64_t v = x->value < 1 ? 0 : (uint64_t)x->value;
		int total = s / nc == nr - 1 || s % nc == nc - 1;

		if (v > COST_CAP)
			v = COST_CAP;
		g.w[s] = 16 * v + 4 * (uint64_t)total + (v == 0);
		if (is_primary(x->value, threshold)) {
			g.sup[s] = 1;
			st[slot[s]] = SUP_PRIMARY;
		} else
			st[slot[s]] = SUP_SHOWN;
	}

	if (nr < 2 || nc < 2) {
		/* No cells, only totals, and no cycle to hide one in: all of
		   them go once any one does. */
		size_t k = 0;

		while (k < n && !g.sup[k])
			k++;
		for (size_t s = 0; k < n && s < n; s++)
			if (!g.sup[s])
				st[slot[s]] = SUP_SECONDARY;
	} else {
		size_t nb;

		while ((nb = grid_bridges(&g)) > 0)
			for (size_t k = 0; k < nb; k++)
				grid_fix(&g, g.bridges[k], st, slot);
	}
	grid_free(&g);
	rc = 0;
out:
	free(slot);
	return rc;
}

int
sup_apply(struct sup_entry *e, size_t n, size_t ndims, int64_t threshold)
{
	enum sup_state *st = NULL;
	size_t total = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		e[i].state = SUP_PRIMARY;
	if (n == 0)
		return -1;
	if (ndims > 0)
		for (size_t i = 0; i < n; i++)
			if (e[i].coord == NULL)
				return -1;
	if ((st = malloc(n * sizeof(*st))) == NULL)
		return -1;

	if (ndims == 2) {
		rc = apply_2(e, n, threshold, st);
	} else {
		if (ndims == 0)
			rc = n == 1 ? 0 : -1;
		else if (ndims == 1)
			rc = shape_1(e, n, &total);
		else
			rc = shape_n(e, n, ndims, &total);
		if (rc == 0) {
			for (size_t i = 0; i < n; i++)
				st[i] = is_primary(e[i].value, threshold) ?
				    SUP_PRIMARY : SUP_SHOWN;
			line_fix(e, n, total, st);
		}
	}
	if (rc == 0)
		for (size_t i = 0; i < n; i++)
			e[i].state = st[i];
	free(st);
	return rc;
}

const char *
sup_reason(enum sup_state s)
{
	switch (s) {
	case SUP_PRIMARY:
		return "under the threshold";
	case SUP_SECONDARY:
		return "protects a cell under the threshold";
	case SUP_SHOWN:
	default:
		return "";
	}
}
