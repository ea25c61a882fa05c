/*
 * test_rng.c: the process's random generator drawn from by two threads at
 * once (fieldd's loop draws record ids and TLS randoms while its writer
 * thread starts a sealing epoch), never giving both the same bytes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/rng.h"

#define THREADS 4
#define DRAWS 40000

struct drawer {
	pthread_t t;
	uint64_t *out;
	int fails;
};

static void *
draw(void *arg)
{
	struct drawer *d = arg;

	for (int i = 0; i < DRAWS; i++)
		if (rng_bytes(&d->out[i], sizeof(d->out[i])) != 0)
			d->fails++;
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Without a lock, two threads in mbedtls_ctr_drbg_random can encrypt the
 * same counter: the same 64 bits twice in 160,000 draws (a chance of about
 * 1e-9 for a sound generator), or a torn state that fails a later draw.
 */
static void
test_threads_never_share_bytes(void **state)
{
	struct drawer d[THREADS];
	uint64_t *all = calloc((size_t)THREADS * DRAWS, sizeof(*all));
	size_t dup = 0;

	(void)state;
	assert_non_null(all);
	for (int i = 0; i < THREADS; i++) {
		d[i].out = all + (size_t)i * DRAWS;
		d[i].fails = 0;
		assert_int_equal(pthread_create(&d[i].t, NULL, draw, &d[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(d[i].t, NULL);
		assert_int_equal(d[i].fails, 0);
	}
	qsort(all, (size_t)THREADS * DRAWS, sizeof(*all), cmp_u64);
	for (size_t i = 1; i < (size_t)THREADS * DRAWS; i++)
		dup += all[i] == all[i - 1];
	free(all);
	assert_int_equal(dup, 0);
}

static void
test_uuid_form(void **state)
{
	char a[37], b[37];

	(void)state;
	assert_int_equal(rng_uuid(a), 0);
	assert_int_equal(rng_uuid(b), 0);
	assert_int_equal(strlen(a), 36);
	for (int i = 0; i < 36; i++)	/* 8-4-4-4-12 lower-case hex */
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_int_equal(a[14], '4');		/* version 4 */
	assert_non_null(strchr("89ab", a[19]));	/* RFC 4122 variant */
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_never_share_bytes),
		cmocka_unit_test(test_uuid_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
