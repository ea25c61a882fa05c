/*
 * test_jarena.c: records parsed into the reserved region come out whole,
 * the slot comes back once the last block of the tree is freed (on any
 * thread, after any change to the tree), and when slots run out or a tree
 * outgrows one the rest is plain malloc.  Under ASan a slot given back is
 * poisoned, so a tree used after its slot was taken again would be caught.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/jarena.h"

static const char household[] =
    "{\"site_id\": \"SITE-001\", \"consent\": \"yes\", \"size\": 3,"
    " \"lat\": 4.85, \"needs\": \"food water\", \"members\": ["
    "{\"member_name\": \"A\", \"age_years\": 34, \"sex\": \"female\"},"
    "{\"member_name\": \"B\", \"age_years\": 36, \"sex\": \"male\"},"
    "{\"member_name\": \"C\", \"age_years\": 4, \"sex\": \"female\"}]}";

static json_t *
parse(const char *text)
{
	json_error_t err;

	return jarena_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &err);
}

static void
assert_household(json_t *j)
{
	json_t *m = json_object_get(j, "members");

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "site_id")),
	    "SITE-001");
	assert_int_equal(json_integer_value(json_object_get(j, "size")), 3);
	assert_true(json_real_value(json_object_get(j, "lat")) == 4.85);
	assert_int_equal(json_array_size(m), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(m,
	    2), "age_years")), 4);
}

/* First, before jarena_init: json_loadb as it is. */
static void
test_before_init_plain(void **state)
{
	json_t *j = parse(household);

	(void)state;
	assert_household(j);
	assert_int_equal(jarena_in_use(), 0);
	json_decref(j);
	assert_int_equal(jarena_init(), 0);
	assert_int_equal(jarena_in_use(), 0);
}

static void
test_slot_held_until_last_block_freed(void **state)
{
	json_t *j = parse(household), *m;

	(void)state;
	assert_household(j);
	assert_int_equal(jarena_in_use(), 1);
	/* A part kept past its root keeps the slot. */
	m = json_incref(json_object_get(j, "members"));
	json_decref(j);
	assert_int_equal(jarena_in_use(), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m,
	    1), "sex")), "male");
	json_decref(m);
	assert_int_equal(jarena_in_use(), 0);
}

/* Coercion and validation change the tree: new blocks are malloc's, old
   ones freed into the slot, and it still comes back. */
static void
test_changed_tree(void **state)
{
	json_t *j = parse(household);
	char key[16];

	(void)state;
	for (int i = 0; i < 40; i++) {	/* grows the object's table */
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(j, key, json_integer(i));
	}
	json_object_set_new(j, "size", json_string("3"));
	json_object_del(j, "needs");
	assert_string_equal(json_string_value(json_object_get(j, "size")), "3");
	assert_int_equal(json_integer_value(json_object_get(j, "k39")), 39);
	assert_int_equal(jarena_in_use(), 1);
	json_decref(j);
	assert_int_equal(jarena_in_use(), 0);
}

static void
test_text_of_tree_freed_with_free(void **state)
{
	json_t *j = parse(household);
	char *text = json_dumps(j, JSON_COMPACT);

	(void)state;
	assert_non_null(text);
	assert_non_null(strstr(text, "\"SITE-001\""));
	free(text);		/* not the slot's: malloc's own */
	json_decref(j);
	assert_int_equal(jarena_in_use(), 0);
}

static void
test_bad_json_holds_nothing(void **state)
{
	json_error_t err;
	const char *bad = "{\"a\": [1, 2, \"three\", {\"b\": }";

	(void)state;
	assert_null(jarena_loadb(bad, strlen(bad), 0, &err));
	assert_int_equal(err.line, 1);
	assert_int_equal(jarena_in_use(), 0);
}

/* More trees than slots: the rest are malloc's, and all are right. */
static void
test_more_trees_than_slots(void **state)
{
	enum { N = 100 };
	json_t *j[N];
	size_t most;

	(void)state;
	for (int i = 0; i < N; i++)
		j[i] = parse(household);
	most = jarena_in_use();
	assert_true(most > 8 && most < N);
	for (int i = 0; i < N; i++) {
		assert_household(j[i]);
		json_decref(j[i]);
	}
	assert_int_equal(jarena_in_use(), 0);
}

/* A tree larger than a slot: the rest of it from malloc. */
static void
test_tree_larger_than_slot(void **state)
{
	enum { N = 20000 };
	size_t cap = 16 + (size_t)N * 12, len = 0;
	char *text = malloc(cap);
	json_t *j;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\"v%d\"",
		    i ? "," : "", i);
	snprintf(text + len, cap - len, "]");
	j = parse(text);
	free(text);
	assert_int_equal(json_array_size(j), N);
	assert_string_equal(json_string_value(json_array_get(j, N - 1)),
	    "v19999");
	assert_int_equal(jarena_in_use(), 1);
	json_decref(j);
	assert_int_equal(jarena_in_use(), 0);
	/* and the slot serves the next tree */
	j = parse(household);
	assert_household(j);
	json_decref(j);
	assert_int_equal(jarena_in_use(), 0);
}

static void *
drop(void *arg)
{
	json_decref(arg);
	return NULL;
}

/* Parsed on the loop, dropped on another thread (as a writer might). */
static void
test_freed_on_another_thread(void **state)
{
	enum { N = 32 };
	pthread_t t[N];
	json_t *j[N];

	(void)state;
	for (int i = 0; i < N; i++)
		j[i] = parse(household);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, drop, j[i]), 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(jarena_in_use(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_init_plain),
		cmocka_unit_test(test_slot_held_until_last_block_freed),
		cmocka_unit_test(test_changed_tree),
		cmocka_unit_test(test_text_of_tree_freed_with_free),
		cmocka_unit_test(test_bad_json_holds_nothing),
		cmocka_unit_test(test_more_trees_than_slots),
		cmocka_unit_test(test_tree_larger_than_slot),
		cmocka_unit_test(test_freed_on_another_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
