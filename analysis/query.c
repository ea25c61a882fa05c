/* query.c: see query.h. */
#include "analysis/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum qkind { Q_COL, Q_DAY, Q_WEEK, Q_MONTH };

/* A dimension named by the query. */
struct qdim {
	enum qkind kind;
	size_t dim;			/* Q_COL: index in the schema */
	int multi;
	const uint32_t *col;		/* the chunk's column being scanned */
	int col_i;			/* its index among loaded columns */
};

/* A hash map from a tuple of AQ_MAX_BY codes to sums. */
struct qmap {
	size_t n, cap, nm;		/* nm measures per entry */
	uint32_t *keys;			/* cap * AQ_MAX_BY */
	int64_t *sums;			/* cap * nm */
	uint8_t *used;
};

struct qrun {
	struct astore *as;
	const struct aquery *q;
	struct form_cschema sch;
	const struct form *f;
	int level;
	size_t n_by, n_where;
	struct qdim by[AQ_MAX_BY];
	struct qdim wh[AQ_MAX_WHERE];
	uint32_t wcode[AQ_MAX_WHERE];
	uint32_t from, to;
	size_t nm;			/* measures counted */
	int mcol[FORM_CMEASURE_MAX];	/* loaded column, or -1: one a row */
	/* Unless an analyst asks, measures of people read what the rows'
	   keys made of them (perturb.h): "w" for a row, "p:" at record
	   level.  The weight column is read then, to refuse rows that
	   have none. */
	int wcol;			/* the weight column, or -1 */
	int noweight;			/* a chunk without weights was met */
	size_t ncols;
	const char *colnames[ASTORE_COL_MAX];
	char colbuf[ASTORE_COL_MAX][ASTORE_COL_NAME];
	uint32_t *month;		/* day -> month code, lazily */
	struct qmap groups;
	/* the latest record of each place (latest_by forms) */
	int latest_pass;
	uint64_t row;			/* rows seen so far */
	uint64_t *best;			/* per place code: row + 1 */
	uint32_t *best_day;
	size_t n_best;
	int place_col;
	int failed;
};

static uint64_t
qmap_hash(const uint32_t *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < AQ_MAX_BY; i++)
		h = (h ^ k[i]) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 29);
}

static int
qmap_init(struct qmap *m, size_t nm, size_t cap)
{
	memset(m, 0, sizeof(*m));
	m->nm = nm;
	m->cap = cap;
	m->keys = calloc(cap * AQ_MAX_BY, sizeof(uint32_t));
	m->sums = calloc(cap * (nm ? nm : 1), sizeof(int64_t));
	m->used = calloc(cap, 1);
	return m->keys && m->sums && m->used ? 0 : -1;
}

static void
qmap_free(struct qmap *m)
{
	free(m->keys);
	free(m->sums);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static int64_t *qmap_get(struct qmap *m, const uint32_t *k);

static int
qmap_grow(struct qmap *m)
{
	struct qmap old = *m;

	if (qmap_init(m, old.nm, old.cap * 2) != 0) {
		qmap_free(m);
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.used[i])
			continue;
		int64_t *s = qmap_get(m, old.keys + i * AQ_MAX_BY);
		memcpy(s, old.sums + i * old.nm, old.nm * sizeof(int64_t));
	}
	qmap_free(&old);
	return 0;
}

/* The sums of key k, added (zero) when new; NULL when out of memory. */
static int64_t *
qmap_get(struct qmap *m, const uint32_t *k)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && qmap_grow(m) != 0)
		return NULL;
	for (i = qmap_hash(k) & (m->cap - 1); m->used[i];
	    i = (i + 1) & (m->cap - 1))
		if (memcmp(m->keys + i * AQ_MAX_BY, k,
		    AQ_MAX_BY * sizeof(uint32_t)) == 0)
			return m->sums + i * m->nm;
	m->used[i] = 1;
	memcpy(m->keys + i * AQ_MAX_BY, k, AQ_MAX_BY * sizeof(uint32_t));
	m->n++;
	return m->sums + i * m->nm;
}

/* ISO week of a day: the day number of its Thursday. */
static uint32_t
q_week(uint32_t day)
{
	uint32_t wd = (day + 3) % 7;	/* 1970-01-01 was a Thursday */

	return day - wd + 3;
}

static uint32_t
q_month_of(uint32_t day)
{
	char d[11];
	unsigned y, m;

	astore_date(day, d);
	sscanf(d, "%4u-%2u", &y, &m);
	return y * 12 + (m - 1);
}

static uint32_t
q_period(struct qrun *r, enum qkind k, uint32_t day)
{
	if (k == Q_DAY)
		return day;
	if (k == Q_WEEK)
		return q_week(day);
	/* Q_MONTH: from a table filled as days are met */
	if (day > 0xffff)
		return q_month_of(day);
	if (r->month[day] == 0)
		r->month[day] = q_month_of(day) + 1;
	return r->month[day] - 1;
}

/* The label of a time code into out. */
static void
q_period_label(enum qkind k, uint32_t code, char *out, size_t len)
{
	char d[11];

	if (k == Q_MONTH) {
		snprintf(out, len, "%04u-%02u", code / 12, code % 12 + 1);
		return;
	}
	astore_date(code, d);
	if (k == Q_DAY) {
		snprintf(out, len, "%s", d);
		return;
	}
	/* The Thursday's year is the week's; its day of year, the week. */
	char jan1[24];
	unsigned y;
	sscanf(d, "%4u", &y);
	snprintf(jan1, sizeof(jan1), "%04u-01-01", y % 10000);
	snprintf(out, len, "%04u-W%02u", y,
	    (unsigned)((code - (uint32_t)astore_day(jan1)) / 7 + 1));
}

/* The code of a time value, or -1 when it is not one. */
static int64_t
q_period_parse(enum qkind k, const char *v)
{
	unsigned y, w, m;
	int n = 0;
	char jan4[24];
	int64_t d;

	if (k == Q_DAY)
		return astore_day(v);
	if (k == Q_MONTH) {
		if (sscanf(v, "%4u-%2u%n", &y, &m, &n) != 2 || v[n] ||
		    n != 7 || m < 1 || m > 12 || y < 1970)
			return -1;
		return (int64_t)y * 12 + (m - 1);
	}
	if (sscanf(v, "%4u-W%2u%n", &y, &w, &n) != 2 || v[n] || n != 8 ||
	    w < 1 || w > 53 || y < 1970)
		return -1;
	snprintf(jan4, sizeof(jan4), "%04u-01-04", y % 10000);
	if ((d = astore_day(jan4)) < 0)
		return -1;
	d = q_week((uint32_t)d) + (int64_t)(w - 1) * 7;
	/* week 53 exists only in some years */
	char back[16];
	q_period_label(Q_WEEK, (uint32_t)d, back, sizeof(back));
	return strcmp(back, v) == 0 ? d : -1;
}

void
aquery_dims(const struct form *f, char *out, size_t outlen)
{
	struct form_cschema s;
	size_t len = 0;

	out[0] = '\0';
	if (form_cschema(f, &s) != 0)
		return;
	for (size_t i = 0; i < s.n_dims && len < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s, ",
		    s.dims[i].name);
	if (len < outlen)
		snprintf(out + len, outlen - len, "day, week, month");
}

/* Resolves a dimension name; -1 when the form has none such. */
static int
q_dim(struct qrun *r, const char *name, struct qdim *d)
{
	memset(d, 0, sizeof(*d));
	d->col_i = -1;
	if (strcmp(name, "day") == 0)
		d->kind = Q_DAY;
	else if (strcmp(name, "week") == 0)
		d->kind = Q_WEEK;
	else if (strcmp(name, "month") == 0)
		d->kind = Q_MONTH;
	else {
		size_t i;
		for (i = 0; i < r->sch.n_dims; i++)
			if (strcmp(r->sch.dims[i].name, name) == 0)
				break;
		if (i == r->sch.n_dims)
			return -1;
		d->kind = Q_COL;
		d->dim = i;
		d->multi = r->sch.dims[i].multi;
	}
	return 0;
}

static int
q_col(struct qrun *r, const char *name)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (strcmp(r->colnames[i], name) == 0)
			return (int)i;
	if (r->ncols == ASTORE_COL_MAX)
		return -1;
	snprintf(r->colbuf[r->ncols], ASTORE_COL_NAME, "%s", name);
	r->colnames[r->ncols] = r->colbuf[r->ncols];
	return (int)r->ncols++;
}

static int
q_dim_col(struct qrun *r, struct qdim *d)
{
	char name[ASTORE_COL_NAME];

	if (d->kind != Q_COL)
		return 0;
	snprintf(name, sizeof(name), "d:%s", r->sch.dims[d->dim].name);
	return (d->col_i = q_col(r, name)) < 0 ? -1 : 0;
}

/* Plans the scan: dimensions, level, measures, columns. */
static int
q_plan(struct qrun *r, const struct aquery *q, char *err, size_t errlen)
{
	char dims[1024];
	int items = 0;

	aquery_dims(r->f, dims, sizeof(dims));
	r->n_by = q->n_by;
	for (size_t i = 0; i < q->n_by; i++) {
		if (q_dim(r, q->by[i], &r->by[i]) != 0) {
			snprintf(err, errlen, "by: unknown dimension %s (this "
			    "form has %s)", q->by[i], dims);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(q->by[i], q->by[j]) == 0) {
				snprintf(err, errlen, "by: %s named twice",
				    q->by[i]);
				return -1;
			}
		if (r->by[i].kind == Q_COL && r->sch.dims[r->by[i].dim].item)
			items = 1;
	}
	r->n_where = q->n_where;
	for (size_t i = 0; i < q->n_where; i++) {
		struct qdim *d = &r->wh[i];
		if (q_dim(r, q->where[i].dim, d) != 0) {
			snprintf(err, errlen, "where: unknown dimension %s "
			    "(this form has %s)", q->where[i].dim, dims);
			return -1;
		}
		if (d->kind != Q_COL) {
			int64_t c = q_period_parse(d->kind, q->where[i].value);
			if (c < 0) {
				snprintf(err, errlen, "where: %s: not a %s",
				    q->where[i].dim, d->kind == Q_DAY ?
				    "date YYYY-MM-DD" : d->kind == Q_WEEK ?
				    "week YYYY-Www" : "month YYYY-MM");
				return -1;
			}
			r->wcode[i] = (uint32_t)c;
		} else {
			/* A value never seen matches nothing. */
			r->wcode[i] = astore_lookup(r->as, form_id(r->f),
			    r->sch.dims[d->dim].name, q->where[i].value);
			if (r->wcode[i] == 0)
				r->wcode[i] = UINT32_MAX;
			if (r->sch.dims[d->dim].item)
				items = 1;
		}
	}
	r->level = items;
	r->nm = 0;
	r->wcol = -1;
	for (size_t i = 0; i < r->sch.n_measures; i++) {
		const struct form_cmeasure *m = &r->sch.measures[i];
		/* every measure that is suppressed is perturbed too */
		int pert = q->threshold > 1 && m->suppress;
		char name[ASTORE_COL_NAME];

		if (items && m->kind != FORM_M_ITEMS)
			continue;	/* households by sex: not a count */
		r->mcol[r->nm] = -1;
		if (pert && (r->wcol < 0 && (r->wcol = q_col(r, "w")) < 0))
			return -1;
		if (!items && m->kind != FORM_M_RECORDS) {
			snprintf(name, sizeof(name), "%s:%s", pert ? "p" : "m",
			    m->name);
			if ((r->mcol[r->nm] = q_col(r, name)) < 0)
				return -1;
		} else if (pert) {
			r->mcol[r->nm] = r->wcol;	/* a row: its weight */
		}
		r->nm++;
	}
	for (size_t i = 0; i < r->n_by; i++)
		if (q_dim_col(r, &r->by[i]) != 0)
			return -1;
	for (size_t i = 0; i < r->n_where; i++)
		if (q_dim_col(r, &r->wh[i]) != 0)
			return -1;
	r->place_col = -1;
	if (r->sch.latest && !items) {
		char name[ASTORE_COL_NAME];
		snprintf(name, sizeof(name), "d:%s", r->sch.dims[0].name);
		if ((r->place_col = q_col(r, name)) < 0)
			return -1;
	}
	return 0;
}

/* Pass one of a latest_by form: the latest row of each place. */
static int
q_latest(struct qrun *r, size_t n, const uint32_t *day,
    const uint32_t *const *cols)
{
	const uint32_t *place = cols[r->place_col];

	for (size_t i = 0; i < n; i++, r->row++) {
		uint32_t p = place ? place[i] : 0;

		if (day[i] < r->from || day[i] > r->to)
			continue;
		if (p >= r->n_best) {
			size_t nn = (size_t)p * 2 + 64;
			uint64_t *b = realloc(r->best, nn * sizeof(*b));
			uint32_t *bd = b ? realloc(r->best_day,
			    nn * sizeof(*bd)) : NULL;
			if (b)
				r->best = b;
			if (bd == NULL)
				return -1;
			r->best_day = bd;
			memset(r->best + r->n_best, 0,
			    (nn - r->n_best) * sizeof(*b));
			memset(r->best_day + r->n_best, 0,
			    (nn - r->n_best) * sizeof(*bd));
			r->n_best = nn;
		}
		/* Later day wins; on the same day the later arrival. */
		if (r->best[p] == 0 || day[i] >= r->best_day[p]) {
			r->best[p] = r->row + 1;
			r->best_day[p] = day[i];
		}
	}
	return 0;
}

static int
q_chunk(void *arg, size_t n, const uint32_t *day,
    const uint32_t *const *cols)
{
	struct qrun *r = arg;
	uint32_t key[AQ_MAX_BY] = { 0 };

	if (r->latest_pass)
		return q_latest(r, n, day, cols);
	/* Rows without weights cannot be perturbed: nothing is released. */
	if (r->wcol >= 0 && cols[r->wcol] == NULL) {
		r->noweight = 1;
		return 1;
	}
	for (size_t b = 0; b < r->n_by; b++)
		if (r->by[b].kind == Q_COL)
			r->by[b].col = cols[r->by[b].col_i];
	for (size_t w = 0; w < r->n_where; w++)
		if (r->wh[w].kind == Q_COL)
			r->wh[w].col = cols[r->wh[w].col_i];
	for (size_t i = 0; i < n; i++, r->row++) {
		size_t w;
		int64_t *s;

		if (day[i] < r->from || day[i] > r->to)
			continue;
		if (r->place_col >= 0) {
			uint32_t p = cols[r->place_col] ?
			    cols[r->place_col][i] : 0;
			if (p >= r->n_best || r->best[p] != r->row + 1)
				continue;
		}
		for (w = 0; w < r->n_where; w++) {
			const struct qdim *d = &r->wh[w];
			uint32_t v = d->kind != Q_COL ?
			    q_period(r, d->kind, day[i]) :
			    d->col ? d->col[i] : 0;
			if (d->multi ? r->wcode[w] > ASTORE_MULTI_MAX ||
			    !(v & (1u << (r->wcode[w] - 1))) :
			    v != r->wcode[w])
				break;
		}
		if (w < r->n_where)
			continue;
		for (size_t b = 0; b < r->n_by; b++) {
			const struct qdim *d = &r->by[b];
			key[b] = d->kind != Q_COL ? q_period(r, d->kind,
			    day[i]) : d->col ? d->col[i] : 0;
		}
		if ((s = qmap_get(&r->groups, key)) == NULL)
			return -1;
		for (size_t m = 0; m < r->nm; m++)
			s[m] += r->mcol[m] < 0 ? 1 : cols[r->mcol[m]] ?
			    (int64_t)cols[r->mcol[m]][i] : 0;
	}
	return 0;
}

/* The tables a query shows, as masks of the dimensions kept. */
static size_t
q_shapes(size_t n_by, unsigned masks[4])
{
	unsigned full = (1u << n_by) - 1;

	if (n_by == 0) {
		masks[0] = 0;
		return 1;
	}
	if (n_by == 2) {
		masks[0] = 3;
		masks[1] = 1;
		masks[2] = 2;
		masks[3] = 0;
		return 4;
	}
	masks[0] = full;
	masks[1] = 0;
	return 2;
}

/* Adds a group's sums into every entry it belongs to under mask. */
static int
q_expand(struct qrun *r, struct qmap *entries, const uint32_t *gkey,
    const int64_t *sums, unsigned mask, size_t b, uint32_t *coord)
{
	if (b == r->n_by) {
		int64_t *s = qmap_get(entries, coord);
		if (s == NULL)
			return -1;
		for (size_t m = 0; m < r->nm; m++)
			s[m] += sums[m];
		return 0;
	}
	if (!(mask & (1u << b))) {
		coord[b] = SUP_ALL;
		return q_expand(r, entries, gkey, sums, mask, b + 1, coord);
	}
	if (!r->by[b].multi) {
		coord[b] = gkey[b];
		return q_expand(r, entries, gkey, sums, mask, b + 1, coord);
	}
	for (uint32_t bit = 0; bit < ASTORE_MULTI_MAX; bit++) {
		if (!(gkey[b] & (1u << bit)))
			continue;
		coord[b] = bit + 1;	/* the value's code */
		if (q_expand(r, entries, gkey, sums, mask, b + 1, coord) != 0)
			return -1;
	}
	return 0;
}

/* Ordering the values of one dimension for output: choices in the
   form's order, then free text A-Z, the blank value last; time in time
   order. */
#define Q_RANK_TEXT (1 << 29)
#define Q_RANK_BLANK (1 << 30)

struct qval {
	uint32_t code;
	int rank;
	char *label;
};

static int
q_val_cmp(const void *a, const void *b)
{
	const struct qval *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->rank == Q_RANK_TEXT)
		return strcmp(x->label, y->label);
	return x->code < y->code ? -1 : x->code > y->code;
}

static int
q_entry_cmp(const void *a, const void *b)
{
	const struct aentry *x = a, *y = b;
	size_t tx = 0, ty = 0;

	/* cells first, then totals from the finest to the grand total */
	for (size_t i = 0; i < AQ_MAX_BY; i++) {
		tx += x->coord[i] == SUP_ALL;
		ty += y->coord[i] == SUP_ALL;
	}
	if (tx != ty)
		return tx < ty ? -1 : 1;
	for (size_t i = 0; i < AQ_MAX_BY; i++)
		if (x->coord[i] != y->coord[i])
			return x->coord[i] < y->coord[i] ? -1 : 1;
	return 0;
}

/* Gives each dimension its ordered values and turns codes into their
   indices. */
static int
q_order(struct qrun *r, struct aresult *res, struct qmap *entries)
{
	for (size_t b = 0; b < r->n_by; b++) {
		struct qdim *d = &r->by[b];
		struct qval *v;
		uint32_t *index;
		size_t nv = 0, maxc = 0;

		for (size_t i = 0; i < entries->cap; i++) {
			uint32_t c = entries->keys[i * AQ_MAX_BY + b];
			if (entries->used[i] && c != SUP_ALL && c + 1 > maxc)
				maxc = c + 1;
		}
		/* index[code]: 0 unseen, else position + 1 */
		if ((index = calloc(maxc + 1, sizeof(*index))) == NULL ||
		    (v = calloc(maxc + 1, sizeof(*v))) == NULL) {
			free(index);
			return -1;
		}
		for (size_t i = 0; i < entries->cap; i++) {
			uint32_t c = entries->keys[i * AQ_MAX_BY + b];
			if (!entries->used[i] || c == SUP_ALL || index[c])
				continue;
			index[c] = 1;
			v[nv].code = c;
			v[nv].rank = -1;
			if (d->kind != Q_COL) {
				char lab[16];
				q_period_label(d->kind, c, lab, sizeof(lab));
				v[nv].label = strdup(lab);
				v[nv].rank = 0;	/* by code: time order */
			} else {
				const char *name = r->sch.dims[d->dim].name;
				const char *lab = c == 0 ? "" :
				    astore_value(r->as, form_id(r->f), name, c);
				v[nv].label = strdup(lab ? lab : "?");
				if (c != 0)
					v[nv].rank = form_cdim_rank(r->f, name,
					    v[nv].label);
				if (v[nv].rank < 0)
					v[nv].rank = c == 0 ? Q_RANK_BLANK :
					    Q_RANK_TEXT;
			}
			if (v[nv].label == NULL) {
				r->failed = 1;
				v[nv].rank = 0;
			}
			nv++;
		}
		qsort(v, nv, sizeof(*v), q_val_cmp);
		res->values[b] = calloc(nv ? nv : 1, sizeof(char *));
		res->n_values[b] = nv;
		for (size_t i = 0; i < nv; i++) {
			index[v[i].code] = (uint32_t)i;
			if (res->values[b])
				res->values[b][i] = v[i].label;
			else
				free(v[i].label);
		}
		for (size_t i = 0; i < res->n_entries; i++) {
			uint32_t *c = &res->e[i].coord[b];
			if (*c != SUP_ALL)
				*c = index[*c];
		}
		free(index);
		free(v);
		if (res->values[b] == NULL || r->failed)
			return -1;
	}
	return 0;
}

/* Makes the result's entries from the groups; zero cells fill a two-way
   grid, which suppression may need. */
static int
q_result(struct qrun *r, struct aresult *res, char *err, size_t errlen)
{
	struct qmap entries;
	unsigned masks[4];
	size_t nshapes = q_shapes(r->n_by, masks);
	uint32_t coord[AQ_MAX_BY];
	size_t k = 0;

	if (qmap_init(&entries, r->nm, 1024) != 0)
		return -1;
	for (size_t i = 0; i < r->groups.cap; i++) {
		if (!r->groups.used[i])
			continue;
		for (size_t s = 0; s < nshapes; s++) {
			memset(coord, 0, sizeof(coord));
			if (q_expand(r, &entries, r->groups.keys + i * AQ_MAX_BY,
			    r->groups.sums + i * r->nm, masks[s], 0,
			    coord) != 0) {
				qmap_free(&entries);
				return -1;
			}
		}
	}
	/* The grand total is there even when nothing matched. */
	memset(coord, 0, sizeof(coord));
	for (size_t b = 0; b < r->n_by; b++)
		coord[b] = SUP_ALL;
	if (qmap_get(&entries, coord) == NULL) {
		qmap_free(&entries);
		return -1;
	}
	if (r->n_by == 2) {
		/* complete the grid */
		size_t n0 = 0, n1 = 0;
		uint32_t *v0 = calloc(entries.n + 1, sizeof(*v0));
		uint32_t *v1 = calloc(entries.n + 1, sizeof(*v1));
		int ok = v0 && v1;

		for (size_t i = 0; ok && i < entries.cap; i++) {
			const uint32_t *c = entries.keys + i * AQ_MAX_BY;
			if (!entries.used[i])
				continue;
			if (c[0] != SUP_ALL && c[1] == SUP_ALL)
				v0[n0++] = c[0];
			if (c[1] != SUP_ALL && c[0] == SUP_ALL)
				v1[n1++] = c[1];
		}
		if (ok && n0 * n1 > AQ_MAX_GRID) {
			free(v0);
			free(v1);
			qmap_free(&entries);
			snprintf(err, errlen, "by: a table of %zu x %zu cells is "
			    "too large (at most %d); narrow the dates or filter",
			    n0, n1, AQ_MAX_GRID);
			return -2;
		}
		for (size_t i = 0; ok && i < n0; i++)
			for (size_t j = 0; ok && j < n1; j++) {
				memset(coord, 0, sizeof(coord));
				coord[0] = v0[i];
				coord[1] = v1[j];
				ok = qmap_get(&entries, coord) != NULL;
			}
		free(v0);
		free(v1);
		if (!ok) {
			qmap_free(&entries);
			return -1;
		}
	}
	res->e = calloc(entries.n, sizeof(*res->e));
	if (res->e == NULL) {
		qmap_free(&entries);
		return -1;
	}
	for (size_t i = 0; i < entries.cap; i++) {
		struct aentry *e = &res->e[k];
		if (!entries.used[i])
			continue;
		memcpy(e->coord, entries.keys + i * AQ_MAX_BY,
		    sizeof(e->coord));
		e->v = malloc((r->nm ? r->nm : 1) * sizeof(*e->v));
		e->st = calloc(r->nm ? r->nm : 1, sizeof(*e->st));
		k++;
		res->n_entries = k;
		if (e->v == NULL || e->st == NULL) {
			qmap_free(&entries);
			return -1;
		}
		memcpy(e->v, entries.sums + i * r->nm, r->nm * sizeof(*e->v));
		int cell = 1;
		for (size_t b = 0; b < r->n_by; b++)
			cell &= e->coord[b] != SUP_ALL;
		res->n_cells += cell;
	}
	if (q_order(r, res, &entries) != 0) {
		qmap_free(&entries);
		return -1;
	}
	qmap_free(&entries);
	qsort(res->e, res->n_entries, sizeof(*res->e), q_entry_cmp);
	return 0;
}

/* Suppresses each measure that counts people, unless an analyst asks. */
static int
q_suppress(struct aresult *res)
{
	struct sup_entry *se;

	if (res->q.threshold <= 1 || res->n_entries == 0)
		return 0;
	if ((se = calloc(res->n_entries, sizeof(*se))) == NULL)
		return -1;
	for (size_t m = 0; m < res->n_measures; m++) {
		size_t n = 0;
		size_t map_n = 0;

		if (!res->measures[m].suppress)
			continue;
		for (size_t i = 0; i < res->n_entries; i++) {
			struct aentry *e = &res->e[i];
			int cell = 1;
			for (size_t b = 0; b < res->q.n_by; b++)
				cell &= e->coord[b] != SUP_ALL;
			/* beyond two dimensions only non-zero cells count */
			if (res->q.n_by >= 3 && cell && e->v[m] == 0)
				continue;
			se[n].coord = e->coord;
			se[n].value = e->v[m];
			se[n].state = SUP_SHOWN;
			n++;
		}
		if (sup_apply(se, n, res->q.n_by, res->q.threshold) != 0) {
			/* nothing released by mistake: every value hidden */
			for (size_t i = 0; i < n; i++)
				se[i].state = SUP_PRIMARY;
		}
		for (size_t i = 0; i < res->n_entries; i++) {
			struct aentry *e = &res->e[i];
			int cell = 1;
			for (size_t b = 0; b < res->q.n_by; b++)
				cell &= e->coord[b] != SUP_ALL;
			if (res->q.n_by >= 3 && cell && e->v[m] == 0)
				continue;
			e->st[m] = se[map_n++].state;
			if (e->st[m] != SUP_SHOWN)
				res->n_suppressed++;
		}
	}
	free(se);
	return 0;
}

int
aquery_run(struct astore *as, const struct form_catalog *cat,
    const struct aquery *q, struct aresult **out, char *err, size_t errlen)
{
	struct qrun *r = calloc(1, sizeof(*r));
	struct aresult *res = calloc(1, sizeof(*res));
	int rc = -1, sr;

	*out = NULL;
	if (r == NULL || res == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r->as = as;
	r->q = q;
	if ((r->f = form_catalog_get(cat, q->form, NULL)) == NULL ||
	    form_cschema(r->f, &r->sch) != 0) {
		snprintf(err, errlen, "form: %s is not a form with counts",
		    q->form);
		goto out;
	}
	r->from = 0;
	r->to = UINT32_MAX;
	if (q->from[0] && (r->from = (uint32_t)astore_day(q->from)) ==
	    (uint32_t)-1) {
		snprintf(err, errlen, "from: not a date YYYY-MM-DD");
		goto out;
	}
	if (q->to[0] && (r->to = (uint32_t)astore_day(q->to)) ==
	    (uint32_t)-1) {
		snprintf(err, errlen, "to: not a date YYYY-MM-DD");
		goto out;
	}
	if (r->from > r->to) {
		snprintf(err, errlen, "from: after to");
		goto out;
	}
	if (q_plan(r, q, err, errlen) != 0)
		goto out;
	res->q = *q;
	res->generation = astore_meta(as, "generation");
	res->perturbed = r->wcol >= 0;
	for (size_t i = 0, k = 0; i < r->sch.n_measures; i++) {
		if (r->level && r->sch.measures[i].kind != FORM_M_ITEMS)
			continue;
		res->measures[k++] = r->sch.measures[i];
		res->n_measures = k;
	}
	if ((r->month = calloc(0x10000, sizeof(*r->month))) == NULL ||
	    qmap_init(&r->groups, r->nm, 1024) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (r->place_col >= 0) {
		r->latest_pass = 1;
		if (astore_scan(as, q->form, 0, r->from, r->to, r->ncols,
		    r->colnames, q_chunk, r) != 0) {
			snprintf(err, errlen, "reading the analysis tables: %s",
			    astore_errmsg(as));
			goto out;
		}
		r->latest_pass = 0;
		r->row = 0;
	}
	if (astore_scan(as, q->form, r->level, r->from, r->to, r->ncols,
	    r->colnames, q_chunk, r) != 0) {
		if (r->noweight)
			snprintf(err, errlen, "reading the analysis tables: "
			    "rows without keys; run collectctl analyse");
		else
			snprintf(err, errlen, "reading the analysis tables: %s",
			    astore_errmsg(as));
		goto out;
	}
	if ((sr = q_result(r, res, err, errlen)) != 0) {
		if (sr == -1)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (q_suppress(res) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	if (r) {
		qmap_free(&r->groups);
		free(r->month);
		free(r->best);
		free(r->best_day);
		free(r);
	}
	aresult_free(res);
	return rc;
}

void
aresult_free(struct aresult *r)
{
	if (r == NULL)
		return;
	for (size_t b = 0; b < AQ_MAX_BY; b++) {
		for (size_t i = 0; r->values[b] && i < r->n_values[b]; i++)
			free(r->values[b][i]);
		free(r->values[b]);
	}
	for (size_t i = 0; i < r->n_entries; i++) {
		free(r->e[i].v);
		free(r->e[i].st);
	}
	free(r->e);
	free(r);
}

int
aquery_set_by(struct aquery *q, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	q->n_by = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= AQ_NAME_MAX) {
			snprintf(err, errlen, "by: a dimension name is empty or "
			    "too long");
			return -1;
		}
		if (q->n_by == AQ_MAX_BY) {
			snprintf(err, errlen, "by: at most %d dimensions",
			    AQ_MAX_BY);
			return -1;
		}
		snprintf(q->by[q->n_by++], AQ_NAME_MAX, "%.*s", (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int
aquery_add_where(struct aquery *q, const char *spec, char *err,
    size_t errlen)
{
	size_t len = strcspn(spec, "=:");

	if (spec[len] == '\0' || len == 0 || len >= AQ_NAME_MAX ||
	    strlen(spec + len + 1) >= AQ_NAME_MAX) {
		snprintf(err, errlen, "where: write DIM=VALUE (each at most %d "
		    "characters)", AQ_NAME_MAX - 1);
		return -1;
	}
	if (q->n_where == AQ_MAX_WHERE) {
		snprintf(err, errlen, "where: at most %d filters",
		    AQ_MAX_WHERE);
		return -1;
	}
	snprintf(q->where[q->n_where].dim, AQ_NAME_MAX, "%.*s", (int)len,
	    spec);
	snprintf(q->where[q->n_where].value, AQ_NAME_MAX, "%s",
	    spec + len + 1);
	q->n_where++;
	return 0;
}
