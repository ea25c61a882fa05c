/*
 * test_form_counts.c: the count cells each shipped form declares.  A
 * household of three counts once as a household and three times as
 * individuals, each member under its own sex, age band and
 * vulnerabilities; a site assessment contributes its population sums and
 * is counted latest-per-site; a visit counts once under each of its
 * dimensions.  Totals have dim "" and value "".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/embedded.h"
#include "form/form.h"

#include "tests/unit/form_samples.h"

static struct form_catalog *cat;

static int
group_setup(void **state)
{
	if ((cat = samples_catalog()) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	form_catalog_free(cat);
	return 0;
}

static const struct form *
shipped(const char *id)
{
	const struct form *f = form_catalog_get(cat, id, NULL);

	assert_non_null(f);
	return f;
}

/* Counts of a record, which must first be valid. */
static void
count(const char *id, json_t *rec, struct form_counts *c)
{
	struct form_errors errs = { 0 };

	if (form_validate(shipped(id), rec, TODAY, &errs) != 0)
		fail_msg("%s: sample invalid: %s: %s", id, errs.e[0].path,
		    errs.e[0].reason);
	assert_int_equal(form_counts(shipped(id), rec, c), 0);
}

/* The n of cell (dim, value, measure), or -1 when there is none. */
static int64_t
cell(const struct form_counts *c, const char *dim, const char *value,
    const char *measure)
{
	int64_t n = -1;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->c[i].dim, dim) == 0 &&
		    strcmp(c->c[i].value, value) == 0 &&
		    strcmp(c->c[i].measure, measure) == 0) {
			if (n != -1)
				fail_msg("cell %s=%s %s twice", dim, value,
				    measure);
			n = c->c[i].n;
		}
	return n;
}

static void
assert_day_place(const struct form_counts *c, const char *day,
    const char *place)
{
	for (size_t i = 0; i < c->n; i++) {
		assert_string_equal(c->c[i].day, day);
		assert_string_equal(c->c[i].place, place);
		assert_true(c->c[i].n > 0);
	}
}

static void
test_household(void **state)
{
	struct form_counts c;
	json_t *rec = samples_load(household_sample);

	count("dtm_household", rec, &c);
	assert_day_place(&c, "2026-11-20", "SS-001");
	/* totals */
	assert_int_equal(cell(&c, "", "", "households"), 1);
	assert_int_equal(cell(&c, "", "", "individuals"), 3);
	/* record-level dimensions count the household and its people */
	assert_int_equal(cell(&c, "admin1", "SS01", "households"), 1);
	assert_int_equal(cell(&c, "admin1", "SS01", "individuals"), 3);
	assert_int_equal(cell(&c, "admin2", "SS0101", "households"), 1);
	assert_int_equal(cell(&c, "admin2", "SS0101", "individuals"), 3);
	assert_int_equal(cell(&c, "intention", "stay", "households"), 1);
	assert_int_equal(cell(&c, "intention", "stay", "individuals"), 3);
	assert_int_equal(cell(&c, "need", "food", "households"), 1);
	assert_int_equal(cell(&c, "need", "shelter", "individuals"), 3);
	assert_int_equal(cell(&c, "need", "water", "households"), -1);
	/* member-level dimensions count individuals only */
	assert_int_equal(cell(&c, "sex", "female", "individuals"), 2);
	assert_int_equal(cell(&c, "sex", "male", "individuals"), 1);
	assert_int_equal(cell(&c, "sex", "female", "households"), -1);
	assert_int_equal(cell(&c, "sex", "male", "households"), -1);
	assert_int_equal(cell(&c, "age_band", "0-4", "individuals"), 1);
	assert_int_equal(cell(&c, "age_band", "18-59", "individuals"), 1);
	assert_int_equal(cell(&c, "age_band", "60+", "individuals"), 1);
	assert_int_equal(cell(&c, "age_band", "5-11", "individuals"), -1);
	assert_int_equal(cell(&c, "age_band", "18-59", "households"), -1);
	assert_int_equal(cell(&c, "vulnerability", "pregnant_lactating",
	    "individuals"), 1);
	assert_int_equal(cell(&c, "vulnerability", "disability",
	    "individuals"), 1);
	assert_int_equal(cell(&c, "vulnerability", "elderly_alone",
	    "individuals"), 1);
	assert_int_equal(cell(&c, "vulnerability", "disability",
	    "households"), -1);
	/* no names, ever: nothing of the consent-only fields is a cell */
	for (size_t i = 0; i < c.n; i++) {
		assert_null(strstr(c.c[i].value, "Amina"));
		assert_null(strstr(c.c[i].value, "+211"));
	}
	form_counts_free(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.c);
	json_decref(rec);
}

/* Every band edge lands in its band: two members per band. */
static void
test_age_bands(void **state)
{
	static const int ages[] = { 0, 4, 5, 11, 12, 17, 18, 59, 60, 120 };
	static const char *bands[] = { "0-4", "5-11", "12-17", "18-59",
	    "60+" };
	struct form_counts c;
	json_t *rec = samples_load(household_sample), *members = json_array();

	for (size_t i = 0; i < 10; i++)
		json_array_append_new(members, json_pack("{s:s, s:i, s:s}",
		    "sex", i % 2 ? "male" : "female", "age_years", ages[i],
		    "relationship", i == 0 ? "head" : "child"));
	json_object_set_new(rec, "members", members);
	json_object_set_new(rec, "consent", json_string("no"));
	json_object_del(rec, "head_name");
	json_object_del(rec, "phone");
	count("dtm_household", rec, &c);
	assert_int_equal(cell(&c, "", "", "individuals"), 10);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(cell(&c, "age_band", bands[i], "individuals"),
		    2);
	assert_int_equal(cell(&c, "sex", "female", "individuals"), 5);
	assert_int_equal(cell(&c, "sex", "male", "individuals"), 5);
	form_counts_free(&c);
	json_decref(rec);
}

/* Optional dimensions left out give no cells; the ODK string form of a
   select_multiple counts as its array would. */
static void
test_household_minimal(void **state)
{
	struct form_counts c;
	json_t *rec = samples_load("{\"site_id\": \"SS-002\", \"admin1\": \"SS01\","
	    " \"admin2\": \"SS0102\", \"registration_date\": \"2026-11-01\","
	    " \"consent\": \"no\", \"members\": [{\"sex\": \"male\","
	    " \"age_years\": 40, \"relationship\": \"head\","
	    " \"vulnerabilities\": \"disability chronic_illness\"}]}");

	count("dtm_household", rec, &c);
	assert_day_place(&c, "2026-11-01", "SS-002");
	assert_int_equal(cell(&c, "", "", "households"), 1);
	assert_int_equal(cell(&c, "", "", "individuals"), 1);
	assert_int_equal(cell(&c, "vulnerability", "disability",
	    "individuals"), 1);
	assert_int_equal(cell(&c, "vulnerability", "chronic_illness",
	    "individuals"), 1);
	for (size_t i = 0; i < c.n; i++) {
		assert_string_not_equal(c.c[i].dim, "intention");
		assert_string_not_equal(c.c[i].dim, "need");
	}
	form_counts_free(&c);
	json_decref(rec);
}

static void
test_site(void **state)
{
	static const struct {
		const char *measure;
		int64_t n;
	} sums[] = {
		{ "sites", 1 }, { "households", 100 }, { "individuals", 500 },
		{ "females_0_4", 50 }, { "females_18_59", 120 },
		{ "males_0_4", 45 }, { "males_18_59", 100 },
		{ "males_60_plus", 10 }, { "pregnant_lactating", 3 },
		{ "unaccompanied_children", 2 }, { "separated_children", 4 },
		{ "elderly_alone", 1 }, { "persons_with_disabilities", 6 },
		{ "chronic_illness", 7 }, { "arrivals_last_7_days", 5 },
		{ "departures_last_7_days", 1 },
	};
	static const char *dims[][2] = { { "", "" }, { "admin1", "SS01" },
	    { "admin2", "SS0101" }, { "site_type", "camp" },
	    { "displacement_reason", "conflict" }, { "need", "food" },
	    { "need", "water" } };
	const size_t nsums = sizeof(sums) / sizeof(sums[0]);
	struct form_counts c;
	json_t *rec = samples_load(site_sample);

	assert_string_equal(form_latest_by(shipped("dtm_site_assessment")),
	    "site_id");
	count("dtm_site_assessment", rec, &c);
	assert_day_place(&c, "2026-11-20", "SS-001");
	for (size_t d = 0; d < 7; d++)
		for (size_t i = 0; i < nsums; i++)
			assert_int_equal(cell(&c, dims[d][0], dims[d][1],
			    sums[i].measure), sums[i].n);
	/* zero and absent fields make no cells */
	assert_int_equal(cell(&c, "", "", "females_5_11"), -1);
	assert_int_equal(c.n, 7 * nsums);
	form_counts_free(&c);

	/* the next round of the same site: same place, its own numbers */
	json_object_set_new(rec, "assessment_date", json_string("2026-11-27"));
	json_object_set_new(rec, "population_individuals",
	    json_integer(640));
	json_object_set_new(rec, "priority_needs", json_string("shelter"));
	count("dtm_site_assessment", rec, &c);
	assert_day_place(&c, "2026-11-27", "SS-001");
	assert_int_equal(cell(&c, "", "", "individuals"), 640);
	assert_int_equal(cell(&c, "need", "shelter", "individuals"), 640);
	assert_int_equal(cell(&c, "need", "food", "individuals"), -1);
	form_counts_free(&c);
	json_decref(rec);
}

static void
test_mrc(void **state)
{
	static const char *dims[][2] = { { "", "" }, { "sex", "female" },
	    { "age_band", "18-59" }, { "nationality", "NPL" },
	    { "migration_stage", "pre_departure" },
	    { "reason", "contract_review" }, { "reason", "recruitment_fees" },
	    { "service", "information" }, { "service", "referral" },
	    { "referral", "legal_aid" } };
	const size_t ndims = sizeof(dims) / sizeof(dims[0]);
	struct form_counts c;
	json_t *rec = samples_load(mrc_sample);

	assert_null(form_latest_by(shipped("mrc_visit")));
	count("mrc_visit", rec, &c);
	assert_day_place(&c, "2026-11-20", "MRC-KTM-01");
	for (size_t i = 0; i < ndims; i++)
		assert_int_equal(cell(&c, dims[i][0], dims[i][1], "visits"), 1);
	/* the client code is never a dimension */
	for (size_t i = 0; i < c.n; i++) {
		assert_string_equal(c.c[i].measure, "visits");
		assert_string_not_equal(c.c[i].value, "AB12");
	}
	form_counts_free(&c);

	/* age 10 and 100 fall in the form's bands too */
	json_object_set_new(rec, "age_years", json_integer(10));
	count("mrc_visit", rec, &c);
	assert_int_equal(cell(&c, "age_band", "5-11", "visits"), 1);
	form_counts_free(&c);
	json_object_set_new(rec, "age_years", json_integer(100));
	count("mrc_visit", rec, &c);
	assert_int_equal(cell(&c, "age_band", "60+", "visits"), 1);
	form_counts_free(&c);
	json_decref(rec);
}

static void
test_latest_by(void **state)
{
	assert_string_equal(form_latest_by(shipped("dtm_site_assessment")),
	    "site_id");
	assert_null(form_latest_by(shipped("dtm_household")));
	assert_null(form_latest_by(shipped("mrc_visit")));
}

/* A form that declares no counts is counted by default: records, by
   its place field, its day (today, start ... or the first date) and
   each select_one outside repeats. */
static struct form *
parse_ok(const char *def)
{
	struct form *f;
	char err[256];

	if (form_parse(def, strlen(def), &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return f;
}

#define CHOICES(list) \
	"{\"list_name\": \"" list "\", \"name\": \"a\", \"label\": \"A\"}," \
	"{\"list_name\": \"" list "\", \"name\": \"b\", \"label\": \"B\"}"

struct facts_seen {
	char dims[8][64];
};

static int
facts_fn(void *arg, long item, size_t dim, const char *value)
{
	struct facts_seen *s = arg;

	assert_int_equal(item, -1);
	assert_true(dim < 8);
	snprintf(s->dims[dim], sizeof(s->dims[dim]), "%s", value);
	return 0;
}

static void
test_default_counts(void **state)
{
	static const char def[] = "{\"form_id\": \"plain\", \"version\": \"1\","
	    " \"survey\": ["
	    " {\"type\": \"start\", \"name\": \"start\"},"
	    " {\"type\": \"date\", \"name\": \"dob\"},"
	    " {\"type\": \"today\", \"name\": \"today\"},"
	    " {\"type\": \"select_one l\", \"name\": \"admin1\"},"
	    " {\"type\": \"select_one l\", \"name\": \"admin2\"},"
	    " {\"type\": \"select_one l\", \"name\": \"site_type\"},"
	    " {\"type\": \"select_one l\", \"name\": \"site_id\"},"
	    " {\"type\": \"text\", \"name\": \"comment\"},"
	    " {\"type\": \"select_multiple l\", \"name\": \"needs\"},"
	    " {\"type\": \"begin_repeat\", \"name\": \"members\"},"
	    " {\"type\": \"select_one l\", \"name\": \"sex\"},"
	    " {\"type\": \"end_repeat\"}],"
	    " \"choices\": [" CHOICES("l") "]}";
	struct form *f = parse_ok(def);
	struct form_cschema sch;
	struct form_counts c;
	struct facts_seen seen;
	int64_t m[FORM_CMEASURE_MAX];
	char day[11];
	size_t n_items;
	json_t *rec = samples_load("{\"start\": \"2026-11-20T09:00:00.000+03:00\","
	    " \"today\": \"2026-11-21\", \"dob\": \"1990-01-01\","
	    " \"admin1\": \"a\", \"admin2\": \"b\", \"site_type\": \"a\","
	    " \"site_id\": \"b\", \"comment\": \"x\", \"needs\": \"a b\","
	    " \"members\": [{\"sex\": \"a\"}, {\"sex\": \"b\"}]}");
	struct form_errors errs = { 0 };

	if (form_validate(f, rec, TODAY, &errs) != 0)
		fail_msg("%s: %s", errs.e[0].path, errs.e[0].reason);
	assert_null(form_latest_by(f));
	assert_int_equal(form_cschema(f, &sch), 0);
	assert_true(sch.by_default);
	assert_true(sch.place);
	assert_false(sch.latest);
	assert_string_equal(sch.date, "today");
	/* the place (site_id, not site_type: a type is no place), then
	   every other select_one outside the repeat */
	assert_int_equal(sch.n_dims, 4);
	assert_string_equal(sch.dims[0].name, "site_id");
	assert_string_equal(sch.dims[1].name, "admin1");
	assert_string_equal(sch.dims[2].name, "admin2");
	assert_string_equal(sch.dims[3].name, "site_type");
	assert_int_equal(sch.n_measures, 1);
	assert_string_equal(sch.measures[0].name, "records");
	assert_int_equal(sch.measures[0].kind, FORM_M_RECORDS);
	assert_true(sch.measures[0].suppress);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(form_facts(f, rec, day, m, &n_items, facts_fn,
	    &seen), 0);
	assert_string_equal(day, "2026-11-21");
	assert_int_equal(m[0], 1);
	assert_string_equal(seen.dims[0], "b");
	assert_string_equal(seen.dims[1], "a");
	assert_string_equal(seen.dims[2], "b");
	assert_string_equal(seen.dims[3], "a");

	assert_int_equal(form_counts(f, rec, &c), 0);
	assert_int_equal(cell(&c, "", "", "records"), 1);
	assert_int_equal(cell(&c, "admin2", "b", "records"), 1);
	assert_int_equal(cell(&c, "sex", "a", "records"), -1);
	assert_string_equal(c.c[0].day, "2026-11-21");
	assert_string_equal(c.c[0].place, "b");
	form_counts_free(&c);
	form_free(f);
	json_decref(rec);
}

/* Which field is the place, which the day, in forms without counts. */
static void
test_default_place_and_day(void **state)
{
	static const struct {
		const char *survey, *place, *date;
	} cases[] = {
	    /* the deepest admin level when nothing names a site */
	    { "{\"type\": \"select_one l\", \"name\": \"admin1\"},"
	      "{\"type\": \"select_one l\", \"name\": \"admin2\"},"
	      "{\"type\": \"date\", \"name\": \"visit_date\"}",
	      "admin2", "visit_date" },
	    /* a camp's name (text), not a select of the camp's type */
	    { "{\"type\": \"select_one l\", \"name\": \"camp_type\"},"
	      "{\"type\": \"text\", \"name\": \"camp_name\"},"
	      "{\"type\": \"end\", \"name\": \"end\"}",
	      "camp_name", "end" },
	    /* a village before an admin area, whatever the order */
	    { "{\"type\": \"select_one l\", \"name\": \"adm3_pcode\"},"
	      "{\"type\": \"text\", \"name\": \"Village\"}",
	      "Village", "" },
	    /* nothing that names a place; an integer is never one */
	    { "{\"type\": \"integer\", \"name\": \"site\"},"
	      "{\"type\": \"text\", \"name\": \"administrator\"},"
	      "{\"type\": \"select_one l\", \"name\": \"sites_visited\"}",
	      "", "" },
	};
	char def[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct form_cschema sch;
		struct form *f;

		snprintf(def, sizeof(def), "{\"form_id\": \"p%zu\", \"version\":"
		    " \"1\", \"survey\": [%s], \"choices\": [" CHOICES("l")
		    "]}", i, cases[i].survey);
		f = parse_ok(def);
		assert_int_equal(form_cschema(f, &sch), 0);
		assert_int_equal(sch.place, cases[i].place[0] != '\0');
		if (sch.place)
			assert_string_equal(sch.dims[0].name, cases[i].place);
		assert_string_equal(sch.date, cases[i].date);
		form_free(f);
	}
}

/* A form with no date and no place: counted, on no day of its own (the
   board and the collector use the day the record was made). */
static void
test_default_bare(void **state)
{
	static const char def[] = "{\"form_id\": \"plain\", \"version\": \"1\","
	    " \"survey\": [{\"type\": \"text\", \"name\": \"t\"}]}";
	struct form *f = parse_ok(def);
	struct form_counts c;
	struct form_cschema sch;
	json_t *rec = samples_load("{\"t\": \"x\"}");

	assert_null(form_latest_by(f));
	assert_int_equal(form_cschema(f, &sch), 0);
	assert_int_equal(sch.n_dims, 0);
	assert_false(sch.place);
	assert_int_equal(form_counts(f, rec, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(cell(&c, "", "", "records"), 1);
	assert_string_equal(c.c[0].day, "");
	assert_string_equal(c.c[0].place, "");
	form_counts_free(&c);
	form_free(f);
	json_decref(rec);
}

/* A declaration wins over the default. */
static void
test_declared_not_default(void **state)
{
	struct form_cschema sch;

	assert_int_equal(form_cschema(shipped("mrc_visit"), &sch), 0);
	assert_false(sch.by_default);
	assert_true(sch.place);
	assert_string_equal(sch.date, "visit_date");
	assert_string_equal(sch.dims[0].name, "centre_id");
}

/* A calculated age and household size count like integers: banded and
   summed, whether stored as numbers or as the text ODK sends. */
static void
test_calculated(void **state)
{
	static const char def[] = "{\"form_id\": \"calc\", \"version\": \"1\","
	    " \"survey\": ["
	    " {\"type\": \"date\", \"name\": \"day\"},"
	    " {\"type\": \"text\", \"name\": \"site\"},"
	    " {\"type\": \"date\", \"name\": \"dob\"},"
	    " {\"type\": \"calculate\", \"name\": \"age\","
	    "  \"calculation\": \"int((${day} - ${dob}) div 365.25)\"},"
	    " {\"type\": \"calculate\", \"name\": \"size\","
	    "  \"calculation\": \"2 + 1\"}],"
	    " \"settings\": {\"age_bands\": [{\"name\": \"0-17\", \"min\": 0,"
	    "  \"max\": 17}, {\"name\": \"18+\", \"min\": 18}]},"
	    " \"counts\": {\"date\": \"day\", \"place\": \"site\","
	    "  \"dimensions\": [{\"name\": \"age_band\", \"field\": \"age\","
	    "  \"bands\": \"age_bands\"}],"
	    "  \"measures\": [{\"name\": \"people\", \"sum\": \"size\"}]}}";
	static const char *const recs[] = {
	    "{\"day\": \"2026-12-01\", \"site\": \"S1\", \"dob\": "
	    "\"2000-01-01\", \"age\": \"26\", \"size\": \"3\"}",
	    "{\"day\": \"2026-12-01\", \"site\": \"S1\", \"dob\": "
	    "\"2000-01-01\", \"age\": 26, \"size\": 3.0}" };
	struct form *f;
	char err[256];

	if (form_parse(def, strlen(def), &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (size_t i = 0; i < 2; i++) {
		struct form_counts c;
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(recs[i]);

		if (form_validate(f, rec, "2026-12-06", &errs) != 0)
			fail_msg("%s: %s", errs.e[0].path, errs.e[0].reason);
		assert_int_equal(form_counts(f, rec, &c), 0);
		assert_int_equal(cell(&c, "", "", "people"), 3);
		assert_int_equal(cell(&c, "age_band", "18+", "people"), 3);
		form_counts_free(&c);
		json_decref(rec);
	}
	form_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_household),
		cmocka_unit_test(test_age_bands),
		cmocka_unit_test(test_household_minimal),
		cmocka_unit_test(test_site),
		cmocka_unit_test(test_mrc),
		cmocka_unit_test(test_latest_by),
		cmocka_unit_test(test_default_counts),
		cmocka_unit_test(test_default_place_and_day),
		cmocka_unit_test(test_default_bare),
		cmocka_unit_test(test_declared_not_default),
		cmocka_unit_test(test_calculated),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
