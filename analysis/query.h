/*
 * query.h: counts from the analysis tables (astore.h), for collectctl
 * counts and collectord's /counts.  One query: a form, up to AQ_MAX_BY
 * dimensions to break the counts down by, an optional date range (the
 * form's date field, inclusive) and filters.  Besides the form's own
 * dimensions (form_cschema: the place field and the declared ones) there
 * are the time dimensions day (2026-11-29), week (ISO, 2026-W48) and
 * month (2026-11).
 *
 * What is counted: each measure of the form, summed over the records
 * that match; for a form counted by its latest record per place (site
 * assessments) only the latest record of each place within the dates,
 * never the sum of several rounds.  With a dimension of the counted
 * repeat (sex, age band of household members) the rows counted are the
 * items, and the measures are those that count items (individuals).
 *
 * Shown: the cells (for a select_multiple, one per value chosen: one
 * person with two vulnerabilities is in two cells), and the totals
 * suppress.h describes for the table's shape, each counting a record or
 * item once.  A value left blank is the cell "".  Unless the query is an
 * analyst's (threshold <= 1), every measure that counts people is
 * perturbed by its rows' keys (perturb.h) and then suppressed as
 * suppress.h says, on the perturbed values: no value from 1 to the
 * threshold - 1 is shown.  Perturbed counts add up: a total is the sum of
 * its cells (perturbed, suppressed or not), as exact counts are, where a
 * dimension takes one value per row.  An analyst's counts are exact.
 *
 * Ownership: struct aresult owns everything in it; aresult_free.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/astore.h"
#include "form/form.h"
#include "form/suppress.h"

#define AQ_MAX_BY 4
#define AQ_MAX_WHERE 8
#define AQ_NAME_MAX 64
#define AQ_MAX_GRID 1000000	/* cells of a two-dimension table */

struct aquery {
	char form[FORM_ID_MAX + 1];
	size_t n_by;
	char by[AQ_MAX_BY][AQ_NAME_MAX];
	char from[11], to[11];		/* YYYY-MM-DD, or "" */
	size_t n_where;
	struct {
		char dim[AQ_NAME_MAX];
		char value[AQ_NAME_MAX];
	} where[AQ_MAX_WHERE];
	int64_t threshold;		/* <= 1: an analyst's, unsuppressed */
};

struct aentry {
	uint32_t coord[AQ_MAX_BY];	/* index into values[d], or SUP_ALL */
	int64_t *v;			/* per measure */
	enum sup_state *st;		/* per measure */
};

struct aresult {
	struct aquery q;
	int64_t generation;		/* of the analysis tables read */
	size_t n_measures;
	struct form_cmeasure measures[FORM_CMEASURE_MAX];
	size_t n_values[AQ_MAX_BY];
	char **values[AQ_MAX_BY];	/* each dimension's values, in order */
	size_t n_cells;			/* entries [0, n_cells) are cells, */
	size_t n_entries;		/* the rest totals, coarsest last */
	struct aentry *e;
	size_t n_suppressed;		/* measure values suppressed */
	int perturbed;			/* some measure is (perturb.h) */
};

/*
 * Parses one "DIM=VALUE" (or "DIM:VALUE") filter, or a comma list of
 * dimensions, into q.  0 or -1 with err naming what is wrong.
 */
int aquery_add_where(struct aquery *q, const char *spec, char *err,
    size_t errlen);
int aquery_set_by(struct aquery *q, const char *list, char *err,
    size_t errlen);

/*
 * Runs q against the analysis tables as, with the form definitions of
 * cat (the current version of q->form names its dimensions and
 * measures).  0 and *out, or -1 with err naming the parameter at fault
 * (an unknown form or dimension, a bad date) or what failed.
 */
int aquery_run(struct astore *as, const struct form_catalog *cat,
    const struct aquery *q, struct aresult **out, char *err, size_t errlen);
void aresult_free(struct aresult *r);

/* The form's dimensions a query may name, time dimensions included, as
   "a, b, c" (for an error message or a listing). */
void aquery_dims(const struct form *f, char *out, size_t outlen);

#endif
