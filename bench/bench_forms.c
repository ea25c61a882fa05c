/*
 * bench_forms LARGE.xlsx RECORD.json OUT.json: the forms core on a form as
 * large as real needs assessments get (bench/make_form.py: 550 fields,
 * 100 lists, a 2,000-place cascade).
 *
 *   1. Converting the workbook into a checked definition (what `collectctl
 *      form check|add` does: read, convert, check as a whole), against
 *      reading the same workbook's sheets alone.  Budget: under 1 s.
 *   2. Validating a 550-field record of it, against parsing the record's
 *      JSON text.  Budget: under 1 ms.
 *
 * OUT.json gets the definition, for bench_fieldd's memory figure with the
 * form loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "common/util.h"
#include "form/form.h"
#include "form/form_file.h"
#include "form/xlsform.h"
#include "form/xlsx.h"

#define CONVERT_RUNS 9
#define VALIDATE_RUNS 2000

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Reading every sheet of the workbook, the baseline of a conversion. */
static int
read_sheets(const char *path)
{
	char err[512];
	struct xlsx *x = xlsx_open_file(path, err, sizeof(err));
	size_t cells = 0;

	if (x == NULL)
		return -1;
	for (size_t i = 0; i < xlsx_sheet_count(x); i++) {
		xlsx_sheet_read(x, i, err, sizeof(err));
		for (size_t r = 0; r < xlsx_row_count(x, i); r++)
			cells += xlsx_row(x, i, r)->n_cells;
	}
	xlsx_free(x);
	return cells > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	double tc[CONVERT_RUNS], tr[CONVERT_RUNS], tv[VALIDATE_RUNS],
	    tp[VALIDATE_RUNS];
	char err[4096], notes[XLSFORM_NOTES_MAX], *json = NULL, *rec_text;
	struct form_errors *errs = malloc(sizeof(*errs));
	struct form_summary s;
	struct form *f = NULL;
	size_t len, rec_len;
	json_t *rec;
	char today[11];

	util_date(util_now_ms(), today);
	if (argc != 4) {
		fprintf(stderr, "usage: bench_forms LARGE.xlsx RECORD.json "
		    "OUT.json\n");
		return 2;
	}
	for (int i = 0; i < CONVERT_RUNS; i++) {
		double t0 = bench_now();

		if (read_sheets(argv[1]) != 0) {
			fprintf(stderr, "bench_forms: %s: not readable\n",
			    argv[1]);
			return 1;
		}
		tr[i] = bench_now() - t0;
		free(json);
		form_free(f);
		t0 = bench_now();
		if (form_file_load(argv[1], 0, &json, &len, &f, notes,
		    sizeof(notes), err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_forms: %s\n", err);
			return 1;
		}
		tc[i] = bench_now() - t0;
	}
	form_file_summary(f, &s);
	printf("form conversion: a %zu-field, %zu-list workbook (%zu choices) "
	    "read, converted and checked in %.1f ms (median of %d; budget "
	    "1000 ms), %.2fx reading its sheets alone (%.1f ms)\n", s.fields,
	    s.lists, s.choices, median(tc, CONVERT_RUNS) * 1e3, CONVERT_RUNS,
	    median(tc, CONVERT_RUNS) / median(tr, CONVERT_RUNS),
	    median(tr, CONVERT_RUNS) * 1e3);
	if (util_write_file(argv[3], json, len, 0644) != 0) {
		fprintf(stderr, "bench_forms: %s: cannot write\n", argv[3]);
		return 1;
	}

	if ((rec_text = util_read_file(argv[2], 1 << 20, &rec_len)) == NULL ||
	    (rec = json_loadb(rec_text, rec_len, 0, NULL)) == NULL) {
		fprintf(stderr, "bench_forms: %s: not a record\n", argv[2]);
		return 1;
	}
	memset(errs, 0, sizeof(*errs));
	if (form_validate(f, rec, today, errs) != 0) {
		fprintf(stderr, "bench_forms: the record is not valid: %s: %s\n",
		    errs->e[0].path, errs->e[0].reason);
		return 1;
	}
	for (int i = 0; i < VALIDATE_RUNS; i++) {
		double t0 = bench_now();
		json_t *again = json_loadb(rec_text, rec_len, 0, NULL);

		tp[i] = bench_now() - t0;
		json_decref(again);
		memset(errs, 0, sizeof(*errs));
		t0 = bench_now();
		form_validate(f, rec, today, errs);
		tv[i] = bench_now() - t0;
	}
	printf("record validation: a %zu-field record in %.1f us (median of "
	    "%d; budget 1000 us), %.2fx parsing its JSON (%.1f us)\n",
	    json_object_size(rec), median(tv, VALIDATE_RUNS) * 1e6,
	    VALIDATE_RUNS, median(tv, VALIDATE_RUNS) / median(tp,
	    VALIDATE_RUNS), median(tp, VALIDATE_RUNS) * 1e6);
	json_decref(rec);
	free(rec_text);
	free(errs);
	free(json);
	form_free(f);
	return 0;
}
