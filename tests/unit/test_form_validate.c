/*
 * test_form_validate.c: form_validate against the three shipped forms,
 * rule by rule.  Each shipped form has one valid sample record below; a
 * rule is tested by patching the sample so that exactly that rule breaks
 * and checking that exactly one error comes back, at the expected path,
 * with the expected reason, never quoting the value.  Rules with a null
 * path are the other way round: the patched record must still pass.
 * Built-in type checks are tested on a small form that has one field of
 * each type and no constraints.  The household's rules run once more on
 * the same form padded past the fields validate.c keeps a table for.
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
#include "form/form_impl.h"	/* n_fields */

#include "tests/unit/form_samples.h"

/* One field of each type, no constraints: the built-in checks alone. */
static const char types_def[] = "{"
    "\"form_id\": \"types\", \"version\": \"1\", \"title\": \"Types\","
    "\"survey\": ["
    " {\"type\": \"text\", \"name\": \"t\"},"
    " {\"type\": \"integer\", \"name\": \"i\"},"
    " {\"type\": \"decimal\", \"name\": \"d\"},"
    " {\"type\": \"date\", \"name\": \"dt\"},"
    " {\"type\": \"select_one colours\", \"name\": \"one\"},"
    " {\"type\": \"select_multiple colours\", \"name\": \"many\"},"
    " {\"type\": \"geopoint\", \"name\": \"g\"},"
    " {\"type\": \"begin_repeat\", \"name\": \"r\"},"
    " {\"type\": \"text\", \"name\": \"rt\", \"required\": \"yes\"},"
    " {\"type\": \"end_repeat\"}],"
    "\"choices\": ["
    " {\"list_name\": \"colours\", \"name\": \"red\", \"label\": \"Red\"},"
    " {\"list_name\": \"colours\", \"name\": \"green\", \"label\": \"Green\"},"
    " {\"list_name\": \"colours\", \"name\": \"blue\", \"label\": \"Blue\"}]}";

static struct form_catalog *cat;
static struct form *types_form;

static int
group_setup(void **state)
{
	char err[256];

	if ((cat = samples_catalog()) == NULL)
		return -1;
	if (form_parse(types_def, strlen(types_def), &types_form, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "types: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	form_catalog_free(cat);
	form_free(types_form);
	return 0;
}

static const struct form *
shipped(const char *id)
{
	const struct form *f = form_catalog_get(cat, id, NULL);

	assert_non_null(f);
	return f;
}

static const char *
sample(const char *id)
{
	if (strcmp(id, "dtm_site_assessment") == 0)
		return site_sample;
	if (strcmp(id, "dtm_household") == 0)
		return household_sample;
	return mrc_sample;
}

/*
 * A string value "@rep:N:s" in a patch stands for s repeated N times, so
 * the tables can hold long values.
 */
static json_t *
expand(json_t *v)
{
	const char *s = json_string_value(v);
	char *buf, *p;
	size_t n, len;

	if (s == NULL || strncmp(s, "@rep:", 5) != 0)
		return json_incref(v);
	n = strtoul(s + 5, &p, 10);
	p++;
	len = strlen(p);
	assert_non_null(buf = calloc(n * len + 1, 1));
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * len, p, len);
	v = json_string(buf);
	free(buf);
	return v;
}

/*
 * Applies a patch: a JSON object whose keys are "name" or "repeat[i].name"
 * (1-based); a null value deletes the key, any other value replaces it.
 */
static void
apply_patch(json_t *rec, const char *patch)
{
	json_t *p = samples_load(patch), *v;
	const char *key;

	json_object_foreach(p, key, v) {
		char name[64], sub[64];
		json_t *target = rec;
		const char *k = key;	/* the loop needs key itself */
		unsigned idx;

		if (sscanf(key, "%63[^[][%u].%63s", name, &idx, sub) == 3) {
			target = json_array_get(json_object_get(rec, name),
			    idx - 1);
			assert_non_null(target);
			k = sub;
		}
		if (json_is_null(v))
			json_object_del(target, k);
		else
			json_object_set_new(target, k, expand(v));
	}
	json_decref(p);
}

static void
dump_errors(const char *what, const struct form_errors *errs)
{
	fprintf(stderr, "%s: %zu error(s)\n", what, errs->n);
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "  %s: %s\n", errs->e[i].path,
		    errs->e[i].reason);
}

/* No string value of the patch (5 bytes or more) shows in any reason. */
static void
assert_private(const char *patch, const struct form_errors *errs)
{
	json_t *p = samples_load(patch), *v;
	const char *key;

	json_object_foreach(p, key, v) {
		json_t *x = expand(v);
		const char *s = json_string_value(x);

		for (size_t i = 0; s && strlen(s) >= 5 && i < errs->n; i++)
			if (strstr(errs->e[i].reason, s) != NULL)
				fail_msg("reason quotes the value: %s",
				    errs->e[i].reason);
		json_decref(x);
	}
	json_decref(p);
}

struct rule {
	const char *patch;
	const char *path;	/* the one error expected, or NULL: valid */
	const char *reason;	/* a substring of its reason */
};

/* The rules of sample id's form, against f (that form, or one like it). */
static void
check_rules_of(const struct form *f, const char *id, const struct rule *rules,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = &rules[i];
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(sample(id));
		int rc;

		apply_patch(rec, r->patch);
		rc = form_validate(f, rec, TODAY, &errs);
		json_decref(rec);
		if (r->path == NULL) {
			if (rc != 0 || errs.n != 0) {
				dump_errors(r->patch, &errs);
				fail_msg("%s: %s should be valid", id, r->patch);
			}
			continue;
		}
		if (rc != -1 || errs.n != 1 ||
		    strcmp(errs.e[0].path, r->path) != 0 ||
		    strstr(errs.e[0].reason, r->reason) == NULL) {
			dump_errors(r->patch, &errs);
			fail_msg("%s: %s: want one error %s: ...%s...", id,
			    r->patch, r->path, r->reason);
		}
		assert_private(r->patch, &errs);
	}
}

static void
check_rules(const char *id, const struct rule *rules, size_t n)
{
	check_rules_of(shipped(id), id, rules, n);
}

#define NRULES(a) (sizeof(a) / sizeof(a[0]))

static void
test_samples_valid(void **state)
{
	static const char *ids[] = { "dtm_site_assessment", "dtm_household",
	    "mrc_visit" };

	for (size_t i = 0; i < 3; i++) {
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(sample(ids[i]));

		if (form_validate(shipped(ids[i]), rec, TODAY, &errs) != 0) {
			dump_errors(ids[i], &errs);
			fail();
		}
		assert_int_equal(errs.n, 0);
		json_decref(rec);
	}
}

static void
test_site_rules(void **state)
{
	static const struct rule rules[] = {
		{ "{\"site_id\": null}", "site_id", "required" },
		{ "{\"site_id\": \"\"}", "site_id", "required" },
		{ "{\"site_id\": \"ab\"}", "site_id", "3 to 32" },
		{ "{\"site_id\": \"@rep:33:A\"}", "site_id", "3 to 32" },
		{ "{\"site_id\": \"@rep:32:A\"}", NULL, NULL },
		{ "{\"site_id\": \"ss-001\"}", "site_id", "3 to 32" },
		{ "{\"site_id\": 1234}", "site_id", "text" },
		{ "{\"site_name\": null}", "site_name", "required" },
		{ "{\"site_name\": \"@rep:101:x\"}", "site_name", "at most 100" },
		/* characters, not bytes */
		{ "{\"site_name\": \"@rep:100:\\u00e9\"}", NULL, NULL },
		{ "{\"site_type\": \"tent\"}", "site_type", "choices" },
		{ "{\"site_type\": null}", NULL, NULL },
		{ "{\"admin1\": null}", "admin1", "required" },
		{ "{\"admin1\": \"ss01\"}", "admin1", "P-code" },
		{ "{\"admin2\": null}", "admin2", "required" },
		{ "{\"admin2\": \"9999\"}", "admin2", "P-code" },
		{ "{\"location\": null}", NULL, NULL },
		{ "{\"location\": \"4.85 31.6 500 10\"}", NULL, NULL },
		{ "{\"location\": {\"latitude\": 91, \"longitude\": 0}}",
		    "location", "latitude" },
		{ "{\"location\": {\"latitude\": 1, \"longitude\": -181}}",
		    "location", "longitude" },
		{ "{\"location\": {\"latitude\": 1, \"longitude\": 2,"
		    " \"accuracy\": -1}}", "location", "accuracy" },
		{ "{\"location\": {\"latitude\": 1}}", "location", "point" },
		{ "{\"assessment_date\": null}", "assessment_date", "required" },
		{ "{\"assessment_date\": \"2026-11-29\"}", "assessment_date",
		    "future" },
		{ "{\"assessment_date\": \"" TODAY "\"}", NULL, NULL },
		{ "{\"assessment_date\": \"2026-02-29\"}", "assessment_date",
		    "date" },
		{ "{\"population_households\": null}", "population_households",
		    "required" },
		{ "{\"population_households\": -1}", "population_households",
		    "0 to 200000" },
		{ "{\"population_households\": 200001,"
		    " \"population_individuals\": 300000}",
		    "population_households", "0 to 200000" },
		{ "{\"population_households\": 200000,"
		    " \"population_individuals\": 300000}", NULL, NULL },
		{ "{\"population_households\": 1.5}", "population_households",
		    "whole number" },
		{ "{\"population_individuals\": null}", "population_individuals",
		    "required" },
		{ "{\"population_individuals\": 99}", "population_individuals",
		    "at least population_households" },
		{ "{\"population_individuals\": 2000000}", NULL, NULL },
		{ "{\"population_individuals\": 2000001}",
		    "population_individuals", "at most 2000000" },
		{ "{\"population_individuals\": 100,"
		    " \"females_0_4\": null, \"females_18_59\": null,"
		    " \"males_0_4\": null, \"males_18_59\": null,"
		    " \"males_60_plus\": null}", NULL, NULL },
		/* the ten cells sum to 325 of 500 */
		{ "{\"males_60_plus\": 185}", NULL, NULL },
		{ "{\"males_60_plus\": 186}", "population_individuals",
		    "sum of the ten" },
		{ "{\"females_5_11\": 176}", "population_individuals",
		    "sum of the ten" },
		{ "{\"females_0_4\": -1}", "females_0_4", "0 or more" },
		{ "{\"females_5_11\": -1}", "females_5_11", "0 or more" },
		{ "{\"females_12_17\": -1}", "females_12_17", "0 or more" },
		{ "{\"females_18_59\": -1}", "females_18_59", "0 or more" },
		{ "{\"females_60_plus\": -1}", "females_60_plus", "0 or more" },
		{ "{\"males_0_4\": -1}", "males_0_4", "0 or more" },
		{ "{\"males_5_11\": -1}", "males_5_11", "0 or more" },
		{ "{\"males_12_17\": -1}", "males_12_17", "0 or more" },
		{ "{\"males_18_59\": -1}", "males_18_59", "0 or more" },
		{ "{\"males_60_plus\": -1}", "males_60_plus", "0 or more" },
		{ "{\"pregnant_lactating\": -1}", "pregnant_lactating",
		    "0 or more" },
		{ "{\"unaccompanied_children\": -1}", "unaccompanied_children",
		    "0 or more" },
		{ "{\"separated_children\": -1}", "separated_children",
		    "0 or more" },
		{ "{\"elderly_alone\": -1}", "elderly_alone", "0 or more" },
		{ "{\"persons_with_disabilities\": -1}",
		    "persons_with_disabilities", "0 or more" },
		{ "{\"chronic_illness\": -1}", "chronic_illness", "0 or more" },
		{ "{\"arrivals_last_7_days\": -1}", "arrivals_last_7_days",
		    "0 or more" },
		{ "{\"departures_last_7_days\": -1}", "departures_last_7_days",
		    "0 or more" },
		{ "{\"latrines\": -1}", "latrines", "0 or more" },
		{ "{\"latrines\": 0}", NULL, NULL },
		{ "{\"main_origin_admin1\": \"x\"}", "main_origin_admin1",
		    "P-code" },
		{ "{\"displacement_reason\": \"war\"}", "displacement_reason",
		    "choices" },
		{ "{\"priority_needs\": [\"food\", \"water\", \"health\","
		    " \"nfi\"]}", "priority_needs", "at most 3" },
		{ "{\"priority_needs\": [\"food\", \"water\", \"health\"]}",
		    NULL, NULL },
		{ "{\"priority_needs\": \"food water health\"}", NULL, NULL },
		{ "{\"priority_needs\": \"food water health nfi\"}",
		    "priority_needs", "at most 3" },
		{ "{\"priority_needs\": [\"food\", \"food\"]}", "priority_needs",
		    "repeats" },
		{ "{\"priority_needs\": [\"cars\"]}", "priority_needs",
		    "choices" },
		{ "{\"site_management\": \"army\"}", "site_management",
		    "choices" },
		{ "{\"health_facility_on_site\": \"maybe\"}",
		    "health_facility_on_site", "choices" },
		{ "{\"key_informant_type\": \"neighbour\"}", "key_informant_type",
		    "choices" },
		{ "{\"notes\": \"@rep:501:x\"}", "notes", "at most 500" },
		{ "{\"notes\": \"@rep:500:\\u00e9\"}", NULL, NULL },
		{ "{\"site_remarks\": \"x\"}", "site_remarks", "unknown field" },
	};

	check_rules("dtm_site_assessment", rules, NRULES(rules));
}

/* Member names removed: the base of the consent rules. */
#define NO_MEMBER_NAMES "\"members[1].member_name\": null, " \
    "\"members[2].member_name\": null, \"members[3].member_name\": null"
#define NO_NAMES "\"head_name\": null, \"phone\": null, " NO_MEMBER_NAMES

static const struct rule household_rules[] = {
		{ "{\"site_id\": null}", "site_id", "required" },
		{ "{\"site_id\": \"a b\"}", "site_id", "3 to 32" },
		{ "{\"admin1\": null}", "admin1", "required" },
		{ "{\"admin1\": \"s\"}", "admin1", "P-code" },
		{ "{\"admin2\": null}", "admin2", "required" },
		{ "{\"admin2\": \"s\"}", "admin2", "P-code" },
		{ "{\"registration_date\": \"2026-11-29\"}", "registration_date",
		    "future" },
		{ "{\"registration_date\": \"2026-13-01\"}", "registration_date",
		    "date" },
		{ "{\"registration_date\": null, \"displacement_date\": null}",
		    "registration_date", "required" },
		/* consent */
		{ "{\"consent\": \"no\", " NO_NAMES "}", NULL, NULL },
		{ "{\"consent\": null, " NO_NAMES "}", "consent", "required" },
		{ "{\"consent\": \"maybe\", " NO_NAMES "}", "consent",
		    "choices" },
		{ "{\"consent\": \"no\", \"phone\": null, " NO_MEMBER_NAMES "}",
		    "head_name", "not relevant" },
		{ "{\"consent\": \"no\", \"head_name\": null, " NO_MEMBER_NAMES
		    "}", "phone", "not relevant" },
		{ "{\"consent\": \"no\", \"head_name\": null, \"phone\": null, "
		    "\"members[1].member_name\": null, "
		    "\"members[3].member_name\": null}",
		    "members[2].member_name", "not relevant" },
		{ "{\"head_name\": null, \"phone\": null}", NULL, NULL },
		{ "{\"head_name\": \"@rep:101:x\"}", "head_name", "at most 100" },
		{ "{\"phone\": \"12ab5678\"}", "phone", "digits" },
		{ "{\"phone\": \"12345\"}", "phone", "digits" },
		{ "{\"phone\": \"+211 912 345 678\"}", NULL, NULL },
		{ "{\"phone\": \"1+2345678\"}", "phone", "digits" },
		{ "{\"origin_admin1\": \"x\"}", "origin_admin1", "P-code" },
		{ "{\"origin_admin2\": \"x\"}", "origin_admin2", "P-code" },
		{ "{\"displacement_date\": \"2026-11-21\"}", "displacement_date",
		    "after registration_date" },
		{ "{\"displacement_date\": \"2026-11-20\"}", NULL, NULL },
		{ "{\"displacement_date\": \"2026-11-31\"}", "displacement_date",
		    "date" },
		{ "{\"displacement_reason\": \"x\"}", "displacement_reason",
		    "choices" },
		{ "{\"shelter_type\": \"x\"}", "shelter_type", "choices" },
		{ "{\"intention\": \"x\"}", "intention", "choices" },
		{ "{\"needs\": [\"food\", \"x\"]}", "needs", "choices" },
		/* the group */
		{ "{\"members\": null}", "members", "required" },
		{ "{\"members\": []}", "members", "required" },
		{ "{\"members\": {}}", "members", "list" },
		{ "{\"members\": [1]}", "members", "objects" },
		{ "{\"members[1].relationship\": \"spouse\"}", "members",
		    "exactly one" },
		{ "{\"members[2].relationship\": \"head\"}", "members",
		    "exactly one" },
		/* member fields */
		{ "{\"members[3].sex\": null}", "members[3].sex", "required" },
		{ "{\"members[3].sex\": \"x\"}", "members[3].sex", "choices" },
		{ "{\"members[3].age_years\": null}", "members[3].age_years",
		    "required" },
		{ "{\"members[3].age_years\": 121}", "members[3].age_years",
		    "0 to 120" },
		{ "{\"members[3].age_years\": -1}", "members[3].age_years",
		    "0 to 120" },
		{ "{\"members[3].age_years\": 0}", NULL, NULL },
		{ "{\"members[3].age_years\": 120}", NULL, NULL },
		{ "{\"members[3].age_years\": \"70\"}", "members[3].age_years",
		    "whole number" },
		{ "{\"members[3].relationship\": null}",
		    "members[3].relationship", "required" },
		{ "{\"members[3].relationship\": \"x\"}",
		    "members[3].relationship", "choices" },
		{ "{\"members[3].vulnerabilities\": [\"x\"]}",
		    "members[3].vulnerabilities", "choices" },
		{ "{\"members[3].documentation\": \"x\"}",
		    "members[3].documentation", "choices" },
		{ "{\"members[3].member_name\": \"@rep:101:x\"}",
		    "members[3].member_name", "at most 100" },
		{ "{\"members[3].height\": 170}", "members[3].height",
		    "unknown field" },
		{ "{\"members[3].site_id\": \"SS-001\"}", "members[3].site_id",
		    "unknown field" },
		{ "{\"sex\": \"male\"}", "sex", "unknown field" },
};

static void
test_household_rules(void **state)
{
	check_rules("dtm_household", household_rules, NRULES(household_rules));
}

/*
 * A form of more than 128 fields is validated without the answers table
 * a smaller one gets (validate.c, V_FIELDS): the household form with 130
 * notes after its fields gives the same verdicts, rule by rule.
 */
static void
test_household_rules_large_form(void **state)
{
	json_t *def = form_definition(shipped("dtm_household"));
	json_t *survey = json_object_get(def, "survey");
	struct form *f;
	char err[256], *text;

	assert_non_null(survey);
	for (int i = 0; i < 130; i++) {
		char name[16];
		snprintf(name, sizeof(name), "pad_%d", i);
		json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
		    "type", "note", "name", name, "label", "-"));
	}
	assert_non_null(text = json_dumps(def, JSON_COMPACT));
	if (form_parse(text, strlen(text), &f, err, sizeof(err)) != 0)
		fail_msg("padded form: %s", err);
	assert_true(f->n_fields > 128);
	check_rules_of(f, "dtm_household", household_rules,
	    NRULES(household_rules));
	form_free(f);
	free(text);
	json_decref(def);
}

static void
test_mrc_rules(void **state)
{
	static const struct rule rules[] = {
		{ "{\"centre_id\": null}", "centre_id", "required" },
		{ "{\"centre_id\": \"mrc\"}", "centre_id", "3 to 32" },
		{ "{\"visit_date\": null, \"follow_up_date\": null,"
		    " \"follow_up_needed\": null}", "visit_date", "required" },
		{ "{\"visit_date\": \"2026-11-29\", \"follow_up_date\": null,"
		    " \"follow_up_needed\": null}", "visit_date", "future" },
		{ "{\"client_code\": null}", NULL, NULL },
		{ "{\"client_code\": \"AB1\"}", "client_code", "4 to 16" },
		{ "{\"client_code\": \"ab12\"}", "client_code", "4 to 16" },
		{ "{\"client_code\": \"@rep:17:A\"}", "client_code", "4 to 16" },
		{ "{\"consent\": null, \"notes\": null}", "consent", "required" },
		{ "{\"consent\": \"no\", \"notes\": null}", NULL, NULL },
		{ "{\"consent\": \"no\"}", "notes", "not relevant" },
		{ "{\"sex\": \"x\"}", "sex", "choices" },
		{ "{\"sex\": \"prefer_not_to_say\"}", NULL, NULL },
		{ "{\"age_years\": 9}", "age_years", "10 to 100" },
		{ "{\"age_years\": 101}", "age_years", "10 to 100" },
		{ "{\"age_years\": 10}", NULL, NULL },
		{ "{\"age_years\": 100}", NULL, NULL },
		{ "{\"nationality\": \"np\"}", "nationality", "3 capital" },
		{ "{\"nationality\": \"NPLX\"}", "nationality", "3 capital" },
		{ "{\"migration_stage\": \"x\", \"destination_country\": null}",
		    "migration_stage", "choices" },
		{ "{\"migration_stage\": \"returned\"}", "destination_country",
		    "not relevant" },
		{ "{\"migration_stage\": \"returned\","
		    " \"destination_country\": null}", NULL, NULL },
		{ "{\"migration_stage\": \"considering\"}", NULL, NULL },
		{ "{\"migration_stage\": \"in_transit\"}", "destination_country",
		    "not relevant" },
		{ "{\"destination_country\": \"qa\"}", "destination_country",
		    "3 capital" },
		{ "{\"visit_mode\": \"x\"}", "visit_mode", "choices" },
		{ "{\"reasons\": null}", "reasons", "required" },
		{ "{\"reasons\": []}", "reasons", "required" },
		{ "{\"reasons\": \"  \"}", "reasons", "choices" },
		{ "{\"reasons\": [\"x\"]}", "reasons", "choices" },
		{ "{\"reasons\": \"health legal_aid\"}", NULL, NULL },
		{ "{\"reasons\": \"health health\"}", "reasons", "repeats" },
		{ "{\"services\": [\"x\"], \"referred_to\": null}", "services",
		    "choices" },
		{ "{\"services\": [\"information\"]}", "referred_to",
		    "not relevant" },
		{ "{\"services\": [\"information\"], \"referred_to\": null}",
		    NULL, NULL },
		{ "{\"services\": null, \"referred_to\": null}", NULL, NULL },
		{ "{\"referred_to\": [\"x\"]}", "referred_to", "choices" },
		{ "{\"referred_to\": null}", NULL, NULL },
		{ "{\"follow_up_needed\": \"x\", \"follow_up_date\": null}",
		    "follow_up_needed", "choices" },
		{ "{\"follow_up_needed\": \"no\"}", "follow_up_date",
		    "not relevant" },
		{ "{\"follow_up_needed\": \"no\", \"follow_up_date\": null}",
		    NULL, NULL },
		{ "{\"follow_up_date\": \"2026-11-19\"}", "follow_up_date",
		    "before visit_date" },
		{ "{\"follow_up_date\": \"2026-11-20\"}", NULL, NULL },
		/* a follow-up may be planned in the future */
		{ "{\"follow_up_date\": \"2027-01-15\"}", NULL, NULL },
		{ "{\"notes\": \"@rep:501:x\"}", "notes", "at most 500" },
		{ "{\"name\": \"x\"}", "name", "unknown field" },
	};

	check_rules("mrc_visit", rules, NRULES(rules));
}

/* Several rules broken at once: all reported, in survey order. */
static void
test_several_errors(void **state)
{
	static const char *want[][2] = {
		{ "site_id", "3 to 32" },
		{ "registration_date", "future" },
		{ "members[1].age_years", "0 to 120" },
		{ "members[2].sex", "required" },
		{ "members", "exactly one" },
	};
	struct form_errors errs = { 0 };
	json_t *rec = samples_load(household_sample);

	apply_patch(rec, "{\"site_id\": \"x\", \"registration_date\":"
	    " \"2027-01-01\", \"members[1].age_years\": 130,"
	    " \"members[2].sex\": null, \"members[2].relationship\": \"head\"}");
	assert_int_equal(form_validate(shipped("dtm_household"), rec, TODAY,
	    &errs), -1);
	if (errs.n != 5)
		dump_errors("several", &errs);
	assert_int_equal(errs.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(errs.e[i].path, want[i][0]);
		assert_non_null(strstr(errs.e[i].reason, want[i][1]));
	}
	json_decref(rec);
}

/* A record far too wrong: FORM_MAX_ERRORS kept, the rest counted. */
static void
test_error_cap(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load(household_sample), *members = json_array();

	for (int i = 0; i < 30; i++)
		json_array_append_new(members, json_pack("{s:s, s:i, s:s}",
		    "sex", "x", "age_years", 500, "relationship", "x"));
	json_object_set_new(rec, "members", members);
	assert_int_equal(form_validate(shipped("dtm_household"), rec, TODAY,
	    &errs), -1);
	assert_int_equal(errs.n, FORM_MAX_ERRORS);
	assert_true(errs.dropped > 0);
	assert_int_equal(errs.n + errs.dropped, 30 * 3 + 1);
	json_decref(rec);
}

/* Repeat sizes: 1 to 30 by the form, at most FORM_MAX_REPEAT_ITEMS. */
static void
test_member_counts(void **state)
{
	static const int sizes[] = { 1, 30, 31, FORM_MAX_REPEAT_ITEMS,
	    FORM_MAX_REPEAT_ITEMS + 1 };
	const struct form *f = shipped("dtm_household");

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(household_sample), *members = json_array();
		int rc;

		for (int i = 0; i < sizes[k]; i++)
			json_array_append_new(members, json_pack("{s:s, s:i, "
			    "s:s}", "sex", "male", "age_years", 20,
			    "relationship", i == 0 ? "head" : "sibling"));
		json_object_set_new(rec, "members", members);
		rc = form_validate(f, rec, TODAY, &errs);
		if (sizes[k] <= 30) {
			assert_int_equal(rc, 0);
			assert_int_equal(errs.n, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(errs.n, 1);
			assert_string_equal(errs.e[0].path, "members");
			assert_non_null(strstr(errs.e[0].reason,
			    sizes[k] > FORM_MAX_REPEAT_ITEMS ? "at most" :
			    "1 to 30"));
		}
		json_decref(rec);
	}
}

static void
test_metadata(void **state)
{
	static const struct rule rules[] = {
		{ "{\"_id\": \"7d1c2f0e-3b4a-4c5d-8e9f-0a1b2c3d4e5f\"}", NULL,
		    NULL },
		{ "{\"_id\": \"not-a-uuid\"}", "_id", "UUID" },
		{ "{\"_id\": 12}", "_id", "UUID" },
		{ "{\"_form\": \"mrc_visit\", \"_version\": \"2026.11.1\"}",
		    NULL, NULL },
		{ "{\"_form\": \"dtm_household\"}", "_form", "another form" },
		{ "{\"_version\": \"2025.1\"}", "_version", "another version" },
		{ "{\"_device\": \"x\"}", "_device", "unknown metadata" },
	};

	check_rules("mrc_visit", rules, NRULES(rules));
}

static void
test_not_an_object(void **state)
{
	static const char *texts[] = { "[]", "\"x\"", "12", "null" };

	for (size_t i = 0; i < 4; i++) {
		struct form_errors errs = { 0 };
		json_t *rec = json_loads(texts[i], JSON_DECODE_ANY, NULL);

		assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
		    &errs), -1);
		assert_int_equal(errs.n, 1);
		assert_string_equal(errs.e[0].path, "");
		json_decref(rec);
	}
}

/* An empty record: every required field, nothing else. */
static void
test_empty_record(void **state)
{
	static const char *want[] = { "centre_id", "visit_date", "consent",
	    "reasons" };
	struct form_errors errs = { 0 };
	json_t *rec = json_object();

	assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
	    &errs), -1);
	assert_int_equal(errs.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(errs.e[i].path, want[i]);
		assert_string_equal(errs.e[i].reason, "required");
	}
	json_decref(rec);
}

/* Errors are appended; the result says whether this record added any. */
static void
test_errors_append(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load(mrc_sample);

	form_error_add(&errs, "x", "earlier %d", 1);
	assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
	    &errs), 0);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.e[0].reason, "earlier 1");
	json_object_set_new(rec, "age_years", json_integer(5));
	assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
	    &errs), -1);
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.e[1].path, "age_years");
	json_decref(rec);
}

static void
test_error_add_cap(void **state)
{
	struct form_errors errs = { 0 };

	for (int i = 0; i < FORM_MAX_ERRORS + 5; i++)
		form_error_add(&errs, "p", "reason %d", i);
	assert_int_equal(errs.n, FORM_MAX_ERRORS);
	assert_int_equal(errs.dropped, 5);
	assert_string_equal(errs.e[FORM_MAX_ERRORS - 1].reason, "reason 63");
}

/* "Not in the future" is relative to the day passed in. */
static void
test_today(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load(mrc_sample);

	assert_int_equal(form_validate(shipped("mrc_visit"), rec, "2026-11-20",
	    &errs), 0);
	assert_int_equal(form_validate(shipped("mrc_visit"), rec, "2026-11-19",
	    &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.e[0].path, "visit_date");
	json_decref(rec);
}

/* The privacy rule on values that break every kind of check. */
static void
test_reasons_never_quote(void **state)
{
	static const char *patches[] = {
		"{\"client_code\": \"SECRETCODE99\\u0000\"}",
		"{\"client_code\": \"secret-code-99\"}",
		"{\"nationality\": \"SECRET\"}",
		"{\"sex\": \"SECRET\"}",
		"{\"reasons\": [\"SECRET\"]}",
		"{\"reasons\": \"SECRET health\"}",
		"{\"visit_date\": \"SECRET\"}",
		"{\"age_years\": \"SECRET\"}",
		"{\"consent\": \"no\", \"notes\": \"SECRET\"}",
	};

	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		struct form_errors errs = { 0 };
		json_t *rec = json_loads(patches[i], JSON_ALLOW_NUL, NULL);
		json_t *base = samples_load(mrc_sample);

		if (rec == NULL)	/* jansson refuses a NUL: skip */
			rec = json_object();
		json_object_update(base, rec);
		assert_int_equal(form_validate(shipped("mrc_visit"), base,
		    TODAY, &errs), -1);
		for (size_t k = 0; k < errs.n; k++) {
			assert_null(strstr(errs.e[k].reason, "SECRET"));
			assert_null(strstr(errs.e[k].reason, "secret"));
			assert_null(strstr(errs.e[k].path, "SECRET"));
		}
		json_decref(rec);
		json_decref(base);
	}
}

/* Built-in type checks, on the types form. */
static void
test_types(void **state)
{
	static const struct rule rules[] = {
		{ "{\"t\": \"plain text\"}", NULL, NULL },
		{ "{\"t\": 5}", "t", "text" },
		{ "{\"t\": true}", "t", "text" },
		{ "{\"t\": \"@rep:2000:x\"}", NULL, NULL },
		{ "{\"t\": \"@rep:2001:x\"}", "t", "2000" },
		{ "{\"t\": \"@rep:1001:\\u00e9\"}", "t", "2000" },
		{ "{\"i\": 0}", NULL, NULL },
		{ "{\"i\": 9223372036854775807}", NULL, NULL },
		{ "{\"i\": -9223372036854775808}", NULL, NULL },
		{ "{\"i\": 1.5}", "i", "whole number" },
		{ "{\"i\": 2.0}", "i", "whole number" },
		{ "{\"i\": \"3\"}", "i", "whole number" },
		{ "{\"i\": false}", "i", "whole number" },
		{ "{\"d\": 1.5}", NULL, NULL },
		{ "{\"d\": 2}", NULL, NULL },
		{ "{\"d\": -1e300}", NULL, NULL },
		{ "{\"d\": \"1.5\"}", "d", "number" },
		{ "{\"d\": [1]}", "d", "number" },
		{ "{\"dt\": \"2024-02-29\"}", NULL, NULL },
		{ "{\"dt\": \"2026-02-29\"}", "dt", "date" },
		{ "{\"dt\": \"2000-02-29\"}", NULL, NULL },
		{ "{\"dt\": \"1900-02-29\"}", "dt", "date" },
		{ "{\"dt\": \"2026-04-31\"}", "dt", "date" },
		{ "{\"dt\": \"2026-00-10\"}", "dt", "date" },
		{ "{\"dt\": \"2026-1-01\"}", "dt", "date" },
		{ "{\"dt\": \"2026-11-28T10:00\"}", "dt", "date" },
		{ "{\"dt\": \"28/11/2026\"}", "dt", "date" },
		{ "{\"dt\": 20261128}", "dt", "date" },
		{ "{\"one\": \"red\"}", NULL, NULL },
		{ "{\"one\": \"Red\"}", "one", "choices" },
		{ "{\"one\": \"red green\"}", "one", "choices" },
		{ "{\"one\": 1}", "one", "choices" },
		{ "{\"one\": [\"red\"]}", "one", "choices" },
		{ "{\"many\": [\"red\", \"blue\"]}", NULL, NULL },
		{ "{\"many\": \"red blue\"}", NULL, NULL },
		{ "{\"many\": \" red  blue \"}", NULL, NULL },
		{ "{\"many\": [\"red\", \"red\"]}", "many", "repeats" },
		{ "{\"many\": \"blue red blue\"}", "many", "repeats" },
		{ "{\"many\": [\"red\", 1]}", "many", "choices" },
		{ "{\"many\": [\"purple\"]}", "many", "choices" },
		{ "{\"many\": \"red purple\"}", "many", "choices" },
		{ "{\"many\": \" \"}", "many", "choices" },
		{ "{\"many\": {\"red\": true}}", "many", "choices" },
		{ "{\"g\": {\"latitude\": -90, \"longitude\": 180}}", NULL,
		    NULL },
		{ "{\"g\": {\"latitude\": 1.5, \"longitude\": 2.5,"
		    " \"altitude\": -20, \"accuracy\": 0}}", NULL, NULL },
		{ "{\"g\": \"1.5 2.5\"}", NULL, NULL },
		{ "{\"g\": \"-1.5 -2.5 100 4.5\"}", NULL, NULL },
		{ "{\"g\": {\"latitude\": -90.5, \"longitude\": 0}}", "g",
		    "latitude" },
		{ "{\"g\": {\"latitude\": 0, \"longitude\": 180.1}}", "g",
		    "longitude" },
		{ "{\"g\": {\"latitude\": 0, \"longitude\": 0,"
		    " \"accuracy\": -0.5}}", "g", "accuracy" },
		{ "{\"g\": {\"latitude\": \"1\", \"longitude\": 0}}", "g",
		    "point" },
		{ "{\"g\": {\"latitude\": 1, \"longitude\": 0,"
		    " \"speed\": 3}}", "g", "point" },
		{ "{\"g\": {\"longitude\": 0}}", "g", "point" },
		{ "{\"g\": [1, 2]}", "g", "point" },
		{ "{\"g\": \"1.5\"}", "g", "point" },
		{ "{\"g\": \"1 2 3 4 5\"}", "g", "point" },
		{ "{\"g\": \"1 2 3 -4\"}", "g", "accuracy" },
		{ "{\"g\": \"91 0\"}", "g", "latitude" },
		{ "{\"g\": \"1 2 inf\"}", "g", "point" },
		{ "{\"g\": \"nan 2\"}", "g", "point" },
		{ "{\"g\": \"0x10 2\"}", "g", "point" },
		{ "{\"g\": \"1,5 2\"}", "g", "point" },
		{ "{\"r\": [{\"rt\": \"a\"}, {\"rt\": \"b\"}]}", NULL, NULL },
		{ "{\"r\": []}", NULL, NULL },
		{ "{\"r\": [{\"rt\": \"a\"}, {}]}", "r[2].rt", "required" },
		{ "{\"r\": [{\"rt\": \"a\", \"t\": \"b\"}]}", "r[1].t",
		    "unknown field" },
		{ "{\"r\": {\"rt\": \"a\"}}", "r", "list" },
		{ "{\"r\": [[]]}", "r", "objects" },
		{ "{\"rt\": \"a\"}", "rt", "unknown field" },
		{ "{\"t\": null, \"i\": null, \"many\": [], \"one\": \"\"}",
		    NULL, NULL },
	};

	for (size_t i = 0; i < NRULES(rules); i++) {
		const struct rule *r = &rules[i];
		struct form_errors errs = { 0 };
		json_t *rec = json_object();
		int rc;

		apply_patch(rec, r->patch);
		rc = form_validate(types_form, rec, TODAY, &errs);
		if (r->path == NULL ? rc != 0 || errs.n != 0 : rc != -1 ||
		    errs.n != 1 || strcmp(errs.e[0].path, r->path) != 0 ||
		    strstr(errs.e[0].reason, r->reason) == NULL) {
			dump_errors(r->patch, &errs);
			fail_msg("types: %s", r->patch);
		}
		json_decref(rec);
	}
}

/* A key longer than an error path holds still gives one clean error. */
static void
test_long_unknown_key(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load(mrc_sample);
	char key[400];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	json_object_set_new(rec, key, json_true());
	assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
	    &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.e[0].reason, "unknown field"));
	assert_true(strlen(errs.e[0].path) < sizeof(errs.e[0].path));
	json_decref(rec);
}

/* `required` holds only where the field is relevant; repeats too. */
static void
test_required_when_relevant(void **state)
{
	static const char def[] = "{\"form_id\": \"rr\", \"version\": \"1\","
	    " \"survey\": ["
	    " {\"type\": \"select_one yn\", \"name\": \"a\"},"
	    " {\"type\": \"text\", \"name\": \"b\", \"required\": \"yes\","
	    "  \"relevant\": \"${a} = 'yes'\"},"
	    " {\"type\": \"begin_repeat\", \"name\": \"r\","
	    "  \"required\": \"yes\", \"relevant\": \"${a} = 'yes'\"},"
	    " {\"type\": \"integer\", \"name\": \"n\", \"required\": \"yes\","
	    "  \"relevant\": \"${a} = 'yes'\"},"
	    " {\"type\": \"end_repeat\"}],"
	    " \"choices\": [{\"list_name\": \"yn\", \"name\": \"yes\"},"
	    " {\"list_name\": \"yn\", \"name\": \"no\"}]}";
	static const struct rule rules[] = {
		{ "{\"a\": \"no\"}", NULL, NULL },
		{ "{}", NULL, NULL },
		{ "{\"a\": \"yes\", \"b\": \"x\"}", "r", "required" },
		{ "{\"a\": \"yes\", \"r\": [{\"n\": 1}]}", "b", "required" },
		{ "{\"a\": \"yes\", \"b\": \"x\", \"r\": [{}]}", "r[1].n",
		    "required" },
		{ "{\"a\": \"no\", \"b\": \"x\"}", "b", "not relevant" },
		{ "{\"a\": \"no\", \"r\": [{\"n\": 1}]}", "r",
		    "not relevant" },
	};
	struct form *f;
	char err[256];

	if (form_parse(def, strlen(def), &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (size_t i = 0; i < NRULES(rules); i++) {
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(rules[i].patch);
		int rc = form_validate(f, rec, TODAY, &errs);

		if (rules[i].path == NULL ? rc != 0 : rc != -1 || errs.n != 1 ||
		    strcmp(errs.e[0].path, rules[i].path) != 0 ||
		    strstr(errs.e[0].reason, rules[i].reason) == NULL) {
			dump_errors(rules[i].patch, &errs);
			fail_msg("%s", rules[i].patch);
		}
		json_decref(rec);
	}
	form_free(f);
}

/*
 * A select_multiple of many long names reaches count-selected() whole: 60
 * choices of 40 bytes, all chosen, is 60.
 */
static void
test_long_select_multiple(void **state)
{
	json_t *d = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}], s:[]}",
	    "form_id", "long", "version", "1", "survey", "type",
	    "select_multiple many", "name", "m", "constraint",
	    "count-selected(.) = 60", "choices");
	json_t *all = json_array(), *rec;
	struct form_errors errs = { 0 };
	struct form *f;
	char err[256], *text;

	for (int i = 0; i < 60; i++) {
		char name[64];

		snprintf(name, sizeof(name), "choice_%02d_%s", i,
		    "abcdefghijklmnopqrstuvwxyz01234");
		json_array_append_new(json_object_get(d, "choices"),
		    json_pack("{s:s, s:s}", "list_name", "many", "name", name));
		json_array_append_new(all, json_string(name));
	}
	text = json_dumps(d, 0);
	if (form_parse(text, strlen(text), &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	rec = json_pack("{s:o}", "m", all);
	assert_int_equal(form_validate(f, rec, TODAY, &errs), 0);
	json_array_remove(all, 0);
	assert_int_equal(form_validate(f, rec, TODAY, &errs), -1);
	assert_string_equal(errs.e[0].path, "m");
	json_decref(rec);
	json_decref(d);
	free(text);
	form_free(f);
}

/*
 * The XLSForm language: one form using every feature a field team's
 * workbook brings (metadata, notes, nested groups with relevance, a
 * roster repeat sized by repeat_count, calculations over it, cascading
 * selects by choice_filter, jr:choice-name), a valid record, and patches
 * that each break or keep one rule.
 */
#define Q(...) #__VA_ARGS__

static const char lang_def[] = Q({"form_id": "lang", "version": "1",
    "default_language": "English",
    "survey": [
    {"type": "start", "name": "start"}, {"type": "end", "name": "end"},
    {"type": "today", "name": "today"},
    {"type": "deviceid", "name": "deviceid"},
    {"type": "audit", "name": "audit"},
    {"type": "note", "name": "intro", "label": "Hello ${hh_name}"},
    {"type": "string", "name": "hh_name", "required": "TRUE"},
    {"type": "select1 yn", "name": "consent", "required": "T"},
    {"type": "begin group", "name": "g_main",
     "relevant": "${consent} = 'yes'", "appearance": "field-list"},
    {"type": "int", "name": "hh_size", "required": "1",
     "constraint": ". >= 1 and . <= 30"},
    {"type": "begin_group", "name": "g_inner", "relevant": "${hh_size} > 1"},
    {"type": "integer", "name": "n_children"},
    {"type": "end_group"},
    {"type": "time", "name": "visit_time"},
    {"type": "datetime", "name": "visit_at"},
    {"type": "gps", "name": "loc"},
    {"type": "end group"},
    {"type": "begin repeat", "name": "members", "repeat_count": "${hh_size}"},
    {"type": "text", "name": "m_name"},
    {"type": "integer", "name": "m_age", "required": "yes"},
    {"type": "calculate", "name": "m_pos", "calculation": "position(..)"},
    {"type": "calculate", "name": "m_label",
     "calculation": "concat(${m_name}, ' (', ${m_age}, ')')"},
    {"type": "end repeat"},
    {"type": "calculate", "name": "total_age", "calculation": "sum(${m_age})"},
    {"type": "calculate", "name": "oldest", "calculation": "max(${m_age})"},
    {"type": "calculate", "name": "first_name",
     "calculation": "indexed-repeat(${m_name}, ${members}, 1)"},
    {"type": "calculate", "name": "names",
     "calculation": "join(', ', ${m_name})"},
    {"type": "calculate", "name": "iid", "calculation": "once(uuid())"},
    {"type": "select_one admin1", "name": "admin1"},
    {"type": "select_one admin2", "name": "admin2",
     "choice_filter": "admin1 = ${admin1}"},
    {"type": "select_multiple site", "name": "sites",
     "choice_filter": "filter_admin2=${admin2}"},
    {"type": "calculate", "name": "admin2_label",
     "calculation": "jr:choice-name(${admin2}, '${admin2}')"},
    {"type": "decimal", "name": "score"},
    {"type": "calculate", "name": "rounded",
     "calculation": "round(${score}, 1)"}],
    "choices": [
    {"list_name": "yn", "name": "yes"}, {"list_name": "yn", "name": "no"},
    {"list_name": "admin1", "name": "1"}, {"list_name": "admin1", "name": "2"},
    {"list_name": "admin2", "name": "11", "admin1": "1",
     "label::English": "Eleven"},
    {"list_name": "admin2", "name": "12", "admin1": "1",
     "label::English": "Twelve", "label::Français": "Douze"},
    {"list_name": "admin2", "name": "21", "admin1": "2",
     "label::English": "Twenty-one"},
    {"list_name": "site", "name": "-99", "filter_admin2": "11"},
    {"list_name": "site", "name": "4_or_more", "filter_admin2": "12"},
    {"list_name": "site", "name": "0", "filter_admin2": "21"},
    {"list_name": "site", "name": "2_5", "filter_admin2": "12"}]});

static const char lang_record[] = Q({
    "start": "2026-12-01T09:00:00.000+03:00",
    "end": "2026-12-01T09:30:12.5+03:00", "today": "2026-12-01",
    "deviceid": "collect:abc", "audit": "audit.csv",
    "hh_name": "Amina", "consent": "yes", "hh_size": 2, "n_children": 1,
    "visit_time": "09:15", "visit_at": "2026-12-01T09:15:00Z",
    "loc": "4.85 31.6 0 10",
    "members": [{"m_name": "Amina", "m_age": 34, "m_pos": 1,
                 "m_label": "Amina (34)"},
                {"m_name": "Ali", "m_age": 5, "m_pos": "2",
                 "m_label": "Ali (5)"}],
    "total_age": 39, "oldest": "34", "first_name": "Amina",
    "names": "Amina, Ali", "iid": "uuid:0b7e2a4c",
    "admin1": "1", "admin2": "12", "sites": ["4_or_more", "2_5"],
    "admin2_label": "Twelve", "score": 2.25, "rounded": 2.3});

/* Validates rec; want_path NULL: no error; else an error at that path
   whose reason holds want. */
static void
lang_check(const struct form *f, json_t *rec, const char *want_path,
    const char *want, const char *what)
{
	struct form_errors errs = { 0 };
	int rc = form_validate(f, rec, "2026-12-06", &errs);

	if (want_path == NULL) {
		if (rc != 0)
			fail_msg("%s: %s: %s", what, errs.e[0].path,
			    errs.e[0].reason);
		return;
	}
	assert_int_equal(rc, -1);
	for (size_t i = 0; i < errs.n; i++)
		if (strcmp(errs.e[i].path, want_path) == 0 &&
		    strstr(errs.e[i].reason, want) != NULL)
			return;
	fail_msg("%s: want %s: %s; first %s: %s", what, want_path, want,
	    errs.e[0].path, errs.e[0].reason);
}

static void
test_language_records(void **state)
{
	static const struct {
		const char *patch, *path, *reason;
	} cases[] = {
		{ "{}", NULL, NULL },
		/* notes and groups hold nothing */
		{ "{\"intro\": \"x\"}", "intro", "a note holds no value" },
		{ "{\"intro\": \"\"}", NULL, NULL },
		{ "{\"g_main\": {\"hh_size\": 2}}", "g_main", "a group holds" },
		/* a group's relevance reaches every field inside it, nested */
		{ "{\"consent\": \"no\", \"hh_size\": null, \"n_children\": null,"
		  " \"visit_time\": null, \"visit_at\": null, \"loc\": null}",
		  NULL, NULL },
		{ "{\"consent\": \"no\", \"hh_size\": null, \"visit_time\": null,"
		  " \"visit_at\": null, \"loc\": null}", "n_children",
		  "not relevant here" },
		{ "{\"consent\": \"no\", \"hh_size\": null, \"n_children\": null,"
		  " \"visit_time\": null, \"visit_at\": null}", "loc",
		  "not relevant here" },
		{ "{\"hh_size\": 1, \"members[2].m_age\": null}", "n_children",
		  "not relevant here" },
		/* a required field in a relevant group */
		{ "{\"hh_size\": null}", "hh_size", "required" },
		/* repeat_count */
		{ "{\"hh_size\": 3}", "members", "as many items as its "
		  "repeat_count" },
		/* calculations, recomputed */
		{ "{\"members[2].m_pos\": 3}", "members[2].m_pos",
		  "does not match its calculation" },
		{ "{\"members[1].m_label\": \"Amina(34)\"}", "members[1].m_label",
		  "does not match its calculation" },
		{ "{\"total_age\": 40}", "total_age", "does not match" },
		{ "{\"total_age\": \"39.0\"}", NULL, NULL },
		{ "{\"total_age\": null}", "total_age", "does not match" },
		{ "{\"oldest\": 34}", NULL, NULL },
		{ "{\"first_name\": \"Ali\"}", "first_name", "does not match" },
		{ "{\"names\": \"Amina,Ali\"}", "names", "does not match" },
		{ "{\"rounded\": 2.2}", "rounded", "does not match" },
		{ "{\"score\": null, \"rounded\": null}", NULL, NULL },
		{ "{\"score\": null}", "rounded", "does not match" },
		/* a calculation with uuid(): stored value stands, type only */
		{ "{\"iid\": 5}", NULL, NULL },
		{ "{\"iid\": {\"a\": 1}}", "iid", "must be text or a number" },
		/* choice filters: each choice made must be allowed */
		{ "{\"admin2\": \"21\", \"admin2_label\": \"Twenty-one\"}",
		  "admin2", "choice_filter allows" },
		{ "{\"sites\": [\"4_or_more\", \"0\"]}", "sites",
		  "choice_filter allows" },
		{ "{\"sites\": \"2_5 4_or_more\"}", NULL, NULL },
		{ "{\"sites\": \"2_5 -99\"}", "sites", "choice_filter allows" },
		{ "{\"admin2_label\": \"Douze\"}", "admin2_label",
		  "does not match" },
		/* time, dateTime, metadata */
		{ "{\"visit_time\": \"9:15\"}", "visit_time", "must be a time" },
		{ "{\"visit_time\": \"24:00\"}", "visit_time", "must be a time" },
		{ "{\"visit_time\": \"09:15:30.123+03:00\"}", NULL, NULL },
		{ "{\"visit_time\": \"23:59:59Z\"}", NULL, NULL },
		{ "{\"visit_at\": \"2026-12-01T09:15:00\"}", "visit_at",
		  "must be a date and time" },
		{ "{\"visit_at\": \"2026-02-30T09:15:00Z\"}", "visit_at",
		  "must be a date and time" },
		{ "{\"visit_at\": \"2026-12-01T09:15+03:00\"}", NULL, NULL },
		{ "{\"start\": \"2026-12-01\"}", "start", "date and time" },
		{ "{\"today\": \"2026-12-01T00:00:00Z\"}", "today",
		  "must be a date" },
		{ "{\"deviceid\": 5}", "deviceid", "must be text" },
		{ "{\"audit\": {\"events\": 3}}", NULL, NULL },
		{ "{\"loc\": \"91 31.6\"}", "loc", "latitude" },
	};

	struct form *f;
	char err[256];

	assert_int_equal(form_parse(lang_def, strlen(lang_def), &f, err,
	    sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *rec = samples_load(lang_record);

		apply_patch(rec, cases[i].patch);
		lang_check(f, rec, cases[i].path, cases[i].reason,
		    cases[i].patch);
		json_decref(rec);
	}
	form_free(f);
}

/* Groups around a repeat and a calculation: what they hide is empty. */
static void
test_language_groups(void **state)
{
	static const char def[] = Q({"form_id": "g", "version": "1", "survey": [
	    {"type": "integer", "name": "n", "required": "yes"},
	    {"type": "begin_group", "name": "outer", "relevant": "${n} > 0"},
	    {"type": "calculate", "name": "twice", "calculation": "${n} * 2"},
	    {"type": "begin repeat", "name": "r", "jr:count": "${n}"},
	    {"type": "begin_group", "name": "inner",
	     "relevant": "position(..) = 2"},
	    {"type": "text", "name": "second_only", "required": "yes"},
	    {"type": "end_group"},
	    {"type": "text", "name": "any"},
	    {"type": "end_repeat"},
	    {"type": "end_group"},
	    {"type": "begin_group", "name": "broken", "relevant": "${n} > 'x'"},
	    {"type": "note", "name": "nb", "label": "n is ${n}"},
	    {"type": "end_group"}]});
	static const struct {
		const char *rec, *path, *reason;
	} cases[] = {
		{ "{\"n\": 2, \"twice\": 4, \"r\": [{\"any\": \"a\"}, "
		  "{\"second_only\": \"b\"}]}", NULL, NULL },
		{ "{\"n\": 2, \"twice\": 4, \"r\": [{\"second_only\": \"a\"}, "
		  "{\"second_only\": \"b\"}]}", "r[1].second_only",
		  "not relevant here" },
		{ "{\"n\": 2, \"twice\": 4, \"r\": [{}, {}]}",
		  "r[2].second_only", "required" },
		{ "{\"n\": 2, \"twice\": 4, \"r\": [{}]}", "r",
		  "as many items" },
		/* outer not relevant: the calculation and the repeat empty */
		{ "{\"n\": 0}", NULL, NULL },
		{ "{\"n\": 0, \"twice\": 0}", "twice", "not relevant here" },
		{ "{\"n\": 0, \"r\": [{\"any\": \"a\"}]}", "r",
		  "not relevant here" },
		{ "{\"n\": 1, \"r\": [{}]}", "twice", "does not match" },
		{ "{\"n\": 1, \"twice\": \"2\", \"r\": [{}], \"nb\": \"x\"}",
		  "nb", "a note holds no value" },
	};
	struct form *f;
	char err[256];

	assert_int_equal(form_parse(def, strlen(def), &f, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *rec = samples_load(cases[i].rec);
		lang_check(f, rec, cases[i].path, cases[i].reason, cases[i].rec);
		json_decref(rec);
	}
	form_free(f);
}

/* An age worked out from a date of birth, as forms do: dates in
   arithmetic are days. */
static void
test_language_age(void **state)
{
	static const char def[] = Q({"form_id": "a", "version": "1", "survey": [
	    {"type": "date", "name": "dob", "constraint": ". <= today()"},
	    {"type": "calculate", "name": "age",
	     "calculation": "int((today() - ${dob}) div 365.25)"},
	    {"type": "integer", "name": "years",
	     "constraint": ". = int((today() - ${dob}) div 365.25)"}]});
	struct form *f;
	char err[256];
	json_t *rec;

	assert_int_equal(form_parse(def, strlen(def), &f, err, sizeof(err)), 0);
	rec = samples_load("{\"dob\": \"1990-06-15\", \"age\": \"36\", "
	    "\"years\": 36}");
	lang_check(f, rec, NULL, NULL, "age 36");
	json_decref(rec);
	rec = samples_load("{\"dob\": \"1990-12-07\", \"age\": 36}");
	lang_check(f, rec, "age", "does not match", "35 on 2026-12-06");
	json_decref(rec);
	rec = samples_load("{}");
	lang_check(f, rec, NULL, NULL, "no date, no age");
	json_decref(rec);
	form_free(f);
}

/* Choice names as real workbooks have them: a space in a select_one's
   list, 70 bytes in a select_multiple's. */
static void
test_language_choice_names(void **state)
{
	static const char def[] = Q({"form_id": "c", "version": "1", "survey": [
	    {"type": "select_one lang", "name": "lang"},
	    {"type": "select_multiple why", "name": "why"},
	    {"type": "acknowledge", "name": "ok"}],
	    "choices": [{"list_name": "lang", "name": "Don_ know"},
	    {"list_name": "lang", "name": "-99"},
	    {"list_name": "why", "name": "lack_of_livelihood_income_generating_activities_in_the_area_of_origin"},
	    {"list_name": "why", "name": "4_or_more"}]});
	static const struct {
		const char *rec, *path, *reason;
	} cases[] = {
		{ "{\"lang\": \"Don_ know\"}", NULL, NULL },
		{ "{\"lang\": \"Don_\"}", "lang", "one of the choices" },
		{ "{\"lang\": \"-99\", \"why\": \"4_or_more lack_of_livelihood_"
		  "income_generating_activities_in_the_area_of_origin\"}", NULL,
		  NULL },
		{ "{\"why\": [\"lack_of_livelihood_income_generating_activities_"
		  "in_the_area_of_origin\"]}", NULL, NULL },
		{ "{\"why\": \"4_or_more 4_or_more\"}", "why", "repeats" },
		{ "{\"ok\": \"OK\"}", NULL, NULL },
		{ "{\"ok\": \"yes\"}", "ok", "must be OK" },
	};
	struct form *f;
	char err[256];

	assert_int_equal(form_parse(def, strlen(def), &f, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *rec = samples_load(cases[i].rec);
		lang_check(f, rec, cases[i].path, cases[i].reason, cases[i].rec);
		json_decref(rec);
	}
	form_free(f);
}

/* With allow_choice_duplicates, a name may stand in several places of a
   cascade: a choice is allowed when any of its rows passes the filter. */
static void
test_language_duplicates(void **state)
{
	static const char def[] = Q({"form_id": "d", "version": "1",
	    "allow_choice_duplicates": "true", "survey": [
	    {"type": "select_one a", "name": "a"},
	    {"type": "select_one s", "name": "s", "choice_filter": "a = ${a}"}],
	    "choices": [{"list_name": "a", "name": "1"},
	    {"list_name": "a", "name": "2"}, {"list_name": "a", "name": "3"},
	    {"list_name": "s", "name": "x", "a": "1"},
	    {"list_name": "s", "name": "x", "a": "2"}]});
	struct form *f;
	char err[256];
	json_t *rec;

	assert_int_equal(form_parse(def, strlen(def), &f, err, sizeof(err)), 0);
	rec = samples_load("{\"a\": \"2\", \"s\": \"x\"}");
	lang_check(f, rec, NULL, NULL, "second row");
	json_decref(rec);
	rec = samples_load("{\"a\": \"3\", \"s\": \"x\"}");
	lang_check(f, rec, "s", "choice_filter allows", "no row");
	json_decref(rec);
	form_free(f);
}

/*
 * Property: random forms (types, nested groups with relevance, a repeat
 * sized by repeat_count, calculations, a choice filter) and records.  A
 * record built to be valid -- the generator knows what every relevance
 * and calculation gives, as all of them read two anchor fields -- is
 * taken; the same record with random junk in random places never
 * crashes validation (the sanitizers watch).
 */
static unsigned long long prop_state;

static unsigned
prop_rand(unsigned n)
{
	prop_state ^= prop_state << 13;
	prop_state ^= prop_state >> 7;
	prop_state ^= prop_state << 17;
	return (unsigned)(prop_state % n);
}

static json_t *
prop_junk(int depth)
{
	switch (prop_rand(depth > 2 ? 6 : 8)) {
	case 0: return json_integer((json_int_t)prop_rand(100) - 50);
	case 1: return json_real(prop_rand(1000) / 7.0);
	case 2: return json_string("");
	case 3: return json_string(prop_rand(2) ? "a b" : "12:00");
	case 4: return json_null();
	case 5: return json_true();
	case 6: {
		json_t *a = json_array();
		for (unsigned i = prop_rand(4); i > 0; i--)
			json_array_append_new(a, prop_junk(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = prop_rand(3); i > 0; i--)
			json_object_set_new(o, prop_rand(2) ? "ri" : "zz",
			    prop_junk(depth + 1));
		return o;
	}
	}
}

static void
test_language_property(void **state)
{
	prop_state = 0x9e3779b97f4a7c15ULL;
	for (int iter = 0; iter < 400; iter++) {
		json_t *def = json_pack("{s:s, s:s}", "form_id", "p", "version",
		    "1"), *survey = json_array(), *choices = json_array();
		json_t *rec = json_object();
		long a0 = prop_rand(6), a1 = prop_rand(6);
		int rel[8], depth = 0, nf = 0, has_repeat = 0, rcount = -1;
		int items = 0, relevant = 1;
		long ri_sum = 0;
		struct form *f;
		struct form_errors errs = { 0 };
		char err[512], name[32], expr[96], *text;

		for (int k = 0; k < 6; k++) {
			char nm[16];
			snprintf(nm, sizeof(nm), "%d", k);
			json_array_append_new(choices, json_pack("{s:s, s:s, s:s}",
			    "list_name", "l", "name", nm, "grp", k % 2 ? "1" :
			    "0"));
		}
		json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
		    "type", "integer", "name", "a0", "required", "yes"));
		json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
		    "type", "int", "name", "a1", "required", "TRUE"));
		json_object_set_new(rec, "a0", json_integer(a0));
		json_object_set_new(rec, "a1", json_integer(a1));
		for (int n = 5 + (int)prop_rand(30); n > 0; n--) {
			unsigned what = prop_rand(12);
			long t = (long)prop_rand(7) - 1;
			int own = prop_rand(3) == 0;	/* its own relevant */
			int r;

			relevant = 1;
			for (int k = 0; k < depth; k++)
				relevant &= rel[k];
			snprintf(name, sizeof(name), "f%d", nf++);
			snprintf(expr, sizeof(expr), "${a1} > %ld", t);
			if (what == 0 && depth < 8) {
				json_array_append_new(survey, json_pack(
				    "{s:s, s:s, s:s}", "type", prop_rand(2) ?
				    "begin_group" : "begin group", "name", name,
				    "relevant", expr));
				rel[depth++] = a1 > t;
				continue;
			}
			if (what == 1 && depth > 0) {
				json_array_append_new(survey, json_pack("{s:s}",
				    "type", prop_rand(2) ? "end_group" :
				    "end group"));
				depth--;
				continue;
			}
			if (what == 2 && !has_repeat) {
				/* the roster: items sized by a0 or free */
				json_t *row = json_pack("{s:s, s:s}", "type",
				    "begin_repeat", "name", "members");
				json_t *arr = json_array();
				has_repeat = 1;
				if (prop_rand(2))
					json_object_set_new(row, "repeat_count",
					    json_string("${a0}"));
				rcount = (int)(json_object_get(row,
				    "repeat_count") ? a0 : prop_rand(4));
				json_array_append_new(survey, row);
				json_array_append_new(survey, json_pack(
				    "{s:s, s:s, s:s}", "type", "integer", "name",
				    "ri", "required", "yes"));
				json_array_append_new(survey, json_pack(
				    "{s:s, s:s, s:s}", "type", "calculate",
				    "name", "rc", "calculation",
				    "${ri} * position(..)"));
				json_array_append_new(survey, json_pack(
				    "{s:s, s:s, s:s}", "type", "select_one l",
				    "name", "rs", "choice_filter",
				    "grp = ${a1} mod 2"));
				json_array_append_new(survey, json_pack("{s:s}",
				    "type", "end_repeat"));
				items = relevant ? rcount : 0;
				for (int k = 0; k < items; k++) {
					long v = prop_rand(50);
					char c[16];
					snprintf(c, sizeof(c), "%ld",
					    (long)(a1 % 2 + 2 * prop_rand(3)));
					ri_sum += v;
					json_array_append_new(arr, json_pack(
					    "{s:I, s:I, s:s}", "ri", (json_int_t)v,
					    "rc", (json_int_t)(v * (k + 1)), "rs",
					    c));
				}
				if (items > 0)
					json_object_set_new(rec, "members", arr);
				else
					json_decref(arr);
				continue;
			}
			r = relevant && (!own || a1 > t);
			{
				static const char *const types[] = { "text",
				    "integer", "decimal", "date", "time",
				    "select_one l", "select_multiple l", "note",
				    "calculate", "calculate", "datetime" };
				unsigned ty = prop_rand(11);
				json_t *row = json_pack("{s:s, s:s}", "type",
				    types[ty], "name", name);
				json_t *v = NULL;

				if (own)
					json_object_set_new(row, "relevant",
					    json_string(expr));
				switch (ty) {
				case 0: v = json_string("w"); break;
				case 1: v = json_integer(prop_rand(9)); break;
				case 2: v = json_real(prop_rand(9) / 4.0); break;
				case 3: v = json_string("2026-02-28"); break;
				case 4: v = json_string("23:59:01.5+01:00"); break;
				case 5: v = json_string("3"); break;
				case 6: v = json_pack("[ss]", "0", "5"); break;
				case 7: break;
				case 8:
					json_object_set_new(row, "calculation",
					    json_string("${a0} + ${a1}"));
					v = json_integer(a0 + a1);
					break;
				case 9:
					json_object_set_new(row, "calculation",
					    json_string("concat(if(${a0} > 2, "
					    "'big', 'small'), '-', ${a1})"));
					snprintf(expr, sizeof(expr), "%s-%ld",
					    a0 > 2 ? "big" : "small", a1);
					v = json_string(expr);
					break;
				default:
					v = json_string("2026-12-01T10:00:00Z");
					break;
				}
				if (prop_rand(4) == 0)
					json_object_set_new(row, "required",
					    json_string(prop_rand(2) ? "1" : "T"));
				json_array_append_new(survey, row);
				if (r && v != NULL)
					json_object_set_new(rec, name, v);
				else
					json_decref(v);
			}
		}
		while (depth-- > 0)
			json_array_append_new(survey, json_pack("{s:s}", "type",
			    "end_group"));
		if (has_repeat) {
			json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
			    "type", "calculate", "name", "total", "calculation",
			    "sum(${ri})"));
			json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
			    "type", "calculate", "name", "n_members",
			    "calculation", "count(${members})"));
			json_object_set_new(rec, "total", json_integer(ri_sum));
			json_object_set_new(rec, "n_members",
			    json_integer(items));
		}
		json_object_set_new(def, "survey", survey);
		json_object_set_new(def, "choices", choices);
		text = json_dumps(def, JSON_COMPACT);
		if (form_parse(text, strlen(text), &f, err, sizeof(err)) != 0)
			fail_msg("iteration %d: %s\n%s", iter, err, text);
		if (form_validate(f, rec, "2026-12-06", &errs) != 0) {
			char *r = json_dumps(rec, JSON_COMPACT);
			fail_msg("iteration %d: %s: %s\n%s\n%s", iter,
			    errs.e[0].path, errs.e[0].reason, text, r);
		}
		/* junk in random places: refused or not, never a crash */
		for (int k = 0; k < 8; k++) {
			json_t *bad = json_deep_copy(rec);
			const char *key;
			json_t *v;
			struct form_errors e2 = { 0 };

			json_object_foreach(bad, key, v)
				if (prop_rand(3) == 0)
					json_object_set_new(bad, key, prop_junk(0));
			if (prop_rand(2)) {
				json_t *m = json_object_get(bad, "members");
				json_t *it = json_array_get(m, 0);
				if (json_is_object(it))
					json_object_set_new(it, prop_rand(2) ?
					    "rs" : "rc", prop_junk(0));
			}
			(void)form_validate(f, bad, "2026-12-06", &e2);
			json_decref(bad);
		}
		form_free(f);
		free(text);
		json_decref(def);
		json_decref(rec);
	}
}

/*
 * A form the size of a real multi-sector assessment: 550 fields, 100
 * lists, and a 2,000-place cascade admin1 -> admin2 -> site by
 * choice_filter, validated record after record.
 */
static void
test_language_big_form(void **state)
{
	json_t *def = json_pack("{s:s, s:s}", "form_id", "big", "version", "1");
	json_t *survey = json_array(), *choices = json_array(), *rec;
	char name[32], a1[16], a2[16], site[16], *text;
	struct form *f;
	int n_fields = 0;

	/* the cascade: 10 admin1, 100 admin2, 2000 sites */
	for (int i = 0; i < 10; i++) {
		snprintf(a1, sizeof(a1), "%d", i + 1);
		json_array_append_new(choices, json_pack("{s:s, s:s}",
		    "list_name", "admin1", "name", a1));
	}
	for (int i = 0; i < 100; i++) {
		snprintf(a1, sizeof(a1), "%d", i / 10 + 1);
		snprintf(a2, sizeof(a2), "%d_%d", i / 10 + 1, i % 10);
		json_array_append_new(choices, json_pack("{s:s, s:s, s:s}",
		    "list_name", "admin2", "name", a2, "admin1", a1));
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(a2, sizeof(a2), "%d_%d", i / 200 + 1, i / 20 % 10);
		snprintf(site, sizeof(site), "S%04d", i);
		json_array_append_new(choices, json_pack("{s:s, s:s, s:s}",
		    "list_name", "site", "name", site, "filter_admin2", a2));
	}
	/* 97 more lists of 5 */
	for (int l = 0; l < 97; l++)
		for (int k = 0; k < 5; k++) {
			snprintf(name, sizeof(name), "list%d", l);
			snprintf(site, sizeof(site), "%d", k);
			json_array_append_new(choices, json_pack("{s:s, s:s}",
			    "list_name", name, "name", site));
		}
	json_array_append_new(survey, json_pack("{s:s, s:s, s:s}", "type",
	    "select_one admin1", "name", "admin1", "required", "yes"));
	json_array_append_new(survey, json_pack("{s:s, s:s, s:s}", "type",
	    "select_one admin2", "name", "admin2", "choice_filter",
	    "admin1 = ${admin1}"));
	json_array_append_new(survey, json_pack("{s:s, s:s, s:s}", "type",
	    "select_one site", "name", "site", "choice_filter",
	    "filter_admin2=${admin2}"));
	n_fields = 3;
	for (int g = 0; n_fields < 550; g++) {
		snprintf(name, sizeof(name), "sec%d", g);
		json_array_append_new(survey, json_pack("{s:s, s:s, s:s}",
		    "type", "begin_group", "name", name, "relevant",
		    "${admin1} != '10'"));
		n_fields++;
		for (int k = 0; k < 20 && n_fields < 550; k++, n_fields++) {
			json_t *row;

			snprintf(name, sizeof(name), "q%d_%d", g, k);
			if (k % 3 == 0) {
				char type[32];
				snprintf(type, sizeof(type), "select_one list%d",
				    (g * 7 + k) % 97);
				row = json_pack("{s:s, s:s}", "type", type,
				    "name", name);
			} else if (k % 3 == 1) {
				row = json_pack("{s:s, s:s, s:s, s:s}", "type",
				    "integer", "name", name, "constraint",
				    ". >= 0 and . <= 100", "required", "yes");
			} else {
				char calc[64];
				snprintf(calc, sizeof(calc), "${q%d_%d} * 2", g,
				    k - 1);
				row = json_pack("{s:s, s:s, s:s}", "type",
				    "calculate", "name", name, "calculation",
				    calc);
			}
			json_array_append_new(survey, row);
		}
		json_array_append_new(survey, json_pack("{s:s}", "type",
		    "end_group"));
	}
	json_object_set_new(def, "survey", survey);
	json_object_set_new(def, "choices", choices);
	text = json_dumps(def, JSON_COMPACT);
	{
		char err[512];
		if (form_parse(text, strlen(text), &f, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	for (int r = 0; r < 200; r++) {
		struct form_errors errs = { 0 };
		int i = (r * 37) % 2000;
		const json_t *row;
		size_t k;

		rec = json_object();
		snprintf(a1, sizeof(a1), "%d", i / 200 + 1);
		snprintf(a2, sizeof(a2), "%d_%d", i / 200 + 1, i / 20 % 10);
		snprintf(site, sizeof(site), "S%04d", i);
		json_object_set_new(rec, "admin1", json_string(a1));
		json_object_set_new(rec, "admin2", json_string(a2));
		json_object_set_new(rec, "site", json_string(site));
		json_array_foreach(survey, k, row) {
			const char *type = json_string_value(json_object_get(row,
			    "type"));
			const char *nm = json_string_value(json_object_get(row,
			    "name"));
			if (nm == NULL || nm[0] != 'q' || i / 200 + 1 == 10)
				continue;
			if (strncmp(type, "select_one", 10) == 0)
				json_object_set_new(rec, nm, json_string("2"));
			else if (strcmp(type, "integer") == 0)
				json_object_set_new(rec, nm,
				    json_integer((r + (json_int_t)k) % 101));
			else {
				/* twice the integer just before */
				char prev[32];
				int g, q;
				sscanf(nm, "q%d_%d", &g, &q);
				snprintf(prev, sizeof(prev), "q%d_%d", g, q - 1);
				json_object_set_new(rec, nm, json_integer(2 *
				    json_integer_value(json_object_get(rec,
				    prev))));
			}
		}
		if (form_validate(f, rec, "2026-12-06", &errs) != 0)
			fail_msg("record %d: %s: %s", r, errs.e[0].path,
			    errs.e[0].reason);
		/* the next site over is in another admin2 every 20 */
		snprintf(site, sizeof(site), "S%04d", (i + 20) % 2000);
		json_object_set_new(rec, "site", json_string(site));
		memset(&errs, 0, sizeof(errs));
		assert_int_equal(form_validate(f, rec, "2026-12-06", &errs), -1);
		assert_int_equal(errs.n, 1);
		assert_string_equal(errs.e[0].path, "site");
		json_decref(rec);
	}
	form_free(f);
	free(text);
	json_decref(def);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_valid),
		cmocka_unit_test(test_site_rules),
		cmocka_unit_test(test_household_rules),
		cmocka_unit_test(test_household_rules_large_form),
		cmocka_unit_test(test_mrc_rules),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_member_counts),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_empty_record),
		cmocka_unit_test(test_errors_append),
		cmocka_unit_test(test_error_add_cap),
		cmocka_unit_test(test_today),
		cmocka_unit_test(test_reasons_never_quote),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_long_unknown_key),
		cmocka_unit_test(test_long_select_multiple),
		cmocka_unit_test(test_required_when_relevant),
		cmocka_unit_test(test_language_records),
		cmocka_unit_test(test_language_groups),
		cmocka_unit_test(test_language_age),
		cmocka_unit_test(test_language_choice_names),
		cmocka_unit_test(test_language_duplicates),
		cmocka_unit_test(test_language_property),
		cmocka_unit_test(test_language_big_form),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
