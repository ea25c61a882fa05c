/*
 * form_samples.h: one valid record of each shipped form, shared by the
 * form module's tests (each test breaks one rule of a copy).
 */
#ifndef FORM_SAMPLES_H
#define FORM_SAMPLES_H

#include <stdio.h>

#include "common/embedded.h"
#include "form/form.h"

/* The shipped forms, from the copies compiled into the binary; NULL (and
   the reason on stderr) when one does not parse. */
static inline struct form_catalog *
samples_catalog(void)
{
	struct form_catalog *cat = form_catalog_new();
	char err[256];

	for (const struct embedded_file *e = embedded_forms; cat && e->name;
	    e++)
		if (form_catalog_add(cat, e->data, e->len, err,
		    sizeof(err)) == NULL) {
			fprintf(stderr, "%s: %s\n", e->name, err);
			form_catalog_free(cat);
			return NULL;
		}
	return cat;
}

/* Test JSON, which must parse. */
static inline json_t *
samples_load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL)
		fail_msg("bad test JSON: %s: %.60s", jerr.text, text);
	return v;
}

#define TODAY "2026-11-28"

static const char site_sample[] = "{"
    "\"site_id\": \"SS-001\", \"site_name\": \"Camp Alpha\","
    "\"site_type\": \"camp\", \"admin1\": \"SS01\", \"admin2\": \"SS0101\","
    "\"location\": {\"latitude\": 4.85, \"longitude\": 31.6,"
    " \"accuracy\": 12.5},"
    "\"assessment_date\": \"2026-11-20\","
    "\"population_households\": 100, \"population_individuals\": 500,"
    "\"females_0_4\": 50, \"females_18_59\": 120, \"males_0_4\": 45,"
    "\"males_18_59\": 100, \"males_60_plus\": 10,"
    "\"pregnant_lactating\": 3, \"unaccompanied_children\": 2,"
    "\"separated_children\": 4, \"elderly_alone\": 1,"
    "\"persons_with_disabilities\": 6, \"chronic_illness\": 7,"
    "\"arrivals_last_7_days\": 5, \"departures_last_7_days\": 1,"
    "\"main_origin_admin1\": \"SS02\", \"displacement_reason\": \"conflict\","
    "\"priority_needs\": [\"food\", \"water\"], \"site_management\": \"ngo\","
    "\"health_facility_on_site\": \"yes\", \"latrines\": 4,"
    "\"key_informant_type\": \"site_manager\", \"notes\": \"dry season\"}";

static const char household_sample[] = "{"
    "\"site_id\": \"SS-001\", \"admin1\": \"SS01\", \"admin2\": \"SS0101\","
    "\"registration_date\": \"2026-11-20\", \"consent\": \"yes\","
    "\"head_name\": \"Amina B\", \"phone\": \"+211 912345678\","
    "\"origin_admin1\": \"SS02\", \"origin_admin2\": \"SS0201\","
    "\"displacement_date\": \"2026-10-01\","
    "\"displacement_reason\": \"conflict\", \"shelter_type\": \"tent\","
    "\"intention\": \"stay\", \"needs\": [\"food\", \"shelter\"],"
    "\"members\": ["
    " {\"member_name\": \"Amina B\", \"sex\": \"female\", \"age_years\": 34,"
    "  \"relationship\": \"head\","
    "  \"vulnerabilities\": [\"pregnant_lactating\"],"
    "  \"documentation\": \"national_id\"},"
    " {\"member_name\": \"Chol B\", \"sex\": \"male\", \"age_years\": 3,"
    "  \"relationship\": \"child\"},"
    " {\"member_name\": \"Deng B\", \"sex\": \"female\", \"age_years\": 70,"
    "  \"relationship\": \"parent\","
    "  \"vulnerabilities\": [\"disability\", \"elderly_alone\"]}]}";

static const char mrc_sample[] = "{"
    "\"centre_id\": \"MRC-KTM-01\", \"visit_date\": \"2026-11-20\","
    "\"client_code\": \"AB12\", \"consent\": \"yes\", \"sex\": \"female\","
    "\"age_years\": 25, \"nationality\": \"NPL\","
    "\"migration_stage\": \"pre_departure\", \"visit_mode\": \"in_person\","
    "\"reasons\": [\"contract_review\", \"recruitment_fees\"],"
    "\"services\": [\"information\", \"referral\"],"
    "\"referred_to\": [\"legal_aid\"], \"destination_country\": \"QAT\","
    "\"follow_up_needed\": \"yes\", \"follow_up_date\": \"2026-12-01\","
    "\"notes\": \"asked about fees\"}";

#endif
