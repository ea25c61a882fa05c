/*
 * test_form_values.c: a valid record to the protobuf values that are
 * sealed and back (JSON -> values -> packed -> unpacked -> JSON gives the
 * record again, metadata and empty answers left out), and form_coerce,
 * which turns the text cells of a CSV import into typed JSON; and that
 * recpack's own protobuf writer gives the bytes protobuf-c's packer does.
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
#include "form/recpack.h"

#include "tests/unit/form_samples.h"

/* A field of each type, for decimals and geopoints given as text. */
static const char types_def[] = "{"
    "\"form_id\": \"types\", \"version\": \"1\","
    "\"survey\": ["
    " {\"type\": \"text\", \"name\": \"t\"},"
    " {\"type\": \"integer\", \"name\": \"i\"},"
    " {\"type\": \"decimal\", \"name\": \"d\"},"
    " {\"type\": \"date\", \"name\": \"dt\"},"
    " {\"type\": \"select_one colours\", \"name\": \"one\"},"
    " {\"type\": \"select_multiple colours\", \"name\": \"many\"},"
    " {\"type\": \"geopoint\", \"name\": \"g\"},"
    " {\"type\": \"begin_repeat\", \"name\": \"r\"},"
    " {\"type\": \"integer\", \"name\": \"ri\"},"
    " {\"type\": \"end_repeat\"}],"
    "\"choices\": ["
    " {\"list_name\": \"colours\", \"name\": \"red\"},"
    " {\"list_name\": \"colours\", \"name\": \"blue\"}]}";

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

static void
assert_json_equal(const json_t *a, const json_t *b)
{
	if (!json_equal((json_t *)a, (json_t *)b)) {
		char *sa = json_dumps(a, JSON_SORT_KEYS);
		char *sb = json_dumps(b, JSON_SORT_KEYS);

		fprintf(stderr, "want %s\n got %s\n", sa, sb);
		free(sa);
		free(sb);
		fail();
	}
}

/*
 * rec (valid for f) through values, the wire and back; returns the JSON
 * that comes out.
 */
static json_t *
round_trip(const struct form *f, const json_t *rec)
{
	Field__Record r = FIELD__RECORD__INIT, *back;
	struct form_errors errs = { 0 };
	uint8_t *buf;
	size_t len;
	json_t *out;

	if (form_validate(f, rec, TODAY, &errs) != 0)
		fail_msg("invalid: %s: %s", errs.e[0].path, errs.e[0].reason);
	assert_int_equal(form_values(f, rec, &r), 0);
	len = field__record__get_packed_size(&r);
	assert_non_null(buf = malloc(len + 1));
	assert_int_equal(field__record__pack(&r, buf), len);
	form_values_free(&r);
	assert_null(r.values);
	assert_int_equal(r.n_values, 0);
	assert_non_null(back = field__record__unpack(NULL, len, buf));
	out = form_values_json(back);
	assert_non_null(out);
	field__record__free_unpacked(back, NULL);
	free(buf);
	return out;
}

static void
test_round_trip_samples(void **state)
{
	static const char *ids[] = { "dtm_site_assessment", "dtm_household",
	    "mrc_visit" };
	static const char *samples[] = { site_sample, household_sample,
	    mrc_sample };

	for (size_t i = 0; i < 3; i++) {
		json_t *rec = samples_load(samples[i]);
		json_t *out = round_trip(shipped(ids[i]), rec);

		assert_json_equal(rec, out);
		json_decref(rec);
		json_decref(out);
	}
}

/* Metadata and empty answers are not values. */
static void
test_skips_metadata_and_empty(void **state)
{
	json_t *rec = samples_load(mrc_sample), *want = samples_load(mrc_sample), *out;

	json_object_set_new(rec, "_id",
	    json_string("7d1c2f0e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"));
	json_object_set_new(rec, "_form", json_string("mrc_visit"));
	json_object_set_new(rec, "services", json_array());
	json_object_set_new(rec, "client_code", json_string(""));
	json_object_set_new(rec, "sex", json_null());
	json_object_del(rec, "referred_to");
	out = round_trip(shipped("mrc_visit"), rec);
	json_object_del(want, "services");
	json_object_del(want, "client_code");
	json_object_del(want, "sex");
	json_object_del(want, "referred_to");
	assert_json_equal(want, out);
	json_decref(rec);
	json_decref(want);
	json_decref(out);
}

/* The values themselves: names, kinds, survey order, repeat items. */
static void
test_values_shape(void **state)
{
	Field__Record r = FIELD__RECORD__INIT;
	json_t *rec = samples_load(household_sample);
	const Field__Value *v;
	const Field__Group *g;

	assert_int_equal(form_values(shipped("dtm_household"), rec, &r), 0);
	assert_int_equal(r.n_values, 15);
	assert_string_equal(r.values[0]->name, "site_id");
	assert_int_equal(r.values[0]->v_case, FIELD__VALUE__V_TEXT);
	assert_string_equal(r.values[0]->text, "SS-001");
	assert_string_equal(r.values[3]->name, "registration_date");
	assert_int_equal(r.values[3]->v_case, FIELD__VALUE__V_TEXT);
	v = r.values[13];
	assert_string_equal(v->name, "needs");
	assert_int_equal(v->v_case, FIELD__VALUE__V_CHOICES);
	assert_int_equal(v->choices->n_names, 2);
	assert_string_equal(v->choices->names[0], "food");
	assert_string_equal(v->choices->names[1], "shelter");
	v = r.values[14];
	assert_string_equal(v->name, "members");
	assert_int_equal(v->v_case, FIELD__VALUE__V_REPEAT);
	assert_int_equal(v->repeat->n_items, 3);
	g = v->repeat->items[1];
	assert_int_equal(g->n_values, 4);
	assert_string_equal(g->values[0]->name, "member_name");
	assert_string_equal(g->values[2]->name, "age_years");
	assert_int_equal(g->values[2]->v_case, FIELD__VALUE__V_INTEGER);
	assert_int_equal(g->values[2]->integer, 3);
	form_values_free(&r);
	json_decref(rec);
}

/* Text forms of select_multiple and geopoint come back as JSON forms;
   decimals, negative and large integers keep their value. */
static void
test_normal_forms(void **state)
{
	Field__Record r = FIELD__RECORD__INIT;
	json_t *rec = samples_load("{\"t\": \"caf\\u00e9 \\u0639\\u0631\\u0628\","
	    " \"i\": -9223372036854775807, \"d\": 2.25, \"dt\": \"2024-02-29\","
	    " \"one\": \"red\", \"many\": \" blue  red \","
	    " \"g\": \"-1.5 30.25 1200 4.5\","
	    " \"r\": [{\"ri\": 1}, {}, {\"ri\": 3}]}");
	json_t *want = samples_load("{\"t\": \"caf\\u00e9 \\u0639\\u0631\\u0628\","
	    " \"i\": -9223372036854775807, \"d\": 2.25, \"dt\": \"2024-02-29\","
	    " \"one\": \"red\", \"many\": [\"blue\", \"red\"],"
	    " \"g\": {\"latitude\": -1.5, \"longitude\": 30.25,"
	    " \"altitude\": 1200.0, \"accuracy\": 4.5},"
	    " \"r\": [{\"ri\": 1}, {}, {\"ri\": 3}]}");
	json_t *out = round_trip(types_form, rec);
	const Field__GeoPoint *g;

	assert_json_equal(want, out);
	json_decref(out);

	assert_int_equal(form_values(types_form, rec, &r), 0);
	g = r.values[6]->geopoint;
	assert_int_equal(r.values[6]->v_case, FIELD__VALUE__V_GEOPOINT);
	assert_true(g->has_altitude && g->has_accuracy);
	assert_true(g->latitude == -1.5 && g->accuracy == 4.5);
	form_values_free(&r);

	/* a point without altitude or accuracy says so */
	json_object_set_new(rec, "g", json_string("1.5 2.5"));
	assert_int_equal(form_values(types_form, rec, &r), 0);
	g = r.values[6]->geopoint;
	assert_false(g->has_altitude || g->has_accuracy);
	form_values_free(&r);
	out = round_trip(types_form, rec);
	json_object_set_new(want, "g", json_pack("{s:f, s:f}", "latitude", 1.5,
	    "longitude", 2.5));
	assert_json_equal(want, out);
	json_decref(out);
	json_decref(want);
	json_decref(rec);
}

static void
test_empty_values(void **state)
{
	Field__Record r = FIELD__RECORD__INIT;
	json_t *rec = json_object(), *out;

	assert_int_equal(form_values(types_form, rec, &r), 0);
	assert_int_equal(r.n_values, 0);
	out = form_values_json(&r);
	assert_int_equal(json_object_size(out), 0);
	form_values_free(&r);
	form_values_free(&r);	/* twice is harmless */
	json_decref(out);
	json_decref(rec);
}

/* form_values_json needs no form: any well-formed values will do. */
static void
test_values_json_alone(void **state)
{
	Field__Value v = FIELD__VALUE__INIT, *vp = &v;
	Field__Record r = FIELD__RECORD__INIT;
	json_t *out;

	v.name = "x";
	v.v_case = FIELD__VALUE__V_DECIMAL;
	v.decimal = 0.5;
	r.n_values = 1;
	r.values = &vp;
	out = form_values_json(&r);
	assert_non_null(out);
	assert_true(json_real_value(json_object_get(out, "x")) == 0.5);
	json_decref(out);
}

/* CSV cells: every value a string. */
static void
test_coerce(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load("{\"centre_id\": \"MRC-01\", \"visit_date\":"
	    " \"2026-11-20\", \"consent\": \"no\", \"sex\": \"\","
	    " \"age_years\": \"30\", \"reasons\": \"health legal_aid\","
	    " \"services\": \"\", \"follow_up_needed\": \"no\"}");
	json_t *want = samples_load("{\"centre_id\": \"MRC-01\", \"visit_date\":"
	    " \"2026-11-20\", \"consent\": \"no\", \"age_years\": 30,"
	    " \"reasons\": [\"health\", \"legal_aid\"],"
	    " \"follow_up_needed\": \"no\"}");

	assert_int_equal(form_coerce(shipped("mrc_visit"), rec, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_json_equal(want, rec);
	assert_int_equal(form_validate(shipped("mrc_visit"), rec, TODAY,
	    &errs), 0);
	json_decref(rec);
	json_decref(want);
}

static void
test_coerce_members(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load("{\"site_id\": \"SS-001\", \"admin1\": \"SS01\","
	    " \"admin2\": \"SS0101\", \"registration_date\": \"2026-11-20\","
	    " \"consent\": \"no\", \"needs\": \"food\", \"members\": ["
	    " {\"sex\": \"female\", \"age_years\": \"34\","
	    " \"relationship\": \"head\", \"vulnerabilities\": \"\"},"
	    " {\"sex\": \"male\", \"age_years\": \"3\","
	    " \"relationship\": \"child\", \"vulnerabilities\":"
	    " \"disability separated_child\"}]}");
	const json_t *m;

	assert_int_equal(form_coerce(shipped("dtm_household"), rec, &errs), 0);
	m = json_object_get(rec, "members");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(m,
	    0), "age_years")), 34);
	assert_null(json_object_get(json_array_get(m, 0), "vulnerabilities"));
	assert_int_equal(json_array_size(json_object_get(json_array_get(m, 1),
	    "vulnerabilities")), 2);
	assert_int_equal(json_array_size(json_object_get(rec, "needs")), 1);
	assert_int_equal(form_validate(shipped("dtm_household"), rec, TODAY,
	    &errs), 0);
	json_decref(rec);
}

static void
test_coerce_errors(void **state)
{
	static const struct {
		const char *rec;
		const char *path;
	} bad[] = {
		{ "{\"i\": \"abc\"}", "i" },
		{ "{\"i\": \"1.5\"}", "i" },
		{ "{\"i\": \"12x\"}", "i" },
		{ "{\"i\": \" 12\"}", "i" },
		{ "{\"i\": \"99999999999999999999\"}", "i" },
		{ "{\"d\": \"1,5\"}", "d" },
		{ "{\"d\": \"nan\"}", "d" },
		{ "{\"d\": \"1e999\"}", "d" },
		{ "{\"r\": [{\"ri\": \"1\"}, {\"ri\": \"two\"}]}", "r[2].ri" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct form_errors errs = { 0 };
		json_t *rec = samples_load(bad[i].rec);

		assert_int_equal(form_coerce(types_form, rec, &errs), -1);
		assert_int_equal(errs.n, 1);
		assert_string_equal(errs.e[0].path, bad[i].path);
		assert_non_null(strstr(errs.e[0].reason, "number"));
		json_decref(rec);
	}
}

/* Values already typed, unknown keys and text types are left alone. */
static void
test_coerce_leaves(void **state)
{
	struct form_errors errs = { 0 };
	json_t *rec = samples_load("{\"t\": \"007\", \"i\": 5, \"d\": \"-2.5\","
	    " \"dt\": \"2026-11-20\", \"one\": \"red\", \"g\": \"1 2\","
	    " \"many\": [\"red\"], \"zz\": \"12\", \"_id\": \"\"}");
	json_t *want = samples_load("{\"t\": \"007\", \"i\": 5, \"d\": -2.5,"
	    " \"dt\": \"2026-11-20\", \"one\": \"red\", \"g\": \"1 2\","
	    " \"many\": [\"red\"], \"zz\": \"12\", \"_id\": \"\"}");

	assert_int_equal(form_coerce(types_form, rec, &errs), 0);
	assert_json_equal(want, rec);
	json_decref(rec);
	json_decref(want);

	rec = json_array();
	assert_int_equal(form_coerce(types_form, rec, &errs), -1);
	assert_int_equal(errs.n, 1);
	json_decref(rec);
}

/* r packed by recpack's writer: the bytes protobuf-c writes. */
static void
assert_packs_alike(const Field__Record *r)
{
	size_t want = field__record__get_packed_size(r);
	uint8_t *a = malloc(want + 1), *b = malloc(want + 1);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(field__record__pack(r, a), want);
	assert_int_equal(recpack_pb_size(r), want);
	assert_int_equal(recpack_pb_write(r, b), want);
	assert_memory_equal(a, b, want);
	free(a);
	free(b);
}

static void
test_pack_as_protobuf_c(void **state)
{
	static const char *ids[] = { "dtm_site_assessment", "dtm_household",
	    "mrc_visit" };
	static const char *samples[] = { site_sample, household_sample,
	    mrc_sample };
	static const char *types_recs[] = {
	    "{\"t\": \"\", \"i\": 0, \"d\": 0.0, \"dt\": \"2026-01-02\","
	    " \"one\": \"red\", \"many\": [\"red\", \"blue\"],"
	    " \"g\": {\"latitude\": 0, \"longitude\": -0.0,"
	    " \"altitude\": 0, \"accuracy\": 0}, \"r\": [{}, {\"ri\": -1}]}",
	    "{\"t\": \"x\", \"i\": -9223372036854775807, \"d\": -0.0,"
	    " \"many\": \"blue\", \"g\": \"-12.5 30.25 1200 4.5\","
	    " \"r\": [{\"ri\": 9223372036854775807}]}",
	    "{\"i\": 300, \"d\": 1e300, \"g\": \"1 2\"}",
	};
	Field__Record r = FIELD__RECORD__INIT;

	for (size_t i = 0; i < 3; i++) {
		json_t *rec = samples_load(samples[i]);

		assert_int_equal(form_values(shipped(ids[i]), rec, &r), 0);
		/* as sealed: metadata left out; and as a whole record */
		r.seq = 1;
		r.created_ms = 1796000000000LL;
		r.clock = FIELD__CLOCK_QUALITY__CLOCK_TRUSTED;
		assert_packs_alike(&r);
		r.id = "7d1c2f0e-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
		r.form_id = (char *)ids[i];
		r.form_version = "2026.11.1";
		r.device_id = "dev-1";
		r.seq = (uint64_t)1 << 40;
		r.created_ms = -5;	/* a clock before 1970: ten bytes */
		r.clock = FIELD__CLOCK_QUALITY__CLOCK_UNTRUSTED_EARLIER_BOOT;
		assert_packs_alike(&r);
		form_values_free(&r);
		r = (Field__Record)FIELD__RECORD__INIT;
		json_decref(rec);
	}
	for (size_t i = 0; i < sizeof(types_recs) / sizeof(*types_recs);
	    i++) {
		json_t *rec = json_loads(types_recs[i], 0, NULL);

		assert_non_null(rec);
		if (i == 2) {	/* lengths of two and three bytes */
			static char t[20000];
			memset(t, 'x', sizeof(t) - 1);
			json_object_set_new(rec, "t", json_string(t));
		}
		assert_int_equal(form_values(types_form, rec, &r), 0);
		assert_packs_alike(&r);
		form_values_free(&r);
		json_decref(rec);
	}
	/* values no record makes, which protobuf-c still writes its way:
	   the oneof's shared empty string and NULL message, empty names */
	{
		Field__Value v[5], *vp[5];
		Field__Choices ch = FIELD__CHOICES__INIT;
		char *names[2] = { "x", "" };

		for (int k = 0; k < 5; k++) {
			field__value__init(&v[k]);
			vp[k] = &v[k];
		}
		v[0].v_case = FIELD__VALUE__V_TEXT;
		v[0].text = (char *)protobuf_c_empty_string;
		v[1].name = "c";
		v[1].v_case = FIELD__VALUE__V_CHOICES;
		ch.names = names;
		ch.n_names = 2;
		v[1].choices = &ch;
		v[2].v_case = FIELD__VALUE__V_REPEAT;
		v[2].repeat = NULL;
		v[3].v_case = FIELD__VALUE__V_INTEGER;
		v[3].integer = 0;
		v[4].v_case = FIELD__VALUE__V_TEXT;
		v[4].text = "";
		r.values = vp;
		r.n_values = 5;
		assert_packs_alike(&r);
		r = (Field__Record)FIELD__RECORD__INIT;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_samples),
		cmocka_unit_test(test_skips_metadata_and_empty),
		cmocka_unit_test(test_values_shape),
		cmocka_unit_test(test_pack_as_protobuf_c),
		cmocka_unit_test(test_normal_forms),
		cmocka_unit_test(test_empty_values),
		cmocka_unit_test(test_values_json_alone),
		cmocka_unit_test(test_coerce),
		cmocka_unit_test(test_coerce_members),
		cmocka_unit_test(test_coerce_errors),
		cmocka_unit_test(test_coerce_leaves),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
