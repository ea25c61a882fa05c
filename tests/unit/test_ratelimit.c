/* test_ratelimit.c: requests per address: a burst, then the rate; the
   board itself unlimited; a full table forgets the longest idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/ratelimit.h"

static void
test_bucket(void **state)
{
	static struct ratelimit r;
	uint64_t t = 1000000;
	int ok = 0;

	(void)state;
	for (int i = 0; i < RATE_BURST + 10; i++)
		ok += ratelimit_allow(&r, "10.0.0.7", t);
	assert_int_equal(ok, RATE_BURST);
	/* a second later, RATE_PER_S more */
	ok = 0;
	for (int i = 0; i < RATE_PER_S + 10; i++)
		ok += ratelimit_allow(&r, "10.0.0.7", t + 1000);
	assert_int_equal(ok, RATE_PER_S);
	/* another address is not held back by the first */
	assert_true(ratelimit_allow(&r, "10.0.0.8", t + 1000));
	/* the board itself is never limited */
	for (int i = 0; i < 10 * RATE_BURST; i++)
		assert_true(ratelimit_allow(&r, "127.0.0.1", t));
	/* many addresses: the table keeps working */
	for (int i = 0; i < 4 * RATE_SLOTS; i++) {
		char peer[32];
		snprintf(peer, sizeof(peer), "10.1.%d.%d", i / 250, i % 250);
		assert_true(ratelimit_allow(&r, peer, t + 2000 + (uint64_t)i));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
